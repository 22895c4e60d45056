//! The OAuth 2 authorization server: an independent client (authlib) through the real sign-in
//! and consent pages, and every refusal an app or an attacker could meet.

use super::{browser, member, PASSWORD};
use crate::harness::{http, python, ApiUser, Node, NodeOptions};
use serde_json::{json, Value};

const REDIRECT: &str = "https://app.example/callback";

async fn oauth_node(settings: &[(&str, &str)]) -> Node {
    Node::start_with(NodeOptions {
        env: settings
            .iter()
            .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .await
}

/// Registers an app by JSON; returns Mastodon's Application answer.
async fn register(node: &Node, body: Value) -> (u16, Value) {
    let r = http()
        .post(node.url("/api/v1/apps"))
        .json(&body)
        .send()
        .await
        .expect("register");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Posts a form to the token or revocation endpoint.
async fn token_request(node: &Node, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(node.url(path))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn bearer(node: &Node, token: &str) -> ApiUser {
    let mut user = node.anonymous();
    user.token = token.to_string();
    user
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn an_independent_oauth_client_signs_in_with_pkce_refreshes_and_revokes() {
    let node = oauth_node(&[]).await;
    member(&node, "olga", "olga@example.com").await;
    let seen = python::run_client(
        include_str!("oauth_client.py"),
        &[
            ("NODE", &node.base),
            ("LOGIN", "olga"),
            ("PASSWORD", PASSWORD),
        ],
    )
    .await;
    let is = |key: &str, expected: Value| assert_eq!(seen[key], expected, "{key} in {seen:#}");

    is("register_status", json!(200));
    is("app_scopes", json!(["read", "write"]));
    // Signed out: the authorization request goes through the sign-in page and back.
    is("sent_to_sign_in", json!(true));
    let back = seen["after_sign_in"].as_str().expect("after sign-in");
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    is("consent_status", json!(200));
    is("consent_names_app", json!(true));
    let csp = seen["consent_csp"].as_str().expect("csp");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    is("approve_status", json!(303));
    is("redirected_to", json!(REDIRECT));
    is("state_returned", json!(true));
    is("token_scope", json!("read"));
    is("token_type", json!("Bearer"));
    is("api_with_token", json!(200));
    is("write_with_read_token", json!(403));
    assert!(
        seen["write_error"]
            .as_str()
            .is_some_and(|e| e.contains("write")),
        "{seen:#}"
    );
    is("refreshed_differs", json!(true));
    is("api_with_refreshed", json!(200));
    is("api_with_old_access", json!(401));
    is("reused_refresh", json!("invalid_grant"));
    is("revoke_status", json!(200));
    is("api_after_revoke", json!(401));
    is("replay", json!("invalid_grant"));
    is("api_after_replay", json!(401));
    is("wrong_verifier", json!("invalid_grant"));
    is("wrong_redirect_at_token", json!("invalid_grant"));
    is("unregistered_redirect_status", json!(400));
    is("unregistered_redirect_location", Value::Null);
    is("wrong_secret", json!("invalid_client"));

    // Only hashes are stored: no code or secret the client saw is in the database.
    let stored: Vec<String> = {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let conn = Database::connect(node.db.url.as_str())
            .await
            .expect("connect");
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT code_hash AS h FROM oauth_codes UNION ALL SELECT secret_hash AS h FROM oauth_apps",
            ))
            .await
            .expect("hashes");
        rows.iter()
            .filter_map(|r| r.try_get::<String>("", "h").ok())
            .collect()
    };
    assert_eq!(stored.len(), 4 + 1, "{stored:?}");
    assert!(stored
        .iter()
        .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())));
}

#[tokio::test]
async fn apps_register_by_form_or_json_and_bad_registrations_are_refused() {
    let node = oauth_node(&[]).await;
    // JSON, with a list of redirect URIs (one of them out-of-band).
    let (status, app) = register(
        &node,
        json!({"client_name": "Pinafore", "redirect_uris": [REDIRECT, "urn:ietf:wg:oauth:2.0:oob"], "scopes": "read write:statuses follow"}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(
        app["redirect_uris"],
        json!([REDIRECT, "urn:ietf:wg:oauth:2.0:oob"])
    );
    assert_eq!(app["scopes"], json!(["read", "write:statuses", "follow"]));
    assert!(app["client_secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("rts_")));
    // A form with `redirect_uris[]`, and the default scope.
    let r = http()
        .post(node.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Tusky"),
            ("redirect_uris[]", "https://a.example/cb"),
            ("redirect_uris[]", "https://b.example/cb"),
        ])
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 200);
    let tusky: Value = r.json().await.expect("json");
    assert_eq!(tusky["redirect_uris"].as_array().map(Vec::len), Some(2));
    assert_eq!(tusky["scopes"], json!(["read"]));

    for (body, field) in [
        (json!({"redirect_uris": REDIRECT}), "client_name"),
        (json!({"client_name": "x"}), "redirect_uris"),
        (
            json!({"client_name": "x", "redirect_uris": "javascript:alert(1)"}),
            "scheme",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "/relative"}),
            "absolute",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "https://a.example/#frag"}),
            "fragment",
        ),
        (
            json!({"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read everything"}),
            "everything",
        ),
        (
            json!({"client_name": "x", "redirect_uris": REDIRECT, "website": "ftp://x"}),
            "website",
        ),
        (
            json!({"client_name": 5, "redirect_uris": REDIRECT}),
            "not understood",
        ),
    ] {
        let (status, answer) = register(&node, body.clone()).await;
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(field), "{body}: {answer}");
    }
    let r = http()
        .post(node.url("/api/v1/apps"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 400);

    // An app-only token says which app it is, and reads nothing a user could.
    let secret = app["client_secret"].as_str().expect("secret");
    let id = app["client_id"].as_str().expect("id");
    let (status, token) = token_request(
        &node,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "read");
    assert!(token.get("refresh_token").is_none(), "{token}");
    let app_token = token["access_token"].as_str().expect("token");
    let r = http()
        .get(node.url("/api/v1/apps/verify_credentials"))
        .bearer_auth(app_token)
        .send()
        .await
        .expect("verify");
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.expect("json");
    assert_eq!(me["name"], "Pinafore");
    assert!(me.get("client_secret").is_none(), "{me}");
    let (status, body) = bearer(&node, app_token).get("/tokens").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap_or_default()
        .contains("app-only"));
    // Where anonymous readers are welcome, an app-only token reads as one.
    let (status, body) = bearer(&node, app_token).get("/communities").await;
    assert_ne!(status, 401, "{body}");
    assert_ne!(status, 403, "{body}");
    // More than the app registered is refused.
    let (status, body) = token_request(
        &node,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "admin:write"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
}

