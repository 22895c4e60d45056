//! The inbox's durable record (`db::inbox`, `service::intake`): an activity answered 202 is
//! applied even when the node crashes before applying it, exactly once; a replay while it is
//! pending is recorded once; past the bound of pending activities the inbox answers 429; many
//! concurrent arrivals share group writes and are applied in batches, and an edit recorded
//! after its post's creation is applied after it. "Another process" holds the applier lease while activities arrive, so
//! they stay recorded and unapplied until the test lets it go.

use crate::harness::{eventually, fake::FakeServer, Node, NodeOptions, TestDb};
use migration::{Migrator, MigratorTrait};
use roundtable::metrics::Metrics;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use std::sync::{atomic::Ordering, Arc};
use std::time::Duration;

/// A migrated database whose applier lease another process holds for an hour.
async fn held_elsewhere() -> (Arc<TestDb>, DatabaseConnection) {
    let db = TestDb::create().await;
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    Migrator::up(&conn, None).await.expect("migrate");
    let until = roundtable::db::now_ms() + 3_600_000;
    conn.execute_unprepared(&format!(
        "UPDATE inbox_applier SET holder = 'another process', until = {until} WHERE id = 1"
    ))
    .await
    .expect("hold the lease");
    (db, conn)
}

async fn let_go(conn: &DatabaseConnection) {
    conn.execute_unprepared("UPDATE inbox_applier SET until = 0 WHERE id = 1")
        .await
        .expect("release the lease");
}

fn options(db: &Arc<TestDb>, port: u16, extra: &[(&str, &str)]) -> NodeOptions {
    NodeOptions {
        db: Some(db.clone()),
        port,
        env: [("ROUNDTABLE__FEDERATION__INBOX_WAIT_MS", "300")]
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// A community `practice` with one thread on `b`; its id and the thread's.
async fn community_with_thread(b: &Node) -> (String, String) {
    let olga = b.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let (status, thread) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Hello", "content": "first"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    (
        b.url("/c/practice"),
        thread["ap_id"].as_str().expect("ap_id").to_string(),
    )
}

fn follow(peer: &FakeServer, community: &str) -> Value {
    json!({"id": format!("{}/follows/1", peer.base), "type": "Follow",
        "actor": peer.actor, "object": community})
}

fn reply(peer: &FakeServer, community: &str, thread: &str, n: u32) -> Value {
    json!({
        "id": format!("{}/activities/{n}", peer.base), "type": "Create",
        "actor": peer.actor, "to": [community], "audience": community,
        "object": {
            "id": format!("{}/notes/{n}", peer.base), "type": "Note",
            "attributedTo": peer.actor, "inReplyTo": thread,
            "audience": community, "to": [community],
            "content": format!("reply {n}"),
        }
    })
}

async fn pending(b: &Node) -> u64 {
    b.state.db.pending_count().await.expect("pending")
}

#[tokio::test]
async fn an_accepted_activity_survives_a_crash_and_is_applied_once() {
    let (db, conn) = held_elsewhere().await;
    let b = Node::start_with(options(&db, 0, &[])).await;
    let (community, thread) = community_with_thread(&b).await;
    let peer = FakeServer::start("rosa").await;
    let inbox = b.url("/inbox");

    let (status, body) = peer.deliver(&inbox, &follow(&peer, &community)).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = peer
        .deliver(&inbox, &reply(&peer, &community, &thread, 1))
        .await;
    assert_eq!(status, 202, "{body}");
    // The sender's retry of the same reply while it is pending: recorded once.
    let (status, body) = peer
        .deliver(&inbox, &reply(&peer, &community, &thread, 1))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(pending(&b).await, 2);
    let note = format!("{}/notes/1", peer.base);
    assert!(b.state.db.post_by_ap_id(&note).await.expect("db").is_none());
    assert!(b
        .state
        .db
        .received_activities()
        .await
        .expect("received")
        .is_empty());

    // The node dies with both unapplied; the lease's holder goes away too.
    let port = b.addr.port();
    let db = b.crash().await;
    let_go(&conn).await;
    let b = Node::start_with(options(&db, port, &[])).await;
    eventually(
        Duration::from_secs(20),
        "the recorded reply applied",
        || {
            let db = b.state.db.clone();
            let note = note.clone();
            async move { db.post_by_ap_id(&note).await.expect("db").map(|_| ()) }
        },
    )
    .await;
    eventually(Duration::from_secs(10), "nothing left pending", || async {
        (pending(&b).await == 0).then_some(())
    })
    .await;
    let received = b.state.db.received_activities().await.expect("received");
    let mut ids: Vec<&str> = received.iter().map(|(id, _, _)| id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            format!("{}/activities/1", peer.base),
            format!("{}/follows/1", peer.base)
        ],
        "each applied once"
    );
    // The follow made the reply's author a member.
    let member = b
        .state
        .db
        .membership(&community, &peer.actor)
        .await
        .expect("db")
        .expect("a member");
    assert_eq!(member.state.as_str(), "accepted");
    // A replay after it was applied is still ignored.
    let (status, body) = peer
        .deliver(&inbox_of(&b), &reply(&peer, &community, &thread, 1))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(pending(&b).await, 0);
    conn.close().await.ok();
}

