//! What the inbox remembers between requests (`db::memo`): the policy's verdicts and the
//! suspensions follow every change at once — made by the running node or by another process,
//! the CLI — and a known peer's further activities cost a bounded number of statements, without
//! writing its contact again.

use super::inbox::create_note;
use crate::harness::{http, sign::Post, Node};
use roundtable::activitypub::actors::host_of;

#[tokio::test]
async fn remembered_verdicts_and_suspensions_follow_every_change_at_once() {
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.user("alice").await;
    let client = http();
    let mut n = 0;
    let mut send = || {
        n += 1;
        let post = Post::new(
            &b.url("/inbox"),
            &create_note(&a, "alice", n),
            &a.url("/u/alice#main-key"),
            &alice.private_key_pem,
        );
        let client = client.clone();
        async move { post.send(&client).await }
    };

    // Accepted: b now remembers that it federates with a and that alice is not suspended.
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // Another process blocks a: the very next request is refused.
    let out = b.cli(&["block", "add", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    let out = b.cli(&["block", "remove", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // The running node suspends alice, then lifts it.
    let actor = a.url("/u/alice");
    b.state
        .db
        .suspend(&actor, Some("spam"), "test")
        .await
        .expect("suspend");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("suspended"), "{body}");
    assert!(b.state.db.unsuspend(&actor).await.expect("unsuspend"));
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // The mode, changed by another process: allowlist without a as partner refuses it.
    let out = b.cli(&["federation", "mode", "allowlist"]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    let out = b.cli(&["partner", "add", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // A known peer's next activity: its contact is not written again, and the request costs
    // a bounded number of statements (7 here: the generation, the actor's key, the dedupe
    // check, the routing's lookups and the record; 12 when every request read the policy and
    // the suspensions, wrote the contact and pruned the received ids).
    let host = host_of(&url::Url::parse(&actor).expect("url"));
    let contacted = b
        .state
        .db
        .peer(&host)
        .await
        .expect("peer")
        .and_then(|p| p.last_contact_at)
        .expect("contact recorded");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before = b.state.db.query_count();
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");
    let spent = b.state.db.query_count() - before;
    eprintln!("statements for one known peer's activity: {spent}");
    let again = b
        .state
        .db
        .peer(&host)
        .await
        .expect("peer")
        .and_then(|p| p.last_contact_at);
    assert_eq!(again, Some(contacted), "the contact was written again");
    assert!(spent <= 8, "{spent} statements for one activity");
}
