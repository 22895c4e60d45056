//! Threads and replies as Mastodon statuses, and the status endpoints: post (a status that
//! mentions a community starts a thread in it; a reply replies in the thread), view, context,
//! delete, favourite and unfavourite, and pinning a thread in its community (moderators).
//!
//! A status's id is its post's row id, so ids are numeric and ordered by arrival. What a caller
//! may read goes through the native API's one check (`api::may_read`), community by community.
//! A thread reads as its title in bold, then its text; its `visibility` is `public` in a public
//! community and `private` in a confidential one.

use super::{accounts::Profiles, rfc3339, MastodonError};
use crate::{
    api::{may_read, Auth, Caller, MaybeAuth, Read, Write},
    db::{discussions::Post, personal::KeyState},
    markdown::escape_html,
    node::Node,
    service::discussions::{self as svc, Member},
    web::form_or_json,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// The Status entities of `posts`, in a fixed number of queries whatever their number. The
/// caller must already have checked that `viewer` may read each post's community.
pub async fn render(
    state: &Node,
    viewer: Option<&Member>,
    posts: &[Post],
) -> Result<Vec<Value>, MastodonError> {
    let parent_ids: Vec<i64> = posts
        .iter()
        .filter_map(|p| p.parent_id.or(p.thread_id))
        .collect();
    let parents: HashMap<i64, Post> = state
        .db
        .posts_by_ids(&parent_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut actors: Vec<String> = posts
        .iter()
        .flat_map(|p| [p.author.clone(), p.community.clone()])
        .collect();
    actors.extend(parents.values().map(|p| p.author.clone()));
    let profiles = Profiles::load(state, &actors).await?;
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let (boosts, boosted) = state
        .db
        .boosts_among(&ids, viewer.map(|m| m.ap_id(state)).as_deref())
        .await?;
    let (liked, bookmarked): (HashSet<i64>, HashSet<i64>) = match viewer {
        Some(m) => (
            state.db.liked_among(&m.ap_id(state), &ids).await?,
            state.db.bookmarked_among(m.user.id, &ids).await?,
        ),
        None => Default::default(),
    };
    let thread_ids: Vec<i64> = posts
        .iter()
        .filter(|p| p.thread_id.is_none())
        .map(|p| p.id)
        .collect();
    let replies = state.db.reply_counts(&thread_ids).await?;
    let mut images = super::media::of_posts(state, &ids).await?;
    let mut tags = state.db.tags_of(&ids).await?;
    Ok(posts
        .iter()
        .map(|p| {
            let community = profiles.get(&p.community);
            let account = profiles.get(&p.author);
            let parent = p.parent_id.or(p.thread_id);
            let parent_account = parent
                .and_then(|id| parents.get(&id))
                .map(|pp| profiles.get(&pp.author)["id"].clone())
                .unwrap_or(Value::Null);
            let content = match &p.title {
                Some(title) if p.thread_id.is_none() => {
                    format!(
                        "<p><strong>{}</strong></p>{}",
                        escape_html(title),
                        p.content
                    )
                }
                _ => p.content.clone(),
            };
            let confidential = community["locked"].as_bool().unwrap_or(false);
            json!({
                "id": p.id.to_string(),
                "uri": p.ap_id,
                "url": p.ap_id,
                "created_at": rfc3339(p.published),
                "edited_at": p.updated.map(rfc3339),
                "account": account,
                "content": content,
                "visibility": if confidential { "private" } else { "public" },
                "sensitive": false,
                "spoiler_text": "",
                "media_attachments": images.remove(&p.id).unwrap_or_default(),
                "application": null,
                "mentions": [{
                    "id": community["id"],
                    "username": community["username"],
                    "acct": community["acct"],
                    "url": community["url"],
                }],
                "tags": tags
                    .remove(&p.id)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| tag_entity(state, t))
                    .collect::<Vec<_>>(),
                "emojis": [],
                "reblogs_count": boosts.get(&p.id).copied().unwrap_or(0),
                "favourites_count": p.like_count.max(0),
                "replies_count": replies.get(&p.id).copied().unwrap_or(0),
                "in_reply_to_id": parent.map(|id| id.to_string()),
                "in_reply_to_account_id": parent_account,
                "reblog": null,
                "poll": null,
                "card": null,
                "language": null,
                "text": null,
                "favourited": liked.contains(&p.id),
                "reblogged": boosted.contains(&p.id),
                "muted": false,
                "bookmarked": bookmarked.contains(&p.id),
                "pinned": p.thread_id.is_none() && p.pinned,
                "filtered": [],
            })
        })
        .collect())
}

/// A hashtag as statuses name it: its name and where the node's web search finds it.
pub(super) fn tag_entity(state: &Node, name: &str) -> Value {
    let mut url =
        url::form_urlencoded::Serializer::new(format!("{}/search?", state.settings.base_url()));
    url.append_pair("q", &format!("#{name}"));
    json!({"name": name, "url": url.finish()})
}

/// Keeps the posts of the communities `caller` may read (the one check, once per community).
pub(super) async fn readable_page(
    state: &Node,
    caller: Option<&Caller>,
    posts: Vec<Post>,
) -> Result<Vec<Post>, MastodonError> {
    let mut allowed: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::with_capacity(posts.len());
    for post in posts {
        let ok = match allowed.get(&post.community) {
            Some(ok) => *ok,
            None => {
                let ok = may_read(state, caller, &post.community).await.is_ok();
                allowed.insert(post.community.clone(), ok);
                ok
            }
        };
        if ok {
            out.push(post);
        }
    }
    Ok(out)
}

/// A post the caller may read that is still there, by status id.
pub(super) async fn readable(
    state: &Node,
    caller: Option<&Caller>,
    id: &str,
) -> Result<Post, MastodonError> {
    let missing = || MastodonError::not_found("Record not found");
    let number: i64 = id.parse().map_err(|_| missing())?;
    let Some(post) = state.db.post(number).await? else {
        // An article's or event's status: nothing an app asks here can be done to it.
        super::cards::refuse_changes(state, caller, id).await?;
        return Err(missing());
    };
    // A confidential community's posts are not found by those who may not read them.
    may_read(state, caller, &post.community)
        .await
        .map_err(|_| missing())?;
    if post.deleted || post.removed_reason.is_some() {
        return Err(missing());
    }
    Ok(post)
}

pub(super) async fn one(
    state: &Node,
    viewer: Option<&Member>,
    post: &Post,
) -> Result<Value, MastodonError> {
    render(state, viewer, std::slice::from_ref(post))
        .await?
        .pop()
        .ok_or_else(MastodonError::internal)
}

/// `GET /api/v1/statuses/{id}`.
pub async fn get(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    if let Some(card) = super::cards::find(&state, auth.as_deref(), &id).await? {
        let shown = super::cards::render(&state, std::slice::from_ref(&card)).await?;
        return shown
            .into_iter()
            .next()
            .map(Json)
            .ok_or_else(MastodonError::internal);
    }
    let post = readable(&state, auth.as_deref(), &id).await?;
    Ok(Json(
        one(&state, auth.as_deref().map(|c| &c.member), &post).await?,
    ))
}

/// The most replies a context lists.
const CONTEXT_MAX: u64 = 400;

/// `GET /api/v1/statuses/{id}/context`: the thread and the replies above a status, and the
/// replies below it.
pub async fn context(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    // An article or event stands alone.
    if super::cards::stands_alone(&state, auth.as_deref(), &id).await? {
        return Ok(Json(json!({"ancestors": [], "descendants": []})));
    }
    let post = readable(&state, auth.as_deref(), &id).await?;
    let viewer = auth.as_deref().map(|c| &c.member);
    let thread = match post.thread_id {
        Some(t) => state.db.post(t).await?,
        None => Some(post.clone()),
    };
    let Some(thread) = thread else {
        return Ok(Json(json!({"ancestors": [], "descendants": []})));
    };
    let replies: Vec<Post> = state
        .db
        .replies_page(thread.id, None, CONTEXT_MAX)
        .await?
        .items
        .into_iter()
        .filter(|r| !r.deleted && r.removed_reason.is_none())
        .collect();
    let by_id: HashMap<i64, &Post> = replies.iter().map(|r| (r.id, r)).collect();
    // Above: the parents up to the thread, oldest first.
    let mut ancestors: Vec<Post> = Vec::new();
    if post.thread_id.is_some() {
        let mut next = post.parent_id;
        while let Some(id) = next {
            match by_id.get(&id) {
                Some(parent) if ancestors.len() < CONTEXT_MAX as usize => {
                    ancestors.push((*parent).clone());
                    next = parent.parent_id;
                }
                _ => break,
            }
        }
        if !(thread.deleted || thread.removed_reason.is_some()) {
            ancestors.push(thread.clone());
        }
        ancestors.reverse();
    }
    // Below: every reply whose chain of parents reaches this status.
    let descends = |r: &Post| {
        if post.thread_id.is_none() {
            return true;
        }
        let mut at = r.parent_id;
        let mut steps = 0;
        while let Some(id) = at {
            if id == post.id {
                return true;
            }
            steps += 1;
            if steps > CONTEXT_MAX {
                return false;
            }
            at = by_id.get(&id).and_then(|p| p.parent_id);
        }
        false
    };
    let descendants: Vec<Post> = replies
        .iter()
        .filter(|r| r.id != post.id && descends(r))
        .cloned()
        .collect();
    // The caller's filters of conversations hide or mark the statuses around this one.
    let filters =
        super::filtering::Active::load(&state, viewer.map(|m| m.user.id), "thread").await?;
    let ancestors = filters.keep(ancestors);
    let descendants = filters.keep(descendants);
    Ok(Json(json!({
        "ancestors": filters.apply(&ancestors, render(&state, viewer, &ancestors).await?),
        "descendants": filters.apply(&descendants, render(&state, viewer, &descendants).await?),
    })))
}

/// What `POST /api/v1/statuses` reads (`sensitive`, `language` and other fields apps send are
/// accepted and have no effect here).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewStatus {
    status: Option<String>,
    in_reply_to_id: Option<Value>,
    spoiler_text: Option<String>,
    visibility: Option<String>,
    media_ids: Option<Vec<Value>>,
    poll: Option<Value>,
    scheduled_at: Option<String>,
}

