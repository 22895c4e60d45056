//! The streaming API waits for changes instead of asking the database over and over: an open
//! stream on a quiet node reads nothing, and a thread posted wakes it at once, so it reaches
//! the app without waiting for a poll.

use crate::harness::{http, quiet_env, Node, NodeOptions};
use serde_json::json;
use std::{sync::atomic::Ordering, time::Duration};

#[tokio::test]
async fn a_quiet_stream_reads_nothing_until_something_is_written() {
    let node = Node::start_with(NodeOptions {
        env: quiet_env()
            .into_iter()
            // No look for what another process wrote during the test.
            .chain([(
                "ROUNDTABLE__HTTP__STREAM_RECHECK_SECS".into(),
                "3600".into(),
            )])
            .collect(),
        ..Default::default()
    })
    .await;
    let olga = node.api_user("olga").await;
    let (status, body) = olga
        .post("/communities", json!({"slug": "guild", "title": "Guild"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let mut stream = http()
        .get(node.url("/api/v1/streaming/public"))
        .bearer_auth(&olga.token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let looks = || node.state.metrics.stream_looks.load(Ordering::Relaxed);

    // Nothing is written: the stream reads nothing (it read every second before).
    let before = looks();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(looks(), before, "an idle stream read the database");

    // A thread is posted: the stream wakes, reads it and sends it.
    let (status, body) = olga
        .post(
            "/communities/guild/threads",
            json!({"title": "Fresh news", "content": "Hot off the press."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut received = String::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !received.contains("Fresh news") {
            let chunk = stream.chunk().await.expect("chunk").expect("stream open");
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the thread never reached the stream: {received}"));
    assert!(received.contains("event: update"), "{received}");
    assert!(looks() > before);
}
