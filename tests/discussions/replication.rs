//! Complete replicas: a node that joins a community late, one that is killed in the middle of
//! its backfill, and one that was away while the community moved on (its deliveries purged)
//! all end with what the host holds — the same content digest, the same counts, the same
//! listings — by reading the community's stream over HTTP between real nodes.

use crate::harness::{eventually, ApiUser, Node, NodeOptions};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(120);

/// What the host is given before a replica joins.
struct Sizes {
    threads: usize,
    /// Threads that get a chain of `depth` nested replies.
    deep: usize,
    depth: usize,
    articles: usize,
    /// Revisions per article (the first is its creation).
    revisions: usize,
    events: usize,
}

async fn ok(user: &ApiUser, path: &str, body: Value) -> Value {
    let (status, out) = user.post(path, body).await;
    assert!(status < 300, "POST {path}: {status} {out}");
    out
}

/// alpha hosts `practice`, owned by olga; ann (alpha) is a member. Returns ids of the threads.
async fn host(alpha: &Node) -> (ApiUser, ApiUser) {
    let olga = alpha.api_user("olga").await;
    let ann = alpha.api_user("ann").await;
    ok(
        &olga,
        "/communities",
        json!({"slug": "practice", "title": "Platform practice"}),
    )
    .await;
    ok(&ann, "/communities/practice/join", json!({})).await;
    (olga, ann)
}

/// Threads (with nested replies on the first `deep`), articles with revisions, events with
/// RSVPs, and moderation: a deleted thread, a locked one, a pinned one.
async fn fill(olga: &ApiUser, ann: &ApiUser, s: &Sizes, tag: &str) -> Vec<String> {
    let mut threads = Vec::new();
    let mut ap_ids = Vec::new();
    for i in 0..s.threads {
        let author = if i % 3 == 0 { ann } else { olga };
        let t = ok(
            author,
            "/communities/practice/threads",
            json!({"title": format!("{tag} thread {i}"), "content": format!("Body of {tag} {i}")}),
        )
        .await;
        threads.push(t["id"].clone());
        ap_ids.push(t["ap_id"].as_str().expect("ap_id").to_string());
    }
    let mut first_reply = None;
    for thread in threads.iter().take(s.deep) {
        let mut parent: Option<Value> = None;
        for d in 0..s.depth {
            let author = if d % 2 == 0 { ann } else { olga };
            let mut body = json!({"content": format!("{tag} reply at depth {d}")});
            if let Some(p) = &parent {
                body["parent_id"] = p.clone();
            }
            let r = ok(author, &format!("/threads/{thread}/replies"), body).await;
            if first_reply.is_none() {
                first_reply = Some((thread.clone(), r["id"].clone()));
            }
            parent = Some(r["id"].clone());
        }
    }
    if threads.len() > 3 {
        let (status, _) = olga.delete(&format!("/threads/{}", threads[1])).await;
        assert_eq!(status, 204);
        ok(olga, &format!("/threads/{}/lock", threads[2]), json!({})).await;
        ok(olga, &format!("/threads/{}/pin", threads[3]), json!({})).await;
    }
    // A solved thread: the owner (a moderator) marks its first reply as the answer.
    if let Some((thread, reply)) = &first_reply {
        ok(
            olga,
            &format!("/threads/{thread}/answer"),
            json!({"reply": reply}),
        )
        .await;
    }
    for a in 0..s.articles {
        let created = ok(
            olga,
            "/communities/practice/articles",
            json!({"title": format!("{tag} article {a}"), "content": "version 0\n"}),
        )
        .await;
        let mut base = created["revision"].as_str().expect("revision").to_string();
        for r in 1..s.revisions {
            let author = if r % 2 == 0 { olga } else { ann };
            let (status, out) = author
                .put(
                    &format!("/articles/{}", created["id"]),
                    json!({"content": format!("version {r}\n"), "base_revision": base}),
                )
                .await;
            assert_eq!(status, 200, "{out}");
            base = out["revision"].as_str().expect("revision").to_string();
        }
    }
    for e in 0..s.events {
        let starts = chrono::Utc::now() + chrono::Duration::days(3 + e as i64);
        let event = ok(
            olga,
            "/communities/practice/events",
            json!({"title": format!("{tag} event {e}"), "starts_at": starts.to_rfc3339(),
                   "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339(),
                   "timezone": "Europe/Berlin"}),
        )
        .await;
        ok(
            ann,
            &format!("/events/{}/rsvp", event["id"]),
            json!({"going": true}),
        )
        .await;
    }
    ap_ids
}