/// The uploads a status names, as numbers (apps send strings, some send numbers).
fn media_ids(values: &[Value]) -> Result<Vec<i64>, MastodonError> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        })
        .map(|id| {
            id.ok_or_else(|| MastodonError::unprocessable("media_ids must be ids of uploads"))
        })
        .collect()
}

/// The handles a status mentions (`@slug` or `@slug@host`), in order.
fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let Some(handle) = word.strip_prefix('@') else {
            continue;
        };
        let handle = handle.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if !handle.is_empty()
            && handle
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | ':'))
        {
            out.push(handle.to_string());
        }
    }
    out
}

/// `POST /api/v1/statuses`: a reply in a thread, or a new thread in the community the status
/// mentions (its first line, or the content warning, is the title).
pub async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let req: NewStatus = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    let user = auth.member.user.id;
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::trim))
        .transpose()
        .map_err(|_| MastodonError::unprocessable("Idempotency-Key must be text"))?
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        let post = post_status(&state, &auth, req).await?;
        return Ok(Json(one(&state, Some(&auth.member), &post).await?));
    };
    if key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(MastodonError::unprocessable(format!(
            "Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX} characters"
        )));
    }
    // A retried request with the key answers the status the first one made.
    match state
        .db
        .take_idempotency_key(user, key, IDEMPOTENCY_TTL_MS)
        .await?
    {
        KeyState::Done(id) => {
            let post = state
                .db
                .post(id)
                .await?
                .ok_or_else(|| MastodonError::not_found("Record not found"))?;
            return Ok(Json(one(&state, Some(&auth.member), &post).await?));
        }
        KeyState::InFlight => {
            return Err(MastodonError::conflict(
                "a request with this Idempotency-Key is still being processed",
            ))
        }
        KeyState::Taken => {}
    }
    let made = post_status(&state, &auth, req).await;
    state
        .db
        .settle_idempotency_key(user, key, made.as_ref().ok().map(|p| p.id))
        .await?;
    Ok(Json(one(&state, Some(&auth.member), &made?).await?))
}

