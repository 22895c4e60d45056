//! The OAuth 2 endpoints apps talk to (the consent page is in `ui::oauth`): Mastodon's app
//! registration `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`, the token
//! endpoint `POST /oauth/token`, revocation `POST /oauth/revoke` and the server metadata
//! `/.well-known/oauth-authorization-server` (RFC 8414). Bodies may be forms or JSON, as
//! Mastodon accepts both. The token and revocation endpoints answer RFC 6749's
//! `{"error": code, "error_description": …}`; the others the API's `{"error": …}`.
//!
//! They and the native API answer cross-origin requests (`cors`). Also, under the native API, the apps the caller authorized: `GET /authorized-apps` and
//! `DELETE /authorized-apps/{id}`.

use super::{bearer_token, parse_id, Auth, Read, Write};
use crate::web::form_or_json;
use crate::{
    db::oauth::OAuthApp,
    domain::Scopes,
    error::ApiError,
    node::Node,
    service::accounts::{
        oauth::{self, AppRequest, Issued, OAuthError},
        Account,
    },
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes at the node's root, where Mastodon apps look for them.
pub fn router() -> Router<Node> {
    let mut router = Router::new().route("/.well-known/oauth-authorization-server", get(metadata));
    // With and without a trailing slash, as apps send both.
    for (path, route) in [
        ("/api/v1/apps", post(register)),
        ("/api/v1/apps/verify_credentials", get(verify_credentials)),
        ("/oauth/token", post(token)),
        ("/oauth/revoke", post(revoke)),
    ] {
        router = router
            .route(&format!("{path}/"), route.clone())
            .route(path, route);
    }
    router
}

/// Cross-origin access for apps that run in a browser (web Mastodon clients): any origin may
/// call with a bearer token, never with the node's cookies, and may read `Link` for paging.
pub fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LINK,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-ratelimit-limit"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(std::time::Duration::from_secs(3600))
}

/// The native API's routes for the caller's authorized apps.
pub fn native_router() -> Router<Node> {
    Router::new()
        .route("/authorized-apps", get(authorized))
        .route("/authorized-apps/{id}", delete(revoke_app))
}

// ----- bodies -----

/// One value or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

// ----- apps -----

#[derive(Deserialize)]
struct AppForm {
    #[serde(default)]
    client_name: String,
    redirect_uris: Option<OneOrMany>,
    scopes: Option<String>,
    website: Option<String>,
}

/// Mastodon's Application entity. `client_secret` only at registration.
fn app_json(app: &OAuthApp, client_secret: Option<&str>) -> Value {
    let uris = oauth::redirect_uris(app);
    let mut v = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split_whitespace().collect::<Vec<_>>(),
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "vapid_key": "",
    });
    if let Some(secret) = client_secret {
        v["client_id"] = json!(app.client_id);
        v["client_secret"] = json!(secret);
        v["client_secret_expires_at"] = json!(0);
    }
    v
}

async fn register(
    State(state): State<Node>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form: AppForm = form_or_json(&headers, &body).map_err(ApiError::bad_request)?;
    let registered = oauth::register(
        &state,
        AppRequest {
            name: &form.client_name,
            redirect_uris: form
                .redirect_uris
                .map(OneOrMany::into_vec)
                .unwrap_or_default(),
            scopes: form.scopes.as_deref(),
            website: form.website.as_deref(),
        },
    )
    .await?;
    Ok(Json(app_json(
        &registered.app,
        Some(&registered.client_secret),
    )))
}

/// The app a token was given to (user or app-only token).
async fn verify_credentials(
    State(state): State<Node>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = bearer_token(&headers)?;
    let app = oauth::app_of_token(&state, token)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this needs a token given to an app"))?;
    let mut v = app_json(&app, None);
    v["client_id"] = json!(app.client_id);
    Ok(Json(v))
}

// ----- the token endpoint -----

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// RFC 7009's token to revoke.
    token: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(e: OAuthError, basic: bool) -> Response {
    let status = match e.code {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "unauthorized_client" => StatusCode::FORBIDDEN,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": e.code, "error_description": e.description})),
    )
        .into_response();
    if basic && status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"oauth\""),
        );
    }
    response
}

/// The client's id and secret: HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or the body.
fn client_credentials(
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<(String, String, bool), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    if let Some(encoded) = basic {
        let bad = || OAuthError {
            code: "invalid_client",
            description: "the Basic authorization header is not base64 of client_id:client_secret"
                .into(),
        };
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
        let unescape = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Ok((unescape(id), unescape(secret), true));
    }
    Ok((
        form.client_id.clone().unwrap_or_default(),
        form.client_secret.clone().unwrap_or_default(),
        false,
    ))
}

