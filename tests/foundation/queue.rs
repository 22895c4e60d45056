//! The persistent delivery queue: peers that are down, senders that crash, processes that
//! share one database.

use crate::harness::{eventually, Node, NodeOptions};
use roundtable::{delivery, metrics::Metrics};
use serde_json::{json, Value};
use std::time::Duration;
use url::Url;

/// A free port nobody listens on (yet).
async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    l.local_addr().expect("addr").port()
}

fn activity(a: &Node, n: u32) -> Value {
    let actor = a.url("/u/alice");
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/activities/{n}"),
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": format!("{actor}/notes/{n}"), "type": "Note", "attributedTo": actor, "content": "hi"},
    })
}

async fn queue_three(a: &Node, b_port: u16) -> Vec<String> {
    let alice = match a.state.db.local_actor_by_name("alice").await.expect("db") {
        Some(actor) => actor,
        None => a.user("alice").await,
    };
    let inbox = Url::parse(&format!("http://localhost:{b_port}/inbox")).expect("url");
    let mut ids = Vec::new();
    for n in 1..=3 {
        let act = activity(a, n);
        ids.push(act["id"].as_str().expect("id").to_string());
        delivery::send(&a.state, &alice, &act, [inbox.clone()])
            .await
            .expect("queued");
    }
    ids
}

async fn wait_for_three(b: &Node) -> Vec<String> {
    let got = eventually(Duration::from_secs(20), "3 activities at B", || async {
        let list = b.state.db.received_activities().await.ok()?;
        (list.len() >= 3).then_some(list)
    })
    .await;
    got.into_iter().map(|(id, _, _)| id).collect()
}

async fn assert_exactly_once(b: &Node, expected: &[String]) {
    // Leave time for any stray duplicate to arrive before counting.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got: Vec<String> = b
        .state
        .db
        .received_activities()
        .await
        .expect("received")
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(got, expected, "all arrive, in order");
    assert_eq!(
        Metrics::get(&b.state.metrics.inbox_replayed),
        0,
        "nothing was sent twice"
    );
}

