//! Inbox security through real HTTP: one node signs (with the independent test signer or its
//! own delivery path), another verifies.

use crate::harness::{
    eventually, http,
    sign::{digest, http_date, now_plus, Post},
    Node,
};
use roundtable::{activitypub::signatures::generate_key_pair, delivery, metrics::Metrics};
use serde_json::{json, Value};
use std::time::Duration;

struct Pair {
    a: Node,
    b: Node,
    alice_pem: String,
    bob_pem: String,
}

async fn pair() -> Pair {
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    b.user("carol").await;
    Pair {
        alice_pem: alice.private_key_pem,
        bob_pem: bob.private_key_pem,
        a,
        b,
    }
}

/// A public `Create(Note)` by `actor` of node `a`, numbered `n`.
pub(super) fn create_note(a: &Node, actor: &str, n: u32) -> Value {
    let actor_id = a.url(&format!("/u/{actor}"));
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor_id}/activities/{n}"),
        "type": "Create",
        "actor": actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": format!("{actor_id}/notes/{n}"),
            "type": "Note",
            "attributedTo": actor_id,
            "content": format!("note {n}"),
        }
    })
}

async fn received(node: &Node) -> usize {
    node.state
        .db
        .received_activities()
        .await
        .expect("received")
        .len()
}

fn alice_post(p: &Pair, n: u32) -> Post {
    Post::new(
        &p.b.url("/inbox"),
        &create_note(&p.a, "alice", n),
        &p.a.url("/u/alice#main-key"),
        &p.alice_pem,
    )
}

#[tokio::test]
async fn signed_posts_are_accepted_once_and_bad_ones_get_clear_statuses() {
    let p = pair().await;
    let client = http();

    // A valid request, to the shared inbox and to a per-actor inbox.
    let post = alice_post(&p, 1);
    assert_eq!(post.send(&client).await.0, 202);
    assert_eq!(received(&p.b).await, 1);
    let mut to_actor = alice_post(&p, 2);
    to_actor.url = url::Url::parse(&p.b.url("/u/carol/inbox")).expect("url");
    assert_eq!(to_actor.send(&client).await.0, 202);
    assert_eq!(received(&p.b).await, 2);
    assert_eq!(Metrics::get(&p.b.state.metrics.inbox_accepted), 2);

    // Replays: the very same request, and the same activity freshly signed.
    assert_eq!(post.send(&client).await.0, 202);
    let mut resigned = alice_post(&p, 1);
    resigned.date = http_date(now_plus(-5));
    assert_eq!(resigned.send(&client).await.0, 202);
    assert_eq!(received(&p.b).await, 2, "a replay changes nothing");
    assert_eq!(Metrics::get(&p.b.state.metrics.inbox_replayed), 2);
    assert_eq!(Metrics::get(&p.b.state.metrics.inbox_accepted), 2);

    // Dates inside the window pass: 50 minutes old, 2 minutes ahead.
    let mut old = alice_post(&p, 3);
    old.date = http_date(now_plus(-50 * 60));
    assert_eq!(old.send(&client).await.0, 202);
    let mut ahead = alice_post(&p, 4);
    ahead.date = http_date(now_plus(120));
    assert_eq!(ahead.send(&client).await.0, 202);
    assert_eq!(received(&p.b).await, 4);

    let mut cases: Vec<(&str, Post, u16)> = Vec::new();

    let mut unsigned = alice_post(&p, 10);
    unsigned.sign = false;
    cases.push(("unsigned", unsigned, 401));

    let mut wrong_key = alice_post(&p, 11);
    wrong_key.private_pem = generate_key_pair().expect("key").private_pem;
    cases.push(("signed with a key that is not alice's", wrong_key, 401));

    let mut other_signer = alice_post(&p, 12);
    other_signer.key_id = p.a.url("/u/bob#main-key");
    other_signer.private_pem = p.bob_pem.clone();
    cases.push(("bob signs alice's activity", other_signer, 401));

    let mut stale = alice_post(&p, 13);
    stale.date = http_date(now_plus(-2 * 3600));
    cases.push(("date two hours old", stale, 401));

    let mut future = alice_post(&p, 14);
    future.date = http_date(now_plus(10 * 60));
    cases.push(("date ten minutes ahead", future, 401));

    let mut digest_only = alice_post(&p, 15);
    digest_only.covered = vec!["digest"];
    cases.push(("only the digest is signed", digest_only, 401));

    let mut no_digest = alice_post(&p, 16);
    no_digest.covered = vec!["(request-target)", "host", "date"];
    cases.push(("digest not signed", no_digest, 401));

    let mut no_target = alice_post(&p, 17);
    no_target.covered = vec!["host", "date", "digest"];
    cases.push(("(request-target) not signed", no_target, 401));

    let mut bad_digest = alice_post(&p, 18);
    bad_digest.digest = digest(b"something else");
    cases.push(("digest does not match the body", bad_digest, 401));

    let mut bad_path = alice_post(&p, 19);
    bad_path.signed_path = Some("/u/carol/inbox".into());
    cases.push(("signed for another path", bad_path, 401));

    let mut bad_date = alice_post(&p, 20);
    bad_date.date = "yesterday-ish".into();
    cases.push(("unparseable date", bad_date, 401));

    // The actor lives on the receiving node itself.
    let mut own = Post::new(
        &p.b.url("/inbox"),
        &create_note(&p.b, "carol", 21),
        &p.b.url("/u/carol#main-key"),
        &p.alice_pem,
    );
    own.key_id = p.b.url("/u/carol#main-key");
    cases.push(("an activity of the receiver's own actor", own, 403));

    let mut malformed = alice_post(&p, 22);
    malformed.body = b"{\"id\": ".to_vec();
    malformed.digest = digest(&malformed.body);
    cases.push(("malformed JSON", malformed, 400));

    let mut unknown = alice_post(&p, 23);
    unknown.body = serde_json::to_vec(&json!({
        "id": p.a.url("/u/alice/activities/23"),
        "type": "Teleport",
        "actor": p.a.url("/u/alice"),
    }))
    .expect("json");
    unknown.digest = digest(&unknown.body);
    cases.push(("unknown activity type", unknown, 400));

    let mut no_actor = alice_post(&p, 24);
    no_actor.body = serde_json::to_vec(&json!([1, 2, 3])).expect("json");
    no_actor.digest = digest(&no_actor.body);
    cases.push(("not an object", no_actor, 400));

    let mut missing_inbox = alice_post(&p, 25);
    missing_inbox.url = url::Url::parse(&p.b.url("/u/nobody/inbox")).expect("url");
    cases.push(("inbox of an actor that does not exist", missing_inbox, 404));

    for (what, post, expected) in &cases {
        let (status, body) = post.send(&client).await;
        assert_eq!(status, *expected, "{what}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: a JSON error explains it, got {body}"
        );
    }
    assert_eq!(received(&p.b).await, 4, "no refused request left a trace");
}