async fn authenticated(
    state: &Node,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(TokenForm, OAuthApp), (OAuthError, bool)> {
    let form: TokenForm = form_or_json(headers, body).map_err(|m| {
        (
            OAuthError {
                code: "invalid_request",
                description: m,
            },
            false,
        )
    })?;
    let (id, secret, basic) = client_credentials(headers, &form).map_err(|e| (e, true))?;
    let app = oauth::authenticate(state, &id, &secret)
        .await
        .map_err(|e| (e, basic))?;
    Ok((form, app))
}

fn issued(i: Issued) -> Response {
    let mut body = json!({
        "access_token": i.access_token,
        "token_type": "Bearer",
        "scope": i.scopes,
        "created_at": i.created_at,
    });
    if let Some(r) = i.refresh_token {
        body["refresh_token"] = json!(r);
    }
    if let Some(s) = i.expires_in {
        body["expires_in"] = json!(s);
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

async fn token(State(state): State<Node>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, app) = match authenticated(&state, &headers, &body).await {
        Ok(ok) => ok,
        Err((e, basic)) => return oauth_error(e, basic),
    };
    let scope = form.scope.as_deref();
    let result = match form.grant_type.as_str() {
        "authorization_code" => {
            oauth::exchange_code(
                &state,
                &app,
                form.code.as_deref().unwrap_or_default(),
                form.redirect_uri.as_deref(),
                form.code_verifier.as_deref(),
            )
            .await
        }
        "refresh_token" => {
            oauth::refresh(
                &state,
                &app,
                form.refresh_token.as_deref().unwrap_or_default(),
                scope,
            )
            .await
        }
        "client_credentials" => oauth::client_credentials(&state, &app, scope).await,
        "password" => {
            oauth::password(
                &state,
                &app,
                form.username.as_deref().unwrap_or_default(),
                form.password.as_deref().unwrap_or_default(),
                scope,
            )
            .await
        }
        "" => Err(OAuthError {
            code: "invalid_request",
            description: "grant_type is required".into(),
        }),
        other => Err(OAuthError {
            code: "unsupported_grant_type",
            description: format!(
                "grant_type {:?} is not supported (authorization_code, refresh_token, client_credentials)",
                other.chars().take(40).collect::<String>()
            ),
        }),
    };
    match result {
        Ok(i) => issued(i),
        Err(e) => oauth_error(e, false),
    }
}

async fn revoke(State(state): State<Node>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, app) = match authenticated(&state, &headers, &body).await {
        Ok(ok) => ok,
        Err((e, basic)) => return oauth_error(e, basic),
    };
    match oauth::revoke(&state, &app, form.token.as_deref().unwrap_or_default()).await {
        Ok(()) => (StatusCode::OK, Json(json!({}))).into_response(),
        Err(e) => oauth_error(e, false),
    }
}

/// RFC 8414 metadata, with Mastodon's `app_registration_endpoint`.
async fn metadata(State(state): State<Node>) -> Json<Value> {
    let base = state.settings.base_url();
    let mut grants = vec!["authorization_code", "refresh_token", "client_credentials"];
    if state.settings.oauth.password_grant {
        grants.push("password");
    }
    Json(json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": Scopes::supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": format!("{base}/api/roundtable/v1/openapi.json"),
    }))
}

// ----- the caller's authorized apps -----

fn account<S: super::Scope>(auth: &Auth<S>) -> Account {
    Account {
        user: auth.member.user.clone(),
        actor: auth.member.actor.clone(),
    }
}

async fn authorized(State(state): State<Node>, auth: Auth<Read>) -> Result<Json<Value>, ApiError> {
    let account = account(&auth);
    let apps = oauth::authorized_apps(&state, &account).await?;
    let apps: Vec<Value> = apps
        .iter()
        .map(|a| {
            json!({
                "id": a.app.id,
                "name": a.app.name,
                "website": a.app.website,
                "scopes": a.scopes,
                "tokens": a.tokens,
                "authorized_at": crate::activitypub::objects::rfc3339(a.since),
            })
        })
        .collect();
    Ok(Json(json!({ "apps": apps })))
}

async fn revoke_app(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    oauth::revoke_app(&state, &account(&auth), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
