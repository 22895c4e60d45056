//! Bans: list (moderators see all, others their own), ban, unban.

use super::*;

// ----- bans -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBan {
    actor: String,
    reason: Option<String>,
    /// RFC 3339 end of the ban; none for a permanent one.
    expires_at: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct BansQuery {
    after: Option<i64>,
    limit: Option<u64>,
}

/// Bans are moderation data: moderators see them all; anyone else signed in sees only their
/// own ban, if any. Oldest first, one page at a time (`?after=ID&limit=N`).
pub(super) async fn list_bans(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(handle): Path<String>,
    Q(q): Q<BansQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let me = auth.member.ap_id(&state);
    let moderator = crate::service::access::is_moderator(&state, &view.ap_id, &me).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let page = state
        .db
        .bans_page(
            &view.ap_id,
            (!moderator).then_some(me.as_str()),
            q.after,
            limit,
        )
        .await?;
    let actors = handles(&state, page.items.iter().map(|b| b.actor.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|b| {
            json!({
                "id": b.id,
                "actor": author_from(&actors, &b.actor),
                "reason": b.reason,
                "expires_at": b.expires_at.map(rfc3339),
                "since": rfc3339(b.created_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "bans": out,
        "next": next_link(&state, &uri, "after", page.next(|b| b.id)),
    })))
}

pub(super) async fn create_ban(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateBan = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let target = svc::resolve_actor(&state, &req.actor).await?;
    let expires_at = match req.expires_at.as_deref() {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::unprocessable("expires_at must be an RFC 3339 time"))?
                .timestamp_millis(),
        ),
        None => None,
    };
    svc::ban(
        &state,
        &auth.member,
        &view,
        &target,
        req.reason.clone(),
        expires_at,
    )
    .await?;
    Ok(created(json!({
        "actor": author_json(&state, &target).await?,
        "reason": req.reason,
        "expires_at": expires_at.map(rfc3339),
    })))
}

#[derive(Deserialize)]
pub(super) struct UnbanQuery {
    actor: String,
}

pub(super) async fn remove_ban(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    Q(q): Q<UnbanQuery>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let target = svc::resolve_actor(&state, &q.actor).await?;
    svc::unban(&state, &auth.member, &view, &target).await?;
    Ok(Json(json!({"state": "unbanned"})))
}