#[tokio::test]
async fn oversized_bodies_get_413_before_parsing() {
    let p = pair().await;
    let client = http();
    let big = vec![b'x'; 1024 * 1024 + 1];

    let response = client
        .post(p.b.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(big.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json error");
    assert!(body["error"].is_string());

    // Without a Content-Length (chunked), the limit still holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let response = client
        .post(p.b.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);

    // Exactly at the limit is not refused for size (it fails later, for the missing signature).
    let response = client
        .post(p.b.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(vec![b' '; 1024 * 1024])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 401);
    assert_eq!(received(&p.b).await, 0);
}

#[tokio::test]
async fn a_node_delivers_a_signed_activity_that_another_node_accepts() {
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.user("alice").await;
    let activity = create_note(&a, "alice", 1);
    let inbox = url::Url::parse(&b.url("/inbox")).expect("url");
    let queued = delivery::send(&a.state, &alice, &activity, [inbox.clone(), inbox])
        .await
        .expect("queued");
    assert_eq!(queued, 1, "one job per distinct inbox");

    let got = eventually(Duration::from_secs(10), "delivery to B", || async {
        let list = b.state.db.received_activities().await.ok()?;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, activity["id"].as_str().expect("id"));
    assert_eq!(got[0].2, a.url("/u/alice"));
    eventually(Duration::from_secs(5), "job marked delivered", || async {
        let counts = a.state.db.job_counts().await.ok()?;
        (counts == vec![("delivered".to_string(), 1)]).then_some(())
    })
    .await;
    // B now knows A as a live peer that contacted it.
    let peer = b.state.db.peer(&a.domain).await.expect("peer");
    assert!(peer.is_some_and(|p| !p.dead));
}

/// Backpressure: past `federation.inbox_max_in_flight` POSTs being worked on, the inbox answers
/// 429 with `Retry-After` (which senders retry), never a 5xx, and takes activities again once
/// the work in flight is done.
#[tokio::test]
async fn a_busy_inbox_answers_429_with_retry_after_and_recovers() {
    use tokio::io::AsyncWriteExt;
    let node = Node::start_with(crate::harness::NodeOptions {
        env: vec![(
            "ROUNDTABLE__FEDERATION__INBOX_MAX_IN_FLIGHT".into(),
            "1".into(),
        )],
        ..Default::default()
    })
    .await;
    let client = http();
    let post = || async {
        let response = client
            .post(node.url("/inbox"))
            .header("content-type", "application/activity+json")
            .body("{}")
            .send()
            .await
            .expect("POST /inbox");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (response.status().as_u16(), retry_after)
    };
    // Nothing in flight: the request is looked at (and refused for its missing signature).
    assert_eq!(post().await.0, 401);

    // A sender whose body never finishes holds the one slot.
    let mut stalled = tokio::net::TcpStream::connect(node.addr)
        .await
        .expect("connect");
    stalled
        .write_all(
            format!(
                "POST /inbox HTTP/1.1\r\nhost: {}\r\ncontent-type: application/activity+json\r\ncontent-length: 1000\r\n\r\n{{\"type\":",
                node.addr
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let retry_after = eventually(Duration::from_secs(10), "a 429", || async {
        let (status, retry_after) = post().await;
        assert!(status < 500, "never a 5xx, got {status}");
        (status == 429).then_some(retry_after)
    })
    .await;
    assert_eq!(retry_after.as_deref(), Some("2"));
    assert!(Metrics::get(&node.state.metrics.inbox_deferred) >= 1);

    // The stalled sender goes away: its slot is free and the inbox works again.
    drop(stalled);
    eventually(
        Duration::from_secs(10),
        "the inbox takes work again",
        || async {
            let (status, _) = post().await;
            assert!(status < 500, "never a 5xx, got {status}");
            (status == 401).then_some(())
        },
    )
    .await;
}
