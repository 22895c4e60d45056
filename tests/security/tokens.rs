//! Class 2: a token opens only what its scopes name; tokens can be listed, revoked and expire.
//! Class 9 (in part): moderation data is for moderators.

use super::{board, thread, Board};
use crate::harness::ApiUser;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

fn with_token(user: &ApiUser, token: &str) -> ApiUser {
    let mut other = user.clone();
    other.token = token.to_string();
    other
}

#[tokio::test]
async fn a_calendar_token_opens_its_feed_and_nothing_else() {
    let Board { alpha, olga, .. } = board().await;
    thread(&olga, "/communities/board/threads", "Salary bands").await;
    let (status, body) = olga.post("/me/calendar", json!({})).await;
    assert_eq!(status, 201, "{body}");
    let feed = body["url"].as_str().expect("url").to_string();
    let token = feed
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".ics"))
        .expect("token in the URL")
        .to_string();

    // The feed opens.
    let response = crate::harness::http().get(&feed).send().await.expect("GET");
    assert_eq!(response.status(), 200);

    // The same secret as a bearer token opens no API endpoint.
    let holder = with_token(&olga, &token);
    for path in [
        "/communities/board/threads",
        "/communities/board/articles",
        "/communities/board/events",
        "/communities/board/members",
        "/communities/board/bans",
        "/search?q=salary",
        "/reports",
        "/tokens",
        "/admin/federation",
    ] {
        let (status, body) = holder.get(path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(!body.to_string().contains("Salary"), "{path}: {body}");
    }
    let (status, _) = holder
        .post(
            "/communities/board/threads",
            json!({"title": "x", "content": "y"}),
        )
        .await;
    assert_eq!(status, 403);

    // A read token reads but does not write; a write token writes but does not read.
    for (scopes, read, write) in [("read", 200, 403), ("write", 403, 201)] {
        let t = roundtable::service::accounts::create_token(&alpha.state.db, "olga", scopes)
            .await
            .expect("token");
        let user = with_token(&olga, &t);
        let (status, _) = user.get("/communities/board/threads").await;
        assert_eq!(status, read, "{scopes} reads");
        let (status, _) = user
            .post(
                "/communities/board/threads",
                json!({"title": format!("by {scopes}"), "content": "y"}),
            )
            .await;
        assert_eq!(status, write, "{scopes} writes");
    }
    // An admin-scoped token of a user who is not an administrator opens no admin endpoint.
    let t = roundtable::service::accounts::create_token(&alpha.state.db, "olga", "read admin")
        .await
        .expect("token");
    let (status, _) = with_token(&olga, &t).get("/admin/federation").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_expire() {
    let Board { alpha, olga, .. } = board().await;

    // Through the API: a new token never holds more than the one that made it.
    let (status, made) = olga
        .post("/tokens", json!({"scopes": "read", "expires_days": 30}))
        .await;
    assert_eq!(status, 201, "{made}");
    let (status, body) = olga.post("/tokens", json!({"scopes": "admin"})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = olga
        .post("/tokens", json!({"scopes": "read", "expires_days": 0}))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, list) = olga.get("/tokens").await;
    assert_eq!(status, 200);
    let tokens = list["tokens"].as_array().expect("tokens").clone();
    let listed = tokens
        .iter()
        .find(|t| t["id"] == made["id"])
        .expect("the new token is listed");
    assert_eq!(listed["scopes"], "read");
    assert!(listed["expires_at"].is_string(), "{listed}");
    assert!(
        !list
            .to_string()
            .contains(made["token"].as_str().expect("secret")),
        "secrets are never shown again"
    );
    let reader = with_token(&olga, made["token"].as_str().expect("secret"));
    assert_eq!(reader.get("/communities/board/threads").await.0, 200);
    let (status, _) = olga.delete(&format!("/tokens/{}", made["id"])).await;
    assert_eq!(status, 204);
    let (status, body) = reader.get("/communities/board/threads").await;
    assert_eq!(status, 401, "revoked: {body}");
    let (status, _) = olga.delete(&format!("/tokens/{}", made["id"])).await;
    assert_eq!(status, 404);

    // Through the command line.
    let out = alpha
        .cli(&[
            "token",
            "create",
            "olga",
            "--scopes",
            "read",
            "--expires-days",
            "1",
        ])
        .await;
    assert!(out.ok, "{out:?}");
    let secret = out.stdout.clone();
    let expiring = with_token(&olga, &secret);
    assert_eq!(expiring.get("/communities/board/threads").await.0, 200);
    let out = alpha.cli(&["token", "list", "olga"]).await;
    assert!(out.ok, "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("\tread\t") && !l.contains("expires never"))
        .expect("the expiring token is listed")
        .to_string();
    let id = line.split('\t').next().expect("id").to_string();

    // A day later (moved in the database), it opens nothing.
    let db = Database::connect(alpha.db.url.as_str()).await.expect("db");
    db.execute_unprepared(&format!(
        "UPDATE api_tokens SET expires_at = {} WHERE id = {id}",
        chrono::Utc::now().timestamp_millis() - 1000
    ))
    .await
    .expect("expire");
    let (status, body) = expiring.get("/communities/board/threads").await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("expired")));

    let out = alpha.cli(&["token", "revoke", "olga", &id]).await;
    assert!(out.ok, "{out:?}");
    let out = alpha.cli(&["token", "revoke", "olga", &id]).await;
    assert!(!out.ok);
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let out = alpha.cli(&["token", "list", "olga"]).await;
    assert!(!out
        .stdout
        .lines()
        .any(|l| l.starts_with(&format!("{id}\t"))));
}

#[tokio::test]
async fn the_ban_list_is_for_moderators() {
    let Board { alpha, olga, .. } = board().await;
    let lee = alpha.api_user("lee").await;
    let (status, body) = olga
        .post(
            "/communities/board/bans",
            json!({"actor": lee.ap_id(), "reason": "leaked the minutes"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = alpha.anonymous().get("/communities/board/bans").await;
    assert_eq!(status, 401);
    let (status, body) = olga.get("/communities/board/bans").await;
    assert_eq!(status, 200);
    assert_eq!(body["bans"].as_array().map(Vec::len), Some(1), "{body}");
    // Someone else sees nothing; the banned person sees their own ban.
    let sam = alpha.api_user("sam").await;
    let (status, body) = sam.get("/communities/board/bans").await;
    assert_eq!(status, 200);
    assert_eq!(body["bans"], json!([]), "{body}");
    let (_, body) = lee.get("/communities/board/bans").await;
    assert_eq!(body["bans"].as_array().map(Vec::len), Some(1), "{body}");
}
