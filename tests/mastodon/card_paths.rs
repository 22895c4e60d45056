//! Articles' and events' statuses where the first cards were missing, driven by Mastodon.py
//! on one node (from the card tests' `seed`, and a reply to its thread): a list timeline of
//! communities and a person's account statuses merge them with posts by id (the same keyset,
//! `Link` header, `exclude_replies`, `only_media`, `pinned`); `favourited_by` and
//! `reblogged_by` of one answer an empty list and its context is empty; search finds one by
//! its URL. A members-only community's article reaches nobody else through any of these: not
//! through a list naming the community, not through its author's account statuses, not
//! through search or its parts.

use super::cards::seed;
use crate::harness::{python, Node};
use serde_json::{json, Value};

#[tokio::test]
async fn lists_accounts_and_search_show_articles_and_events_only_to_their_readers() {
    let node = Node::start().await;
    let seeded = seed(&node).await;
    let (olga, gina, thread) = (&seeded.olga, &seeded.gina, &seeded.thread);
    let (status, reply) = olga
        .post(
            &format!("/threads/{}/replies", thread["id"]),
            json!({"content": "Noted."}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");

    let url = |v: &Value| v["ap_id"].as_str().expect("ap_id").to_string();
    let (article_url, event_url, secret_url) = (
        url(&seeded.article),
        url(&seeded.event),
        url(&seeded.secret),
    );
    let env = [
        ("NODE", node.base.as_str()),
        ("TOKEN", olga.token.as_str()),
        ("INSIDER", gina.token.as_str()),
        ("SECRET", "Budget plan"),
        ("ARTICLE_URL", article_url.as_str()),
        ("EVENT_URL", event_url.as_str()),
        ("SECRET_URL", secret_url.as_str()),
    ];
    let seen = python::run_client(include_str!("card_paths_client.py"), &env).await;

    // The list: the reply, the event, the article, the thread, newest first; ids increase in
    // the order they were made.
    let list = seen["list"].as_array().expect("list");
    let titles: Vec<&Value> = list.iter().map(|s| &s[1]).collect();
    assert_eq!(
        titles,
        [
            &json!("Noted."),
            &json!("Platform roundtable"),
            &json!("Incident handbook"),
            &json!("Welcome")
        ],
        "{seen:#}"
    );
    let ids: Vec<i64> = list
        .iter()
        .map(|s| s[0].as_str().and_then(|i| i.parse().ok()).expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(ids[3], thread["id"].as_i64().expect("thread id"));
    assert_eq!(ids[0], reply["id"].as_i64().expect("reply id"));
    let newest_first: Vec<Value> = ids.iter().map(|i| json!(i.to_string())).collect();
    let oldest_first: Vec<Value> = newest_first.iter().rev().cloned().collect();
    let [reply_id, event_id, article_id, thread_id] = [0, 1, 2, 3].map(|i| &newest_first[i]);
    assert_eq!(seen["list_walk_link"], json!(newest_first), "{seen:#}");
    assert_eq!(seen["list_walk_min_id"], json!(oldest_first), "{seen:#}");
    let secret_id = seen["insider_list"][0][0].clone();
    assert_eq!(
        seen["insider_list"],
        json!([[secret_id, "Budget plan"]]),
        "{seen:#}"
    );

    // Olga's account statuses: the same four, in the same keyset.
    assert_eq!(seen["olga"], seen["list"], "{seen:#}");
    assert_eq!(
        seen["olga_no_replies"],
        json!([
            [event_id, "Platform roundtable"],
            [article_id, "Incident handbook"],
            [thread_id, "Welcome"]
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["olga_media"], 0);
    assert_eq!(seen["olga_pinned"], 0);
    assert_eq!(seen["olga_walk_max_id"], json!(newest_first), "{seen:#}");
    assert_eq!(
        seen["olga_since"],
        json!([
            [reply_id, "Noted."],
            [event_id, "Platform roundtable"],
            [article_id, "Incident handbook"]
        ]),
        "{seen:#}"
    );
    // Gina's: her members-only article for her alone.
    assert_eq!(
        seen["gina_self"],
        json!([[secret_id, "Budget plan"]]),
        "{seen:#}"
    );
    assert_eq!(seen["gina_for_olga"], json!([]), "{seen:#}");
    assert_eq!(seen["gina_for_anonymous"], json!([]), "{seen:#}");

    // Nobody liked or boosted the article; it stands alone.
    assert_eq!(
        seen["article_parts"],
        json!({
            "favourited_by": [200, []],
            "reblogged_by": [200, []],
            "context": [200, {"ancestors": [], "descendants": []}],
        }),
        "{seen:#}"
    );
    assert_eq!(seen["article_likers"], 0);
    assert_eq!(seen["article_boosters"], 0);
    assert_eq!(seen["secret_parts_for_olga"], json!([404, 404, 404]));

    // Search by URL: the article's and event's statuses for both; the circle's for gina only.
    let article_found = json!([[article_id, "Incident handbook"]]);
    let event_found = json!([[event_id, "Platform roundtable"]]);
    assert_eq!(seen["search_ARTICLE_URL"], article_found, "{seen:#}");
    assert_eq!(seen["insider_search_ARTICLE_URL"], article_found);
    assert_eq!(seen["search_EVENT_URL"], event_found, "{seen:#}");
    assert_eq!(seen["insider_search_EVENT_URL"], event_found);
    assert_eq!(seen["search_SECRET_URL"], json!([]), "{seen:#}");
    assert_eq!(
        seen["insider_search_SECRET_URL"],
        json!([[secret_id, "Budget plan"]])
    );
    assert_eq!(seen["anonymous_search_article"], article_found);
}
