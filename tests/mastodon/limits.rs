//! What an app's token may cost: a budget of requests per window, counted as Mastodon counts
//! it and read by Mastodon.py from `X-RateLimit-*` headers (it stops at the limit, and in its
//! waiting mode sleeps until the window ends and carries on); another member's app is not
//! slowed by it. And list endpoints that name many accounts cost what one account costs.

use crate::{
    accounts::member,
    harness::{http, python, Node, NodeOptions},
};
use serde_json::{json, Value};

#[tokio::test]
async fn an_app_past_its_budget_is_told_when_to_come_back_and_others_go_on() {
    let node = Node::start_with(NodeOptions {
        env: vec![
            ("ROUNDTABLE__OAUTH__REQUESTS_PER_TOKEN".into(), "5".into()),
            ("ROUNDTABLE__OAUTH__REQUESTS_WINDOW_SECS".into(), "3".into()),
        ],
        ..NodeOptions::default()
    })
    .await;
    let mut tokens = Vec::new();
    for name in ["bert", "olga"] {
        member(&node, name, &format!("{name}@example.com")).await;
        tokens.push(
            roundtable::service::accounts::create_token(&node.state.db, name, "read write")
                .await
                .expect("token"),
        );
    }
    let seen = python::run_client(
        include_str!("limits_client.py"),
        &[
            ("NODE", &node.base),
            ("BERT", &tokens[0]),
            ("OLGA", &tokens[1]),
        ],
    )
    .await;
    // Five requests in the window, each telling what is left.
    assert_eq!(seen["remaining"], json!([4, 3, 2, 1, 0]), "{seen:#}");
    assert_eq!(seen["limit"], 5);
    assert_eq!(seen["reset_after_date"], true, "{seen:#}");
    // The sixth is refused: Mastodon.py raises its rate-limit error; raw, it is a 429 with a
    // Mastodon-shaped error and Retry-After within the window.
    assert_eq!(seen["sixth"], "MastodonRatelimitError", "{seen:#}");
    assert_eq!(seen["raw_status"], 429);
    assert_eq!(seen["raw_body"], json!({"error": "Too many requests"}));
    let retry: u64 = seen["raw_retry_after"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=4).contains(&retry), "{retry}");
    assert_eq!(seen["raw_remaining"], "0");
    // Another member's token has its own budget; requests without a token are not counted.
    assert_eq!(seen["olga_remaining"], 4);
    assert_eq!(seen["anonymous"], json!([200, false]));
    // Waiting as the headers say is enough: the window ends and the app goes on.
    assert_eq!(seen["after_waiting"], "bert", "{seen:#}");
}

#[tokio::test]
async fn relationships_of_many_accounts_cost_what_one_costs() {
    let node = Node::start().await;
    let mut ids = Vec::new();
    let token = {
        member(&node, "bert", "bert@example.com").await;
        roundtable::service::accounts::create_token(&node.state.db, "bert", "read write")
            .await
            .expect("token")
    };
    for i in 0..20 {
        member(&node, &format!("m{i}"), &format!("m{i}@example.com")).await;
    }
    let client = http();
    let get = |path: String| {
        let request = client
            .get(format!("{}{path}", node.base))
            .bearer_auth(&token);
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        }
    };
    for i in 0..20 {
        let found = get(format!("/api/v1/accounts/lookup?acct=m{i}")).await;
        ids.push(found["id"].as_str().expect("id").to_string());
    }
    let query = |ids: &[String]| {
        let list: Vec<String> = ids.iter().map(|id| format!("id[]={id}")).collect();
        format!("/api/v1/accounts/relationships?{}", list.join("&"))
    };
    let cost = |n: usize| {
        let path = query(&ids[..n]);
        let db = node.state.db.clone();
        let get = &get;
        async move {
            let before = db.query_count();
            let found = get(path).await;
            let spent = db.query_count() - before;
            assert_eq!(found.as_array().map(Vec::len), Some(n), "{found}");
            spent
        }
    };
    let one = cost(1).await;
    let twenty = cost(20).await;
    // A query per account would add at least 19 × 2 statements; background workers may add
    // a few of their own in between.
    assert!(
        twenty <= one + 6,
        "1 account: {one} statements, 20: {twenty}"
    );
}
