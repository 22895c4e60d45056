//! Threads and replies: writing, editing, deleting, liking, locking and pinning.

use super::*;

pub(crate) fn check_title(title: &str) -> Result<String, Error> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::refused("a thread needs a title"));
    }
    if title.chars().count() > objects::MAX_TITLE {
        return Err(Error::refused("a title is at most 200 characters"));
    }
    Ok(title.to_string())
}

pub(super) fn check_body(content: &str) -> Result<(), Error> {
    if content.trim().is_empty() {
        return Err(Error::refused("the content is empty"));
    }
    if content.len() > MAX_BODY {
        return Err(Error::refused("the content is larger than 100 KiB"));
    }
    Ok(())
}

/// The wire context of a stored post.
pub(super) async fn post_context(
    state: &Node,
    post: &Post,
) -> Result<(String, Option<String>), Error> {
    let mention = match known(state, &post.community).await? {
        Some(c) => c.mention(),
        None => String::new(),
    };
    let parent = match post.parent_id.or(post.thread_id) {
        Some(id) => state.db.post(id).await?.map(|p| p.ap_id),
        None => None,
    };
    Ok((mention, parent))
}

/// The `Page`/`Note` document of a stored post.
pub async fn post_document(state: &Node, post: &Post) -> Result<Value, Error> {
    if let Some(signed) = signed_document(post) {
        return Ok(signed);
    }
    let (mention, parent) = post_context(state, post).await?;
    let people: Vec<(String, String)> = state
        .db
        .post_mentions(post.id)
        .await?
        .into_iter()
        .map(|m| (m.actor, m.name))
        .collect();
    let attachments = crate::service::media::wire_of_post(state, post.id).await?;
    Ok(objects::post_json(
        post,
        &PostContext {
            community: &post.community,
            community_mention: &mention,
            in_reply_to: parent.as_deref(),
            mentions: &people,
            attachments: &attachments,
        },
    ))
}

/// [`post_document`] with the community's mention and the parent's id already at hand, as
/// list presenters (outbox pages, backfill) have them: no query per post, and so without the
/// post's images and without tags for the people it mentions (a replica filled from history
/// notifies nobody of old posts).
pub fn post_document_with(post: &Post, community_mention: &str, parent: Option<&str>) -> Value {
    if let Some(signed) = signed_document(post) {
        return signed;
    }
    objects::post_json(
        post,
        &PostContext {
            community: &post.community,
            community_mention,
            in_reply_to: parent,
            mentions: &[],
            attachments: &[],
        },
    )
}

/// A post written elsewhere is served as its author's node signed it, so replicas can check
/// its proof.
fn signed_document(post: &Post) -> Option<Value> {
    post.signed_object
        .as_deref()
        .filter(|_| !post.deleted && post.removed_reason.is_none())
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
}

/// A post as it will be stored, for building its document before the write.
pub(super) fn provisional(new: &NewPost) -> Post {
    Post {
        id: 0,
        ap_id: new.ap_id.clone(),
        community: new.community.clone(),
        author: new.author.clone(),
        thread_id: new.thread_id,
        parent_id: new.parent_id,
        title: new.title.clone(),
        content: new.content.clone(),
        source: new.source.clone(),
        summary: new.summary.clone(),
        published: new.published,
        updated: new.updated,
        deleted: false,
        removed_reason: None,
        locked: false,
        pinned: false,
        like_count: 0,
        local: new.local,
        created_at: new.published,
        signed_object: None,
        answer_id: None,
    }
}

