//! Issue 11, class 7 and part of 9: policy keys are normalized and a block covers subdomains
//! and ports; every redirect hop and every WebFinger lookup goes through the policy; remote
//! URLs are web URLs; header values built from input are checked.

use super::{admin, WAIT};
use crate::harness::{eventually, fake::FakeServer, http, sign::Post, Node};
use roundtable::activitypub::signatures::generate_key_pair;
use serde_json::{json, Value};

/// A signed inbox POST whose actor and key live on `host` (which need not exist).
async fn post_from(node: &Node, path: &str, host: &str) -> (u16, Value) {
    let keys = generate_key_pair().expect("keys");
    let actor = format!("http://{host}/users/mallory");
    let follow = json!({
        "id": format!("http://{host}/activities/1"),
        "type": "Follow",
        "actor": actor,
        "object": node.url("/actor"),
    });
    Post::new(
        &node.url(path),
        &follow,
        &format!("{actor}#main-key"),
        &keys.private_pem,
    )
    .send(&http())
    .await
}

/// A JRD whose `self` link is `href`.
fn jrd(subject: &str, href: &str) -> Value {
    json!({
        "subject": format!("acct:{subject}"),
        "links": [{"rel": "self", "type": "application/activity+json", "href": href}],
    })
}

/// The fake's actor, re-published as a `Group` (same key) with `icon`.
fn as_group(fake: &FakeServer, icon: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": fake.actor,
        "type": "Group",
        "preferredUsername": "club",
        "name": "Club",
        "icon": icon,
        "inbox": format!("{}/inbox", fake.actor),
        "outbox": format!("{}/outbox", fake.actor),
        "followers": format!("{}/followers", fake.actor),
        "endpoints": {"sharedInbox": format!("{}/inbox", fake.base)},
        "publicKey": {"id": format!("{}#main-key", fake.actor), "owner": fake.actor, "publicKeyPem": fake.keys.public_pem},
    })
}

