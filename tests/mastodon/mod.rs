//! Issue 15: the Mastodon client API, driven by client libraries someone else wrote
//! (Mastodon.py), through the node's real OAuth pages.

mod bad_input;
mod card_paths;
mod cards;
mod edits;
mod filters;
mod limits;
mod media;
mod personal;
mod search;
mod streams;
mod tags;

use crate::{
    accounts::{member, PASSWORD},
    harness::{http, python, Node},
};
use serde_json::{json, Value};

/// Fields Mastodon documents as always present on an Account.
const ACCOUNT_FIELDS: [&str; 21] = [
    "id",
    "username",
    "acct",
    "url",
    "display_name",
    "note",
    "avatar",
    "avatar_static",
    "header",
    "header_static",
    "locked",
    "fields",
    "emojis",
    "bot",
    "group",
    "discoverable",
    "created_at",
    "last_status_at",
    "statuses_count",
    "followers_count",
    "following_count",
];

/// Fields Mastodon documents as always present on a Status.
const STATUS_FIELDS: [&str; 26] = [
    "id",
    "uri",
    "created_at",
    "account",
    "content",
    "visibility",
    "sensitive",
    "spoiler_text",
    "media_attachments",
    "mentions",
    "tags",
    "emojis",
    "reblogs_count",
    "favourites_count",
    "replies_count",
    "url",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "reblog",
    "poll",
    "card",
    "language",
    "text",
    "edited_at",
    "favourited",
    "bookmarked",
];

/// Fields Mastodon documents as always present on an Instance (v2).
const INSTANCE_FIELDS: [&str; 11] = [
    "domain",
    "title",
    "version",
    "source_url",
    "description",
    "usage",
    "thumbnail",
    "languages",
    "configuration",
    "registrations",
    "contact",
];

fn has_fields(entity: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(entity.get(*f).is_some(), "{what} lacks {f}: {entity:#}");
    }
}