/// Stores a member's new post together with the deliveries of its `Create`.
pub(super) async fn store_and_publish(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    new: NewPost,
    in_reply_to: Option<&str>,
    images: &[crate::db::media::Media],
) -> Result<Post, Error> {
    let draft = provisional(&new);
    let people: Vec<(String, String)> = new
        .mentions
        .iter()
        .map(|m| (m.actor.clone(), m.name.clone()))
        .collect();
    let attachments: Vec<_> = images
        .iter()
        .map(|m| crate::service::media::wire(state, m))
        .collect();
    let doc = objects::post_json(
        &draft,
        &PostContext {
            community: &community.ap_id,
            community_mention: &community.mention(),
            in_reply_to,
            mentions: &people,
            attachments: &attachments,
        },
    );
    let base = state.settings.base_url();
    let create = objects::activity(&base, "Create", &member.ap_id(state), doc, &community.ap_id);
    let new_thread = draft.thread_id.is_none().then_some(draft.ap_id.as_str());
    let jobs = plan(state, member, community, &create, new_thread).await?;
    let (post, _) = state
        .db
        .insert_post_and_enqueue(new, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(post)
}

pub async fn create_thread(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    title: &str,
    content: &str,
) -> Result<Post, Error> {
    create_thread_with_images(state, member, community, title, content, &[]).await
}

/// A new thread carrying the member's uploads `media_ids` (see `service::media::for_new_post`).
pub async fn create_thread_with_images(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    title: &str,
    content: &str,
    media_ids: &[i64],
) -> Result<Post, Error> {
    let title = check_title(title)?;
    check_body(content)?;
    require_member(state, member, community).await?;
    let images = crate::service::media::for_new_post(state, member, media_ids).await?;
    let html = markdown::render(content);
    let new = NewPost {
        ap_id: objects::new_id(&state.settings.base_url(), "p"),
        community: community.ap_id.clone(),
        author: member.ap_id(state),
        thread_id: None,
        parent_id: None,
        title: Some(title),
        summary: Some(markdown::excerpt(&markdown::plain_text(&html), 500)),
        content: html,
        source: Some(content.to_string()),
        published: now_ms(),
        updated: None,
        local: true,
        signed_object: None,
        mentions: mentions::in_text(state, community, content).await?,
        attachments: crate::service::media::uploads(&images),
    };
    store_and_publish(state, member, community, new, None, &images).await
}

pub async fn create_reply(
    state: &Node,
    member: &Member,
    thread: &Post,
    parent: Option<&Post>,
    content: &str,
) -> Result<Post, Error> {
    create_reply_with_images(state, member, thread, parent, content, &[]).await
}

/// A reply carrying the member's uploads `media_ids`.
pub async fn create_reply_with_images(
    state: &Node,
    member: &Member,
    thread: &Post,
    parent: Option<&Post>,
    content: &str,
    media_ids: &[i64],
) -> Result<Post, Error> {
    check_body(content)?;
    let community = known(state, &thread.community)
        .await?
        .ok_or_else(|| Error::not_found("the thread's community is unknown"))?;
    require_member(state, member, &community).await?;
    check_open(thread)?;
    if let Some(parent) = parent {
        if parent.thread_id != Some(thread.id) && parent.id != thread.id {
            return Err(Error::refused("the parent is not in this thread"));
        }
        if parent.deleted || parent.removed_reason.is_some() {
            return Err(Error::gone("the reply you answer was removed"));
        }
    }
    let parent = parent.filter(|p| p.id != thread.id);
    let images = crate::service::media::for_new_post(state, member, media_ids).await?;
    let html = markdown::render(content);
    let new = NewPost {
        ap_id: objects::new_id(&state.settings.base_url(), "p"),
        community: community.ap_id.clone(),
        author: member.ap_id(state),
        thread_id: Some(thread.id),
        parent_id: parent.map(|p| p.id),
        title: None,
        summary: None,
        content: html,
        source: Some(content.to_string()),
        published: now_ms(),
        updated: None,
        local: true,
        signed_object: None,
        mentions: mentions::in_text(state, &community, content).await?,
        attachments: crate::service::media::uploads(&images),
    };
    let in_reply_to = parent.unwrap_or(thread).ap_id.clone();
    store_and_publish(state, member, &community, new, Some(&in_reply_to), &images).await
}

pub(super) fn check_open(thread: &Post) -> Result<(), Error> {
    if thread.thread_id.is_some() {
        return Err(Error::refused("that is a reply, not a thread"));
    }
    if thread.deleted || thread.removed_reason.is_some() {
        return Err(Error::gone("the thread was removed"));
    }
    if thread.locked {
        return Err(Error::forbidden("the thread is locked"));
    }
    Ok(())
}

pub async fn edit_post(
    state: &Node,
    member: &Member,
    post: &Post,
    title: Option<&str>,
    content: Option<&str>,
) -> Result<Post, Error> {
    if post.author != member.ap_id(state) {
        return Err(Error::forbidden("only the author can edit this"));
    }
    if post.deleted || post.removed_reason.is_some() {
        return Err(Error::gone("this was removed"));
    }
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| Error::not_found("the community is unknown"))?;
    require_member(state, member, &community).await?;
    let title = match (title, post.thread_id) {
        (Some(t), None) => Some(check_title(t)?),
        (Some(_), Some(_)) => return Err(Error::refused("replies have no title")),
        (None, _) => post.title.clone(),
    };
    let (html, source) = match content {
        Some(c) => {
            check_body(c)?;
            (markdown::render(c), Some(c.to_string()))
        }
        None => (post.content.clone(), post.source.clone()),
    };
    let summary = post
        .thread_id
        .is_none()
        .then(|| markdown::excerpt(&markdown::plain_text(&html), 500));
    let updated_at = now_ms();
    let mut draft = post.clone();
    draft.title = title.clone();
    draft.content = html.clone();
    draft.source = source.clone();
    draft.summary = summary.clone();
    draft.updated = Some(updated_at);
    let doc = post_document(state, &draft).await?;
    let base = state.settings.base_url();
    let update = objects::activity(&base, "Update", &member.ap_id(state), doc, &community.ap_id);
    let jobs = plan(state, member, &community, &update, None).await?;
    state
        .db
        .change_post_and_enqueue(
            post.id,
            PostChange::Content {
                title,
                content: html,
                source,
                summary,
                updated: updated_at,
                signed_object: None,
            },
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup);
    state
        .db
        .post(post.id)
        .await?
        .ok_or_else(|| Error::not_found("gone"))
}

