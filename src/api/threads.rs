//! Threads and replies: read, reply, edit, delete, like, remove, lock, pin, mark the answer.

use super::*;

// ----- threads and replies -----

#[derive(Deserialize)]
pub(super) struct ThreadQuery {
    /// How many replies the thread embeds (the first page of `/threads/{id}/replies`).
    limit: Option<u64>,
}

/// A thread with the first page of its replies; `replies_next` names the page after it.
pub(super) async fn get_thread(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<ThreadQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let post = readable_thread(&state, auth.as_deref(), &id).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let (replies, next) = replies_values(&state, &post, None, limit).await?;
    let mut value = thread_json(&state, &post).await?;
    value["replies"] = Value::Array(replies);
    value["replies_next"] = match next {
        Some(cursor) => json!(paging::next_url(
            &state.settings.base_url(),
            &format!("{}/replies", uri.path().trim_end_matches('/')),
            uri.query(),
            "after",
            &cursor.to_string(),
        )),
        None => Value::Null,
    };
    Ok(Json(value))
}

/// A thread the caller may read that is still there.
pub(super) async fn readable_thread(
    state: &Node,
    auth: Option<&Caller>,
    id: &str,
) -> Result<Post, ApiError> {
    let post = load_thread(state, id).await?;
    may_read(state, auth, &post.community).await?;
    if removed(&post) {
        return Err(ApiError::gone(match &post.removed_reason {
            Some(reason) => format!("the thread was removed: {reason}"),
            None => "the thread was deleted".into(),
        }));
    }
    Ok(post)
}

#[derive(Deserialize)]
pub(super) struct RepliesQuery {
    after: Option<Pair<i64, i64>>,
    limit: Option<u64>,
}

/// A thread's replies, oldest first, one page at a time (`?after=CURSOR&limit=N`).
pub(super) async fn list_replies(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<RepliesQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let thread = readable_thread(&state, auth.as_deref(), &id).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let (replies, next) = replies_values(&state, &thread, q.after, limit).await?;
    Ok(Json(json!({
        "replies": replies,
        "next": next_link(&state, &uri, "after", next),
    })))
}

pub(super) async fn get_reply(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let post = load_post(&state, &id).await?;
    may_read(&state, auth.as_deref(), &post.community).await?;
    if post.thread_id.is_none() {
        return Err(ApiError::not_found("that id is a thread, not a reply"));
    }
    let mut by_id = HashMap::new();
    if let Some(parent) = post.parent_id {
        if let Some(p) = state.db.post(parent).await? {
            by_id.insert(p.id, p.ap_id);
        }
    }
    Ok(Json(reply_json(&state, &post, &by_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateReply {
    content: String,
    /// The reply this one answers (its local id or ActivityPub id); the thread when absent.
    in_reply_to: Option<Value>,
    /// The same as a local id only.
    parent_id: Option<i64>,
}

pub(super) async fn create_reply(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateReply = parse_body(&body)?;
    let thread = load_thread(&state, &id).await?;
    let parent = match (req.in_reply_to, req.parent_id) {
        (Some(Value::Number(n)), _) => Some(
            n.as_i64()
                .ok_or_else(|| ApiError::unprocessable("in_reply_to must be an id"))?,
        ),
        (Some(Value::String(ap_id)), _) => Some(
            state
                .db
                .post_by_ap_id(&ap_id)
                .await?
                .ok_or_else(|| ApiError::unprocessable("no such post to reply to"))?
                .id,
        ),
        (Some(Value::Null) | None, pid) => pid,
        (Some(_), _) => {
            return Err(ApiError::unprocessable(
                "in_reply_to must be an id or a URL",
            ))
        }
    };
    let parent = match parent {
        Some(pid) => Some(
            state
                .db
                .post(pid)
                .await?
                .ok_or_else(|| ApiError::unprocessable("no such post to reply to"))?,
        ),
        None => None,
    };
    let reply =
        svc::create_reply(&state, &auth.member, &thread, parent.as_ref(), &req.content).await?;
    let mut by_id = HashMap::new();
    if let Some(p) = &parent {
        by_id.insert(p.id, p.ap_id.clone());
    }
    Ok(created(reply_json(&state, &reply, &by_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditPost {
    title: Option<String>,
    content: Option<String>,
}

pub(super) async fn edit_post(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: EditPost = parse_body(&body)?;
    if req.title.is_none() && req.content.is_none() {
        return Err(ApiError::unprocessable(
            "nothing to change: give title or content",
        ));
    }
    let post = load_post(&state, &id).await?;
    let updated = svc::edit_post(
        &state,
        &auth.member,
        &post,
        req.title.as_deref(),
        req.content.as_deref(),
    )
    .await?;
    if updated.thread_id.is_none() {
        Ok(Json(thread_json(&state, &updated).await?))
    } else {
        Ok(Json(reply_json(&state, &updated, &HashMap::new()).await?))
    }
}

pub(super) async fn delete_post(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("already removed"));
    }
    svc::delete_post(&state, &auth.member, &post, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LikeBody {
    liked: Option<bool>,
}

pub(super) async fn like(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: LikeBody = parse_body(&body)?;
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("this was removed"));
    }
    let liked = req.liked.unwrap_or(true);
    svc::like(&state, &auth.member, &post, liked).await?;
    let post = load_post(&state, &id).await?;
    Ok(Json(json!({"liked": liked, "like_count": post.like_count})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveBody {
    reason: Option<String>,
}

pub(super) async fn remove(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: RemoveBody = parse_body(&body)?;
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("already removed"));
    }
    if post.author == auth.member.ap_id(&state) {
        return Err(ApiError::unprocessable(
            "remove is for moderators; delete your own post instead",
        ));
    }
    svc::delete_post(&state, &auth.member, &post, req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Locks or pins a thread and answers with it.
pub(super) async fn set_flags(
    state: &Node,
    auth: &Caller,
    id: &str,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<Json<Value>, ApiError> {
    let thread = load_thread(state, id).await?;
    let post = svc::set_thread_flags(state, &auth.member, &thread, locked, pinned).await?;
    Ok(Json(thread_json(state, &post).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LockBody {
    locked: Option<bool>,
}

pub(super) async fn lock(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: LockBody = parse_body(&body)?;
    set_flags(&state, &auth, &id, Some(req.locked.unwrap_or(true)), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PinBody {
    pinned: Option<bool>,
}

pub(super) async fn pin(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: PinBody = parse_body(&body)?;
    set_flags(&state, &auth, &id, None, Some(req.pinned.unwrap_or(true))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerBody {
    /// The reply (its local id) that answers the thread.
    reply: i64,
}

/// The thread's author or a moderator marks one of its replies as the answer.
pub(super) async fn mark_answer(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: AnswerBody = parse_body(&body)?;
    let thread = load_thread(&state, &id).await?;
    may_read(&state, Some(&*auth), &thread.community).await?;
    let reply = state
        .db
        .post(req.reply)
        .await?
        .filter(|r| r.community == thread.community)
        .ok_or_else(|| ApiError::unprocessable("no such reply in this thread"))?;
    let post = svc::mark_answer(&state, &auth.member, &thread, Some(&reply)).await?;
    Ok(Json(thread_json(&state, &post).await?))
}

/// Unmarks the thread's answer.
pub(super) async fn unmark_answer(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let thread = load_thread(&state, &id).await?;
    may_read(&state, Some(&*auth), &thread.community).await?;
    let post = svc::mark_answer(&state, &auth.member, &thread, None).await?;
    Ok(Json(thread_json(&state, &post).await?))
}
