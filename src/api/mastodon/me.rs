//! The caller's own things that apps read at start: read markers (real, kept per user so
//! every app resumes where the last one stopped), favourites (the posts they liked),
//! preferences, and the lists of features a Roundtable account does not have — featured
//! tags, suggestions — which are truthfully empty.

use super::{rfc3339, statuses, MastodonError};
use crate::{
    api::{Auth, Read, Write},
    node::Node,
};
use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Map, Value};

/// The timelines a marker may be kept for.
const TIMELINES: [&str; 2] = ["home", "notifications"];

/// Mastodon's markers object: `{"home": {"last_read_id", "version", "updated_at"}, …}`.
async fn marker_map(
    state: &Node,
    user_id: i64,
    timelines: &[&str],
) -> Result<Value, MastodonError> {
    let mut out = Map::new();
    for m in state.db.markers(user_id, timelines).await? {
        out.insert(
            m.timeline.clone(),
            json!({
                "last_read_id": m.last_read_id,
                "version": m.version,
                "updated_at": rfc3339(m.updated_at),
            }),
        );
    }
    Ok(Value::Object(out))
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`.
pub async fn markers(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MastodonError> {
    let asked: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "timeline[]" || k == "timeline")
        .map(|(_, v)| v.into_owned())
        .collect();
    let timelines: Vec<&str> = TIMELINES
        .iter()
        .copied()
        .filter(|t| asked.is_empty() || asked.iter().any(|a| a == t))
        .collect();
    Ok(Json(
        marker_map(&state, auth.member.user.id, &timelines).await?,
    ))
}

/// `POST /api/v1/markers`: `home[last_read_id]=…` (form) or `{"home": {"last_read_id": …}}`.
pub async fn set_markers(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let mut wanted: Vec<(String, String)> = Vec::new();
    if json_body {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| MastodonError::bad_request(format!("invalid JSON body: {e}")))?;
        for t in TIMELINES {
            if let Some(id) = v[t]["last_read_id"].as_str() {
                wanted.push((t.to_string(), id.to_string()));
            } else if let Some(n) = v[t]["last_read_id"].as_i64() {
                wanted.push((t.to_string(), n.to_string()));
            }
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(&body) {
            for t in TIMELINES {
                if k == format!("{t}[last_read_id]") {
                    wanted.push((t.to_string(), v.to_string()));
                }
            }
        }
    }
    if wanted.is_empty() {
        return Err(MastodonError::unprocessable(
            "name home[last_read_id] or notifications[last_read_id]",
        ));
    }
    for (timeline, id) in &wanted {
        if id.is_empty() || id.len() > 40 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MastodonError::unprocessable(
                "last_read_id must be a status id",
            ));
        }
        state
            .db
            .set_marker(auth.member.user.id, timeline, id)
            .await?;
    }
    let timelines: Vec<&str> = wanted.iter().map(|(t, _)| t.as_str()).collect();
    Ok(Json(
        marker_map(&state, auth.member.user.id, &timelines).await?,
    ))
}

/// `GET /api/v1/favourites`: the posts the caller liked, newest like first; `Link` pages on.
pub async fn favourites(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Response, MastodonError> {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let max_id = match get("max_id").filter(|v| !v.is_empty()) {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| MastodonError::bad_request("max_id must be an id"))?,
        ),
        None => None,
    };
    let limit = get("limit")
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(20)
        .clamp(1, 40);
    let liked = state
        .db
        .liked_posts(&auth.member.ap_id(&state), max_id, limit)
        .await?;
    let last_like = liked.last().map(|(id, _)| *id);
    let mut posts = Vec::with_capacity(liked.len());
    for (_, post) in liked {
        // Still readable: a like does not outlive the reader's access to the community.
        if crate::api::may_read(&state, Some(&auth), &post.community)
            .await
            .is_ok()
        {
            posts.push(post);
        }
    }
    let statuses = statuses::render(&state, Some(&auth.member), &posts).await?;
    let mut response = Json(statuses).into_response();
    if let Some(last) = last_like {
        let link = format!(
            "<{}/api/v1/favourites?max_id={last}&limit={limit}>; rel=\"next\"",
            state.settings.base_url()
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `GET /api/v1/preferences`.
pub async fn preferences(auth: Auth<Read>) -> Json<Value> {
    Json(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": auth.member.user.locale,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    }))
}

/// The caller's lists of things a Roundtable account cannot have yet: truthfully empty.
pub async fn none_yet(_auth: Auth<Read>) -> Json<Value> {
    Json(json!([]))
}