/// How long a post's `Idempotency-Key` is remembered (Mastodon keeps them an hour), and its
/// longest accepted length.
const IDEMPOTENCY_TTL_MS: i64 = 3600 * 1000;
const IDEMPOTENCY_KEY_MAX: usize = 200;

/// Posts what an app sent: a reply, or a thread in the first community the text mentions.
async fn post_status(state: &Node, auth: &Caller, req: NewStatus) -> Result<Post, MastodonError> {
    let media_ids = media_ids(req.media_ids.as_deref().unwrap_or_default())?;
    if req.poll.is_some() || req.scheduled_at.is_some() {
        return Err(MastodonError::unprocessable(
            "this node has no polls or scheduled statuses",
        ));
    }
    if req.visibility.as_deref() == Some("direct") {
        return Err(MastodonError::unprocessable(
            "Roundtable has no direct messages: every status is a thread or a reply in a community",
        ));
    }
    let text = req.status.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(MastodonError::unprocessable(
            "Validation failed: Text can't be blank",
        ));
    }
    let member = &auth.member;
    let reply_to = match &req.in_reply_to_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(MastodonError::unprocessable("in_reply_to_id must be an id")),
    };
    let post = if let Some(parent_id) = reply_to {
        let parent = readable(state, Some(auth), &parent_id).await?;
        let thread = match parent.thread_id {
            Some(t) => state
                .db
                .post(t)
                .await?
                .ok_or_else(|| MastodonError::not_found("Record not found"))?,
            None => parent.clone(),
        };
        svc::create_reply_with_images(
            state,
            member,
            &thread,
            Some(&parent),
            text.trim(),
            &media_ids,
        )
        .await?
    } else {
        let mut community = None;
        for handle in mentions(&text) {
            if let Ok(view) = svc::resolve(state, &handle).await {
                community = Some((handle, view));
                break;
            }
        }
        let Some((handle, community)) = community else {
            return Err(MastodonError::unprocessable(
                "mention a community (@name or @name@host) to start a thread in it, or reply to a status",
            ));
        };
        let (first, rest) = text.trim().split_once('\n').unwrap_or((text.trim(), ""));
        let spoiler = req.spoiler_text.unwrap_or_default();
        let title = if spoiler.trim().is_empty() {
            first
                .split_whitespace()
                .filter(|w| w.trim_start_matches('@') != handle)
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            spoiler.trim().to_string()
        };
        let body = if rest.trim().is_empty() {
            text.trim()
        } else {
            rest.trim()
        };
        svc::create_thread_with_images(state, member, &community, &title, body, &media_ids).await?
    };
    Ok(post)
}

