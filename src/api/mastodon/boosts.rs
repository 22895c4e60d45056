//! Boosts (Mastodon's reblogs): a member boosts a thread or reply they may read, to show its
//! author and readers it mattered. On Roundtable a boost goes to no timeline, because nobody
//! follows a person; it is counted (`reblogs_count`, `reblogged`), listed (`reblogged_by`,
//! to those who may read the status) and heard by the author (a `reblog` notification).
//! Nothing is federated. A boost of a status is answered as Mastodon answers it, a status
//! whose `reblog` is the boosted one; since a boost is no status of its own here, that
//! status carries the boosted one's id.

use super::{accounts, statuses, timelines::Paging, MastodonError};
use crate::{
    api::{Auth, MaybeAuth, Read, Write},
    node::Node,
    web::Q,
};
use axum::{
    extract::{OriginalUri, Path, State},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::Value;

async fn set_boost(
    state: &Node,
    auth: &Auth<Write>,
    id: &str,
    on: bool,
) -> Result<Json<Value>, MastodonError> {
    let post = statuses::readable(state, Some(auth), id).await?;
    let me = auth.member.ap_id(state);
    state
        .db
        .set_boost(auth.member.user.id, &me, post.id, on)
        .await?;
    let status = statuses::one(state, Some(&auth.member), &post).await?;
    if !on {
        return Ok(Json(status));
    }
    let mut wrapper = status.clone();
    wrapper["account"] = accounts::credential_account(state, &auth.member).await?;
    wrapper["reblog"] = status;
    wrapper["content"] = Value::String(String::new());
    wrapper["media_attachments"] = Value::Array(Vec::new());
    Ok(Json(wrapper))
}

/// `POST /api/v1/statuses/{id}/reblog`.
pub async fn reblog(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_boost(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/{id}/unreblog`: the boosted status, no longer boosted.
pub async fn unreblog(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_boost(&state, &auth, &id, false).await
}

/// `GET /api/v1/statuses/{id}/reblogged_by`: who boosted a status, newest first, paged
/// (nobody, for an article's or event's).
pub async fn reblogged_by(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    // An article's or event's status has no boosts.
    if super::cards::stands_alone(&state, auth.as_deref(), &id).await? {
        return Ok(Json(serde_json::json!([])).into_response());
    }
    let post = statuses::readable(&state, auth.as_deref(), &id).await?;
    let rows = state.db.boosters(post.id, q.kept(40, 80)?).await?;
    accounts::kept_page(&state, &uri, rows).await
}
