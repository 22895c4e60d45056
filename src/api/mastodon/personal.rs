//! What a member keeps for themselves: bookmarks (`bookmarked` on statuses, `GET
//! /api/v1/bookmarks`), and muted and blocked accounts. A muted account's posts leave the
//! member's timelines (and, unless `notifications=false`, its notifications go too); a blocked
//! account's posts and notifications both go. Muting or blocking a community hides everything
//! in it. Both are the member's own view: nothing is sent to other servers, as a Roundtable
//! community, not a person, decides who takes part in it.

use super::{
    accounts::{self, Who},
    follows::relationship,
    statuses,
    timelines::{linked, Paging},
    MastodonError,
};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::personal::Keeping,
    node::Node,
    web::{form_or_json, Q},
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

async fn set_bookmark(
    state: &Node,
    auth: &Caller,
    id: &str,
    on: bool,
) -> Result<Json<Value>, MastodonError> {
    let post = statuses::readable(state, Some(auth), id).await?;
    state
        .db
        .set_bookmark(auth.member.user.id, post.id, on)
        .await?;
    Ok(Json(statuses::one(state, Some(&auth.member), &post).await?))
}

/// `POST /api/v1/statuses/{id}/bookmark`.
pub async fn bookmark(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_bookmark(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/{id}/unbookmark`.
pub async fn unbookmark(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_bookmark(&state, &auth, &id, false).await
}

/// `GET /api/v1/bookmarks`: the latest bookmarked first, paged by bookmark; posts since
/// deleted, or in communities the member can no longer read, are left out.
pub async fn bookmarks(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let marks = state
        .db
        .bookmarks(auth.member.user.id, q.kept(20, 40)?)
        .await?;
    let ids: Vec<i64> = marks.iter().map(|(_, post)| *post).collect();
    let mut posts: HashMap<i64, _> = state
        .db
        .posts_by_ids(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let in_order: Vec<_> = ids.iter().filter_map(|id| posts.remove(id)).collect();
    let shown = statuses::readable_page(&state, Some(&auth), in_order).await?;
    let body = statuses::render(&state, Some(&auth.member), &shown).await?;
    let cursors = (marks.first().map(|m| m.0), marks.last().map(|m| m.0));
    Ok(linked(&state, &uri, Json(body).into_response(), cursors))
}

/// The account an id names, which must not be the caller's own.
async fn other(state: &Node, auth: &Caller, id: &str) -> Result<Who, MastodonError> {
    let who = accounts::existing(state, id).await?;
    if who.ap_id(state) == auth.member.ap_id(state) {
        return Err(MastodonError::unprocessable(
            "you cannot mute or block yourself",
        ));
    }
    Ok(who)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MuteForm {
    #[serde(deserialize_with = "super::flag")]
    notifications: Option<bool>,
    /// Seconds; 0 or none is for good.
    duration: Option<Value>,
}

/// The longest mute with an end (a year); longer ones are for good.
const MUTE_MAX_SECS: i64 = 365 * 24 * 3600;

/// `POST /api/v1/accounts/{id}/mute` (`notifications`, default true; `duration` in seconds).
pub async fn mute(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let who = other(&state, &auth, &id).await?;
    let form: MuteForm = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    let duration = match &form.duration {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(s)) if s.trim().is_empty() => 0,
        Some(Value::String(s)) => s.trim().parse::<i64>().unwrap_or(-1),
        Some(_) => -1,
    };
    if duration < 0 {
        return Err(MastodonError::unprocessable(
            "duration must be a number of seconds",
        ));
    }
    let expires_at =
        (duration > 0 && duration <= MUTE_MAX_SECS).then(|| crate::db::now_ms() + duration * 1000);
    state
        .db
        .mute(
            auth.member.user.id,
            &who.ap_id(&state),
            form.notifications.unwrap_or(true),
            expires_at,
        )
        .await?;
    Ok(Json(relationship(&state, &auth.member, &who).await?))
}

/// `POST /api/v1/accounts/{id}/block`.
pub async fn block(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let who = other(&state, &auth, &id).await?;
    state
        .db
        .block(auth.member.user.id, &who.ap_id(&state))
        .await?;
    Ok(Json(relationship(&state, &auth.member, &who).await?))
}

async fn end(
    state: &Node,
    auth: &Caller,
    id: &str,
    what: Keeping,
) -> Result<Json<Value>, MastodonError> {
    let who = accounts::existing(state, id).await?;
    state
        .db
        .unkeep(what, auth.member.user.id, &who.ap_id(state))
        .await?;
    Ok(Json(relationship(state, &auth.member, &who).await?))
}

/// `POST /api/v1/accounts/{id}/unmute`.
pub async fn unmute(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    end(&state, &auth, &id, Keeping::Mutes).await
}

/// `POST /api/v1/accounts/{id}/unblock`.
pub async fn unblock(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    end(&state, &auth, &id, Keeping::Blocks).await
}

async fn kept(
    state: &Node,
    auth: &Caller,
    q: &Paging,
    uri: &axum::http::Uri,
    what: Keeping,
) -> Result<Response, MastodonError> {
    let rows = state
        .db
        .kept(what, auth.member.user.id, q.kept(40, 80)?)
        .await?;
    accounts::kept_page(state, uri, rows).await
}

/// `GET /api/v1/mutes`.
pub async fn mutes(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    kept(&state, &auth, &q, &uri, Keeping::Mutes).await
}

/// `GET /api/v1/blocks`.
pub async fn blocks(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    kept(&state, &auth, &q, &uri, Keeping::Blocks).await
}
