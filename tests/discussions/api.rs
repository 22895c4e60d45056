//! The native API's contract: its OpenAPI document matches its routes, and bad requests get
//! clear JSON errors with the right status.

use crate::harness::{http, Node};
use serde_json::{json, Value};

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let node = Node::start().await;
    let doc: Value = http()
        .get(node.url("/api/roundtable/v1/openapi.json"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for contract in [
        "/communities",
        "/communities/{handle}",
        "/communities/{handle}/join",
        "/communities/{handle}/leave",
        "/communities/{handle}/threads",
        "/communities/{handle}/members",
        "/communities/{handle}/members/{member_id}/approve",
        "/communities/{handle}/members/{member_id}/reject",
        "/communities/{handle}/bans",
        "/threads/{id}",
        "/threads/{id}/replies",
        "/threads/{id}/like",
        "/threads/{id}/remove",
        "/threads/{id}/lock",
        "/threads/{id}/pin",
    ] {
        assert!(paths.contains_key(contract), "{contract} is described");
    }
    // Every described operation is routed: without a token it is refused or not found for its
    // data, never "no such endpoint" or 405.
    let client = http();
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{handle}", "nobody")
            .replace("{id}", "999")
            .replace("{member_id}", "999")
            .replace("{slug}", "nothing")
            .replace("{rev}", "0")
            .replace("{participant}", "999");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = client
                .request(m, node.url(&format!("/api/roundtable/v1{concrete}")))
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path}");
            assert_ne!(body["error"], "no such API endpoint", "{method} {path}");
            assert!(
                body["error"].is_string() || status < 300,
                "{method} {path}: {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} operations checked");
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors() {
    let node = Node::start().await;
    let ada = node.api_user("ada").await;
    let client = http();
    let api = |p: &str| node.url(&format!("/api/roundtable/v1{p}"));

    // No token, a wrong token, a read-only token.
    let r = client
        .post(api("/communities"))
        .json(&json!({"slug": "x"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 401);
    let r = client
        .post(api("/communities"))
        .bearer_auth("rt_not_a_real_token")
        .json(&json!({"slug": "x"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 401);
    let reader = roundtable::service::accounts::create_token(&node.state.db, "ada", "read")
        .await
        .expect("token");
    let r = client
        .post(api("/communities"))
        .bearer_auth(&reader)
        .json(&json!({"slug": "x"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 403);

    // Malformed and wrong-shaped bodies.
    let r = client
        .post(api("/communities"))
        .bearer_auth(&ada.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("JSON")));
    let (status, _) = ada
        .post("/communities", json!({"slug": "x", "colour": "red"}))
        .await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (status, _) = ada.post("/communities", json!({"title": "no slug"})).await;
    assert_eq!(status, 400);

    // Validation and conflicts.
    let (status, _) = ada
        .post("/communities", json!({"slug": "Not A Slug!"}))
        .await;
    assert_eq!(status, 422);
    let (status, _) = ada
        .post(
            "/communities",
            json!({"slug": "guild", "visibility": "secret"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = ada.post("/communities", json!({"slug": "guild"})).await;
    assert_eq!(status, 201);
    let (status, _) = ada.post("/communities", json!({"slug": "guild"})).await;
    assert_eq!(status, 409);
    let (status, _) = ada.post("/communities", json!({"slug": "ada"})).await;
    assert_eq!(status, 409, "a user's name is taken too");
    let (status, _) = ada
        .post(
            "/communities/guild/threads",
            json!({"title": "x".repeat(201), "content": "c"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = ada
        .post(
            "/communities/guild/threads",
            json!({"title": "t", "content": "  "}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = ada.get("/threads/12345").await;
    assert_eq!(status, 404);
    let (status, _) = ada.get("/threads/not-a-number").await;
    assert_eq!(status, 404);
    let (status, _) = ada.get("/communities/nobody@no-such-host.invalid").await;
    assert_eq!(status, 404);
    let (status, _) = ada.post("/communities/guild/leave", json!({})).await;
    assert_eq!(status, 409, "the owner cannot leave");

    // A thread's object is served to servers and to browsers.
    let (status, thread) = ada
        .post(
            "/communities/guild/threads",
            json!({"title": "Hello", "content": "**hi**"}),
        )
        .await;
    assert_eq!(status, 201);
    let ap_id = thread["ap_id"].as_str().expect("id");
    let doc: Value = client
        .get(ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["type"], "Page");
    assert_eq!(doc["name"], "Hello");
    assert_eq!(doc["summary"], "hi");
    assert_eq!(doc["audience"], node.url("/c/guild"));
    assert_eq!(doc["source"]["content"], "**hi**");
    assert_eq!(doc["tag"][0]["type"], "Mention");
    let html = client
        .get(ap_id)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    assert!(html.contains("<strong>hi</strong>"), "{html}");
    let (status, _) = ada.delete(&format!("/threads/{}", thread["id"])).await;
    assert_eq!(status, 204);
    let r = client
        .get(ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 410);
}