/// Deletes by the author, or removes by a moderator of the community.
pub async fn delete_post(
    state: &Node,
    member: &Member,
    post: &Post,
    reason: Option<String>,
) -> Result<(), Error> {
    let me = member.ap_id(state);
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| Error::not_found("the community is unknown"))?;
    let base = state.settings.base_url();
    let mut delete = objects::activity(&base, "Delete", &me, json!(post.ap_id), &community.ap_id);
    let change = if post.author == me {
        PostChange::Deleted
    } else {
        if !moderates(state, &community.ap_id, &me).await? {
            return Err(Error::forbidden(
                "only the author or a moderator of the community can delete this",
            ));
        }
        let reason = reason.unwrap_or_else(|| "removed by a moderator".into());
        delete["summary"] = json!(reason);
        if community.local().is_none() {
            // The community applies it and announces it back; only its word changes replicas.
            return distribute(state, member, &community, delete, None).await;
        }
        state
            .db
            .audit(&me, "post.remove", &post.ap_id, Some(&reason))
            .await?;
        PostChange::Removed(reason)
    };
    let jobs = plan(state, member, &community, &delete, None).await?;
    state
        .db
        .change_post_and_enqueue(post.id, change, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

pub async fn like(state: &Node, member: &Member, post: &Post, liked: bool) -> Result<(), Error> {
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| Error::not_found("the community is unknown"))?;
    require_member(state, member, &community).await?;
    let me = member.ap_id(state);
    let base = state.settings.base_url();
    // The like and its deliveries are committed together.
    let (write, activity) = if liked {
        let like = objects::activity(&base, "Like", &me, json!(post.ap_id), &community.ap_id);
        let id = like["id"].as_str().unwrap_or_default().to_string();
        let write = Write::AddLike {
            post_id: post.id,
            actor: me.clone(),
            ap_id: id,
        };
        (write, like)
    } else if let Some(existing) = state.db.like_of(post.id, &me).await? {
        let inner =
            json!({"id": existing.ap_id, "type": "Like", "actor": me, "object": post.ap_id});
        let undo = objects::activity(&base, "Undo", &me, inner, &community.ap_id);
        let write = Write::RemoveLike {
            post_id: post.id,
            actor: me.clone(),
        };
        (write, undo)
    } else {
        return Ok(());
    };
    let jobs = plan(state, member, &community, &activity, None).await?;
    state
        .db
        .apply_and_enqueue(&[write], jobs, true)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// Moderator actions on a thread of a community hosted here: lock and pin.
pub async fn set_thread_flags(
    state: &Node,
    member: &Member,
    thread: &Post,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<Post, Error> {
    let community = known(state, &thread.community)
        .await?
        .ok_or_else(|| Error::not_found("the community is unknown"))?;
    let me = member.ap_id(state);
    if thread.thread_id.is_some() {
        return Err(Error::refused("only threads can be locked or pinned"));
    }
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(Error::forbidden(
            "only moderators of the community can do this",
        ));
    }
    let base = state.settings.base_url();
    let mut activities = Vec::new();
    if let Some(locked) = locked.filter(|l| *l != thread.locked) {
        let lock = objects::activity(&base, "Lock", &me, json!(thread.ap_id), &community.ap_id);
        let activity = if locked {
            lock
        } else {
            objects::activity(&base, "Undo", &me, lock, &community.ap_id)
        };
        activities.push(activity);
    }
    if let Some(pinned) = pinned.filter(|p| *p != thread.pinned) {
        let mut activity = objects::activity(
            &base,
            if pinned { "Add" } else { "Remove" },
            &me,
            json!(thread.ap_id),
            &community.ap_id,
        );
        activity["target"] = json!(format!("{}/featured", community.ap_id));
        activities.push(activity);
    }
    // The change (made here when the community is ours) and its deliveries commit together.
    let mut jobs = Vec::new();
    for activity in &activities {
        jobs.extend(plan(state, member, &community, activity, None).await?);
    }
    let writes = match community.local() {
        Some(_) => vec![Write::PostFlags {
            id: thread.id,
            locked,
            pinned,
        }],
        None => Vec::new(),
    };
    state
        .db
        .apply_and_enqueue(&writes, jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    for (flag, value) in [("lock", locked), ("pin", pinned)] {
        if let Some(v) = value {
            let action = format!("thread.{}{flag}", if v { "" } else { "un" });
            state.db.audit(&me, &action, &thread.ap_id, None).await?;
        }
    }
    state
        .db
        .post(thread.id)
        .await?
        .ok_or_else(|| Error::not_found("gone"))
}
