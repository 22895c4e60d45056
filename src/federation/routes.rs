//! Public ActivityPub GET endpoints: actors (with content negotiation) and their collections.

use super::{
    actors::{actor_urls, local_actor_json},
    client::AP_CONTENT_TYPE,
};
use crate::{app::AppState, db::LocalActor, domain::ActorKind, error::ApiError};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

/// True when the `Accept` header prefers an ActivityStreams document over HTML.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()) else {
        return false;
    };
    let mut ap_q: f32 = 0.0;
    let mut html_q: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut profile_ok = true;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "profile" => {
                        profile_ok = v
                            .split_whitespace()
                            .any(|p| p == "https://www.w3.org/ns/activitystreams")
                    }
                    _ => {}
                }
            }
        }
        match media.as_str() {
            "application/activity+json" => ap_q = ap_q.max(q),
            "application/ld+json" if profile_ok => ap_q = ap_q.max(q),
            "text/html" => html_q = html_q.max(q),
            _ => {}
        }
    }
    ap_q > 0.0 && ap_q >= html_q
}

/// An ActivityStreams response with the right content type.
pub fn activity_json(value: Value) -> Response {
    let mut response = Json(value).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AP_CONTENT_TYPE),
    );
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn actor_page(state: &AppState, actor: &LocalActor, kind: ActorKind) -> Response {
    let domain = &state.settings.instance.domain;
    let handle = match kind {
        ActorKind::Application => format!("{domain}@{domain}"),
        _ => format!("{}@{domain}", actor.name),
    };
    let what = match kind {
        ActorKind::Person => "member",
        ActorKind::Group => "community",
        ActorKind::Application => "Roundtable node",
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{what} · @{handle}</p></body></html>\n",
        title = escape_html(&actor.display_name),
        handle = escape_html(&handle),
    );
    let mut response = Html(page).into_response();
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

async fn find(state: &AppState, name: &str, kind: ActorKind) -> Result<LocalActor, ApiError> {
    let actor = state
        .db
        .local_actor_by_name(&name.to_lowercase())
        .await?
        .filter(|a| a.kind == kind.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no {} named {name:?}", kind.as_str())))?;
    Ok(actor)
}

async fn serve_actor(
    state: &AppState,
    headers: &HeaderMap,
    actor: LocalActor,
    kind: ActorKind,
) -> Response {
    if wants_activity_json(headers) {
        let base = state.settings.base_url();
        activity_json(local_actor_json(
            &base,
            &state.settings.instance.domain,
            &actor,
            kind,
        ))
    } else {
        actor_page(state, &actor, kind)
    }
}

pub async fn person(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = find(&state, &name, ActorKind::Person).await?;
    Ok(serve_actor(&state, &headers, actor, ActorKind::Person).await)
}

pub async fn group(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = find(&state, &name, ActorKind::Group).await?;
    Ok(serve_actor(&state, &headers, actor, ActorKind::Group).await)
}

pub async fn instance_actor(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = state
        .db
        .instance_actor()
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(serve_actor(&state, &headers, actor, ActorKind::Application).await)
}

/// An empty ordered collection; the capabilities that fill each collection replace these.
fn empty_collection(id: String) -> Response {
    activity_json(json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }))
}

async fn collection(
    state: &AppState,
    name: &str,
    kind: ActorKind,
    which: &str,
) -> Result<Response, ApiError> {
    let actor = find(state, name, kind).await?;
    let urls = actor_urls(&state.settings.base_url(), kind, &actor.name);
    let id = match which {
        "outbox" => urls.outbox,
        "followers" => urls.followers,
        "following" => urls.following,
        _ => return Err(ApiError::not_found("no such collection")),
    };
    Ok(empty_collection(id))
}

pub async fn person_collection(
    State(state): State<AppState>,
    Path((name, which)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    collection(&state, &name, ActorKind::Person, &which).await
}

pub async fn group_collection(
    State(state): State<AppState>,
    Path((name, which)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    collection(&state, &name, ActorKind::Group, &which).await
}

pub async fn instance_collection(
    State(state): State<AppState>,
    Path(which): Path<String>,
) -> Result<Response, ApiError> {
    let base = state.settings.base_url();
    match which.as_str() {
        "outbox" | "followers" | "following" => {
            Ok(empty_collection(format!("{base}/actor/{which}")))
        }
        _ => Err(ApiError::not_found("no such collection")),
    }
}

pub async fn not_found() -> (StatusCode, Json<Value>) {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn negotiation() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        )));
        assert!(wants_activity_json(&accept(
            "text/html;q=0.5, application/activity+json"
        )));
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(&accept(
            "application/ld+json; profile=\"https://example.org\""
        )));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