#[tokio::test]
async fn pending_deliveries_arrive_once_in_order_when_the_peer_comes_up() {
    let a = Node::start().await;
    let b_port = free_port().await;
    let ids = queue_three(&a, b_port).await;

    // B is down: A tries, fails and keeps the jobs.
    eventually(Duration::from_secs(10), "failed attempts", || async {
        (Metrics::get(&a.state.metrics.deliveries_failed) >= 2).then_some(())
    })
    .await;
    let counts = a.state.db.job_counts().await.expect("counts");
    assert_eq!(counts, vec![("pending".to_string(), 3)]);

    let b = Node::start_with(NodeOptions {
        port: b_port,
        ..Default::default()
    })
    .await;
    let got = wait_for_three(&b).await;
    assert_eq!(got, ids);
    assert_exactly_once(&b, &ids).await;
    eventually(Duration::from_secs(5), "all delivered", || async {
        let counts = a.state.db.job_counts().await.ok()?;
        (counts == vec![("delivered".to_string(), 3)]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_sender_restart_loses_nothing() {
    let a = Node::start().await;
    let a_port = a.addr.port();
    let b_port = free_port().await;
    let ids = queue_three(&a, b_port).await;
    eventually(Duration::from_secs(10), "a failed attempt", || async {
        (Metrics::get(&a.state.metrics.deliveries_failed) >= 1).then_some(())
    })
    .await;

    // Crash A (no graceful stop), then start it again on the same database and address.
    let db = a.crash().await;
    let a = Node::start_with(NodeOptions {
        db: Some(db),
        port: a_port,
        ..Default::default()
    })
    .await;
    assert_eq!(
        a.state.db.job_counts().await.expect("counts"),
        vec![("pending".to_string(), 3)]
    );

    let b = Node::start_with(NodeOptions {
        port: b_port,
        ..Default::default()
    })
    .await;
    let got = wait_for_three(&b).await;
    assert_eq!(got, ids);
    assert_exactly_once(&b, &ids).await;

    // A graceful stop keeps unsent jobs too.
    let c_port = free_port().await;
    let db = a.stop().await;
    let a = Node::start_with(NodeOptions {
        db: Some(db),
        port: a_port,
        ..Default::default()
    })
    .await;
    let more = queue_three(&a, c_port).await;
    let db = a.stop().await;
    let a = Node::start_with(NodeOptions {
        db: Some(db),
        port: a_port,
        ..Default::default()
    })
    .await;
    let c = Node::start_with(NodeOptions {
        port: c_port,
        ..Default::default()
    })
    .await;
    let got = wait_for_three(&c).await;
    assert_eq!(got, more);
    assert_exactly_once(&c, &more).await;
    drop(a);
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_job_once() {
    let b = Node::start().await;
    let a1 = Node::start().await;
    let alice = a1.user("alice").await;
    // A second process of the same node: same database, same domain, its own port.
    let a2 = Node::start_with(NodeOptions {
        db: Some(a1.db.clone()),
        domain: Some(a1.domain.clone()),
        ..Default::default()
    })
    .await;

    let inbox = Url::parse(&b.url("/inbox")).expect("url");
    let mut ids = Vec::new();
    for n in 1..=20 {
        let act = activity(&a1, n);
        ids.push(act["id"].as_str().expect("id").to_string());
        // Alternate which process queues, as two web processes would.
        let state = if n % 2 == 0 { &a1.state } else { &a2.state };
        delivery::send(state, &alice, &act, [inbox.clone()])
            .await
            .expect("queued");
    }
    eventually(Duration::from_secs(30), "20 activities at B", || async {
        let n = b.state.db.received_activities().await.ok()?.len();
        (n >= 20).then_some(())
    })
    .await;
    assert_exactly_once(&b, &ids).await;
    let sent = Metrics::get(&a1.state.metrics.deliveries_ok)
        + Metrics::get(&a2.state.metrics.deliveries_ok);
    assert_eq!(sent, 20, "each job was sent by exactly one process");
    let jobs = a1.state.db.delivery_jobs().await.expect("jobs");
    assert_eq!(jobs.len(), 20);
    assert!(
        jobs.iter()
            .all(|j| j.attempts == 1 && j.state == "delivered"),
        "every job claimed once"
    );
}

#[tokio::test]
async fn a_final_refusal_is_not_retried() {
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.user("alice").await;
    // B answers 404 for an inbox of an actor it does not have: final.
    let inbox = Url::parse(&b.url("/u/nobody/inbox")).expect("url");
    delivery::send(&a.state, &alice, &activity(&a, 1), [inbox])
        .await
        .expect("queued");
    let job = eventually(Duration::from_secs(10), "job finished", || async {
        let jobs = a.state.db.delivery_jobs().await.ok()?;
        jobs.into_iter().find(|j| j.state == "failed")
    })
    .await;
    assert_eq!(job.attempts, 1);
    assert!(job.last_error.as_deref().is_some_and(|e| e.contains("404")));
}

#[tokio::test]
async fn a_peer_failing_for_three_days_is_dead_until_it_contacts_us() {
    let a = Node::start_with(NodeOptions {
        // No workers racing the test: it drives the queue by hand.
        env: vec![(
            "ROUNDTABLE__DELIVERY__POLL_INTERVAL_MS".into(),
            "3600000".into(),
        )],
        ..Default::default()
    })
    .await;
    let alice = a.user("alice").await;
    let db = &a.state.db;
    let host = "peer.example";
    let jobs = delivery::jobs_for(
        &a.state,
        &alice,
        &activity(&a, 1),
        [Url::parse("https://peer.example/inbox").expect("url")],
    );
    // Queueing the same activity for the same inbox twice keeps one job. The workers are not
    // woken (`nobody` has no waiter): the test drives the queue by hand.
    let nobody = tokio::sync::Notify::new();
    db.enqueue(jobs.clone())
        .await
        .expect("enqueue")
        .wake(&nobody);
    db.enqueue(jobs).await.expect("enqueue again").wake(&nobody);
    assert_eq!(db.delivery_jobs().await.expect("jobs").len(), 1);

    let day = 86_400_000i64;
    let dead_after = 72 * 3_600_000i64;
    let t0 = roundtable::db::now_ms() + 365 * day;
    let claim = |now: i64| db.claim_job("w", now, now + 60_000);

    let job = claim(t0).await.expect("claim").expect("due");
    assert!(!db
        .retry_job(&job, "boom", t0 + 1000, t0, dead_after)
        .await
        .expect("retry"));
    let job = claim(t0 + day).await.expect("claim").expect("due again");
    assert!(!db
        .retry_job(&job, "boom", t0 + day + 1000, t0 + day, dead_after)
        .await
        .expect("retry"));
    let later = t0 + 3 * day + 1;
    let job = claim(later).await.expect("claim").expect("due");
    assert!(
        db.retry_job(&job, "boom", later + 1000, later, dead_after)
            .await
            .expect("retry"),
        "72 h of failures mark the peer dead"
    );
    assert!(db.peer(host).await.expect("peer").is_some_and(|p| p.dead));
    assert!(
        claim(later + 10 * day).await.expect("claim").is_none(),
        "a dead peer's jobs are held"
    );

    // The peer sends us a verified request: it is alive again and its jobs are due at once.
    db.peer_contacted(host).await.expect("contact");
    assert!(db.peer(host).await.expect("peer").is_some_and(|p| !p.dead));
    let job = claim(roundtable::db::now_ms()).await.expect("claim");
    assert!(job.is_some(), "held jobs are released");
}

#[tokio::test]
async fn a_change_and_its_deliveries_commit_together_or_not_at_all() {
    use roundtable::db::{discussions::Write, queue::NewJob};
    let a = Node::start().await;
    let olga = a.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let (_, thread) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "t", "content": "c"}),
        )
        .await;
    let post_id = thread["id"].as_i64().expect("id");
    let liker = "https://b.example/u/bob".to_string();
    let like = Write::AddLike {
        post_id,
        actor: liker.clone(),
        ap_id: "https://b.example/activities/like/1".into(),
    };
    let job = |signer: i64| NewJob {
        activity_id: "https://a.example/activities/announce/1".into(),
        signer_actor_id: signer,
        inbox: "https://b.example/inbox".into(),
        host: "b.example".into(),
        body: "{}".into(),
        kind: "Announce".into(),
        audience: None,
    };
    let db = &a.state.db;
    let jobs_before = db.delivery_jobs().await.expect("jobs").len();

    // The job cannot be written (its signer does not exist): the like is not kept either.
    let err = db
        .apply_and_enqueue(std::slice::from_ref(&like), vec![job(i64::MAX)], true)
        .await;
    assert!(err.is_err(), "the job violates its foreign key");
    assert!(db.like_of(post_id, &liker).await.expect("db").is_none());
    assert_eq!(db.delivery_jobs().await.expect("jobs").len(), jobs_before);

    // With a valid job, both are there.
    let signer = db
        .local_actor_by_name("olga")
        .await
        .expect("db")
        .expect("olga")
        .id;
    assert!(db
        .apply_and_enqueue(std::slice::from_ref(&like), vec![job(signer)], true)
        .await
        .expect("committed")
        // As before: the workers are left to find the job on their own.
        .wake(&tokio::sync::Notify::new()));
    assert!(db.like_of(post_id, &liker).await.expect("db").is_some());
    assert_eq!(
        db.delivery_jobs().await.expect("jobs").len(),
        jobs_before + 1
    );
    let stored = db.post(post_id).await.expect("db").expect("post");
    assert_eq!(stored.like_count, 1);
}
