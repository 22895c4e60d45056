//! Outgoing requests never reach loopback or private addresses unless debug mode is on.

use crate::harness::{eventually, sign::Post, Node, NodeOptions};
use roundtable::activitypub::client::{FederationClient, FetchError};
use serde_json::json;
use std::time::Duration;
use url::Url;

#[tokio::test]
async fn private_and_loopback_targets_are_refused_outside_debug_mode() {
    let live = Node::start().await;
    live.user("target").await;
    let port = live.addr.port();
    let production =
        FederationClient::new(false, Duration::from_secs(5), "roundtable.example").expect("client");

    for target in [
        format!("http://127.0.0.1:{port}/u/target"),
        format!("https://127.0.0.1:{port}/u/target"),
        format!("http://[::1]:{port}/u/target"),
        "http://10.0.0.1/actor".to_string(),
        "https://192.168.1.20/actor".to_string(),
        "https://169.254.169.254/latest/meta-data".to_string(),
        "https://100.64.0.1/actor".to_string(),
        "https://0.0.0.0/actor".to_string(),
        "https://[::ffff:127.0.0.1]/actor".to_string(),
        "https://[fd00::1]/actor".to_string(),
        // A host name that resolves to 127.0.0.1.
        format!("http://localhost:{port}/u/target"),
        format!("https://localhost:{port}/u/target"),
    ] {
        let url = Url::parse(&target).expect("url");
        let err = production.fetch_json(&url, None).await.expect_err(&target);
        assert!(
            matches!(err, FetchError::Refused(_)),
            "{target}: expected a refusal, got {err:?}"
        );
        assert!(err.to_string().contains("not a public address"), "{err}");
    }

    // The same live document is reachable in debug mode: the refusals above are the guard,
    // not a dead target.
    let debug = FederationClient::new(true, Duration::from_secs(5), "t").expect("client");
    let doc = debug
        .fetch_json(&Url::parse(&live.url("/u/target")).expect("url"), None)
        .await
        .expect("debug fetch");
    assert_eq!(doc["type"], "Person");
}

#[tokio::test]
async fn a_production_node_will_not_fetch_a_loopback_actor_to_verify_a_post() {
    let sender = Node::start().await;
    let alice = sender.user("alice").await;
    let guarded = Node::start_with(NodeOptions {
        env: vec![("ROUNDTABLE__FEDERATION__DEBUG".into(), "false".into())],
        ..Default::default()
    })
    .await;
    // Debug off makes the node's own URLs https; it listens on plain HTTP in the test.
    let inbox = format!("http://{}/inbox", guarded.domain);
    let actor = sender.url("/u/alice");
    let post = Post::new(
        &inbox,
        &json!({
            "id": format!("{actor}/activities/1"),
            "type": "Follow",
            "actor": actor,
            "object": "https://roundtable.example/c/x",
        }),
        &sender.url("/u/alice#main-key"),
        &alice.private_key_pem,
    );
    let (status, body) = post.send(&crate::harness::http()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a public address")),
        "{body}"
    );
    let seen = eventually(Duration::from_secs(1), "nothing stored", || async {
        guarded.state.db.received_activities().await.ok()
    })
    .await;
    assert!(seen.is_empty());
}
