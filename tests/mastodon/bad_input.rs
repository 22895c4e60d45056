//! Bad input anywhere in the Mastodon API gets a Mastodon-shaped error, never a 500: a sweep
//! (`bad_input_client.py`) over every route with ids that are no ids, paging and limits that
//! are no numbers or far too large, bodies of the wrong types and broken JSON, forms and
//! multipart bodies, with a member's token and without one.

use crate::harness::{python, Node, NodeOptions};
use serde_json::json;

#[tokio::test]
async fn every_mastodon_route_answers_bad_input_with_a_mastodon_shaped_4xx() {
    let node = Node::start_with(NodeOptions {
        // The sweep sends a few thousand requests with one token.
        env: vec![(
            "ROUNDTABLE__OAUTH__REQUESTS_PER_TOKEN".into(),
            "1000000".into(),
        )],
        ..NodeOptions::default()
    })
    .await;
    // A thread (status 1), an article and an event to aim at.
    let seeded = super::cards::seed(&node).await;
    let seen = python::run_client(
        include_str!("bad_input_client.py"),
        &[
            ("NODE", node.base.as_str()),
            ("TOKEN", seeded.olga.token.as_str()),
        ],
    )
    .await;
    assert!(seen["count"].as_u64().is_some_and(|n| n > 3000), "{seen}");
    assert_eq!(seen["bad"], json!([]), "{:#}", seen["bad"]);
    // The sweep reached the handlers: bad requests, unknown records and unprocessable bodies
    // with the token, and 401 without it.
    for code in ["400", "401", "404", "422"] {
        assert!(
            seen["codes"][code].as_u64().is_some_and(|n| n > 50),
            "{code}: {}",
            seen["codes"]
        );
    }
}
