//! Issue 15: the Mastodon client API, driven by client libraries someone else wrote
//! (Mastodon.py), through the node's real OAuth pages.

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
async fn mastodon_py_signs_in_and_reads_the_instance_and_accounts() {
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
    let community = get(&format!(
        "/api/v1/accounts/{}",
        get("/api/v1/accounts/lookup?acct=practice").await["id"]
            .as_str()
            .expect("id")
    ))
    .await;
    has_fields(&community, &ACCOUNT_FIELDS, "community account");
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
