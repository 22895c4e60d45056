//! `/metrics`: off unless enabled, behind its bearer token when one is set, and what it counts
//! follows what the node did — inbox answers by reason, activities applied and pending,
//! deliveries by peer and state, requests by route, the database pool.

use crate::harness::{eventually, fake::FakeServer, http, Node, NodeOptions};
use serde_json::json;
use std::time::Duration;

/// The value of the sample `name` (with its labels, as printed), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn scrape(b: &Node, token: Option<&str>) -> (u16, String, String) {
    let mut req = http().get(b.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("GET /metrics");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, res.text().await.expect("body"))
}

#[tokio::test]
async fn metrics_count_what_the_node_did_and_stay_behind_their_token() {
    let off = Node::start().await;
    let (status, _, body) = scrape(&off, None).await;
    assert_eq!(status, 404, "{body}");

    let b = Node::start_with(NodeOptions {
        env: vec![
            ("ROUNDTABLE__METRICS__ENABLED".into(), "true".into()),
            ("ROUNDTABLE__METRICS__TOKEN".into(), "s3cret".into()),
        ],
        ..Default::default()
    })
    .await;
    let (status, _, body) = scrape(&b, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = scrape(&b, Some("wrong")).await;
    assert_eq!(status, 401, "{body}");

    let olga = b.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let peer = FakeServer::start("rosa").await;
    let follow = json!({"id": format!("{}/follows/1", peer.base), "type": "Follow",
        "actor": peer.actor, "object": b.url("/c/practice")});
    let (status, body) = peer.deliver(&b.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = peer.deliver(&b.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");
    let unsigned = http()
        .post(b.url("/inbox"))
        .json(&follow)
        .send()
        .await
        .expect("POST");
    assert_eq!(unsigned.status().as_u16(), 401);
    // The community's Accept reaches the peer.
    eventually(Duration::from_secs(20), "the Accept delivered", || async {
        peer.received()
            .iter()
            .any(|a| a["type"] == "Accept")
            .then_some(())
    })
    .await;

    let host = url::Url::parse(&peer.base).expect("url");
    let host = format!(
        "{}:{}",
        host.host_str().expect("host"),
        host.port().expect("port")
    );
    let text = eventually(Duration::from_secs(10), "the delivery counted", || async {
        let (status, kind, text) = scrape(&b, Some("s3cret")).await;
        assert_eq!(status, 200, "{text}");
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
        (sample(&text, "roundtable_delivery_jobs{state=\"delivered\"}") == Some(1.0))
            .then_some(text)
    })
    .await;
    let expect = [
        ("roundtable_inbox_answers_total{reason=\"accepted\"}", 1.0),
        ("roundtable_inbox_answers_total{reason=\"replayed\"}", 1.0),
        ("roundtable_inbox_answers_total{reason=\"unauthenticated\"}", 1.0),
        ("roundtable_inbox_applied_total", 1.0),
        ("roundtable_inbox_pending", 0.0),
        ("roundtable_inbox_lag_seconds_count", 1.0),
        ("roundtable_db_pool_max", 5.0),
        (
            "roundtable_http_request_seconds_count{method=\"POST\",route=\"/inbox\",status=\"202\"}",
            2.0,
        ),
        (
            "roundtable_http_request_seconds_count{method=\"POST\",route=\"/inbox\",status=\"401\"}",
            1.0,
        ),
    ];
    for (name, value) in expect {
        assert_eq!(sample(&text, name), Some(value), "{name} in\n{text}");
    }
    let delivered = format!("roundtable_delivery_seconds_count{{host=\"{host}\"}}");
    assert_eq!(
        sample(&text, &delivered),
        Some(1.0),
        "{delivered} in\n{text}"
    );
    assert!(
        sample(&text, "roundtable_db_statements_total").is_some_and(|n| n > 10.0),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}
