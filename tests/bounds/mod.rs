//! Issue 11, class 8: bounded work. Cheap or anonymous requests must not cost the node
//! unbounded CPU, memory or connections.

mod paging;

use crate::harness::{
    eventually, fake::FakeServer, quiet_env, sign::Post, ApiUser, Node, NodeOptions,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const WAIT: Duration = Duration::from_secs(20);

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string()))
        .collect()
}

fn in_days(days: i64, hour_offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(hour_offset))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A node with olga's public community `practice`.
async fn practice(options: NodeOptions) -> (Node, ApiUser) {
    let node = Node::start_with(options).await;
    let olga = node.api_user("olga").await;
    let (status, body) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201, "{body}");
    (node, olga)
}

fn event_input(starts_at: &str, ends_at: &str) -> Value {
    json!({"title": "Roundtable", "starts_at": starts_at, "ends_at": ends_at,
           "timezone": "Europe/Berlin"})
}

/// Observances (`STANDARD`/`DAYLIGHT`) in a calendar's `VTIMEZONE`s: the time-zone work a
/// feed did.
fn observances(ics: &str) -> usize {
    ics.matches("BEGIN:STANDARD").count() + ics.matches("BEGIN:DAYLIGHT").count()
}

async fn feed(node: &Node) -> String {
    let response = crate::harness::http()
        .get(node.url("/api/roundtable/v1/communities/practice/events.ics"))
        .send()
        .await
        .expect("feed");
    assert_eq!(response.status(), 200);
    response.text().await.expect("text")
}

#[tokio::test]
async fn events_outside_1970_to_2200_or_longer_than_a_year_are_refused() {
    let (alpha, olga) = practice(NodeOptions::default()).await;
    for (starts, ends, why) in [
        (
            "0001-01-01T00:00:00Z",
            "9999-12-31T00:00:00Z",
            "years 1 to 9999",
        ),
        (
            "1969-12-31T10:00:00Z",
            "1969-12-31T12:00:00Z",
            "before 1970",
        ),
        ("2200-06-01T10:00:00Z", "2200-06-01T12:00:00Z", "after 2200"),
        (&in_days(2, 0), &in_days(2 + 400, 0), "400 days long"),
    ] {
        let (status, body) = olga
            .post("/communities/practice/events", event_input(starts, ends))
            .await;
        assert_eq!(status, 422, "{why}: {body}");
        assert!(body["error"].is_string(), "{why}: {body}");
    }
    // Moving an existing event out of range is refused the same way.
    let (status, event) = olga
        .post(
            "/communities/practice/events",
            event_input(&in_days(2, 0), &in_days(2, 2)),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let (status, body) = olga
        .patch(
            &format!("/events/{}", event["id"]),
            json!({"ends_at": "9999-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The same check for an event another server sends: a Mastodon-like server whose actor
    // moderates the community proposes events to it.
    let community = alpha.url("/c/practice");
    let masto = FakeServer::start("mod").await;
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", masto.base),
        "type": "Follow",
        "actor": masto.actor,
        "object": community,
    });
    let (status, body) = masto.deliver(&alpha.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");
    let (_, members) = olga.get("/communities/practice/members").await;
    let member = members["members"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["actor"]["ap_id"] == masto.actor.as_str())
        })
        .map(|m| m["id"].clone())
        .expect("the remote actor is a member");
    let (status, body) = olga
        .post(
            &format!("/communities/practice/members/{member}/role"),
            json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let propose = |n: u32, title: &str, starts: &str, ends: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/{n}", masto.base),
            "type": "Create",
            "actor": masto.actor,
            "to": [community],
            "object": {
                "id": format!("{}/events/{n}", masto.base),
                "type": "Event",
                "name": title,
                "startTime": starts,
                "endTime": ends,
                "timezone": "Europe/Berlin",
                "attributedTo": masto.actor,
                "audience": community,
            },
        })
    };
    let far = propose(
        1,
        "From year 1",
        "0001-01-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
    );
    let (status, body) = masto.deliver(&community_inbox(&alpha), &far).await;
    assert!((400..500).contains(&status), "{status} {body}");
    // A sane proposal from the same moderator is scheduled, so the refusal above was the time.
    let sane = propose(2, "Next week", &in_days(7, 0), &in_days(7, 2));
    let (status, body) = masto.deliver(&community_inbox(&alpha), &sane).await;
    assert_eq!(status, 202, "{body}");
    let titles = eventually(WAIT, "the sane remote event", || async {
        let (_, list) = olga.get("/communities/practice/events").await;
        let titles: Vec<String> = list["events"]
            .as_array()?
            .iter()
            .filter_map(|e| e["title"].as_str().map(str::to_string))
            .collect();
        titles.iter().any(|t| t == "Next week").then_some(titles)
    })
    .await;
    assert!(!titles.iter().any(|t| t == "From year 1"), "{titles:?}");
}