fn inbox_of(b: &Node) -> String {
    b.url("/inbox")
}

#[tokio::test]
async fn past_the_bound_of_pending_activities_the_inbox_answers_429() {
    let (db, conn) = held_elsewhere().await;
    let b = Node::start_with(options(
        &db,
        0,
        &[("ROUNDTABLE__FEDERATION__INBOX_MAX_PENDING", "2")],
    ))
    .await;
    let (community, thread) = community_with_thread(&b).await;
    let peer = FakeServer::start("rosa").await;
    for activity in [
        follow(&peer, &community),
        reply(&peer, &community, &thread, 1),
    ] {
        let (status, body) = peer.deliver(&inbox_of(&b), &activity).await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = peer
        .deliver(&inbox_of(&b), &reply(&peer, &community, &thread, 2))
        .await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many activities to apply")),
        "{body}"
    );
    assert_eq!(pending(&b).await, 2, "the refused one is not recorded");
    // Once the backlog is applied, the sender's retry is taken.
    let_go(&conn).await;
    eventually(Duration::from_secs(20), "the backlog applied", || async {
        (pending(&b).await == 0 && b.state.inbox.pending() == 0).then_some(())
    })
    .await;
    let (status, body) = peer
        .deliver(&inbox_of(&b), &reply(&peer, &community, &thread, 2))
        .await;
    assert_eq!(status, 202, "{body}");
    let note = format!("{}/notes/2", peer.base);
    eventually(Duration::from_secs(10), "the retry applied", || {
        let db = b.state.db.clone();
        let note = note.clone();
        async move { db.post_by_ap_id(&note).await.expect("db").map(|_| ()) }
    })
    .await;
    conn.close().await.ok();
}

#[tokio::test]
async fn concurrent_arrivals_share_writes_and_are_applied_in_batches_in_order_per_post() {
    let (db, conn) = held_elsewhere().await;
    let b = Node::start_with(options(&db, 0, &[])).await;
    let (community, thread) = community_with_thread(&b).await;
    let peer = FakeServer::start("rosa").await;
    let (status, body) = peer
        .deliver(&inbox_of(&b), &follow(&peer, &community))
        .await;
    assert_eq!(status, 202, "{body}");
    let writes = b.state.inbox.writes.load(Ordering::Relaxed);
    let arrivals = b.state.inbox.arrivals.load(Ordering::Relaxed);
    let inbox = inbox_of(&b);
    let replies: Vec<Value> = (1..=32)
        .map(|n| reply(&peer, &community, &thread, n))
        .collect();
    let answers =
        futures_util::future::join_all(replies.iter().map(|r| peer.deliver(&inbox, r))).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 202),
        "{answers:?}"
    );
    let writes = b.state.inbox.writes.load(Ordering::Relaxed) - writes;
    let arrivals = b.state.inbox.arrivals.load(Ordering::Relaxed) - arrivals;
    eprintln!("32 concurrent arrivals took {writes} group writes");
    assert_eq!(arrivals, 32);
    assert!(writes < 32, "every arrival had a write of its own");
    assert_eq!(pending(&b).await, 33);
    // The edit of the first reply, recorded after it: it must not overtake its creation.
    let mut edit = reply(&peer, &community, &thread, 1);
    edit["id"] = json!(format!("{}/activities/1/edit", peer.base));
    edit["type"] = json!("Update");
    edit["object"]["content"] = json!("reply 1, edited");
    let (status, body) = peer.deliver(&inbox, &edit).await;
    assert_eq!(status, 202, "{body}");

    // Each applier takes its lanes' rows in one batch (at most 32), so 34 rows take at most
    // one batch per applier (4 by default), not one each.
    let batches = Metrics::get(&b.state.metrics.inbox_batches);
    let_go(&conn).await;
    eventually(Duration::from_secs(30), "every reply applied", || async {
        (pending(&b).await == 0).then_some(())
    })
    .await;
    let batches = Metrics::get(&b.state.metrics.inbox_batches) - batches;
    assert!((1..=4).contains(&batches), "{batches} batches");
    let received = b.state.db.received_activities().await.expect("received");
    assert_eq!(received.len(), 34, "{received:?}");
    let first = b
        .state
        .db
        .post_by_ap_id(&format!("{}/notes/1", peer.base))
        .await
        .expect("db")
        .expect("the first reply");
    assert!(first.content.contains("edited"), "{}", first.content);
    for n in 1..=32u32 {
        let note = format!("{}/notes/{n}", peer.base);
        assert!(
            b.state.db.post_by_ap_id(&note).await.expect("db").is_some(),
            "{note}"
        );
    }
    conn.close().await.ok();
}
