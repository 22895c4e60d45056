//! The pages over plain HTTP: content negotiation of ActivityPub ids, the headers every page
//! carries, and a stranger's and a visitor's attempts on a members-only community's pages.

use super::{member, open_node};
use crate::harness::{browser::Browser, http, quiet_env, Node};
use serde_json::Value;

async fn get_as(node: &Node, path: &str, accept: &str) -> reqwest::Response {
    http()
        .get(node.url(path))
        .header("accept", accept)
        .send()
        .await
        .expect("GET")
}

const AP: &str = "application/activity+json";
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

#[tokio::test]
async fn activitypub_ids_open_their_pages_in_a_browser() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    let made = olga
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("slug", "guild"),
                ("title", "The Guild"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(
        made.location.as_deref(),
        Some("/communities/guild"),
        "{}",
        made.body
    );
    let posted = olga
        .submit(
            "/communities/guild",
            "/communities/guild/threads",
            &[("title", "First steps"), ("content", "Hello **all**")],
        )
        .await;
    let thread_path = posted.location.clone().expect("redirect to the thread");
    let id: i64 = thread_path
        .trim_start_matches("/threads/")
        .parse()
        .expect("thread id");
    let post = node.state.db.post(id).await.expect("q").expect("stored");

    // The root: ActivityPub clients (Lemmy asks for the site there) get the instance actor,
    // browsers the home page.
    let root = get_as(&node, "/", AP).await;
    assert_eq!(root.status(), 200);
    let actor: Value = root.json().await.expect("json");
    assert_eq!(actor["type"], "Application", "{actor}");
    assert_eq!(actor["id"], node.url("/actor"));
    let home = get_as(&node, "/", HTML).await;
    assert!(home.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(home.text().await.expect("body").contains("The Guild"));

    // A community's id: the Group for ActivityPub, the community page for browsers.
    let group: Value = get_as(&node, "/c/guild", AP)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(group["type"], "Group");
    let page = get_as(&node, "/c/guild", HTML).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let body = page.text().await.expect("body");
    assert!(
        body.contains("<h1>The Guild</h1>") && body.contains("First steps"),
        "{body}"
    );
    // No inline styles or scripts are allowed, and the page needs none.
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!body.contains("<style") && !body.contains("style=") && !body.contains("<script>"));
    let css = get_as(&node, "/static/style.css", "text/css").await;
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/css"));
    assert!(css
        .text()
        .await
        .expect("css")
        .contains("prefers-color-scheme: dark"));

    // A post's id opens its thread; a person's id their profile.
    olga.get(post.ap_id.trim_start_matches(&node.base))
        .await
        .shows(200, "<strong>all</strong>");
    olga.get(&thread_path)
        .await
        .shows(200, "<strong>all</strong>");
    let doc: Value = get_as(&node, post.ap_id.trim_start_matches(&node.base), AP)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(doc["id"], post.ap_id);
    olga.get("/u/olga").await.shows(200, "First steps");
    olga.get("/people/olga").await.shows(200, "First steps");
    let person: Value = get_as(&node, "/u/olga", AP)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(person["type"], "Person");

    // An event's id opens its page; the member's home lists it as coming up.
    let scheduled = olga
        .submit(
            "/communities/guild/events/new",
            "/communities/guild/events/new",
            &[
                ("title", "Pipeline clinic"),
                ("starts_at", "2031-03-04T09:30"),
                ("ends_at", "2031-03-04T11:00"),
                ("timezone", "America/New_York"),
                ("capacity", "12"),
            ],
        )
        .await;
    let event_path = scheduled.location.clone().expect("the event page");
    let event_id: i64 = event_path
        .trim_start_matches("/events/")
        .parse()
        .expect("event id");
    let event = node
        .state
        .db
        .event(event_id)
        .await
        .expect("q")
        .expect("stored");
    assert_eq!(event.capacity, Some(12));
    assert_eq!(event.timezone, "America/New_York");
    let page = olga.get(event.ap_id.trim_start_matches(&node.base)).await;
    page.shows(200, "Pipeline clinic");
    assert!(
        page.body
            .contains("Tue 4 Mar 2031, 09:30 (America/New_York)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("12 left"), "{}", page.body);
    let doc: Value = get_as(&node, event.ap_id.trim_start_matches(&node.base), AP)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(doc["type"], "Event");
    olga.get("/").await.shows(200, "Pipeline clinic");
    // Events are searchable, in the pages and in the API.
    let found = olga.get("/search?q=clinic").await;
    found.shows(200, &format!("href=\"/events/{event_id}\""));
    assert!(found.body.contains("<mark>clinic</mark>"), "{}", found.body);
    let (status, hits) = node.anonymous().get("/search?q=clinic").await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(hits["results"][0]["kind"], "event", "{hits}");
    assert_eq!(hits["results"][0]["ap_id"], event.ap_id.as_str(), "{hits}");

    // Unknown things are readable 404 pages, not JSON.
    olga.get("/threads/999999").await.shows(404, "no such post");
    olga.get("/communities/nobody").await;
    olga.get("/people/nobody").await.shows(404, "Nobody here");
}

#[tokio::test]
async fn confidential_community_pages_show_nothing_to_non_members() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    let made = olga
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("slug", "board"),
                ("title", "The Board"),
                ("visibility", "members"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let posted = olga
        .submit(
            "/communities/board",
            "/communities/board/threads",
            &[
                ("title", "Merger plan"),
                ("content", "The secret figures: 42"),
            ],
        )
        .await;
    let thread = posted.location.clone().expect("thread");
    let id = thread.trim_start_matches("/threads/").to_string();
    olga.get(&thread).await.shows(200, "secret figures");
    let reply = olga
        .submit(
            &thread,
            &format!("{thread}/reply"),
            &[("content", "Hidden reply text")],
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let ap_id = node
        .state
        .db
        .post(id.parse().expect("id"))
        .await
        .expect("q")
        .expect("post")
        .ap_id;

    let stranger = member(&node, "sam").await;
    let visitor = Browser::new(node.addr.port());
    for (who, b) in [("a signed-in stranger", &stranger), ("a visitor", &visitor)] {
        let page = b.get("/communities/board").await;
        page.shows(200, "Only members see this community");
        for secret in ["Merger plan", "secret figures", "Hidden reply"] {
            assert!(
                !page.body.contains(secret),
                "{who} sees {secret:?} on the community page"
            );
        }
        let page = b.get(&thread).await;
        assert_eq!(
            page.status, 404,
            "{who} {thread}: {:?} {}",
            page.location, page.body
        );
        assert!(!page.body.contains("secret figures") && !page.body.contains("Merger"));
        // The post's ActivityPub id, asked for HTML, leads to the same refusal.
        let via_id = http()
            .get(&ap_id)
            .header("accept", HTML)
            .send()
            .await
            .expect("GET");
        assert_eq!(via_id.status(), 404, "{who}");
        assert!(!via_id
            .text()
            .await
            .expect("body")
            .contains("secret figures"));
        for path in ["/", "/communities", "/people/olga", "/communities?q=board"] {
            let page = b.get(path).await;
            assert_eq!(page.status, 200, "{who} {path}: {}", page.body);
            for secret in ["Merger plan", "secret figures", "Hidden reply"] {
                assert!(
                    !page.body.contains(secret),
                    "{who} sees {secret:?} on {path}"
                );
            }
        }
        let edit = b.get(&format!("/posts/{id}/edit")).await;
        assert!(
            edit.status == 404 || edit.status == 303,
            "{who}: {}",
            edit.status
        );
        assert!(!edit.body.contains("secret figures"));
    }
    // A stranger's form posts, with a valid CSRF token, change nothing.
    let csrf = stranger.get("/communities").await.csrf();
    for (path, fields) in [
        (format!("{thread}/reply"), vec![("content", "sneaking in")]),
        (format!("/posts/{id}/like"), vec![("liked", "true")]),
        (format!("/posts/{id}/remove"), vec![("reason", "vandalism")]),
        (format!("{thread}/flags"), vec![("locked", "true")]),
        (format!("/posts/{id}/edit"), vec![("content", "defaced")]),
        (
            "/communities/board/threads".into(),
            vec![("title", "spam"), ("content", "spam")],
        ),
    ] {
        let mut all = fields.clone();
        all.push(("csrf", &csrf));
        let out = stranger.post(&path, &all).await;
        assert!(
            (400..500).contains(&out.status),
            "{path} answered {}: {}",
            out.status,
            out.body
        );
        assert!(
            !out.body.contains("secret figures"),
            "{path} leaked the thread"
        );
    }
    let post = node
        .state
        .db
        .post(id.parse().expect("id"))
        .await
        .expect("q")
        .expect("post");
    assert!(!post.locked && post.like_count == 0 && post.removed_reason.is_none());
    assert!(post.content.contains("secret figures"));
    let replies = node.state.db.replies(post.id).await.expect("replies");
    assert_eq!(replies.len(), 1, "only olga's reply");
    assert_eq!(
        node.state
            .db
            .thread_count(&post.community)
            .await
            .expect("q"),
        1
    );
}

#[tokio::test]
async fn bad_input_is_explained_beside_its_field() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    let out = olga
        .submit(
            "/communities/new",
            "/communities/new",
            &[("slug", "Bad Slug!"), ("title", "x")],
        )
        .await;
    assert!((400..500).contains(&out.status), "{}", out.body);
    assert!(out.body.contains("id=\"field-slug-error\""), "{}", out.body);
    assert!(out.body.contains("aria-invalid=\"true\""), "{}", out.body);
    let made = olga
        .submit("/communities/new", "/communities/new", &[("slug", "guild")])
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    // The same handle again is taken.
    let again = olga
        .submit("/communities/new", "/communities/new", &[("slug", "guild")])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("id=\"field-slug-error\""),
        "{}",
        again.body
    );
    // A thread without a title keeps the text and says what is missing beside the title.
    let out = olga
        .submit(
            "/communities/guild",
            "/communities/guild/threads",
            &[("title", " "), ("content", "kept text")],
        )
        .await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(out.body.contains("id=\"thread-title-error\"") && out.body.contains("kept text"));
    // A form without its CSRF token is refused with a page.
    olga.post(
        "/communities/guild/threads",
        &[("title", "t"), ("content", "c")],
    )
    .await
    .shows(403, "expired");
    // The composer's preview renders markdown, sanitized, and only with the form's token.
    olga.post("/preview", &[("text", "**hi**")])
        .await
        .shows(403, "expired");
    let csrf = olga.get("/communities/guild").await.csrf();
    let preview = olga
        .post(
            "/preview",
            &[
                ("csrf", &csrf),
                ("text", "**hi** <script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200);
    assert!(
        preview.body.contains("<strong>hi</strong>"),
        "{}",
        preview.body
    );
    assert!(!preview.body.contains("<script>"), "{}", preview.body);
    // An unknown handle in "open a community" is explained beside the field.
    let out = olga
        .submit(
            "/communities",
            "/communities/open",
            &[("handle", "nobody@localhost:1")],
        )
        .await;
    assert!(
        (400..600).contains(&out.status) && out.status != 500,
        "{}",
        out.body
    );
    assert!(
        out.body.contains("id=\"field-handle-error\""),
        "{}",
        out.body
    );
}

#[tokio::test]
async fn admin_pages_are_for_admins_and_their_actions_take_effect() {
    let node = open_node().await;
    super::admin(&node).await;
    let visitor = Browser::new(node.addr.port());
    let out = visitor.get("/admin").await;
    assert_eq!(out.status, 303);
    assert!(out
        .location
        .as_deref()
        .unwrap_or("")
        .starts_with("/sign-in"));
    let sam = member(&node, "sam").await;
    sam.get("/admin")
        .await
        .shows(403, "administrators see this page");
    let csrf = sam.get("/communities").await.csrf();
    let out = sam
        .post(
            "/admin",
            &[
                ("csrf", &csrf),
                ("action", "block"),
                ("value", "evil.example"),
            ],
        )
        .await;
    assert_eq!(out.status, 403, "{}", out.body);
    assert!(node
        .state
        .db
        .instance("evil.example")
        .await
        .expect("q")
        .is_none());

    let root = Browser::new(node.addr.port());
    assert_eq!(
        root.sign_in("root", super::ADMIN_PASSWORD).await.status,
        303
    );
    root.get("/admin").await.shows(200, "Administration");
    // Administrators find the page from their settings; others see no link to it.
    root.get("/settings").await.shows(200, "href=\"/admin\"");
    assert!(!sam.get("/settings").await.body.contains("href=\"/admin\""));
    let done = root
        .submit(
            "/admin",
            "/admin",
            &[
                ("action", "block"),
                ("value", "evil.example"),
                ("reason", "spam"),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/admin"), "{}", done.body);
    root.get("/admin")
        .await
        .shows(200, "evil.example is blocked.");
    let listing = node.state.db.instance("evil.example").await.expect("q");
    assert_eq!(listing.map(|i| i.state).as_deref(), Some("blocked"));
    root.submit(
        "/admin",
        "/admin",
        &[("action", "mode"), ("value", "allowlist")],
    )
    .await;
    assert_eq!(
        node.state.db.federation_mode().await.expect("q"),
        "allowlist"
    );
    let out = root
        .submit(
            "/admin",
            "/admin",
            &[("action", "mode"), ("value", "chaos")],
        )
        .await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(out.body.contains("id=\"mode-error\""), "{}", out.body);
    root.submit(
        "/admin",
        "/admin",
        &[("action", "suspend"), ("value", "sam")],
    )
    .await;
    assert_eq!(
        sam.signed_in_as().await,
        None,
        "a suspended member is signed out"
    );
    let invitation = root
        .submit("/admin", "/admin", &[("action", "invite")])
        .await;
    invitation.shows(200, "id=\"invitation-link\"");
    // Each action is in the audit log, and the page shows it.
    let log = root.get("/admin").await;
    let entries = node.state.db.audit_log(None, 50).await.expect("audit");
    for action in ["federation.mode", "user.suspend"] {
        assert!(
            entries.iter().any(|e| e.action == action),
            "{action} audited"
        );
        assert!(log.body.contains(action), "{action} on the page");
    }
}

/// The least number of queries one of three GETs of `path` costs, and its page.
async fn cost(node: &Node, b: &Browser, path: &str) -> u64 {
    let mut least = u64::MAX;
    for _ in 0..3 {
        let before = node.state.db.query_count();
        let page = b.get(path).await;
        least = least.min(node.state.db.query_count() - before);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    least
}

/// Pages cost the same queries whether they show few things or many (no query per item).
#[tokio::test]
async fn pages_cost_the_same_queries_for_few_or_many_items() {
    let node = Node::start_with(crate::harness::NodeOptions {
        env: vec![
            ("ROUNDTABLE__ACCOUNTS__REGISTRATION".into(), "open".into()),
            (
                "ROUNDTABLE__ACCOUNTS__REQUIRE_VERIFIED_EMAIL".into(),
                "false".into(),
            ),
        ]
        .into_iter()
        // No background task queries between the reads.
        .chain(quiet_env())
        .collect(),
        ..Default::default()
    })
    .await;
    let olga = member(&node, "olga").await;
    olga.submit("/communities/new", "/communities/new", &[("slug", "guild")])
        .await;
    let mut writers = Vec::new();
    for i in 0..4 {
        let w = member(&node, &format!("writer{i}")).await;
        w.submit("/communities/guild", "/communities/guild/join", &[])
            .await;
        writers.push(w);
    }
    let first = olga
        .submit(
            "/communities/guild",
            "/communities/guild/threads",
            &[("title", "Thread 0"), ("content", "Hello")],
        )
        .await
        .location
        .expect("thread");
    let mut costs: Vec<Vec<u64>> = Vec::new();
    let mut made = 1;
    for total in [2, 30] {
        while made < total {
            let w = &writers[made % writers.len()];
            w.submit(
                "/communities/guild",
                "/communities/guild/threads",
                &[("title", &format!("Thread {made}")), ("content", "Hello")],
            )
            .await;
            w.submit(
                &first,
                &format!("{first}/reply"),
                &[("content", &format!("Reply {made}"))],
            )
            .await;
            made += 1;
        }
        let mut these = Vec::new();
        for path in [
            "/",
            "/communities",
            "/communities/guild",
            first.as_str(),
            "/people/writer1",
            "/search?q=Hello",
        ] {
            these.push(cost(&node, &olga, path).await);
        }
        costs.push(these);
    }
    eprintln!("queries of home, directory, community, thread, profile, search with 2 and 30 items: {costs:?}");
    assert_eq!(costs[0], costs[1], "queries per page: {costs:?}");
}

/// A member's home lists the latest threads, the events coming up and the articles due for
/// review in their communities — and only theirs.
#[tokio::test]
async fn a_members_home_shows_what_needs_them() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    olga.submit("/communities/new", "/communities/new", &[("slug", "guild")])
        .await;
    olga.submit(
        "/communities/guild",
        "/communities/guild/threads",
        &[("title", "Weekly sync notes"), ("content", "Agenda")],
    )
    .await;
    let made = olga
        .submit(
            "/communities/guild/articles/new",
            "/communities/guild/articles/new",
            &[
                ("title", "Runbook for outages"),
                ("content", "Page the on-call.\n"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    olga.get("/").await.shows(200, "Weekly sync notes");
    assert!(!olga.get("/").await.body.contains("Due for review"));
    // Reviewed every day, written two days ago: due.
    let conn = Database::connect(node.db.url.as_str()).await.expect("db");
    let two_days_ago = roundtable::db::now_ms() - 2 * 86_400_000;
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        format!("UPDATE articles SET review_interval_days = 1, created_at = {two_days_ago}"),
    ))
    .await
    .expect("update");
    conn.close().await.ok();
    let home = olga.get("/").await;
    home.shows(200, "Due for review");
    assert!(home.body.contains("Runbook for outages"), "{}", home.body);
    // Someone who is not a member sees none of it on their home page.
    let sam = member(&node, "sam").await;
    let theirs = sam.get("/").await;
    for text in ["Weekly sync notes", "Runbook for outages", "Due for review"] {
        assert!(!theirs.body.contains(text), "{text} on a non-member's home");
    }
}

/// Someone asks to join a members-only community, a moderator approves the request on the
/// community's page, and the new member reads and reports a post.
#[tokio::test]
async fn moderators_approve_requests_and_members_report_posts() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    olga.submit(
        "/communities/new",
        "/communities/new",
        &[("slug", "board"), ("visibility", "members")],
    )
    .await;
    let thread = olga
        .submit(
            "/communities/board",
            "/communities/board/threads",
            &[("title", "Budget"), ("content", "Numbers inside")],
        )
        .await
        .location
        .expect("thread");
    let sam = member(&node, "sam").await;
    sam.submit("/communities/board", "/communities/board/join", &[])
        .await;
    sam.get("/communities/board")
        .await
        .shows(200, "Your request to join is waiting");
    assert_eq!(sam.get(&thread).await.status, 404, "not yet a member");
    // The request waits on olga's notifications page and on the community's page.
    olga.get("/notifications")
        .await
        .shows(200, "1 request to join board");
    assert!(!sam
        .get("/notifications")
        .await
        .body
        .contains("request to join"));
    let page = olga.get("/communities/board").await;
    page.shows(200, "Requests to join");
    assert!(page.body.contains("sam@"), "{}", page.body);
    // A stranger cannot decide requests.
    let eve = member(&node, "eve").await;
    let id = node
        .state
        .db
        .members(
            &format!("{}/c/board", node.base),
            Some(roundtable::domain::MemberState::Pending),
        )
        .await
        .expect("q")[0]
        .id
        .to_string();
    let csrf = eve.get("/communities").await.csrf();
    let out = eve
        .post(
            "/communities/board/requests",
            &[("csrf", &csrf), ("membership", &id), ("approve", "true")],
        )
        .await;
    assert_eq!(out.status, 403, "{}", out.body);
    assert_eq!(sam.get(&thread).await.status, 404);
    let out = olga
        .submit(
            "/communities/board",
            "/communities/board/requests",
            &[("membership", &id), ("approve", "true")],
        )
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    sam.get(&thread).await.shows(200, "Numbers inside");
    assert!(!olga
        .get("/notifications")
        .await
        .body
        .contains("request to join"));

    // Sam reports the thread; an empty reason is explained beside its field.
    let post_id = thread.trim_start_matches("/threads/");
    let report = format!("/posts/{post_id}/report");
    let out = sam.submit(&report, &report, &[("reason", " ")]).await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(
        out.body.contains("id=\"field-reason-error\""),
        "{}",
        out.body
    );
    sam.submit(&report, &report, &[("reason", "Off topic for the board")])
        .await
        .shows(200, "The moderators got your report");
    // It waits in the moderation queue, about this thread.
    let queue = node
        .state
        .db
        .report_queue(None, None, None, 50)
        .await
        .expect("reports");
    assert_eq!(queue.items.len(), 1);
    assert_eq!(queue.items[0].reason, "Off topic for the board");
    let post = node
        .state
        .db
        .post(post_id.parse().expect("id"))
        .await
        .expect("q")
        .expect("post");
    assert_eq!(queue.items[0].object, post.ap_id);
}

/// A community's moderators change its profile and members' roles on its settings page;
/// others may not.
#[tokio::test]
async fn moderators_manage_their_community() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    olga.submit("/communities/new", "/communities/new", &[("slug", "guild")])
        .await;
    let sam = member(&node, "sam").await;
    sam.submit("/communities/guild", "/communities/guild/join", &[])
        .await;
    assert!(olga
        .get("/communities/guild")
        .await
        .body
        .contains("href=\"/communities/guild/settings\""));
    assert!(!sam
        .get("/communities/guild")
        .await
        .body
        .contains("/communities/guild/settings"));
    sam.get("/communities/guild/settings")
        .await
        .shows(403, "moderators");
    let out = olga
        .submit(
            "/communities/guild/settings",
            "/communities/guild/settings",
            &[
                ("title", "The Platform Guild"),
                ("summary", "Platform engineering across companies"),
                ("charter", "Be kind. Share **runbooks**."),
            ],
        )
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let page = sam.get("/communities/guild").await;
    page.shows(200, "<h1>The Platform Guild</h1>");
    assert!(
        page.body.contains("<strong>runbooks</strong>"),
        "{}",
        page.body
    );
    // An empty name is refused beside its field.
    let out = olga
        .submit(
            "/communities/guild/settings",
            "/communities/guild/settings",
            &[("title", " "), ("summary", "s"), ("charter", "c")],
        )
        .await;
    assert!((400..500).contains(&out.status), "{}", out.body);
    assert!(
        out.body.contains("id=\"field-title-error\""),
        "{}",
        out.body
    );
    // Sam becomes a moderator with a title, shown on the community page.
    let sam_id = node
        .state
        .db
        .membership(
            &format!("{}/c/guild", node.base),
            &format!("{}/u/sam", node.base),
        )
        .await
        .expect("q")
        .expect("membership")
        .id
        .to_string();
    let out = olga
        .submit(
            "/communities/guild/settings",
            "/communities/guild/roles",
            &[
                ("membership", &sam_id),
                ("role", "moderator"),
                ("title", "SRE lead"),
            ],
        )
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let page = sam.get("/communities/guild").await;
    assert!(page.body.contains("SRE lead"), "{}", page.body);
    sam.get("/communities/guild/settings")
        .await
        .shows(200, "Members and roles");
}