fn community_inbox(node: &Node) -> String {
    node.url("/c/practice/inbox")
}

#[tokio::test]
async fn feeds_compute_time_zones_only_around_the_times_they_list() {
    let (alpha, olga) = practice(NodeOptions::default()).await;
    // Two events more than a century apart, in a zone with daylight saving time.
    for (starts, ends) in [
        (in_days(2, 0), in_days(2, 2)),
        (
            "2150-01-15T10:00:00Z".to_string(),
            "2150-01-15T12:00:00Z".to_string(),
        ),
    ] {
        let (status, body) = olga
            .post("/communities/practice/events", event_input(&starts, &ends))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let ics = feed(&alpha).await;
    assert!(
        ics.contains("DTSTART;TZID=Europe/Berlin:21500115T110000"),
        "{ics}"
    );
    // One opening observance, and per event at most one change at its window and one
    // inside it — not the ~250 changes between now and 2150.
    let n = observances(&ics);
    eprintln!("observances for two events 124 years apart: {n}");
    assert!(n <= 1 + 2 * 2, "{n} observances:\n{ics}");

    // An event stored before times were checked (here written straight to the database)
    // spanning years 1 to 9999 costs a feed no more than any other event.
    let (_, list) = olga.get("/communities/practice/events").await;
    let id = list["events"][0]["id"].as_i64().expect("id");
    let mut legacy = alpha.state.db.event(id).await.expect("db").expect("event");
    legacy.starts_at = chrono::DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
        .expect("t")
        .timestamp_millis();
    legacy.ends_at = chrono::DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
        .expect("t")
        .timestamp_millis();
    alpha
        .state
        .db
        .save_event(legacy, Vec::new())
        .await
        .expect("save")
        .wake(&alpha.state.delivery_wakeup);
    let started = Instant::now();
    let ics = feed(&alpha).await;
    eprintln!(
        "feed with a year 1-9999 event: {:?}, {} observances",
        started.elapsed(),
        observances(&ics)
    );
    assert!(ics.contains(":00010101T"), "{ics}");
    assert!(observances(&ics) <= 1 + 2 * 3, "{ics}");
}

/// `lines` lines, all different from those of any other `tag`.
fn text(tag: &str, lines: usize) -> String {
    (0..lines).map(|i| format!("{tag} line {i}\n")).collect()
}

#[tokio::test]
async fn diffs_and_merges_of_texts_past_the_cap_are_refused() {
    let (alpha, olga) = practice(NodeOptions::default()).await;
    let cap = roundtable::service::articles::MAX_DIFF_LINES;
    let (status, created) = olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Handbook", "content": text("first", 20)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].clone();
    let first = created["revision"].as_str().expect("rev").to_string();
    let (status, small) = olga
        .put(
            &format!("/articles/{id}"),
            json!({"content": format!("{}one more\n", text("first", 20)), "base_revision": first}),
        )
        .await;
    assert_eq!(status, 200, "{small}");
    let second = small["revision"].as_str().expect("rev").to_string();
    // A normal diff works.
    let (status, diff) = olga
        .get(&format!("/articles/{id}/diff?from={first}&to={second}"))
        .await;
    assert_eq!(status, 200, "{diff}");
    assert!(diff["unified"]
        .as_str()
        .is_some_and(|u| u.contains("+one more")));

    // Two large unrelated revisions: refused before any diff is computed, anonymously too.
    let (status, big) = olga
        .put(
            &format!("/articles/{id}"),
            json!({"content": text("big", cap + 100), "base_revision": second}),
        )
        .await;
    assert_eq!(status, 200, "{big}");
    let third = big["revision"].as_str().expect("rev").to_string();
    let (status, other) = olga
        .put(
            &format!("/articles/{id}"),
            json!({"content": text("other", cap + 100), "base_revision": third}),
        )
        .await;
    assert_eq!(status, 200, "{other}");
    let fourth = other["revision"].as_str().expect("rev").to_string();
    let anonymous = alpha.anonymous();
    let (status, body) = anonymous
        .get(&format!("/articles/{id}/diff?from={third}&to={fourth}"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("lines")),
        "{body}"
    );

    // An edit based on an old revision needs a three-way merge with texts past the cap:
    // refused with 422, nothing stored.
    let (status, body) = olga
        .put(
            &format!("/articles/{id}"),
            json!({"content": text("stale", cap + 100), "base_revision": third}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, article) = olga.get(&format!("/articles/{id}")).await;
    assert_eq!(article["revision"], fourth.as_str());
}

#[tokio::test]
async fn a_huge_limit_is_capped_and_the_history_pages_on() {
    let (alpha, olga) = practice(NodeOptions {
        env: quiet_env(),
        ..Default::default()
    })
    .await;
    let (status, created) = olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Log", "content": "entry 0\n"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].clone();
    let mut head = created["revision"].as_str().expect("rev").to_string();
    for n in 1..105 {
        let (status, body) = olga
            .put(
                &format!("/articles/{id}"),
                json!({"content": format!("entry {n}\n"), "base_revision": head}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        head = body["revision"].as_str().expect("rev").to_string();
    }
    let cap = roundtable::service::articles::MAX_REVISIONS_LISTED as usize;
    let anonymous = alpha.anonymous();
    let (status, page) = anonymous
        .get(&format!("/articles/{id}/revisions?limit=100000"))
        .await;
    assert_eq!(status, 200, "{page}");
    let revisions = page["revisions"].as_array().expect("list");
    assert_eq!(
        revisions.len(),
        cap,
        "105 revisions exist, at most {cap} answered"
    );
    assert_eq!(revisions[0]["number"], 105);
    let next = page["next_before"].as_i64().expect("a cursor to the rest");
    let (status, rest) = anonymous
        .get(&format!(
            "/articles/{id}/revisions?before={next}&limit=100000"
        ))
        .await;
    assert_eq!(status, 200, "{rest}");
    let rest = rest["revisions"].as_array().expect("list");
    assert_eq!(rest.len(), 105 - cap);
    assert_eq!(rest.last().expect("oldest")["number"], 1);
}

#[tokio::test]
async fn listing_threads_costs_the_same_queries_for_few_or_many() {
    let (alpha, olga) = practice(NodeOptions {
        env: quiet_env(),
        ..Default::default()
    })
    .await;
    let anonymous = alpha.anonymous();
    let mut costs = Vec::new();
    let mut made = 0;
    for total in [2, 30] {
        while made < total {
            let (status, body) = olga
                .post(
                    "/communities/practice/threads",
                    json!({"title": format!("Thread {made}"), "content": "Hello"}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            made += 1;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The least of three reads, so stray worker queries are not counted.
        let mut cost = u64::MAX;
        for _ in 0..3 {
            let before = alpha.state.db.query_count();
            let (status, body) = anonymous.get("/communities/practice/threads").await;
            cost = cost.min(alpha.state.db.query_count() - before);
            assert_eq!(status, 200);
            assert_eq!(body["threads"].as_array().map(Vec::len), Some(total));
        }
        costs.push(cost);
    }
    eprintln!("queries to list 2 and 30 threads: {costs:?}");
    assert_eq!(costs[0], costs[1], "queries per list: {costs:?}");
}

/// A document (a post's, an outbox page) as another server fetches it, the same three times,
/// and the statements that cost (the least of the three, so a background worker's statements
/// are not counted).
async fn fetch_post(node: &Node, ap_id: &str) -> (u16, Value, u64) {
    let mut cost = u64::MAX;
    let mut last = (0, Value::Null);
    for _ in 0..3 {
        let before = node.state.db.query_count();
        let response = crate::harness::http()
            .get(ap_id)
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        let doc = response.json::<Value>().await.unwrap_or(Value::Null);
        cost = cost.min(node.state.db.query_count() - before);
        if last.0 != 0 {
            assert_eq!(last, (status, doc.clone()), "the same row, the same answer");
        }
        last = (status, doc);
    }
    (last.0, last.1, cost)
}

#[tokio::test]
async fn a_post_document_is_served_as_last_rendered_until_its_row_changes() {
    let (alpha, olga) = practice(NodeOptions {
        env: quiet_env(),
        ..Default::default()
    })
    .await;
    let (status, thread) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Kept", "content": "First words"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let id = thread["id"].clone();
    let (status, reply) = olga
        .post(
            &format!("/threads/{id}/replies"),
            json!({"content": "A reply @olga"}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let ap_id = thread["ap_id"].as_str().expect("id");
    let reply_id = reply["ap_id"].as_str().expect("id");

    // The first fetch renders: the row, the community, its mention, the mentions, the
    // images (7 statements when this was written); the next ones read the row and the
    // community only (3), whatever stray statements a worker adds to the first.
    let before = alpha.state.db.query_count();
    let (status, doc, kept) = fetch_post(&alpha, ap_id).await;
    let all_three = alpha.state.db.query_count() - before;
    assert_eq!(status, 200);
    assert_eq!(
        doc["content"].as_str().map(|c| c.contains("First words")),
        Some(true)
    );
    eprintln!("statements: three fetches, the first rendering: {all_three}; a kept one: {kept}");
    assert!(
        kept <= 4 && kept * 3 + 3 <= all_three,
        "a kept document costs {kept} statements; three fetches cost {all_three}"
    );
    let (status, reply_doc, _) = fetch_post(&alpha, reply_id).await;
    assert_eq!(status, 200);
    assert_eq!(reply_doc["inReplyTo"].as_str(), Some(ap_id));

    // The outbox's page is kept too, and shows the same.
    let outbox = alpha.url("/c/practice/outbox?page=true");
    let first_says = |page: &Value, words: &str| {
        page["orderedItems"][0]["object"]["object"]["content"]
            .as_str()
            .is_some_and(|c| c.contains(words))
    };
    let (status, page, _) = fetch_post(&alpha, &outbox).await;
    assert_eq!(status, 200, "{page}");
    assert!(first_says(&page, "First words"), "{page}");

    // Every change of the row shows at the next fetch.
    let (status, body) = olga
        .patch(
            &format!("/threads/{id}"),
            json!({"content": "Second words"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, doc, _) = fetch_post(&alpha, ap_id).await;
    assert_eq!(
        doc["content"].as_str().map(|c| c.contains("Second words")),
        Some(true),
        "{doc}"
    );
    assert!(doc["updated"].is_string(), "{doc}");
    let (_, page, _) = fetch_post(&alpha, &outbox).await;
    assert!(first_says(&page, "Second words"), "{page}");
    let (status, newer) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Newer", "content": "Third words"}),
        )
        .await;
    assert_eq!(status, 201, "{newer}");
    let (_, page, _) = fetch_post(&alpha, &outbox).await;
    assert!(first_says(&page, "Third words"), "{page}");
    assert_eq!(doc["locked"], false);
    let (status, body) = olga.post(&format!("/threads/{id}/lock"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, doc, _) = fetch_post(&alpha, ap_id).await;
    assert_eq!(doc["locked"], true, "{doc}");
    let (status, _) = olga.delete(&format!("/threads/{id}")).await;
    assert_eq!(status, 204);
    let (status, doc, _) = fetch_post(&alpha, ap_id).await;
    assert_eq!(status, 410, "{doc}");
    assert_eq!(doc["type"], "Tombstone");
}

/// Runs `sql` on the node's database and returns every row's columns `columns` as text.
async fn rows(node: &Node, sql: &str, columns: &[&str]) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(node.db.url.as_str()).await?;
    let backend = conn.get_database_backend();
    let result = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await;
    conn.close().await.ok();
    let mut out = Vec::new();
    for row in result? {
        for column in columns {
            out.push(row.try_get::<String>("", column)?);
        }
    }
    Ok(out)
}

#[tokio::test]
async fn received_activities_keep_no_body_and_forget_ids_past_the_replay_window() {
    // A five-second window: a `Date` up to 4 s old or 1 s ahead.
    let node = Node::start_with(NodeOptions {
        env: env(&[
            ("FEDERATION__SIGNATURE_MAX_AGE_SECS", "4"),
            ("FEDERATION__SIGNATURE_MAX_FUTURE_SECS", "1"),
        ]),
        ..Default::default()
    })
    .await;
    let peer = FakeServer::start("padder").await;
    let padding = "x".repeat(200_000);
    let dislike = |n: u32| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/dislikes/{n}", peer.base),
            "type": "Dislike",
            "actor": peer.actor,
            "object": format!("{}/notes/1", peer.base),
            "content": padding,
        })
    };
    let key = format!("{}#main-key", peer.actor);
    let first = Post::new(
        &node.url("/inbox"),
        &dislike(1),
        &key,
        &peer.keys.private_pem,
    );
    let (status, body) = first.send(&crate::harness::http()).await;
    assert_eq!(status, 202, "{body}");
    // Recorded by now; its `Date` is older still.
    let recorded = Instant::now();
    let first_id = format!("{}/dislikes/1", peer.base);
    assert!(node.state.db.activity_seen(&first_id).await.expect("db"));
    // Within the window the same signed request is a replay.
    let replayed = roundtable::metrics::Metrics::get(&node.state.metrics.inbox_replayed);
    let (status, _) = first.send(&crate::harness::http()).await;
    assert_eq!(status, 202);
    assert_eq!(
        roundtable::metrics::Metrics::get(&node.state.metrics.inbox_replayed),
        replayed + 1
    );

    // No body is stored: the old table with bodies is gone, and all that is kept of a 200 KB
    // activity is a few hundred bytes.
    let old = rows(&node, "SELECT body FROM received_activities", &["body"]).await;
    assert!(
        old.is_err(),
        "bodies are stored: {} bytes",
        old.map(|b| b.iter().map(String::len).sum::<usize>())
            .unwrap_or(0)
    );
    let kept = rows(
        &node,
        "SELECT id_hash, ap_id, kind, actor FROM received_activity_ids",
        &["id_hash", "ap_id", "kind", "actor"],
    )
    .await
    .expect("received ids");
    let bytes: usize = kept.iter().map(String::len).sum();
    assert!(bytes < 1_000, "{bytes} bytes kept: {kept:?}");
    assert!(!kept.iter().any(|c| c.contains("xxxxxxxx")), "{kept:?}");

    // Past the window the request can no longer be replayed, and its id is forgotten once
    // another activity arrives.
    tokio::time::sleep(Duration::from_millis(5_500).saturating_sub(recorded.elapsed())).await;
    let (status, _) = first.send(&crate::harness::http()).await;
    assert_eq!(status, 401, "the old signed request is out of its window");
    let second = Post::new(
        &node.url("/inbox"),
        &dislike(2),
        &key,
        &peer.keys.private_pem,
    );
    let (status, body) = second.send(&crate::harness::http()).await;
    assert_eq!(status, 202, "{body}");
    assert!(!node.state.db.activity_seen(&first_id).await.expect("db"));
    let ids: Vec<String> = node
        .state
        .db
        .received_activities()
        .await
        .expect("db")
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, vec![format!("{}/dislikes/2", peer.base)]);
    // The fresh one still answers as a replay.
    let replayed = roundtable::metrics::Metrics::get(&node.state.metrics.inbox_replayed);
    let (status, _) = second.send(&crate::harness::http()).await;
    assert_eq!(status, 202);
    assert_eq!(
        roundtable::metrics::Metrics::get(&node.state.metrics.inbox_replayed),
        replayed + 1
    );
}

/// Reads from `stream` until the server closes it (or `limit` passes); returns what arrived
/// and when the connection closed, if it did.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    Some(started.elapsed()),
                )
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), None)
}

#[tokio::test]
async fn slow_and_idle_connections_are_cut_off() {
    let node = Node::start_with(NodeOptions {
        env: env(&[("HTTP__HEADER_READ_TIMEOUT_SECS", "1")]),
        ..Default::default()
    })
    .await;
    // Slow loris: the headers arrive one byte every 200 ms, which would take 8 s.
    let mut stream = TcpStream::connect(node.addr).await.expect("connect");
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: 1\r\n\r\n",
        node.domain
    );
    let started = Instant::now();
    let mut closed_after = None;
    for byte in request.as_bytes() {
        if stream.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let (_, closed) = read_until_closed(&mut stream, Duration::from_millis(200)).await;
        if closed.is_some() {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the server keeps a slow-loris connection open");
    eprintln!("slow-loris connection closed after {closed_after:?}");
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");

    // Idle keep-alive: after one answered request the connection is closed once it stays
    // silent for the same time.
    let mut stream = TcpStream::connect(node.addr).await.expect("connect");
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", node.domain).as_bytes())
        .await
        .expect("write");
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let closed = closed.expect("the server keeps an idle connection open");
    eprintln!("idle connection closed after {closed:?}");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
}

#[tokio::test]
async fn past_the_concurrency_limit_requests_get_503_and_slow_bodies_are_cut_off() {
    let node = Node::start_with(NodeOptions {
        env: env(&[
            ("HTTP__MAX_CONCURRENT_REQUESTS", "1"),
            ("HTTP__BODY_TIMEOUT_SECS", "2"),
        ]),
        ..Default::default()
    })
    .await;
    let client = crate::harness::http();
    // One request in flight: its headers arrived, its body never comes.
    let mut stream = TcpStream::connect(node.addr).await.expect("connect");
    stream
        .write_all(
            format!(
                "POST /inbox HTTP/1.1\r\nHost: {}\r\nContent-Type: application/activity+json\r\nContent-Length: 1000\r\n\r\n{{",
                node.domain
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = client.get(node.url("/healthz")).send().await.expect("GET");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON error");
    assert!(body["error"].is_string(), "{body}");

    // The stalled body is given up within its timeout, which frees the slot.
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let cut_after = started.elapsed();
    eprintln!(
        "stalled body answered after {cut_after:?}: {:?}",
        answer.lines().next()
    );
    assert!(
        answer.starts_with("HTTP/1.1 4") || answer.is_empty(),
        "{answer}"
    );
    assert!(cut_after < Duration::from_secs(4), "{cut_after:?}");
    eventually(WAIT, "the node serves again", || async {
        let response = client.get(node.url("/healthz")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
}