async fn sync_of(user: &ApiUser, handle: &str) -> Value {
    let (status, body) = user.get(&format!("/communities/{handle}/sync")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The lines of the two digests that differ (to say what a failed comparison is about).
pub async fn digest_difference(host: &Node, replica: &Node, community: &str) -> Vec<String> {
    let (a, _) = host.state.db.content_lines(community).await.expect("lines");
    let (b, _) = replica
        .state
        .db
        .content_lines(community)
        .await
        .expect("lines");
    let only_host = a
        .iter()
        .filter(|l| !b.contains(l))
        .map(|l| format!("host only: {l}"));
    let only_replica = b
        .iter()
        .filter(|l| !a.contains(l))
        .map(|l| format!("replica only: {l}"));
    only_host.chain(only_replica).collect()
}

/// Waits until the replica says it holds what the host holds, and checks it against the
/// host's own report and listings.
async fn converged(nodes: (&Node, &Node), olga: &ApiUser, bert: &ApiUser, handle: &str) -> Value {
    let host = sync_of(olga, "practice").await;
    let started = std::time::Instant::now();
    let replica = loop {
        let s = sync_of(bert, handle).await;
        if s["in_sync"] == true {
            break s;
        }
        if started.elapsed() > WAIT {
            let community = host["community"].as_str().expect("community");
            let differences = digest_difference(nodes.0, nodes.1, community).await;
            panic!(
                "the replica is not in sync: {s}\n{}",
                differences.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let host_now = sync_of(olga, "practice").await;
    assert_eq!(host["position"], host_now["position"], "the host moved on");
    assert_eq!(replica["digest"], host["digest"], "{replica} {host}");
    assert_eq!(replica["contents"], host["contents"], "{replica} {host}");
    assert_eq!(replica["position"], host["position"]);
    // The listings agree too: the first pages list the same threads with the same state
    // (compared as sets, and up to the page's edge: a replica keeps publication times to the
    // second, so threads of one second may list in another order).
    let strip = |threads: Vec<Value>| -> Vec<(String, Value, Value, Value, Value)> {
        let mut rows: Vec<_> = threads
            .into_iter()
            .map(|t| {
                (
                    t["ap_id"].to_string(),
                    t["title"].clone(),
                    t["locked"].clone(),
                    t["pinned"].clone(),
                    t["solved"].clone(),
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    };
    let (on_replica, on_host) = (
        strip(bert.threads(handle).await),
        strip(olga.threads("practice").await),
    );
    assert_eq!(on_replica.len(), on_host.len());
    let common: Vec<_> = on_replica.iter().filter(|t| on_host.contains(t)).collect();
    assert!(
        common.len() + 2 >= on_host.len(),
        "{on_replica:?}\n{on_host:?}"
    );
    let count = |v: &Value, key: &str| v[key].as_array().map(Vec::len);
    let (_, host_events) = olga.get("/communities/practice/events").await;
    let (_, replica_events) = bert.get(&format!("/communities/{handle}/events")).await;
    assert_eq!(
        count(&replica_events, "events"),
        count(&host_events, "events")
    );
    replica
}

/// A node joins after 300 threads (3 with 30 nested replies), 10 articles of 20 revisions and
/// 5 events with RSVPs; it is killed in the middle of its backfill and restarted: it resumes
/// where it stopped and ends with exactly what the host holds, reading each page about once.
#[tokio::test]
async fn a_late_joiner_killed_mid_backfill_resumes_and_converges() {
    let alpha = Node::start().await;
    let (olga, ann) = host(&alpha).await;
    let sizes = Sizes {
        threads: 300,
        deep: 3,
        depth: 30,
        articles: 10,
        revisions: 20,
        events: 5,
    };
    let threads = fill(&olga, &ann, &sizes, "early").await;
    let host = sync_of(&olga, "practice").await;
    assert_eq!(host["contents"]["threads"], 300, "{host}");
    assert_eq!(host["contents"]["replies"], 90, "{host}");
    assert_eq!(host["contents"]["revisions"], 200, "{host}");
    assert_eq!(host["contents"]["events"], 5, "{host}");
    let head = host["position"].as_i64().expect("position");

    // Slow pages, so the kill lands in the middle.
    let slow = vec![(
        "ROUNDTABLE__FEDERATION__SYNC_PAUSE_MS".to_string(),
        "300".to_string(),
    )];
    let beta = Node::start_with(NodeOptions {
        env: slow.clone(),
        ..NodeOptions::default()
    })
    .await;
    let bert = beta.api_user("bert").await;
    let handle = format!("practice@{}", alpha.domain);
    let (status, body) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let community = format!("{}/c/practice", alpha.base);
    let state = beta.state.clone();
    eventually(WAIT, "the backfill under way", || async {
        let s = state.db.replica_sync(&community).await.expect("q")?;
        (s.position >= 100).then_some(())
    })
    .await;
    drop(state);
    let port = beta.addr.port();
    let db = beta.crash().await;
    let beta = Node::start_with(NodeOptions {
        db: Some(db),
        port,
        env: slow,
        ..NodeOptions::default()
    })
    .await;
    let stopped_at = beta
        .state
        .db
        .replica_sync(&community)
        .await
        .expect("q")
        .expect("a position kept");
    assert!(
        stopped_at.position > 0 && stopped_at.position < head,
        "killed mid-way: {stopped_at:?} of {head}"
    );
    let replica = converged((&alpha, &beta), &olga, &bert, &handle).await;

    // Each page of the stream was read about once: the pages of the whole stream, plus the
    // one in flight at the kill and an empty read at the end of each pass.
    let full_pages = (head + 49) / 50;
    let pages = replica["pages"].as_i64().expect("pages");
    assert!(
        pages >= full_pages && pages <= full_pages + 4,
        "{pages} pages read for a stream of {full_pages}"
    );
    // The deepest reply of the oldest thread's chain is on the replica.
    let deep = beta
        .state
        .db
        .post_by_ap_id(&threads[0])
        .await
        .expect("q")
        .expect("the oldest thread on beta");
    let (status, replies) = bert
        .get(&format!("/threads/{}/replies?limit=50", deep.id))
        .await;
    assert_eq!(status, 200, "{replies}");
    let replies = replies["replies"].as_array().cloned().unwrap_or_default();
    assert_eq!(replies.len(), 30, "{replies:?}");
    assert!(
        replies
            .iter()
            .any(|r| r.to_string().contains("reply at depth 29")),
        "{replies:?}"
    );
    // The CLI shows the same; driving a pass on a replica in step reads one page and applies
    // nothing.
    let out = beta.cli(&["community", "sync", &handle, "--status"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("position: {head} of {head}"))
            && out
                .stdout
                .contains("300 threads, 90 replies, 200 revisions, 5 events"),
        "{}",
        out.stdout
    );
    let out = beta.cli(&["community", "sync", &handle]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("this pass: 1 pages, 0 applied, 0 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("position: {head} of {head}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("in sync: yes"), "{}", out.stdout);
}

/// A replica is stopped; meanwhile 100 threads, 200 replies, 30 article edits and RSVP changes
/// happen on the host, and its deliveries to the stopped node are purged (as after a dead-peer
/// purge). Started again, it catches up by itself and converges.
#[tokio::test]
async fn a_replica_that_was_away_catches_up_by_itself() {
    let alpha = Node::start().await;
    let (olga, ann) = host(&alpha).await;
    let beta = Node::start().await;
    let bert = beta.api_user("bert").await;
    let handle = format!("practice@{}", alpha.domain);
    let (status, _) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202);
    fill(
        &olga,
        &ann,
        &Sizes {
            threads: 5,
            deep: 1,
            depth: 3,
            articles: 2,
            revisions: 2,
            events: 1,
        },
        "before",
    )
    .await;
    converged((&alpha, &beta), &olga, &bert, &handle).await;

    let port = beta.addr.port();
    let beta_host = beta.domain.clone();
    let db = beta.crash().await;
    fill(
        &olga,
        &ann,
        &Sizes {
            threads: 100,
            deep: 10,
            depth: 20,
            articles: 2,
            revisions: 16,
            events: 2,
        },
        "away",
    )
    .await;
    // RSVP changes: ann leaves the first event.
    let (_, events) = ann.get("/communities/practice/events").await;
    let first = events["events"][0]["id"].clone();
    ok(
        &ann,
        &format!("/events/{first}/rsvp"),
        json!({"going": false}),
    )
    .await;
    // Everything queued for beta is dropped, as a purge of a dead peer does.
    let dropped = alpha
        .state
        .db
        .drop_jobs_for_host(&beta_host)
        .await
        .expect("drop");
    assert!(
        dropped > 300,
        "only {dropped} deliveries were queued for beta"
    );

    let beta = Node::start_with(NodeOptions {
        db: Some(db),
        port,
        ..NodeOptions::default()
    })
    .await;
    let replica = converged((&alpha, &beta), &olga, &bert, &handle).await;
    assert_eq!(replica["contents"]["threads"], 105, "{replica}");

    // A copy that lost content while its position says it is in step: the digests differ,
    // and asking for a pass replays the stream from the start.
    let community = format!("{}/c/practice", alpha.base);
    let dropped = beta
        .state
        .db
        .drop_copy_content(&community)
        .await
        .expect("drop");
    assert!(dropped > 300, "{dropped}");
    let (status, before) = bert
        .post(&format!("/communities/{handle}/sync"), json!({}))
        .await;
    assert_eq!(status, 202, "{before}");
    let replica = converged((&alpha, &beta), &olga, &bert, &handle).await;
    assert_eq!(replica["contents"]["threads"], 105, "{replica}");
    // The operator's rebuild does the same from the command line.
    let out = beta.cli(&["community", "sync", &handle, "--rebuild"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("in sync: yes"), "{}", out.stdout);
    assert!(
        out.stdout.contains("105 threads, 203 replies"),
        "{}",
        out.stdout
    );
}
