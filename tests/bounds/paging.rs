//! Issue 11: every list the node serves has a hard cap and pages on — the native API's lists,
//! ActivityPub collections, the Atom feed and the calendars. Each list here holds more items
//! than a page (more than the cap where the cap is checked); walking it with `next` shows every
//! item exactly once, in order; an oversized `limit` is capped; a bad cursor is a 400 with a
//! JSON error, never a 500. Bulk items are written straight to the database, as fast as it
//! takes them; everything is read through HTTP.

use super::practice;
use crate::harness::{http, quiet_env, ApiUser, Node, NodeOptions};
use roundtable::{
    db::{
        articles::{NewArticle, NewRevision},
        discussions::{NewMembership, NewPost, Post},
        events::Event,
        reports::NewReport,
    },
    domain::{MemberState, ReportState, Role, RsvpState},
    service::accounts,
};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Delivery workers asleep, so they neither run nor count queries.
fn quiet() -> NodeOptions {
    NodeOptions {
        env: quiet_env(),
        ..Default::default()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// `path` with one more query parameter.
fn with(path: &str, param: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{param}")
}

/// The API path (below `/api/roundtable/v1`) of a `next` URL, which names `user`'s node.
fn api_path(user: &ApiUser, next: &str) -> String {
    let prefix = format!("{}/api/roundtable/v1", user.node_base);
    next.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{next} is not an API URL of {prefix}"))
        .to_string()
}

/// Every item of a list, walked from `first` with `next`: each page but the last holds
/// `per_page` items, and the last says so with `next: null`.
async fn walk(user: &ApiUser, first: &str, key: &str, per_page: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = Some(first.to_string());
    let mut pages = 0;
    while let Some(p) = path.take() {
        pages += 1;
        assert!(pages < 500, "{first}: the walk does not end");
        let (status, body) = user.get(&p).await;
        assert_eq!(status, 200, "{p}: {body}");
        let page = body[key]
            .as_array()
            .unwrap_or_else(|| panic!("{p}: no {key}: {body}"))
            .clone();
        assert!(
            body.get("next").is_some(),
            "{p}: every page says what follows"
        );
        match body["next"].as_str() {
            Some(next) => {
                assert_eq!(page.len(), per_page, "{p}: a page before the last is full");
                path = Some(api_path(user, next));
            }
            None => assert!(page.len() <= per_page, "{p}: {} items", page.len()),
        }
        items.extend(page);
    }
    items
}

/// A list of the native API and what it must show.
struct List<'a> {
    path: &'a str,
    key: &'a str,
    /// Its cursor parameter, when a malformed cursor can be sent.
    cursor: Option<&'a str>,
    cap: usize,
}

/// Checks the paging contract of `list`: walked in pages of 7, it shows `expected` (by `id`)
/// exactly once and in order; past the cap an oversized `limit` gets the cap and a `next`; a
/// malformed cursor gets 400 with a JSON error.
async fn pages_through(
    user: &ApiUser,
    list: List<'_>,
    expected: &[String],
    id: impl Fn(&Value) -> String,
) {
    let items = walk(user, &with(list.path, "limit=7"), list.key, 7).await;
    let ids: Vec<String> = items.iter().map(&id).collect();
    assert_eq!(ids.len(), expected.len(), "{}: how many", list.path);
    assert_eq!(ids, expected, "{}: every item once, in order", list.path);
    if expected.len() > list.cap {
        let (status, body) = user.get(&with(list.path, "limit=100000")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body[list.key].as_array().map(Vec::len),
            Some(list.cap),
            "{}: an oversized limit is capped",
            list.path
        );
        assert!(body["next"].is_string(), "{}: and pages on", list.path);
        let (status, body) = user.get(&with(list.path, "limit=0")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body[list.key].as_array().map(Vec::len), Some(1));
    }
    if let Some(cursor) = list.cursor {
        for bad in ["not-a-cursor", "x,1", "%00"] {
            let (status, body) = user.get(&with(list.path, &format!("{cursor}={bad}"))).await;
            assert_eq!(status, 400, "{} {cursor}={bad}: {body}", list.path);
            assert!(body["error"].is_string(), "{body}");
        }
    }
}

fn ap_id_of(v: &Value) -> String {
    v["ap_id"].as_str().unwrap_or_default().to_string()
}

fn actor_of(v: &Value) -> String {
    v["actor"]["ap_id"]
        .as_str()
        .or_else(|| v["actor"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A person on another server (ids `0..`).
fn remote(kind: &str, i: usize) -> String {
    format!("https://{kind}{i:03}.example/u/someone")
}

fn post(node: &Node, key: &str, author: &str, thread: Option<&Post>, published: i64) -> NewPost {
    NewPost {
        ap_id: node.url(&format!("/p/{key}")),
        community: node.url("/c/practice"),
        author: author.to_string(),
        thread_id: thread.map(|t| t.id),
        parent_id: None,
        title: thread.is_none().then(|| format!("Thread {key}")),
        content: format!("<p>{key}</p>"),
        source: None,
        summary: None,
        published,
        updated: None,
        local: true,
        signed_object: None,
        mentions: Vec::new(),
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn a_communitys_members_bans_threads_and_replies_page_without_repeats_or_gaps() {
    let (alpha, olga) = practice(quiet()).await;
    let community = alpha.url("/c/practice");
    let p = Practice {
        alpha,
        olga,
        community,
    };
    members_page_oldest_first(&p).await;
    bans_page_oldest_first_for_the_moderator(&p).await;
    let (threads, start) = threads_page_pinned_first_then_newest(&p).await;
    replies_page_oldest_first_and_nest_across_pages(&p, &threads, start).await;
}

/// Members, oldest first: the owner, then 205 people from elsewhere.
async fn members_page_oldest_first(p: &Practice) {
    let db = &p.alpha.state.db;
    let olga = p.olga.clone();
    let community = p.community.clone();
    let mut members = vec![olga.ap_id()];
    for i in 0..205 {
        let actor = remote("member", i);
        db.upsert_membership(NewMembership {
            community: community.clone(),
            actor: actor.clone(),
            user_id: None,
            role: Role::Member,
            state: MemberState::Accepted,
            follow_id: None,
            inbox: None,
        })
        .await
        .expect("db");
        members.push(actor);
    }
    let list = List {
        path: "/communities/practice/members",
        key: "members",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&olga, list, &members, actor_of).await;
}

/// Bans, oldest first, for the moderator.
async fn bans_page_oldest_first_for_the_moderator(p: &Practice) {
    let db = &p.alpha.state.db;
    let olga = p.olga.clone();
    let community = p.community.clone();
    let mut bans = Vec::new();
    for i in 0..205 {
        let actor = remote("troll", i);
        db.ban(&community, &actor, Some("spam".into()), None)
            .await
            .expect("db");
        bans.push(actor);
    }
    let list = List {
        path: "/communities/practice/bans",
        key: "bans",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&olga, list, &bans, actor_of).await;
}

/// Threads: pinned first (old ones among them, so pins fall on many pages), newest first.
async fn threads_page_pinned_first_then_newest(p: &Practice) -> (Vec<Post>, i64) {
    let db = &p.alpha.state.db;
    let Practice { alpha, .. } = p;
    let olga = p.olga.clone();
    let anonymous = p.alpha.anonymous();
    let start = now_ms() - DAY;
    let mut threads = Vec::new();
    for i in 0..205 {
        let (t, _) = db
            .insert_post(post(
                alpha,
                &format!("t{i}"),
                &olga.ap_id(),
                None,
                start + i as i64,
            ))
            .await
            .expect("db");
        threads.push(t);
    }
    let pins = [0, 1, 2, 5, 8, 13, 21, 34, 55, 89, 144, 204];
    for i in pins {
        db.set_post_flags(threads[i].id, None, Some(true))
            .await
            .expect("db");
    }
    let mut expected: Vec<(bool, i64, String)> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| (pins.contains(&i), t.id, t.ap_id.clone()))
        .collect();
    expected.sort_by_key(|t| std::cmp::Reverse((t.0, t.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, _, ap)| ap).collect();
    let list = List {
        path: "/communities/practice/threads",
        key: "threads",
        cursor: Some("before"),
        cap: 200,
    };
    pages_through(&anonymous, list, &expected, ap_id_of).await;
    // The position of a pinned thread is not a bare id.
    let (status, body) = anonymous
        .get("/communities/practice/threads?before=2,5")
        .await;
    assert_eq!(status, 400, "{body}");
    (threads, start)
}

/// Replies of one thread, oldest first: published times tie in pairs, and every third
/// reply answers the one before it, which may sit on the page before.
async fn replies_page_oldest_first_and_nest_across_pages(
    p: &Practice,
    threads: &[Post],
    start: i64,
) {
    let db = &p.alpha.state.db;
    let Practice { alpha, .. } = p;
    let olga = p.olga.clone();
    let anonymous = p.alpha.anonymous();
    let thread = &threads[3];
    let mut replies: Vec<Post> = Vec::new();
    for i in 0..205 {
        let author = if i % 2 == 0 {
            olga.ap_id()
        } else {
            remote("replier", i)
        };
        let mut new = post(
            alpha,
            &format!("r{i}"),
            &author,
            Some(thread),
            start + (i / 2) as i64,
        );
        if i % 3 == 2 {
            new.parent_id = replies.last().map(|p| p.id);
        }
        let (r, _) = db.insert_post(new).await.expect("db");
        replies.push(r);
    }
    let expected: Vec<String> = replies.iter().map(|r| r.ap_id.clone()).collect();
    let parents: std::collections::HashMap<String, Value> = replies
        .iter()
        .map(|r| {
            let parent = r
                .parent_id
                .and_then(|p| replies.iter().find(|x| x.id == p))
                .map(|p| json!(p.ap_id))
                .unwrap_or(Value::Null);
            (r.ap_id.clone(), parent)
        })
        .collect();
    let path = format!("/threads/{}/replies", thread.id);
    let list = List {
        path: &path,
        key: "replies",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&anonymous, list, &expected, ap_id_of).await;
    // The thread embeds the first page and names the rest; nesting survives page breaks.
    let (status, first) = anonymous
        .get(&format!("/threads/{}?limit=7", thread.id))
        .await;
    assert_eq!(status, 200, "{first}");
    let mut shown = first["replies"].as_array().expect("replies").clone();
    assert_eq!(shown.len(), 7);
    let rest = api_path(&anonymous, first["replies_next"].as_str().expect("next"));
    shown.extend(walk(&anonymous, &rest, "replies", 7).await);
    assert_eq!(shown.iter().map(ap_id_of).collect::<Vec<_>>(), expected);
    for reply in &shown {
        assert_eq!(reply["parent_ap_id"], parents[&ap_id_of(reply)], "{reply}");
    }
    let (_, capped) = anonymous
        .get(&format!("/threads/{}?limit=100000", thread.id))
        .await;
    assert_eq!(capped["replies"].as_array().map(Vec::len), Some(200));
    let (_, whole) = anonymous.get(&format!("/threads/{}", threads[4].id)).await;
    assert_eq!(whole["replies"], json!([]));
    assert!(whole["replies_next"].is_null(), "{whole}");
}

/// An event like `template`, starting at `starts_at`, stored as its node stores events.
async fn bulk_event(node: &Node, template: &Event, key: &str, starts_at: i64) -> Event {
    let mut e = template.clone();
    e.ap_id = node.url(&format!("/e/{key}"));
    e.title = format!("Event {key}");
    e.starts_at = starts_at;
    e.ends_at = starts_at + HOUR;
    node.state
        .db
        .save_event(e, Vec::new())
        .await
        .expect("save")
        .wake(&node.state.delivery_wakeup)
}

/// The `UID`s of a calendar, and its `Link` to the next page.
async fn calendar_page(url: &str) -> (Vec<String>, Option<String>) {
    let response = http().get(url).send().await.expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    let link = response
        .headers()
        .get("link")
        .and_then(|l| l.to_str().ok())
        .map(|l| {
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_string()
        });
    let text = response.text().await.expect("text");
    let uids = text
        .lines()
        .filter_map(|l| l.strip_prefix("UID:"))
        .map(|l| l.trim().to_string())
        .collect();
    (uids, link)
}

/// Every event of a calendar feed, page after page: each page but the last holds 500.
async fn calendar_walk(first: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next.take() {
        let (uids, link) = calendar_page(&url).await;
        if link.is_some() {
            assert_eq!(
                uids.len(),
                500,
                "{url}: a feed page holds at most 500 events"
            );
        }
        all.extend(uids);
        next = link;
    }
    all
}

#[tokio::test]
async fn events_participants_and_calendars_page_without_repeats_or_gaps() {
    let (alpha, olga) = practice(quiet()).await;
    let db = &alpha.state.db;
    let anonymous = alpha.anonymous();
    let day = |n: i64| {
        chrono::DateTime::from_timestamp_millis(now_ms() + n * DAY)
            .expect("t")
            .to_rfc3339()
    };
    let (status, created) = olga
        .post(
            "/communities/practice/events",
            json!({"title": "First", "starts_at": day(1), "ends_at": day(2),
                   "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let template = db
        .event(created["id"].as_i64().expect("id"))
        .await
        .expect("db")
        .expect("event");

    // 505 upcoming events starting in pairs at the same time, and 30 that ended lately.
    let soon = now_ms() + 3 * DAY;
    let mut upcoming = vec![template.clone()];
    for i in 0..505 {
        upcoming.push(bulk_event(&alpha, &template, &format!("u{i}"), soon + (i / 2) * HOUR).await);
    }
    let mut past = Vec::new();
    for i in 0..30 {
        past.push(
            bulk_event(
                &alpha,
                &template,
                &format!("p{i}"),
                now_ms() - (2 + i / 2) * DAY,
            )
            .await,
        );
    }
    upcoming.sort_by_key(|e| (e.starts_at, e.id));
    past.sort_by_key(|e| (-e.starts_at, -e.id));
    let ids =
        |events: &[Event]| -> Vec<String> { events.iter().map(|e| e.ap_id.clone()).collect() };
    let list = List {
        path: "/communities/practice/events",
        key: "events",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&anonymous, list, &ids(&upcoming), ap_id_of).await;
    let list = List {
        path: "/communities/practice/events?past=true",
        key: "events",
        cursor: Some("before"),
        cap: 200,
    };
    pages_through(&anonymous, list, &ids(&past), ap_id_of).await;
    // Past events page backwards: a forward cursor is refused.
    let (status, body) = anonymous
        .get("/communities/practice/events?past=true&after=1,1")
        .await;
    assert_eq!(status, 400, "{body}");

    // Participants of one event, in the order they answered.
    let mut participants = Vec::new();
    for i in 0..205 {
        let actor = remote("guest", i);
        db.set_participant(template.id, &actor, None, RsvpState::Going, None)
            .await
            .expect("db");
        participants.push(actor);
    }
    let path = format!("/events/{}/participants", template.id);
    let list = List {
        path: &path,
        key: "participants",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&olga, list, &participants, actor_of).await;

    // The community's calendar: the last month and what is to come, 500 events a page.
    let mut in_feed: Vec<Event> = past.iter().chain(&upcoming).cloned().collect();
    in_feed.sort_by_key(|e| (e.starts_at, e.id));
    for first in [
        alpha.url("/api/roundtable/v1/communities/practice/events.ics"),
        alpha.url("/c/practice/events.ics"),
    ] {
        assert_eq!(calendar_walk(&first).await, ids(&in_feed), "{first}");
        let response = http()
            .get(format!("{first}?after=tomorrow"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 400, "{first}");
        let body: Value = response.json().await.expect("a JSON error");
        assert!(body["error"].is_string(), "{body}");
    }

    // A member's own calendar: every event she is going to, soonest first, 500 a page.
    let lee = alpha.api_user("lee").await;
    let lee_id = alpha
        .state
        .db
        .local_actor_by_name("lee")
        .await
        .expect("db")
        .expect("lee")
        .id;
    let lee_user = db.user_by_actor(lee_id).await.expect("db").expect("user");
    for e in &in_feed {
        db.set_participant(
            e.id,
            &lee.ap_id(),
            Some(lee_user.id),
            RsvpState::Going,
            None,
        )
        .await
        .expect("db");
    }
    let (status, cal) = lee.post("/me/calendar", json!({})).await;
    assert_eq!(status, 201, "{cal}");
    let feed = cal["url"].as_str().expect("url").to_string();
    assert_eq!(calendar_walk(&feed).await, ids(&in_feed));
}

/// Stores article `i` of `practice` (owned here unless `replica`), with a review interval in
/// days and a creation time if `review` is given.
async fn article(node: &Node, i: usize, title: &str, review: Option<(i32, i64)>) -> i64 {
    stored_article(node, i, title, review, false).await
}

async fn stored_article(
    node: &Node,
    i: usize,
    title: &str,
    review: Option<(i32, i64)>,
    replica: bool,
) -> i64 {
    let created_at = review.map(|(_, at)| at).unwrap_or_else(now_ms);
    node.state
        .db
        .insert_article(
            NewArticle {
                ap_id: node.url(&format!("/a/bulk-{i}")),
                community: node.url("/c/practice"),
                slug: format!("bulk-{i}"),
                review_interval_days: review.map(|(days, _)| days),
                local: !replica,
            },
            NewRevision {
                rev_id: format!("bulk-rev-{i}"),
                parent_rev: None,
                author: node.url("/u/olga"),
                message: String::new(),
                title: title.to_string(),
                content: format!("Text {i}\n"),
                edit_id: None,
                created_at,
            },
            Vec::new(),
        )
        .await
        .expect("article")
        .wake(&node.state.delivery_wakeup)
        .id
}

#[tokio::test]
async fn articles_revisions_and_search_results_page_without_repeats_or_gaps() {
    let (alpha, olga) = practice(quiet()).await;
    let db = &alpha.state.db;
    let anonymous = alpha.anonymous();

    // Articles by title, ties by id; titles hold commas and spaces, as cursors then do. Some
    // are overdue for review, among them one with an interval whose milliseconds overflow a
    // 32-bit integer.
    let mut articles = Vec::new();
    let mut overdue = Vec::new();
    for i in 0..205usize {
        let title = format!("Note, {:03}", if i >= 203 { 100 } else { i });
        let review = match i % 5 {
            0 => Some((1, now_ms() - 2 * DAY)),
            1 => Some((40, now_ms() - 41 * DAY)),
            2 => Some((40, now_ms() - 39 * DAY)),
            _ => None,
        };
        let id = article(&alpha, i, &title, review).await;
        articles.push((title.clone(), id, alpha.url(&format!("/a/bulk-{i}"))));
        if matches!(i % 5, 0 | 1) {
            overdue.push((title, id, alpha.url(&format!("/a/bulk-{i}"))));
        }
    }
    articles.sort();
    overdue.sort();
    let ap_ids = |list: &[(String, i64, String)]| -> Vec<String> {
        list.iter().map(|(_, _, ap)| ap.clone()).collect()
    };
    let list = List {
        path: "/communities/practice/articles",
        key: "articles",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&anonymous, list, &ap_ids(&articles), ap_id_of).await;
    let list = List {
        path: "/communities/practice/articles?overdue=true",
        key: "articles",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&anonymous, list, &ap_ids(&overdue), ap_id_of).await;

    // One article's history, newest first.
    let (status, created) = olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Log", "content": "entry 0\n"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let mut head = created["revision"].as_str().expect("rev").to_string();
    let mut revisions = vec![head.clone()];
    for n in 1..12 {
        let (status, body) = olga
            .put(
                &format!("/articles/{}", created["id"]),
                json!({"content": format!("entry {n}\n"), "base_revision": head}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        head = body["revision"].as_str().expect("rev").to_string();
        revisions.push(head.clone());
    }
    revisions.reverse();
    let path = format!("/articles/{}/revisions", created["id"]);
    let list = List {
        path: &path,
        key: "revisions",
        cursor: Some("before"),
        cap: 100,
    };
    pages_through(&anonymous, list, &revisions, |r| {
        r["id"].as_str().unwrap_or_default().to_string()
    })
    .await;

    // Search results, best first: 60 threads match, a quarter of them by title.
    let mut matching = HashSet::new();
    for i in 0..60 {
        let mut new = post(&alpha, &format!("s{i}"), &olga.ap_id(), None, now_ms());
        new.content = format!("<p>Bring a lantern, number {i}.</p>");
        if i % 4 == 0 {
            new.title = Some(format!("Lantern {i}"));
        }
        let (p, _) = db.insert_post(new).await.expect("db");
        matching.insert(p.id);
    }
    let hit = |h: &Value| format!("{}:{}", h["kind"], h["id"]);
    let small = walk(&anonymous, "/search?q=lantern&limit=7", "results", 7).await;
    let large = walk(&anonymous, "/search?q=lantern&limit=50", "results", 50).await;
    let order: Vec<String> = small.iter().map(hit).collect();
    assert_eq!(order, large.iter().map(hit).collect::<Vec<_>>());
    assert_eq!(order.len(), 60);
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), 60, "no repeats");
    assert!(small
        .iter()
        .all(|h| matching.contains(&h["id"].as_i64().unwrap_or_default())));
    let by_title = small
        .iter()
        .take_while(|h| h["title"].as_str().is_some_and(|t| t.contains("<mark>")))
        .count();
    assert_eq!(by_title, 15, "title matches first");
    let (status, capped) = anonymous.get("/search?q=lantern&limit=100000").await;
    assert_eq!(status, 200);
    assert_eq!(capped["results"].as_array().map(Vec::len), Some(50));
    assert!(capped["next"].is_string());
    for bad in ["x", "NaN,1,thread", "inf,1,thread", "1,x,thread"] {
        let (status, body) = anonymous
            .get(&format!("/search?q=lantern&after={bad}"))
            .await;
        assert_eq!(status, 400, "after={bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn moderation_and_admin_lists_page_without_repeats_or_gaps() {
    let (alpha, _olga) = practice(quiet()).await;
    let db = &alpha.state.db;
    let (_, admin_user) = accounts::create_user(db, "ada", None, true)
        .await
        .expect("admin");
    let token = accounts::create_token(db, "ada", "read write admin")
        .await
        .expect("token");
    let mut ada = alpha.anonymous();
    ada.name = "ada".into();
    ada.token = token;

    // The moderation queue, newest first.
    let mut reports = Vec::new();
    for i in 0..505 {
        let r = db
            .insert_report(NewReport {
                ap_id: alpha.url(&format!("/reports/{i}")),
                reporter: remote("reporter", i % 7),
                object: alpha.url(&format!("/p/x{i}")),
                object_kind: "post".into(),
                community: Some(alpha.url("/c/practice")),
                target_actor: None,
                reason: "spam".into(),
                local: true,
                state: ReportState::Open,
            })
            .await
            .expect("report");
        reports.push(r.ap_id);
    }
    reports.reverse();
    let list = List {
        path: "/reports",
        key: "reports",
        cursor: Some("before"),
        cap: 500,
    };
    pages_through(&ada, list, &reports, ap_id_of).await;

    // The audit log, newest first.
    for i in 0..505 {
        db.audit(&ada.ap_id(), "test.entry", &format!("target {i}"), None)
            .await
            .expect("audit");
    }
    let entries: Vec<String> = db
        .audit_log(None, 10_000)
        .await
        .expect("db")
        .into_iter()
        .map(|e| e.id.to_string())
        .collect();
    assert!(entries.len() >= 505);
    let list = List {
        path: "/admin/audit",
        key: "entries",
        cursor: Some("before"),
        cap: 500,
    };
    pages_through(&ada, list, &entries, |e| e["id"].to_string()).await;

    // Her tokens, oldest first.
    let mut tokens: Vec<String> = db
        .tokens_of(admin_user.id)
        .await
        .expect("db")
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    for i in 0..205 {
        let id = db
            .insert_token(admin_user.id, &format!("hash-{i}"), "read", None)
            .await
            .expect("token");
        tokens.push(id.to_string());
    }
    let list = List {
        path: "/tokens",
        key: "tokens",
        cursor: Some("after"),
        cap: 200,
    };
    pages_through(&ada, list, &tokens, |t| t["id"].to_string()).await;

    // Listed domains and partnership requests, by domain.
    let mut domains = Vec::new();
    for i in 0..205 {
        let domain = format!("d{i:03}.example");
        db.set_instance(&domain, "blocked", None).await.expect("db");
        domains.push(domain);
    }
    let mut requests = Vec::new();
    for i in 0..9 {
        let domain = format!("r{i}.example");
        db.set_instance(&domain, "requested", None)
            .await
            .expect("db");
        requests.push(domain.clone());
        domains.push(domain);
    }
    domains.sort();
    let domain = |i: &Value| i["domain"].as_str().unwrap_or_default().to_string();
    let list = List {
        path: "/admin/instances",
        key: "instances",
        cursor: None,
        cap: 200,
    };
    pages_through(&ada, list, &domains, domain).await;
    let list = List {
        path: "/admin/partnerships",
        key: "partnerships",
        cursor: None,
        cap: 200,
    };
    pages_through(&ada, list, &requests, domain).await;

    // Suspensions, newest first; many share a millisecond, and ties go by actor.
    let mut suspended = HashSet::new();
    for i in 0..205 {
        let actor = remote("spammer", i);
        db.suspend(&actor, Some("spam"), &ada.ap_id())
            .await
            .expect("db");
        suspended.insert(actor);
    }
    let walked = walk(&ada, "/admin/suspensions?limit=7", "suspensions", 7).await;
    let actors: Vec<String> = walked.iter().map(actor_of).collect();
    assert_eq!(actors.len(), 205);
    assert_eq!(actors.iter().cloned().collect::<HashSet<_>>(), suspended);
    let since: Vec<&str> = walked.iter().filter_map(|s| s["since"].as_str()).collect();
    assert!(since.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let (_, capped) = ada.get("/admin/suspensions?limit=100000").await;
    assert_eq!(capped["suspensions"].as_array().map(Vec::len), Some(200));
    for bad in ["x", "1", "x,https://a.example/u/b"] {
        let (status, body) = ada.get(&format!("/admin/suspensions?before={bad}")).await;
        assert_eq!(status, 400, "before={bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

/// A collection as Mastodon reads it: the collection, then its pages from `first` on.
/// Returns the collection and every item, checking that each page is part of it.
async fn collection(url: &str) -> (Value, Vec<Value>) {
    let get = |u: String| async move {
        let response = http()
            .get(&u)
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{u}");
        response.json::<Value>().await.expect("json")
    };
    let top = get(url.to_string()).await;
    assert_eq!(top["type"], "OrderedCollection", "{top}");
    let mut items = Vec::new();
    let mut next = top["first"].as_str().map(str::to_string);
    let mut pages = 0;
    while let Some(u) = next.take() {
        pages += 1;
        assert!(pages < 100, "{url}: the walk does not end");
        let page = get(u.clone()).await;
        assert_eq!(page["type"], "OrderedCollectionPage", "{page}");
        assert_eq!(page["partOf"], top["id"], "{page}");
        assert_eq!(page["id"], u.as_str());
        items.extend(page["orderedItems"].as_array().expect("items").clone());
        next = page["next"].as_str().map(str::to_string);
    }
    (top, items)
}

#[tokio::test]
async fn collections_and_the_atom_feed_page_the_way_mastodon_reads_them() {
    let (alpha, olga) = practice(quiet()).await;
    let community = alpha.url("/c/practice");
    let p = Practice {
        alpha,
        olga,
        community,
    };
    let newest_first = sixty_threads_page_with_the_pinned_ones_featured(&p).await;
    moderators_page_in_the_order_they_joined(&p).await;
    owned_articles_page_oldest_first(&p).await;
    a_bad_cursor_is_a_json_400_everywhere(&p).await;
    the_atom_feed_pages_fifty_entries_at_a_time(&p, newest_first).await;
}

/// 60 threads, 25 of them pinned.
async fn sixty_threads_page_with_the_pinned_ones_featured(p: &Practice) -> Vec<String> {
    let Practice { alpha, .. } = p;
    let db = &alpha.state.db;
    let olga = p.olga.clone();
    let community = p.community.clone();
    let mut threads = Vec::new();
    for i in 0..60 {
        let (t, _) = db
            .insert_post(post(alpha, &format!("c{i}"), &olga.ap_id(), None, now_ms()))
            .await
            .expect("db");
        if i % 12 < 5 {
            db.set_post_flags(t.id, None, Some(true)).await.expect("db");
        }
        threads.push((t.id, t.ap_id, i % 12 < 5));
    }
    threads.reverse();
    let newest_first: Vec<String> = threads.iter().map(|(_, ap, _)| ap.clone()).collect();
    let pinned: Vec<String> = threads
        .iter()
        .filter(|t| t.2)
        .map(|(_, ap, _)| ap.clone())
        .collect();
    let (top, items) = collection(&format!("{community}/outbox")).await;
    assert_eq!(top["totalItems"], 60);
    let objects: Vec<String> = items
        .iter()
        .map(|a| {
            a["object"]["object"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(objects, newest_first);
    let (top, items) = collection(&format!("{community}/featured")).await;
    assert_eq!(top["totalItems"], 25);
    assert_eq!(items.iter().map(ap_or_id).collect::<Vec<_>>(), pinned);
    // Lemmy reads the first page inline and follows no page.
    assert_eq!(
        top["orderedItems"]
            .as_array()
            .map(|i| i.iter().map(ap_or_id).collect::<Vec<_>>()),
        Some(pinned[..20].to_vec())
    );
    newest_first
}

/// Moderators: the owner and 55 more, in the order they joined; plain members are not.
async fn moderators_page_in_the_order_they_joined(p: &Practice) {
    let olga = p.olga.clone();
    let db = &p.alpha.state.db;
    let community = p.community.clone();
    let mut moderators = vec![olga.ap_id()];
    for i in 0..70 {
        let actor = remote("mod", i);
        let role = if i % 14 == 13 {
            Role::Member
        } else {
            Role::Moderator
        };
        db.upsert_membership(NewMembership {
            community: community.clone(),
            actor: actor.clone(),
            user_id: None,
            role,
            state: MemberState::Accepted,
            follow_id: None,
            inbox: None,
        })
        .await
        .expect("db");
        if role == "moderator" {
            moderators.push(actor);
        }
    }
    assert_eq!(moderators.len(), 66);
    let (top, items) = collection(&format!("{community}/moderators")).await;
    assert_eq!(top["totalItems"], 66);
    assert_eq!(
        items,
        moderators.iter().map(|m| json!(m)).collect::<Vec<_>>()
    );
    assert_eq!(top["orderedItems"].as_array().map(Vec::len), Some(50));
}

/// Articles owned here, oldest first; replicated ones are not listed.
async fn owned_articles_page_oldest_first(p: &Practice) {
    let Practice { alpha, .. } = p;
    let community = p.community.clone();
    let mut owned = Vec::new();
    for i in 0..57 {
        let replica = i % 20 == 19;
        stored_article(alpha, i, &format!("Owned {i}"), None, replica).await;
        if !replica {
            owned.push(json!(alpha.url(&format!("/a/bulk-{i}"))));
        }
    }
    let (top, items) = collection(&format!("{community}/articles")).await;
    assert_eq!(top["totalItems"], 55);
    assert_eq!(items, owned);
    assert_eq!(top["orderedItems"].as_array().map(Vec::len), Some(50));
}

/// A bad cursor is a JSON 400 on every collection and feed.
async fn a_bad_cursor_is_a_json_400_everywhere(p: &Practice) {
    let community = p.community.clone();
    for path in [
        "outbox?page=true&before=x",
        "featured?page=true&before=x",
        "moderators?page=true&after=x",
        "articles?page=true&after=1.5",
        "feed.atom?before=x",
        "events.ics?after=x",
    ] {
        let response = http()
            .get(format!("{community}/{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.expect("a JSON error");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

/// The Atom feed: 50 entries a page, and a link to the next (RFC 5005).
async fn the_atom_feed_pages_fifty_entries_at_a_time(p: &Practice, newest_first: Vec<String>) {
    let community = p.community.clone();
    let mut entries = Vec::new();
    let mut next = Some(format!("{community}/feed.atom"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        let text = http()
            .get(&url)
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("text");
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let feed = doc.root_element();
        let ids: Vec<String> = feed
            .children()
            .filter(|c| c.tag_name().name() == "entry")
            .filter_map(|e| {
                e.children()
                    .find(|c| c.tag_name().name() == "id")
                    .and_then(|c| c.text())
                    .map(str::to_string)
            })
            .collect();
        next = feed
            .children()
            .find(|c| c.tag_name().name() == "link" && c.attribute("rel") == Some("next"))
            .and_then(|l| l.attribute("href"))
            .map(str::to_string);
        if next.is_some() {
            assert_eq!(ids.len(), 50, "{url}");
        }
        entries.extend(ids);
    }
    assert_eq!(pages, 2);
    assert_eq!(entries, newest_first);
}

/// alpha with olga's community `practice`, and the community's actor id.
struct Practice {
    alpha: Node,
    olga: ApiUser,
    community: String,
}

fn ap_or_id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// The fewest queries one GET of `url` costs (of three: stray worker queries are not counted).
async fn cost(node: &Node, url: &str, token: Option<&str>) -> u64 {
    let mut least = u64::MAX;
    for _ in 0..3 {
        let mut request = http().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let before = node.state.db.query_count();
        let response = request.send().await.expect("GET");
        let status = response.status();
        let _ = response.bytes().await;
        least = least.min(node.state.db.query_count() - before);
        assert_eq!(status, 200, "{url}");
    }
    least
}

#[tokio::test]
async fn a_page_costs_the_same_queries_for_few_items_or_many() {
    let (alpha, olga) = practice(quiet()).await;
    let db = &alpha.state.db;
    let community = alpha.url("/c/practice");
    let (status, thread) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Busy", "content": "Hello"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let thread = db
        .post(thread["id"].as_i64().expect("id"))
        .await
        .expect("db")
        .expect("thread");
    let (status, created) = olga
        .post(
            "/communities/practice/events",
            json!({"title": "Template", "timezone": "Europe/Berlin",
                   "starts_at": chrono::DateTime::from_timestamp_millis(now_ms() + DAY).expect("t").to_rfc3339(),
                   "ends_at": chrono::DateTime::from_timestamp_millis(now_ms() + DAY + HOUR).expect("t").to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let template = db
        .event(created["id"].as_i64().expect("id"))
        .await
        .expect("db")
        .expect("event");
    let lee = alpha.api_user("lee").await;
    let lee_actor = db
        .local_actor_by_name("lee")
        .await
        .expect("db")
        .expect("lee");
    let lee_user = db
        .user_by_actor(lee_actor.id)
        .await
        .expect("db")
        .expect("user");
    let (_, cal) = lee.post("/me/calendar", json!({})).await;
    let calendar = cal["url"].as_str().expect("url").to_string();
    let api = |path: &str| alpha.url(&format!("/api/roundtable/v1{path}"));
    let lists: Vec<(String, Option<String>)> = vec![
        (api("/communities/practice/threads"), None),
        (api(&format!("/threads/{}", thread.id)), None),
        (api(&format!("/threads/{}/replies", thread.id)), None),
        (
            api("/communities/practice/members"),
            Some(olga.token.clone()),
        ),
        (api("/communities/practice/bans"), Some(olga.token.clone())),
        (
            api(&format!("/events/{}/participants", template.id)),
            Some(olga.token.clone()),
        ),
        (api("/communities/practice/events"), None),
        (api("/communities/practice/articles"), None),
        (api("/search?q=lantern"), None),
        (api("/communities/practice/events.ics"), None),
        (format!("{community}/outbox?page=true"), None),
        (format!("{community}/featured"), None),
        (format!("{community}/moderators"), None),
        (format!("{community}/articles"), None),
        (format!("{community}/feed.atom"), None),
        (calendar, None),
    ];
    let mut costs: Vec<Vec<u64>> = vec![Vec::new(); lists.len()];
    let mut made = 0;
    for total in [2, 30] {
        // Of each kind: half by people here, half by people elsewhere, so every lookup the
        // presenters make is needed at both sizes.
        while made < total {
            let author = if made % 2 == 0 {
                olga.ap_id()
            } else {
                remote("author", made)
            };
            let mut new = post(&alpha, &format!("q{made}"), &author, None, now_ms());
            new.content = format!("<p>A lantern, {made}.</p>");
            let (t, _) = db.insert_post(new).await.expect("db");
            db.set_post_flags(t.id, None, Some(true)).await.expect("db");
            db.insert_post(post(
                &alpha,
                &format!("qr{made}"),
                &author,
                Some(&thread),
                now_ms(),
            ))
            .await
            .expect("db");
            let actor = remote("person", made);
            db.upsert_membership(NewMembership {
                community: community.clone(),
                actor: actor.clone(),
                user_id: None,
                role: Role::Moderator,
                state: MemberState::Accepted,
                follow_id: None,
                inbox: None,
            })
            .await
            .expect("db");
            db.ban(&community, &remote("troll", made), None, None)
                .await
                .expect("db");
            db.set_participant(template.id, &author, None, RsvpState::Going, None)
                .await
                .expect("db");
            let e = bulk_event(&alpha, &template, &format!("q{made}"), now_ms() + 2 * DAY).await;
            db.set_participant(
                e.id,
                &lee.ap_id(),
                Some(lee_user.id),
                RsvpState::Going,
                None,
            )
            .await
            .expect("db");
            article(&alpha, made, &format!("Article {made}"), None).await;
            made += 1;
        }
        for (i, (url, token)) in lists.iter().enumerate() {
            costs[i].push(cost(&alpha, url, token.as_deref()).await);
        }
    }
    for ((url, _), cost) in lists.iter().zip(&costs) {
        eprintln!("queries for {url} with 2 and 30 items: {cost:?}");
    }
    for ((url, _), cost) in lists.iter().zip(&costs) {
        assert_eq!(cost[0], cost[1], "{url}: queries per page {cost:?}");
    }
}

#[tokio::test]
async fn a_new_replica_backfills_every_article_over_the_collections_pages() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let (status, body) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201, "{body}");
    // More articles than one page of the articles collection (50).
    let mut titles = HashSet::new();
    for i in 0..56 {
        let title = format!("Guide {i:02}");
        let (status, body) = olga
            .post(
                "/communities/practice/articles",
                json!({"title": title, "content": format!("Step {i}\n")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        titles.insert(title);
    }
    let handle = format!("practice@{}", alpha.domain);
    let (status, body) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let held = crate::harness::eventually(
        std::time::Duration::from_secs(60),
        "beta holds every article",
        || async {
            let (_, list) = bert
                .get(&format!("/communities/{handle}/articles?limit=200"))
                .await;
            let held: HashSet<String> = list["articles"]
                .as_array()?
                .iter()
                .filter_map(|a| a["title"].as_str().map(str::to_string))
                .collect();
            (held.len() >= titles.len()).then_some(held)
        },
    )
    .await;
    assert_eq!(held, titles);
}
