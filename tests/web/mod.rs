//! The web UI in a real browser (Debian's chromium through playwright-core, axe-core on every
//! page type): two nodes, the community on the other one, driven with JavaScript and without.
//! Screenshots of every page type land in `target/screenshots/`.

use crate::harness::{browser::Browser, chromium, Node, NodeOptions};
use serde_json::Value;

mod articles;
mod notifications;
mod pages;
mod settings;

const FLOWS: &str = include_str!("flows.mjs");

/// The password of every member the web tests sign up.
pub(super) const PASSWORD: &str = "correct horse battery staple";

/// Signs `name` up and in on `node` through the pages.
pub(super) async fn member(node: &Node, name: &str) -> Browser {
    let b = Browser::new(node.addr.port());
    let out = b
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("email", &format!("{name}@example.org")),
                ("name", name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(out.status < 400, "sign-up: {}", out.body);
    assert_eq!(b.sign_in(name, PASSWORD).await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some(name));
    b
}

/// A node whose registration is open and whose sign-ups need no mailed confirmation.
async fn open_node() -> Node {
    Node::start_with(NodeOptions {
        env: vec![
            ("ROUNDTABLE__ACCOUNTS__REGISTRATION".into(), "open".into()),
            (
                "ROUNDTABLE__ACCOUNTS__REQUIRE_VERIFIED_EMAIL".into(),
                "false".into(),
            ),
        ],
        ..NodeOptions::default()
    })
    .await
}

async fn flows(alpha: &Node, beta: &Node, js: bool) -> Value {
    let suffix = if js { "js" } else { "nojs" };
    let out = chromium::run(
        "flows",
        FLOWS,
        &[
            ("ALPHA", alpha.base.clone()),
            ("BETA", beta.base.clone()),
            ("ALPHA_DOMAIN", alpha.domain.clone()),
            ("SHOTS", chromium::screenshot_dir().display().to_string()),
            ("JS", if js { "on" } else { "off" }.into()),
            ("SUFFIX", suffix.into()),
        ],
    )
    .await;
    assert!(
        out["error"].is_null(),
        "the browser flow failed: {}",
        out["error"]
    );
    out
}

/// Sign up and in, start a community, join it from another node, start a thread there,
/// reply (nested) and like across the nodes, edit, and refused input beside its field — in
/// chromium with JavaScript and without; no serious accessibility violation, no 5xx and no
/// Content-Security-Policy violation on any page.
#[tokio::test]
async fn discussions_across_nodes_in_a_browser() {
    let alpha = open_node().await;
    let beta = open_node().await;
    for js in [true, false] {
        let out = flows(&alpha, &beta, js).await;
        let suffix = if js { "js" } else { "nojs" };
        assert_eq!(out["js"], Value::Bool(js), "{out}");
        assert_eq!(out["violations"], Value::Array(vec![]), "axe-core: {out}");
        assert_eq!(out["cspErrors"], Value::Array(vec![]), "CSP: {out}");
        assert_eq!(out["serverErrors"], Value::Array(vec![]), "5xx: {out}");
        let kinds: &[&str] = if js {
            &[
                "home-visitor",
                "sign-up",
                "sign-in",
                "community-new",
                "community-empty",
                "home-member",
                "directory",
                "thread",
                "community",
                "post-edit",
                "person",
                "search",
                "event-new",
                "event",
                "event-waitlisted",
                "sessions",
                "authorized-apps",
                "post-delete",
                "not-found",
                "forgot-password",
                "notifications",
                "settings",
                "articles",
                "article-new",
                "report",
                "sign-out",
                "community-settings",
                "consent",
                "oauth-code",
            ]
        } else {
            &[]
        };
        for kind in kinds {
            assert!(
                out["pages"][kind]["passes"].as_u64().unwrap_or(0) > 0,
                "axe-core ran on {kind}: {out}"
            );
        }
        // What the browser did is in both databases: the thread bea started on beta is
        // on alpha, written by bea@beta, with olga's like, olga's reply and bea's answer.
        let title = out["title"].as_str().expect("title");
        let community = format!("{}/c/guild{suffix}", alpha.base);
        let threads = alpha
            .state
            .db
            .threads(&community, 10, None, false)
            .await
            .expect("threads");
        let thread = threads
            .iter()
            .find(|t| t.title.as_deref() == Some(title))
            .expect("bea's thread is on alpha");
        assert_eq!(thread.author, format!("{}/u/bea{suffix}", beta.base));
        assert_eq!(thread.like_count, 1, "olga's like counts on alpha");
        assert!(
            thread.content.contains("some Jenkins"),
            "the edit reached alpha"
        );
        let replies = alpha.state.db.replies(thread.id).await.expect("replies");
        assert_eq!(replies.len(), 2, "olga's reply and bea's answer");
        let olga_reply = replies
            .iter()
            .find(|r| r.content.contains("self-hosted runners"))
            .expect("olga's reply");
        let answer = replies
            .iter()
            .find(|r| r.content.contains("runners patched"))
            .expect("bea's answer");
        assert_eq!(answer.parent_id, Some(olga_reply.id), "the answer nests");
        // And on beta, the replica.
        let copy = beta
            .state
            .db
            .post_by_ap_id(&thread.ap_id)
            .await
            .expect("query")
            .expect("beta holds the thread");
        assert_eq!(
            beta.state.db.replies(copy.id).await.expect("replies").len(),
            2
        );
    }
    let shots = chromium::screenshot_dir();
    for name in [
        "thread-desktop.png",
        "thread-phone.png",
        "community-phone.png",
    ] {
        assert!(shots.join(name).exists(), "screenshot {name}");
    }
}

const ADMIN_FLOW: &str = include_str!("admin.mjs");

/// An admin named `root` on `node`.
async fn admin(node: &Node) {
    roundtable::service::accounts::admin::create(
        &node.state,
        roundtable::service::accounts::admin::NewAccount {
            name: "root",
            email: Some("root@example.org"),
            password: Some(ADMIN_PASSWORD),
            admin: true,
            locale: None,
            time_zone: None,
        },
    )
    .await
    .expect("an admin");
}

const ADMIN_PASSWORD: &str = PASSWORD;

/// Two nodes' admins agree a partnership in their own browsers (with JavaScript, then without
/// between another pair): proposed on one node's admin page, accepted on the other's, and both
/// nodes list each other as partners.
#[tokio::test]
async fn admins_agree_a_partnership_in_their_browsers() {
    let alpha = open_node().await;
    let beta = open_node().await;
    let gamma = open_node().await;
    for node in [&alpha, &beta, &gamma] {
        admin(node).await;
    }
    for (other, js) in [(&beta, true), (&gamma, false)] {
        let out = chromium::run(
            "admin",
            ADMIN_FLOW,
            &[
                ("A", alpha.base.clone()),
                ("B", other.base.clone()),
                ("A_DOMAIN", alpha.domain.clone()),
                ("B_DOMAIN", other.domain.clone()),
                ("SHOTS", chromium::screenshot_dir().display().to_string()),
                ("JS", if js { "on" } else { "off" }.into()),
                ("PASSWORD", ADMIN_PASSWORD.into()),
            ],
        )
        .await;
        assert!(
            out["error"].is_null(),
            "the browser flow failed: {}",
            out["error"]
        );
        assert_eq!(out["violations"], Value::Array(vec![]), "axe-core: {out}");
        assert_eq!(out["cspErrors"], Value::Array(vec![]), "CSP: {out}");
        assert_eq!(out["serverErrors"], Value::Array(vec![]), "5xx: {out}");
        if js {
            for kind in ["admin", "admin-request"] {
                assert!(
                    out["pages"][kind]["passes"].as_u64().unwrap_or(0) > 0,
                    "{kind}: {out}"
                );
            }
        }
        let here = alpha.state.db.instance(&other.domain).await.expect("q");
        assert_eq!(here.map(|i| i.state).as_deref(), Some("partner"));
        let there = other.state.db.instance(&alpha.domain).await.expect("q");
        assert_eq!(there.map(|i| i.state).as_deref(), Some("partner"));
        let log = alpha.state.db.audit_log(None, 20).await.expect("audit");
        assert!(
            log.iter().any(|e| e.action == "partnership.propose"),
            "audited"
        );
    }
}
