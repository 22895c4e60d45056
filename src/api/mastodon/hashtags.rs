//! Hashtags a member follows: the Tag entity says whether the caller follows it, following
//! and unfollowing one, and the list of followed tags (newest first, `Link`-paged). The home
//! timeline then carries the posts under a followed tag from where the tag's own timeline
//! finds them, kept to what the caller may read (`timelines::home`).

use super::{statuses::tag_entity, timelines::tag_name, timelines::Paging, MastodonError};
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
use serde_json::{json, Value};

/// The Tag entity of `name` (already folded) for a caller who follows it or not.
fn entity(state: &Node, name: &str, following: bool) -> Value {
    let mut tag = tag_entity(state, name);
    tag["history"] = json!([]);
    tag["following"] = json!(following);
    tag
}

/// `GET /api/v1/tags/{hashtag}`: the Tag entity; its timeline is
/// `/api/v1/timelines/tag/{hashtag}`.
pub async fn tag(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(hashtag): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let name = tag_name(&hashtag)?;
    let following = match &auth {
        Some(a) => state
            .db
            .followed_tags(a.member.user.id)
            .await?
            .contains(&name),
        None => false,
    };
    Ok(Json(entity(&state, &name, following)))
}

/// `POST /api/v1/tags/{hashtag}/follow`.
pub async fn follow(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(hashtag): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let name = tag_name(&hashtag)?;
    state
        .db
        .set_followed_tag(auth.member.user.id, &name, true)
        .await?;
    Ok(Json(entity(&state, &name, true)))
}

/// `POST /api/v1/tags/{hashtag}/unfollow`.
pub async fn unfollow(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(hashtag): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let name = tag_name(&hashtag)?;
    state
        .db
        .set_followed_tag(auth.member.user.id, &name, false)
        .await?;
    Ok(Json(entity(&state, &name, false)))
}

/// `GET /api/v1/followed_tags`: newest first, 100 by default (at most 200), `Link`-paged.
pub async fn followed(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let rows = state
        .db
        .followed_tags_page(auth.member.user.id, q.kept(100, 200)?)
        .await?;
    let body: Vec<Value> = rows
        .iter()
        .map(|k| entity(&state, &k.target, true))
        .collect();
    let cursors = (rows.first().map(|k| k.id), rows.last().map(|k| k.id));
    Ok(super::timelines::linked(
        &state,
        &uri,
        Json(body).into_response(),
        cursors,
    ))
}
