//! Communities: create, show, update, join, leave, members, approvals, roles, threads list and new threads.

use super::*;
use crate::domain::MemberState;

// ----- communities -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateCommunity {
    slug: String,
    title: Option<String>,
    summary: Option<String>,
    charter: Option<String>,
    visibility: Option<String>,
}

pub(super) async fn create_community(
    State(state): State<Node>,
    auth: Auth<Write>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateCommunity = parse_body(&body)?;
    let view = svc::create_community(
        &state,
        &auth.member,
        NewCommunity {
            slug: req.slug,
            title: req.title,
            summary: req.summary,
            charter: req.charter,
            visibility: req.visibility,
        },
    )
    .await?;
    Ok(created(
        community_json(&state, &view, Some(&auth.member)).await?,
    ))
}

pub(super) async fn get_community(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    Ok(Json(
        community_json(&state, &view, auth.as_ref().map(|a| &a.member)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateCommunity {
    title: Option<String>,
    summary: Option<String>,
    charter: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    icon_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    banner_url: Option<Option<String>>,
    local_readers: Option<bool>,
}

/// Tells "absent" (None) from "null" (Some(None)).
pub(crate) fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub(super) async fn update_community(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateCommunity = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let updated = svc::update_community(
        &state,
        &auth.member,
        &view,
        svc::ProfileChange {
            title: req.title,
            summary: req.summary,
            charter: req.charter,
            icon_url: req.icon_url,
            banner_url: req.banner_url,
            local_readers: req.local_readers,
        },
    )
    .await?;
    Ok(Json(
        community_json(&state, &updated, Some(&auth.member)).await?,
    ))
}

pub(super) async fn join(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let membership = svc::join(&state, &auth.member, &view).await?;
    let status = if membership.state == MemberState::Accepted {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(membership_json(&membership))).into_response())
}

pub(super) async fn leave(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    svc::leave(&state, &auth.member, &view).await?;
    Ok(Json(json!({"state": "left"})))
}

#[derive(Deserialize)]
pub(super) struct MembersQuery {
    state: Option<String>,
    after: Option<i64>,
    limit: Option<u64>,
}

/// Members are shown to signed-in users only: accepted ones to members (or to anyone signed
/// in, for public communities), pending requests to moderators. Oldest first, one page at a
/// time (`?after=ID&limit=N`, `next` names the following page).
pub(super) async fn members(
    State(state): State<Node>,
    auth: Auth,
    Path(handle): Path<String>,
    Q(q): Q<MembersQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let me = auth.member.ap_id(&state);
    let mine = state.db.membership(&view.ap_id, &me).await?;
    let moderator = mine
        .as_ref()
        .is_some_and(|m| m.state == MemberState::Accepted && m.role.moderates());
    let member = mine
        .as_ref()
        .is_some_and(|m| m.state == MemberState::Accepted);
    let asked = q
        .state
        .as_deref()
        .map(str::parse::<MemberState>)
        .transpose()
        .map_err(ApiError::bad_request)?;
    if asked.is_some_and(|s| s != MemberState::Accepted) && !moderator {
        return Err(ApiError::forbidden("only moderators see join requests"));
    }
    if view.visibility != "public" && !member {
        return Err(ApiError::forbidden(
            "only members see who belongs to this community",
        ));
    }
    let state_filter = asked.or(if moderator {
        None
    } else {
        Some(MemberState::Accepted)
    });
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let page = state
        .db
        .members_page(&view.ap_id, state_filter, q.after, limit)
        .await?;
    let actors = handles(&state, page.items.iter().map(|m| m.actor.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|m| member_json(m, author_from(&actors, &m.actor)))
        .collect();
    Ok(Json(json!({
        "members": out,
        "next": next_link(&state, &uri, "after", page.next(|m| m.id)),
    })))
}

pub(super) fn member_json(m: &Membership, actor: Value) -> Value {
    json!({
        "id": m.id,
        "actor": actor,
        "role": m.role,
        "title": m.title,
        "state": m.state,
        "since": rfc3339(m.created_at),
    })
}

pub(super) async fn decide(
    state: &Node,
    auth: &Auth<Write>,
    handle: &str,
    member_id: &str,
    approve: bool,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(state, handle).await?;
    let id = parse_id(member_id)?;
    let decided = svc::decide_membership(state, &auth.member, &view, id, approve).await?;
    Ok(Json(match decided {
        Some(m) => member_json(&m, author_json(state, &m.actor).await?),
        None => json!({"id": id, "state": "rejected"}),
    }))
}

pub(super) async fn approve_member(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &handle, &member_id, true).await
}

pub(super) async fn reject_member(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &handle, &member_id, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleBody {
    role: String,
    title: Option<String>,
}

pub(super) async fn set_member_role(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RoleBody = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let m = svc::set_role(
        &state,
        &auth.member,
        &view,
        parse_id(&member_id)?,
        &req.role,
        req.title.as_deref(),
    )
    .await?;
    Ok(Json(member_json(&m, author_json(&state, &m.actor).await?)))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    before: Option<ThreadCursor>,
    limit: Option<u64>,
}

pub(super) async fn list_threads(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &view).await?;
    let limit = paging::limit(q.limit, 50, 200);
    let page = state.db.threads_page(&view.ap_id, q.before, limit).await?;
    // One lookup per kind for the whole page, not per thread.
    let lookups = ThreadLookups::load(&state, &page.items, &[], Some(&view)).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|t| thread_value(t, &lookups))
        .collect();
    let next = page.next(|t| ThreadCursor {
        pinned: t.pinned,
        id: t.id,
    });
    Ok(Json(
        json!({"threads": out, "next": next_link(&state, &uri, "before", next)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateThread {
    title: String,
    content: String,
}

pub(super) async fn create_thread(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateThread = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let post = svc::create_thread(&state, &auth.member, &view, &req.title, &req.content).await?;
    Ok(created(thread_json(&state, &post).await?))
}