fn host_of(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn a_block_covers_subdomains_ports_and_every_spelling_of_the_domain() {
    let alpha = Node::start().await;
    let root = admin(&alpha, "root").await;
    let (status, body) = root
        .post(
            "/admin/instances",
            json!({"domain": "EVIL.Example.", "state": "blocked", "reason": "spam"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["domain"], "evil.example");

    // Refused by the policy (403) before any key is fetched — not a failed key fetch (401).
    for host in [
        "evil.example",
        "EVIL.example.",
        "evil.example:8443",
        "x.evil.example",
        "deep.X.Evil.Example.:444",
    ] {
        let (status, body) = post_from(&alpha, "/inbox", host).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("does not federate")),
            "{host}: {body}"
        );
    }
    // A domain that merely ends the same way is not covered: its (unreachable) key is looked
    // up, and that fails.
    let (status, body) = post_from(&alpha, "/inbox", "notevil.example").await;
    assert_eq!(status, 401, "{body}");

    // The partnership handshake is refused to a blocked domain's subdomains too.
    let (status, _) = root
        .put("/admin/federation", json!({"mode": "allowlist"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = post_from(&alpha, "/actor/inbox", "x.evil.example").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_from(&alpha, "/actor/inbox", "notevil.example").await;
    assert_eq!(status, 401, "{body}");

    // Unblocking any spelling lifts the block.
    let (status, _) = root.delete("/admin/instances/Evil.Example.").await;
    assert_eq!(status, 204);
    let (_, listed) = root.get("/admin/instances").await;
    assert_eq!(listed["instances"], json!([]));
}

#[tokio::test]
async fn a_redirect_to_a_blocked_host_is_not_followed() {
    let alpha = Node::start().await;
    let root = admin(&alpha, "root").await;
    let good = FakeServer::start("good").await;
    let evil = FakeServer::start("evil").await;
    let (status, _) = root
        .post(
            "/admin/instances",
            json!({"domain": host_of(&evil.base), "state": "blocked"}),
        )
        .await;
    assert_eq!(status, 201);

    // good.example's group answers with a redirect to the blocked host, which serves a group.
    let handle = format!("club@{}", host_of(&good.base));
    let club = format!("{}/groups/club", good.base);
    good.serve("/.well-known/webfinger", &jrd(&handle, &club));
    good.redirect("/groups/club", &evil.actor);
    evil.publish(&as_group(&evil, json!(null)));

    let (status, body) = root.get(&format!("/communities/{handle}")).await;
    assert!(
        (400..500).contains(&status),
        "the community must not resolve: {status} {body}"
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not federate")),
        "{body}"
    );
    assert_eq!(good.hits("/groups/club"), 1, "the first hop is made");
    assert_eq!(evil.hits("/"), 0, "the blocked host is never asked");
    assert!(alpha
        .state
        .db
        .remote_actor(&evil.actor)
        .await
        .expect("db")
        .is_none());
}

#[tokio::test]
async fn webfinger_is_never_sent_to_a_blocked_host() {
    let alpha = Node::start().await;
    let root = admin(&alpha, "root").await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let evil = FakeServer::start("evil").await;
    let evil_host = host_of(&evil.base);
    let who = format!("evil@{evil_host}");
    evil.serve("/.well-known/webfinger", &jrd(&who, &evil.actor));

    // Banning (or any use of a handle) on a blocked host asks it nothing.
    let (status, _) = root
        .post(
            "/admin/instances",
            json!({"domain": evil_host, "state": "blocked"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = olga
        .post("/communities/practice/bans", json!({"actor": who}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(evil.hits("/.well-known/webfinger"), 0);

    // A block of the host, spelled differently and without a port, covers every port.
    let (status, _) = root.delete(&format!("/admin/instances/{evil_host}")).await;
    assert_eq!(status, 204);
    let (status, _) = root
        .post(
            "/admin/instances",
            json!({"domain": "LOCALHOST.", "state": "blocked"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = olga.get(&format!("/communities/club@{evil_host}")).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = olga
        .post("/communities/practice/bans", json!({"actor": who}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(evil.hits("/.well-known/webfinger"), 0);

    // Once unblocked, the same lookup reaches the host.
    let (status, _) = root.delete("/admin/instances/localhost").await;
    assert_eq!(status, 204);
    let (status, body) = olga
        .post("/communities/practice/bans", json!({"actor": who}))
        .await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(evil.hits("/.well-known/webfinger"), 1);
}

#[tokio::test]
async fn remote_icons_and_event_links_are_kept_only_as_web_urls() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let club = FakeServer::start("club").await;
    let handle = format!("club@{}", host_of(&club.base));
    club.serve("/.well-known/webfinger", &jrd(&handle, &club.actor));
    club.publish(&as_group(
        &club,
        json!([
            {"type": "Image", "url": "javascript:alert(document.cookie)"},
            {"type": "Image", "url": "ftp://files.example/club.png"},
        ]),
    ));
    let (status, body) = olga.get(&format!("/communities/{handle}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["icon_url"], Value::Null, "{body}");

    // A web URL is kept (after the actor announces the change).
    club.publish(&as_group(
        &club,
        json!({"type": "Image", "url": "https://cdn.example/club.png"}),
    ));
    let update = json!({
        "id": format!("{}/activities/update-1", club.base),
        "type": "Update",
        "actor": club.actor,
        "object": as_group(&club, json!({"type": "Image", "url": "https://cdn.example/club.png"})),
    });
    let (status, body) = club.deliver(&alpha.url("/inbox"), &update).await;
    assert_eq!(status, 202, "{body}");
    let (_, body) = olga.get(&format!("/communities/{handle}")).await;
    assert_eq!(body["icon_url"], "https://cdn.example/club.png");

    // olga joins; the club accepts and then tells its members about an event.
    let (status, body) = olga
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert!(status < 300, "{status} {body}");
    let follow = eventually(WAIT, "the Follow at the club", || async {
        club.received().into_iter().find(|a| a["type"] == "Follow")
    })
    .await;
    let accept = json!({
        "id": format!("{}/activities/accept-1", club.base),
        "type": "Accept",
        "actor": club.actor,
        "object": follow["id"],
    });
    let (status, body) = club.deliver(&alpha.url("/inbox"), &accept).await;
    assert_eq!(status, 202, "{body}");
    let event_id = format!("{}/events/1", club.base);
    let starts = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let ends =
        (chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2)).to_rfc3339();
    let create = json!({
        "id": format!("{}/activities/create-1", club.base),
        "type": "Create",
        "actor": club.actor,
        "object": {
            "id": event_id,
            "type": "Event",
            "name": "Picnic",
            "attributedTo": club.actor,
            "audience": club.actor,
            "startTime": starts,
            "endTime": ends,
            "location": {"type": "VirtualLocation", "url": "data:text/html,<script>alert(1)</script>"},
            "externalParticipationUrl": "javascript:alert(1)",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    let (status, body) = club.deliver(&alpha.url("/inbox"), &create).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = olga.get(&format!("/communities/{handle}/events")).await;
    assert_eq!(status, 200, "{body}");
    let event = body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["ap_id"] == event_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("the event is stored: {body}"));
    assert_eq!(event["online_url"], Value::Null, "{event}");
    assert_eq!(event["external_url"], Value::Null, "{event}");
}

#[tokio::test]
async fn a_handle_with_cr_lf_is_refused_and_never_reaches_a_location_header() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let (status, article) = olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Onboarding", "content": "Hello"}),
        )
        .await;
    assert_eq!(status, 201, "{article}");
    let old_slug = article["slug"].as_str().expect("slug").to_string();
    let (status, body) = olga
        .put(
            &format!("/articles/{}", article["id"]),
            json!({"title": "Guide", "content": "Hello", "base_revision": article["revision"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["slug"], old_slug.as_str());

    // The old slug redirects, with the handle as given.
    let base = format!("{}/api/roundtable/v1/communities", alpha.base);
    let response = http()
        .get(format!("{base}/practice/articles/{old_slug}"))
        .bearer_auth(&olga.token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 308);

    // A handle carrying CR/LF (and a header of its own) is a bad request, not a header.
    let response = http()
        .get(format!(
            "{base}/practice%0D%0ASet-Cookie:%20owned=1%0D%0A/articles/{old_slug}"
        ))
        .bearer_auth(&olga.token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("set-cookie").is_none());
    assert!(response.headers().get("location").is_none());
    let body: Value = response.json().await.expect("json");
    assert!(body["error"].is_string(), "{body}");
    let response = http()
        .get(format!("{base}/practice%0D%0A/articles/{old_slug}"))
        .bearer_auth(&olga.token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn listings_stored_under_other_spellings_are_normalized_when_the_node_starts() {
    use sea_orm::{ConnectionTrait, Database};
    let alpha = Node::start().await;
    let url = alpha.db.url.clone();
    // Listings as an earlier version stored them: the admin's spelling, lowercased at most.
    let raw = Database::connect(url.as_str()).await.expect("connect");
    for (domain, state) in [
        ("EVIL.Example.", "blocked"),
        ("evil.example", "partner"),
        ("Partner.Example.", "partner"),
    ] {
        raw.execute_unprepared(&format!(
            "INSERT INTO instances (domain, state, created_at) VALUES ('{domain}', '{state}', 0)"
        ))
        .await
        .expect("insert");
    }
    raw.close().await.ok();
    let db = alpha.stop().await;
    let alpha = Node::start_with(crate::harness::NodeOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let root = admin(&alpha, "root").await;
    let (_, listed) = root.get("/admin/instances").await;
    let listed: Vec<(String, String)> = listed["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["domain"].as_str().unwrap_or_default().to_string(),
                i["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("evil.example".to_string(), "blocked".to_string()),
            ("partner.example".to_string(), "partner".to_string()),
        ],
        "one listing per host, the block winning"
    );
    let (status, body) = post_from(&alpha, "/inbox", "x.evil.example").await;
    assert_eq!(status, 403, "{body}");
}

/// The delivery worker asks the policy once for its whole batch of hosts; the answer is the
/// one asked host by host, for blocked parents, subdomains, ports, partners and what is not a
/// host name, in both modes.
#[tokio::test]
async fn a_batchs_policy_answers_as_each_host_asked_alone() {
    let node = Node::start().await;
    let db = &node.state.db;
    db.set_instance("blocked.example", "blocked", None)
        .await
        .expect("block");
    db.set_instance("partner.example", "partner", None)
        .await
        .expect("partner");
    db.set_instance("sub.partner.example", "blocked", None)
        .await
        .expect("block");
    let hosts = [
        "blocked.example",
        "deep.blocked.example",
        "BLOCKED.example:8443",
        "partner.example",
        "partner.example:8080",
        "sub.partner.example",
        "other.partner.example",
        "stranger.example",
        "not a host",
        "",
    ];
    for mode in ["open", "allowlist"] {
        db.set_federation_mode(mode).await.expect("mode");
        let many = db.federates_with_many(&hosts).await.expect("many");
        let mut allowed = Vec::new();
        for host in hosts {
            let alone = db.federates_with(host).await.expect("alone");
            assert_eq!(many.get(host), Some(&alone), "{mode}: {host:?}");
            if alone {
                allowed.push(host);
            }
        }
        // Not a vacuous agreement: each mode lets some in and keeps others out.
        let expected: &[&str] = if mode == "open" {
            &[
                "partner.example",
                "partner.example:8080",
                "other.partner.example",
                "stranger.example",
            ]
        } else {
            &["partner.example", "partner.example:8080"]
        };
        assert_eq!(allowed, expected, "{mode}");
    }
}