/// `DELETE /api/v1/statuses/{id}`: the author's delete (or a moderator's removal); answers the
/// status with its `text`, for "delete and redraft".
pub async fn delete(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(&state, Some(&auth), &id).await?;
    let mut shown = one(&state, Some(&auth.member), &post).await?;
    svc::delete_post(&state, &auth.member, &post, None).await?;
    shown["text"] = json!(post.source.clone().unwrap_or_default());
    Ok(Json(shown))
}

async fn set_favourite(
    state: &Node,
    auth: &Auth<Write>,
    id: &str,
    liked: bool,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(state, Some(auth), id).await?;
    svc::like(state, &auth.member, &post, liked).await?;
    let post = state.db.post(post.id).await?.unwrap_or(post);
    Ok(Json(one(state, Some(&auth.member), &post).await?))
}

/// Pins (`on`) or unpins a thread in its community: on Roundtable a community's moderators
/// pin threads, and the pinned threads are the community account's pinned statuses.
async fn set_pin(
    state: &Node,
    auth: &Caller,
    id: &str,
    on: bool,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(state, Some(auth), id).await?;
    if post.thread_id.is_some() {
        return Err(MastodonError::unprocessable(
            "only a thread can be pinned, not a reply",
        ));
    }
    let post = svc::set_thread_flags(state, &auth.member, &post, None, Some(on)).await?;
    Ok(Json(one(state, Some(&auth.member), &post).await?))
}

/// `POST /api/v1/statuses/{id}/pin`: a moderator pins a thread in the community.
pub async fn pin(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_pin(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/{id}/unpin`.
pub async fn unpin(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_pin(&state, &auth, &id, false).await
}

/// Most accounts `favourited_by` lists (Mastodon's largest page).
const LIKERS_MAX: u64 = 80;

/// `GET /api/v1/statuses/{id}/favourited_by`: who liked a status, the latest first (nobody,
/// for an article's or event's).
pub async fn favourited_by(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    // An article's or event's status has no likes.
    if super::cards::stands_alone(&state, auth.as_deref(), &id).await? {
        return Ok(Json(json!([])));
    }
    let post = readable(&state, auth.as_deref(), &id).await?;
    let likers = state.db.likers(post.id, LIKERS_MAX).await?;
    let profiles = Profiles::load(&state, &likers).await?;
    Ok(Json(Value::Array(
        likers.iter().map(|a| profiles.get(a)).collect(),
    )))
}

/// `POST /api/v1/statuses/{id}/favourite`.
pub async fn favourite(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_favourite(&state, &auth, &id, true).await
}

/// `POST /api/v1/statuses/{id}/unfavourite`.
pub async fn unfavourite(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    set_favourite(&state, &auth, &id, false).await
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_are_read_from_the_words() {
        assert_eq!(
            mentions("@practice Hello @olga@b.example, see @x."),
            vec!["practice", "olga@b.example", "x"]
        );
        assert!(mentions("mail me at a@b.example").is_empty());
    }
}