#[tokio::test]
async fn the_consent_page_denies_shows_out_of_band_codes_and_refuses_bad_requests() {
    let node = oauth_node(&[]).await;
    member(&node, "olga", "olga@example.com").await;
    let (_, app) = register(
        &node,
        json!({"client_name": "Toot CLI", "redirect_uris": [REDIRECT, "urn:ietf:wg:oauth:2.0:oob"], "scopes": "read write"}),
    )
    .await;
    let id = app["client_id"].as_str().expect("id").to_string();
    let secret = app["client_secret"].as_str().expect("secret").to_string();
    let b = browser(&node);
    let authorize = |redirect: &str, scope: &str, extra: &str| {
        format!(
            "/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&scope={}&state=xyz{extra}",
            urlencode(redirect),
            urlencode(scope)
        )
    };

    // Refused before anyone signs in: an unknown client, an unregistered redirect URI.
    b.get("/oauth/authorize?response_type=code&client_id=nobody&redirect_uri=x")
        .await
        .shows(400, "No app with this client_id");
    b.get(&authorize("https://evil.example/", "read", ""))
        .await
        .shows(400, "not one the app registered");
    // A bad request from a known client goes back to the client.
    let page = b
        .get(&authorize(
            REDIRECT,
            "read",
            "&code_challenge=abc&code_challenge_method=plain",
        ))
        .await;
    assert_eq!(page.status, 303);
    let location = page.location.clone().expect("location");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let page = b.get(&authorize(REDIRECT, "read admin:write", "")).await;
    let location = page.location.clone().expect("location");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_scope"),
        "{location}"
    );
    let page = b.get(&authorize(REDIRECT, "read bogus", "")).await;
    let location = page.location.clone().expect("location");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_scope")
    );

    // Signed out, a good request leads to the sign-in page, which leads back.
    let page = b.get(&authorize(REDIRECT, "read write", "")).await;
    assert_eq!(page.status, 303);
    let to = page.location.clone().expect("location");
    assert!(to.starts_with("/sign-in?next=%2Foauth%2Fauthorize"), "{to}");
    b.sign_in("olga", PASSWORD).await;
    let consent = b.get(&authorize(REDIRECT, "read write", "")).await;
    consent.shows(200, "Toot CLI");
    assert!(consent.body.contains("Post, edit and delete in your name"));
    assert!(consent.body.contains("@olga@"));

    // Without the CSRF token the consent form is refused.
    let page = b
        .post(
            "/oauth/authorize",
            &[
                ("client_id", &id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("decision", "approve"),
            ],
        )
        .await;
    page.shows(403, "expired");

    // Deny: the app hears access_denied, with its state.
    let csrf = consent.csrf();
    let answer = |decision: &'static str, redirect: &'static str| {
        let csrf = csrf.clone();
        let id = id.clone();
        let b = &b;
        async move {
            b.post(
                "/oauth/authorize",
                &[
                    ("csrf", csrf.as_str()),
                    ("client_id", id.as_str()),
                    ("redirect_uri", redirect),
                    ("response_type", "code"),
                    ("scope", "read write"),
                    ("state", "xyz"),
                    ("decision", decision),
                ],
            )
            .await
        }
    };
    let denied = answer("deny", REDIRECT).await;
    assert_eq!(denied.status, 303);
    let location = denied.location.clone().expect("location");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    assert_eq!(query_param(&location, "code"), None);

    // Out of band: the code is shown, and exchanged with the secret in the body.
    let shown = answer("approve", "urn:ietf:wg:oauth:2.0:oob").await;
    shown.shows(200, "Copy this code");
    let code = shown
        .body
        .split("value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the code")
        .to_string();
    assert!(code.starts_with("rtc_"), "{code}");
    let (status, token) = token_request(
        &node,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "read write");
    let access = token["access_token"].as_str().expect("access").to_string();
    let (status, _) = bearer(&node, &access).get("/tokens").await;
    assert_eq!(status, 200);

    // The authorized app is listed on its page and through the API, and can be signed out.
    let apps = b.get("/authorized-apps").await;
    apps.shows(200, "Toot CLI");
    let (status, listed) = bearer(&node, &access).get("/authorized-apps").await;
    assert_eq!(status, 200);
    assert_eq!(listed["apps"][0]["name"], "Toot CLI");
    assert_eq!(listed["apps"][0]["tokens"], 1);
    let app_id = listed["apps"][0]["id"].as_i64().expect("id").to_string();
    b.submit(
        "/authorized-apps",
        &format!("/authorized-apps/{app_id}/revoke"),
        &[],
    )
    .await
    .shows(200, "signed out");
    let (status, _) = bearer(&node, &access).get("/tokens").await;
    assert_eq!(status, 401);
    b.post("/authorized-apps/99999/revoke", &[("csrf", csrf.as_str())])
        .await
        .shows(404, "not authorized this app");

    // Token endpoint refusals, each with an RFC 6749 error.
    for (form, status, error) in [
        (
            vec![("grant_type", "authorization_code"), ("code", "rtc_nope")],
            400,
            "invalid_grant",
        ),
        (
            vec![("grant_type", "authorization_code")],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "olga"),
                ("password", PASSWORD),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "implicit")],
            400,
            "unsupported_grant_type",
        ),
        (vec![], 400, "invalid_request"),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "rtr_nope"),
            ],
            400,
            "invalid_grant",
        ),
    ] {
        let mut all = form.clone();
        all.push(("client_id", &id));
        all.push(("client_secret", &secret));
        let (got, body) = token_request(&node, "/oauth/token", &all).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form:?}: {body}"
        );
        assert!(body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
    let (got, body) = token_request(
        &node,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (got, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (got, _) = token_request(
        &node,
        "/oauth/revoke",
        &[
            ("token", "x"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(got, 200, "an unknown token is no error to revoke");
}

#[tokio::test]
async fn the_password_grant_only_where_enabled_and_metadata_says_so() {
    let closed = oauth_node(&[]).await;
    let meta: Value = http()
        .get(closed.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["issuer"], format!("{}/", closed.base));
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth/token", closed.base)
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert!(!meta["grant_types_supported"]
        .as_array()
        .expect("grants")
        .contains(&json!("password")));
    let scopes = meta["scopes_supported"].as_array().expect("scopes");
    for s in ["read", "write:media", "admin:read:accounts", "calendar"] {
        assert!(scopes.contains(&json!(s)), "{s}");
    }

    // Web apps on other origins may call the token endpoint and the API with a bearer token.
    let preflight = http()
        .request(reqwest::Method::OPTIONS, closed.url("/oauth/token"))
        .header("origin", "https://web-client.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let api = http()
        .get(closed.url("/api/roundtable/v1/communities"))
        .header("origin", "https://web-client.example")
        .send()
        .await
        .expect("api");
    assert_eq!(api.headers()["access-control-allow-origin"], "*");
    assert!(api.headers()["access-control-expose-headers"]
        .to_str()
        .is_ok_and(|h| h.to_ascii_lowercase().contains("link")));
    // The pages (which use cookies) allow no other origin.
    let page = http()
        .get(closed.url("/sign-in"))
        .header("origin", "https://web-client.example")
        .send()
        .await
        .expect("page");
    assert!(page.headers().get("access-control-allow-origin").is_none());

    let open = oauth_node(&[("OAUTH__PASSWORD_GRANT", "true")]).await;
    member(&open, "olga", "olga@example.com").await;
    let meta: Value = http()
        .get(open.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert!(meta["grant_types_supported"]
        .as_array()
        .expect("grants")
        .contains(&json!("password")));
    let (_, app) = register(
        &open,
        json!({"client_name": "Trusted", "redirect_uris": REDIRECT, "scopes": "read write"}),
    )
    .await;
    let id = app["client_id"].as_str().expect("id");
    let secret = app["client_secret"].as_str().expect("secret");
    let grant = |password: &'static str| {
        let open = &open;
        async move {
            token_request(
                open,
                "/oauth/token",
                &[
                    ("grant_type", "password"),
                    ("username", "olga@example.com"),
                    ("password", password),
                    ("scope", "read"),
                    ("client_id", id),
                    ("client_secret", secret),
                ],
            )
            .await
        }
    };
    let (status, body) = grant("wrong password").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, token) = grant(PASSWORD).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "read");

    // A suspended account's tokens stop working, and cannot be refreshed.
    let access = token["access_token"].as_str().expect("access");
    let refresh = token["refresh_token"].as_str().expect("refresh");
    roundtable::service::accounts::admin::set_suspended(&open.state, "olga", true)
        .await
        .expect("suspend");
    let (status, body) = bearer(&open, access).get("/tokens").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = token_request(
        &open,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn admin_scopes_split_into_reading_and_changing() {
    let node = oauth_node(&[]).await;
    node.cli(&["user", "create", "ada", "--admin"]).await;
    let db = &node.state.db;
    let reader = roundtable::service::accounts::create_token(db, "ada", "admin:read")
        .await
        .expect("token");
    let legacy = roundtable::service::accounts::create_token(db, "ada", "read write admin")
        .await
        .expect("token");
    let (status, body) = bearer(&node, &reader).get("/admin/federation").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = bearer(&node, &reader)
        .put("/admin/federation", json!({"mode": "open"}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap_or_default()
        .contains("admin:write"));
    // Tokens made with the old `admin` scope hold both.
    let (status, body) = bearer(&node, &legacy)
        .put("/admin/federation", json!({"mode": "open"}))
        .await;
    assert_eq!(status, 200, "{body}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
