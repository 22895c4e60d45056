//! WebFinger, actor documents, content negotiation, NodeInfo and health over real HTTP.

use crate::harness::{http, Node};
use roundtable::service::accounts;
use serde_json::Value;

const AP: &str = "application/activity+json";
const LD: &str = r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;

async fn get_json(url: &str, accept: &str) -> (u16, String, Value) {
    let response = http()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.unwrap_or_default();
    (
        status,
        content_type,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn webfinger_finds_a_community_whose_group_id_round_trips() {
    let node = Node::start().await;
    node.user("ada").await;
    accounts::create_community(
        &node.state.db,
        &node.base,
        "rustaceans",
        "ada",
        Some("Rust at work"),
        "public",
    )
    .await
    .expect("community");

    let (status, ctype, jrd) = get_json(
        &node.url(&format!(
            "/.well-known/webfinger?resource=acct:rustaceans@{}",
            node.domain
        )),
        "application/jrd+json",
    )
    .await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/jrd+json"), "{ctype}");
    assert_eq!(jrd["subject"], format!("acct:rustaceans@{}", node.domain));
    let href = jrd["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "self" && l["type"] == AP)
        .and_then(|l| l["href"].as_str())
        .expect("self link")
        .to_string();

    let (status, ctype, group) = get_json(&href, AP).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with(AP), "{ctype}");
    assert_eq!(group["type"], "Group");
    assert_eq!(
        group["id"],
        href.as_str(),
        "the id must equal the WebFinger href"
    );
    assert_eq!(group["preferredUsername"], "rustaceans");
    assert_eq!(group["name"], "Rust at work");
    assert_eq!(group["publicKey"]["owner"], href.as_str());
    assert!(group["publicKey"]["publicKeyPem"]
        .as_str()
        .is_some_and(|p| p.contains("BEGIN PUBLIC KEY")));
    assert_eq!(group["endpoints"]["sharedInbox"], node.url("/inbox"));
    assert_eq!(group["inbox"], format!("{href}/inbox"));

    // The reverse direction: WebFinger by the actor URL gives back the same acct.
    let (status, _, back) = get_json(
        &node.url(&format!("/.well-known/webfinger?resource={href}")),
        "application/jrd+json",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(back["subject"], format!("acct:rustaceans@{}", node.domain));
}

#[tokio::test]
async fn person_and_instance_actor_are_discoverable() {
    let node = Node::start().await;
    node.user("grace").await;

    let (status, _, jrd) = get_json(
        &node.url(&format!(
            "/.well-known/webfinger?resource=acct:Grace@{}",
            node.domain
        )),
        "*/*",
    )
    .await;
    assert_eq!(status, 200, "acct lookup is case-insensitive");
    assert_eq!(jrd["subject"], format!("acct:grace@{}", node.domain));

    let (status, _, person) = get_json(&node.url("/u/grace"), LD).await;
    assert_eq!(status, 200, "the ld+json profile form is accepted");
    assert_eq!(person["type"], "Person");
    assert_eq!(person["id"], node.url("/u/grace"));
    assert_eq!(person["publicKey"]["id"], node.url("/u/grace#main-key"));

    let (status, _, jrd) = get_json(
        &node.url(&format!(
            "/.well-known/webfinger?resource=acct:{0}@{0}",
            node.domain
        )),
        "*/*",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(jrd["links"][0]["href"], node.url("/actor"));
    let (status, _, app) = get_json(&node.url("/actor"), AP).await;
    assert_eq!(status, 200);
    assert_eq!(app["type"], "Application");
    assert_eq!(app["id"], node.url("/actor"));

    for missing in [
        format!("acct:nobody@{}", node.domain),
        "acct:grace@elsewhere.example".to_string(),
    ] {
        let (status, _, body) = get_json(
            &node.url(&format!("/.well-known/webfinger?resource={missing}")),
            "*/*",
        )
        .await;
        assert_eq!(status, 404, "{missing}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _, body) = get_json(&node.url("/.well-known/webfinger"), "*/*").await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn users_and_communities_share_one_namespace() {
    let node = Node::start().await;
    node.user("ops").await;
    let clash =
        accounts::create_community(&node.state.db, &node.base, "ops", "ops", None, "public").await;
    assert!(clash.is_err(), "a community cannot take a user's name");
    accounts::create_community(&node.state.db, &node.base, "sre", "ops", None, "public")
        .await
        .expect("community");
    let clash = accounts::create_user(&node.state.db, "sre", None, false).await;
    assert!(clash.is_err(), "a user cannot take a community's name");
}

#[tokio::test]
async fn content_negotiation_serves_json_to_servers_and_html_to_browsers() {
    let node = Node::start().await;
    node.user("lin").await;
    let url = node.url("/u/lin");
    for (accept, json) in [
        (AP, true),
        (LD, true),
        ("application/ld+json", true),
        (
            r#"application/ld+json; profile="https://example.org/other""#,
            false,
        ),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            false,
        ),
        ("application/activity+json, application/ld+json", true),
        ("text/html;q=0.5, application/activity+json", true),
        ("application/activity+json;q=0.2, text/html", false),
    ] {
        let response = http()
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{accept}");
        let ctype = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if json {
            assert!(ctype.starts_with(AP), "{accept} → {ctype}");
        } else {
            assert!(ctype.starts_with("text/html"), "{accept} → {ctype}");
            let page = response.text().await.unwrap_or_default();
            assert!(page.contains("lin"), "the page names the actor");
        }
    }
    let (status, _, body) = get_json(&node.url("/u/nobody"), AP).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    let (status, _, body) = get_json(&node.url("/no/such/route"), AP).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn nodeinfo_host_meta_and_health() {
    let node = Node::start().await;
    node.user("a1").await;
    node.user("a2").await;
    let (status, _, links) = get_json(&node.url("/.well-known/nodeinfo"), "*/*").await;
    assert_eq!(status, 200);
    let href = links["links"][0]["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.1"
    );
    let (status, _, info) = get_json(&href, "*/*").await;
    assert_eq!(status, 200);
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "roundtable");
    assert_eq!(info["protocols"][0], "activitypub");
    assert_eq!(info["usage"]["users"]["total"], 2);

    let response = http()
        .get(node.url("/.well-known/host-meta"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let xml = response.text().await.unwrap_or_default();
    assert!(
        xml.contains(&format!(
            "{}/.well-known/webfinger?resource={{uri}}",
            node.base
        )),
        "{xml}"
    );

    let (status, _, body) = get_json(&node.url("/healthz"), "*/*").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = get_json(&node.url("/readyz"), "*/*").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));

    let response = http().get(node.url("/healthz")).send().await.expect("GET");
    assert!(
        response.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
}