#[tokio::test]
async fn mastodon_py_signs_in_posts_threads_and_replies_and_reads_timelines() {
    let node = Node::start().await;
    member(&node, "olga", "olga@example.com").await;
    node.cli(&["user", "create", "ada", "--admin"]).await;
    let mut olga = node.anonymous();
    olga.token = roundtable::service::accounts::create_token(&node.state.db, "olga", "read write")
        .await
        .expect("token");
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "practice", "title": "Practice", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "commons", "title": "Commons", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let seen = python::run_client(
        include_str!("mastodon_client.py"),
        &[
            ("NODE", &node.base),
            ("LOGIN", "olga"),
            ("PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert_eq!(seen["approved"], 303, "{seen:#}");
    assert_eq!(seen["version"], "4.3.0", "{seen:#}");
    assert_eq!(seen["api_version"], 2);
    assert_eq!(seen["instance_domain"], node.domain);
    assert_eq!(seen["instance_v1_uri"], node.domain);
    // This week's activity: olga's three posts, olga and ada's accounts, olga's sign-in.
    assert_eq!(
        seen["activity"],
        json!({"weeks": 12, "logins": 1, "registrations": 2, "statuses": 3}),
        "{seen:#}"
    );
    assert_eq!(seen["me"]["username"], "olga");
    assert_eq!(seen["me"]["acct"], "olga");
    assert_eq!(seen["me"]["group"], false);
    assert_eq!(seen["me"]["source_language"], "en");
    assert_eq!(seen["lookup_same"], true);
    // The community is a group account; its owner is its one member so far.
    assert_eq!(seen["community"]["group"], true);
    assert_eq!(seen["community"]["username"], "practice");
    assert_eq!(seen["community"]["locked"], true);
    assert_eq!(seen["community"]["followers"], 1);
    assert_eq!(seen["account_by_id"], "olga");
    assert_eq!(seen["lookup_missing"], "MastodonNotFoundError");
    assert_eq!(seen["emojis"], json!([]));

    // Threads and replies through the statuses API.
    let thread = &seen["thread"];
    assert_eq!(
        thread["content"],
        "<p><strong>What we learned this quarter</strong></p><p>Three things stood out.</p>\n",
        "{seen:#}"
    );
    assert_eq!(thread["visibility"], "private");
    assert_eq!(thread["mention"], "practice");
    assert_eq!(thread["author"], "olga");
    for key in [
        "reply_to",
        "reply_to_account",
        "descendants",
        "ancestors",
        "home",
        "paged",
        "public_timeline",
    ] {
        assert_eq!(seen[key], true, "{key}: {seen:#}");
    }
    assert_eq!(seen["favourited"], json!([true, 1]));
    assert_eq!(seen["unfavourited"], false);
    assert_eq!(seen["thread_replies"], 1);
    assert_eq!(seen["public_visibility"], "public");
    assert_eq!(seen["local_timeline"], 1);
    assert_eq!(seen["remote_timeline"], 0);
    assert_eq!(seen["no_community"][0], "MastodonAPIError", "{seen:#}");
    assert!(seen["no_community"][1]
        .as_str()
        .is_some_and(|e| e.contains("mention a community")));
    assert_eq!(seen["deleted_text"], "Agreed, the second most of all.");
    assert_eq!(seen["marker"], json!([true, 2]));
    assert_eq!(seen["favourites"], true);
    assert_eq!(seen["preferences_language"], "en");
    assert_eq!(seen["empties"], json!([0, 0, 0, 0, 0]));
    assert!(
        seen["follow_person"]
            .as_str()
            .is_some_and(|e| e.contains("follow communities, not people")),
        "{seen:#}"
    );
    // olga owns practice: she is its member, so her relationship says following.
    assert_eq!(seen["relationship_following"], true);
    assert_eq!(seen["after_delete"], "MastodonNotFoundError");

    // The members-only thread stays with its members: a stranger and an anonymous reader find
    // nothing, whatever they try.
    let status_id = seen["status_id"].as_str().expect("id").to_string();
    roundtable::service::accounts::admin::create(
        &node.state,
        roundtable::service::accounts::admin::NewAccount {
            name: "eve",
            email: Some("eve@example.com"),
            password: Some(PASSWORD),
            admin: false,
            locale: None,
            time_zone: None,
        },
    )
    .await
    .expect("eve");
    let eve = roundtable::service::accounts::create_token(&node.state.db, "eve", "read write")
        .await
        .expect("token");
    for (method, path, body) in [
        ("GET", format!("/api/v1/statuses/{status_id}"), None),
        ("GET", format!("/api/v1/statuses/{status_id}/context"), None),
        (
            "POST",
            format!("/api/v1/statuses/{status_id}/favourite"),
            None,
        ),
        ("DELETE", format!("/api/v1/statuses/{status_id}"), None),
        (
            "POST",
            "/api/v1/statuses".to_string(),
            Some(json!({"status": "sneaking in", "in_reply_to_id": status_id})),
        ),
    ] {
        for token in [Some(eve.as_str()), None] {
            let mut request = http().request(method.parse().expect("method"), node.url(&path));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            if let Some(b) = &body {
                request = request.json(b);
            }
            let r = request.send().await.expect("request");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            assert!(
                status == 404 || (token.is_none() && status == 401),
                "{method} {path} as {token:?}: {status} {text}"
            );
            assert!(!text.contains("What we learned"), "{text}");
        }
    }
    // Nor does the thread appear in a stranger's timelines; the public one shows only Commons.
    for path in [
        "/api/v1/timelines/home",
        "/api/v1/timelines/public",
        "/api/v1/timelines/public?local=1",
    ] {
        let r = http()
            .get(node.url(path))
            .bearer_auth(&eve)
            .send()
            .await
            .expect("timeline");
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap_or_default();
        assert!(!text.contains("What we learned"), "{path}: {text}");
    }
    // Bad paging is a 400 with an error, not a 500.
    let r = http()
        .get(node.url("/api/v1/timelines/public?max_id=abc"))
        .send()
        .await
        .expect("timeline");
    assert_eq!(r.status(), 400);

    // The entities carry every field Mastodon documents as required.
    let token = roundtable::service::accounts::create_token(&node.state.db, "olga", "read")
        .await
        .expect("token");
    let get = |path: &str| {
        let url = node.url(path);
        let token = token.clone();
        async move {
            let r = http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    let me = get("/api/v1/accounts/verify_credentials").await;
    has_fields(&me, &ACCOUNT_FIELDS, "verify_credentials");
    assert!(me["avatar"]
        .as_str()
        .is_some_and(|a| a.ends_with("/static/avatar.png")));
    let avatar = http()
        .get(me["avatar"].as_str().expect("avatar"))
        .send()
        .await
        .expect("avatar");
    assert_eq!(avatar.headers()["content-type"], "image/png");
    let instance = get("/api/v2/instance/").await;
    has_fields(&instance, &INSTANCE_FIELDS, "instance v2");
    assert_eq!(instance["contact"]["account"]["username"], "ada");
    assert_eq!(instance["registrations"]["enabled"], false);
    // Clients offer attaching images only when the instance lists what it takes.
    let configuration = &instance["configuration"];
    assert_eq!(configuration["statuses"]["max_media_attachments"], 4);
    let types = configuration["media_attachments"]["supported_mime_types"].to_string();
    for kind in ["image/jpeg", "image/png", "image/webp"] {
        assert!(types.contains(kind), "{types}");
    }
    assert!(configuration["media_attachments"]["image_size_limit"].as_u64() > Some(0));
    let community = get(&format!(
        "/api/v1/accounts/{}",
        get("/api/v1/accounts/lookup?acct=practice").await["id"]
            .as_str()
            .expect("id")
    ))
    .await;
    has_fields(&community, &ACCOUNT_FIELDS, "community account");
    let status = get(&format!(
        "/api/v1/statuses/{}",
        seen["status_id"].as_str().expect("id")
    ))
    .await;
    has_fields(&status, &STATUS_FIELDS, "status");
    has_fields(&status["account"], &ACCOUNT_FIELDS, "status account");
    // Ids are numeric strings; unknown or malformed ones are a Mastodon-shaped 404.
    assert!(community["id"]
        .as_str()
        .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit())));
    for id in ["999999", "abc", "-4"] {
        let r = http()
            .get(node.url(&format!("/api/v1/accounts/{id}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 404, "{id}");
        let body: Value = r.json().await.expect("json");
        assert!(body["error"].is_string(), "{body}");
    }
    // Without a token, verify_credentials is a 401 with an error.
    let r = http()
        .get(node.url("/api/v1/accounts/verify_credentials"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 401);
}

/// The pytest suite: `test_federation.py`, run with pytest against two real nodes
/// (the community on alpha, Mastodon.py on beta); any failing test fails this one with
/// pytest's output, and what the tests saw is checked here again.
#[tokio::test]
async fn mastodon_py_joins_a_community_on_another_node_and_hears_its_replies() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "title": "SRE guild", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    member(&beta, "bert", "bert@example.com").await;
    let community = format!("guild@{}", alpha.domain);

    let seen = python::run_pytest(
        "test_federation.py",
        include_str!("test_federation.py"),
        &[
            ("NODE", &beta.base),
            ("ALPHA", &alpha.base),
            ("COMMUNITY", &community),
            ("LOGIN", "bert"),
            ("PASSWORD", PASSWORD),
            ("OLGA_TOKEN", &olga.token),
        ],
    )
    .await;
    assert!(
        seen["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.3.0 (compatible; Roundtable ")),
        "{seen:#}"
    );
    assert_eq!(seen["me"], "bert");
    assert_eq!(seen["found"], json!([community]), "{seen:#}");
    assert_eq!(seen["group"], true);
    assert_eq!(seen["following"], true);
    // The thread bert started from his app is on the community's node.
    let uri = seen["thread_uri"].as_str().expect("uri").to_string();
    let (_, list) = olga.get("/communities/guild/threads").await;
    let thread = list["threads"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["ap_id"] == uri.as_str()).cloned())
        .unwrap_or_else(|| panic!("{uri} not on alpha: {list}"));
    assert_eq!(thread["title"], "Shared on-call handbook", "{thread}");
    let thread_id = seen["thread_id"].as_str().expect("thread id");
    let own_reply = seen["own_reply"][0].as_str().expect("reply id");
    assert_eq!(seen["own_reply"][1], thread_id);
    assert_eq!(seen["favourited"], json!([true, 1]));
    let image_reply = seen["image_reply"].as_str().expect("image reply id");
    assert_eq!(
        seen["attached"],
        json!([[true, "image", "The on-call rota"]]),
        "{seen:#}"
    );
    // olga's reply on alpha reached bert's home timeline on beta, and the thread's context.
    assert!(
        seen["reply_content"]
            .as_str()
            .is_some_and(|c| c.contains("next to the runbooks")),
        "{seen:#}"
    );
    assert_eq!(seen["reply_author"], format!("olga@{}", alpha.domain));
    assert_ne!(
        seen["reply_author_id"], "0",
        "the author is an account beta knows: {seen:#}"
    );
    let reply_id = seen["reply_id"].as_str().expect("reply id");
    assert_eq!(
        seen["home"],
        json!([reply_id, image_reply, own_reply, thread_id]),
        "{seen:#}"
    );
    // The thread's replies (sorted by id: the community's node orders them as it took them in).
    let mut replies = [own_reply, image_reply, reply_id];
    replies.sort_by_key(|id| id.to_string());
    assert_eq!(seen["context"], json!(replies), "{seen:#}");
    // bert hears of both on beta, newest first: olga's like of his thread, then her reply
    // (not of his own reply and like).
    let olga_acct = format!("olga@{}", alpha.domain);
    assert_eq!(
        seen["notifications"],
        json!([
            ["favourite", olga_acct, thread_id],
            ["mention", olga_acct, reply_id]
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["mentions_only"], json!(["mention"]));
    assert_eq!(seen["unread"], 2);
    assert_eq!(seen["unread_after_marker"], 0);
    assert_eq!(seen["older"], true);
    // The deleted reply answers its text, then is gone.
    assert_eq!(
        seen["deleted"],
        json!([image_reply, "Our rota, as a picture."])
    );
    assert_eq!(seen["deleted_status"], 404);
    let mut left = [own_reply, reply_id];
    left.sort_by_key(|id| id.to_string());
    assert_eq!(seen["context_after_delete"], json!(left), "{seen:#}");
}

#[tokio::test]
async fn toot_logs_in_out_of_band_posts_and_reads_its_timeline_and_notifications() {
    let node = Node::start().await;
    member(&node, "olga", "olga@example.com").await;
    let mut olga = node.anonymous();
    olga.token = roundtable::service::accounts::create_token(&node.state.db, "olga", "read write")
        .await
        .expect("token");
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "practice", "title": "Practice"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let home = std::env::temp_dir().join(format!("roundtable-toot-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&home).expect("toot home");
    let home = home.display().to_string();
    let posted = python::run_client(
        include_str!("toot_client.py"),
        &[
            ("NODE", &node.base),
            ("STEP", "post"),
            ("TOOT_HOME", &home),
            ("LOGIN", "olga"),
            ("PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert!(
        posted["login_url"]
            .as_str()
            .is_some_and(|u| u.contains("urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob")),
        "{posted:#}"
    );
    assert_eq!(posted["code_page"], 200);
    assert_eq!(posted["login"]["code"], 0, "{posted:#}");
    assert!(posted["login"]["out"]
        .as_str()
        .is_some_and(|o| o.contains("Successfully logged in")));
    assert_eq!(posted["post"]["code"], 0, "{posted:#}");
    // The toot is a thread in the community, titled by its first line.
    let (_, threads) = olga.get("/communities/practice/threads").await;
    let thread = threads["threads"][0].clone();
    assert_eq!(thread["title"], "Hello from toot", "{threads}");
    // Someone answers; toot shows the thread in the timeline and the answer as a notification.
    let bea = node.api_user("bea").await;
    let (status, body) = bea
        .post(
            &format!("/threads/{}/replies", thread["id"]),
            json!({"content": "Welcome to the practice, olga!"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let read = python::run_client(
        include_str!("toot_client.py"),
        &[("NODE", &node.base), ("STEP", "read"), ("TOOT_HOME", &home)],
    )
    .await;
    assert_eq!(read["timeline"]["code"], 0, "{read:#}");
    let timeline = read["timeline"]["out"].as_str().unwrap_or_default();
    assert!(timeline.contains("Hello from toot"), "{read:#}");
    assert!(timeline.contains("Welcome to the practice"), "{read:#}");
    assert_eq!(read["notifications"]["code"], 0, "{read:#}");
    let notes = read["notifications"]["out"].as_str().unwrap_or_default();
    assert!(notes.contains("Welcome to the practice"), "{read:#}");
    assert!(notes.contains("bea"), "{read:#}");
    let _ = std::fs::remove_dir_all(&home);
}
