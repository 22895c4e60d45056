//! Presenters: the JSON of memberships, communities, authors, threads and replies, with the lookups of a whole page done at once.

use super::*;

pub(super) fn membership_json(m: &Membership) -> Value {
    json!({
        "state": m.state,
        "role": m.role,
        "title": m.title,
    })
}

pub(super) async fn community_json(
    state: &Node,
    c: &CommunityView,
    viewer: Option<&Member>,
) -> Result<Value, ApiError> {
    let membership = match viewer {
        Some(m) => state
            .db
            .membership(&c.ap_id, &m.ap_id(state))
            .await?
            .map(|m| membership_json(&m)),
        None => None,
    };
    Ok(json!({
        "ap_id": c.ap_id,
        "handle": c.handle(),
        "slug": c.slug,
        "domain": c.domain,
        "title": c.title,
        "summary": c.summary,
        "charter": c.charter,
        "visibility": c.visibility,
        "icon_url": c.icon_url,
        "banner_url": c.banner_url,
        "local": c.local().is_some(),
        "local_readers": c.local().map(|(_, row)| row.local_readers),
        "member_count": state.db.member_count(&c.ap_id).await?,
        "thread_count": state.db.thread_count(&c.ap_id).await?,
        "membership": membership,
    }))
}

pub(crate) async fn author_json(state: &Node, ap_id: &str) -> Result<Value, ApiError> {
    Ok(json!({"ap_id": ap_id, "handle": svc::actor_handle(state, ap_id).await?}))
}

/// `name@domain` of each of `ids`, with one query for all the remote ones
/// ([`svc::actor_handles`]): list presenters call this once per list, never once per item.
pub(crate) async fn handles<'a>(
    state: &Node,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, ApiError> {
    Ok(svc::actor_handles(state, ids).await?)
}

/// [`author_json`] from handles looked up with [`handles`].
pub(crate) fn author_from(handles: &HashMap<String, String>, ap_id: &str) -> Value {
    json!({"ap_id": ap_id, "handle": handles.get(ap_id).cloned().unwrap_or_else(|| ap_id.to_string())})
}

pub(super) fn removed(post: &Post) -> bool {
    post.deleted || post.removed_reason.is_some()
}

pub(super) async fn reply_json(
    state: &Node,
    post: &Post,
    by_id: &HashMap<i64, String>,
) -> Result<Value, ApiError> {
    let authors = handles(state, [post.author.as_str()]).await?;
    Ok(reply_value(post, by_id, &authors))
}

pub(super) fn reply_value(
    post: &Post,
    by_id: &HashMap<i64, String>,
    authors: &HashMap<String, String>,
) -> Value {
    let gone = removed(post);
    json!({
        "id": post.id,
        "ap_id": post.ap_id,
        "thread_id": post.thread_id,
        "parent_id": post.parent_id,
        "parent_ap_id": post.parent_id.and_then(|p| by_id.get(&p).cloned()),
        "author": author_from(authors, &post.author),
        "content": if gone { String::new() } else { post.content.clone() },
        "source": if gone { None } else { post.source.clone() },
        "published": rfc3339(post.published),
        "updated": post.updated.map(rfc3339),
        "like_count": post.like_count,
        "deleted": post.deleted,
        "removed_reason": post.removed_reason,
    })
}

/// What the thread presenter needs beyond the posts, looked up once for a whole list.
pub(super) struct ThreadLookups {
    communities: HashMap<String, Option<String>>,
    authors: HashMap<String, String>,
    reply_counts: HashMap<i64, u64>,
}

impl ThreadLookups {
    /// Lookups for `posts` (and, for authors, `extra` posts such as a thread's replies). A
    /// community already resolved by the caller is passed as `known`.
    pub(super) async fn load(
        state: &Node,
        posts: &[Post],
        extra: &[Post],
        known: Option<&svc::CommunityView>,
    ) -> Result<ThreadLookups, ApiError> {
        let mut communities = HashMap::new();
        if let Some(view) = known {
            communities.insert(view.ap_id.clone(), Some(view.handle()));
        }
        for p in posts {
            if !communities.contains_key(&p.community) {
                let handle = svc::known(state, &p.community).await?.map(|c| c.handle());
                communities.insert(p.community.clone(), handle);
            }
        }
        let authors = handles(state, posts.iter().chain(extra).map(|p| p.author.as_str())).await?;
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let reply_counts = state.db.reply_counts(&ids).await?;
        Ok(ThreadLookups {
            communities,
            authors,
            reply_counts,
        })
    }
}

pub(super) fn thread_value(post: &Post, lookups: &ThreadLookups) -> Value {
    json!({
        "id": post.id,
        "ap_id": post.ap_id,
        "community": lookups.communities.get(&post.community).cloned().flatten(),
        "community_ap_id": post.community,
        "author": author_from(&lookups.authors, &post.author),
        "title": post.title,
        "content": post.content,
        "source": post.source,
        "summary": post.summary,
        "published": rfc3339(post.published),
        "updated": post.updated.map(rfc3339),
        "locked": post.locked,
        "pinned": post.pinned,
        "solved": post.answer_id.is_some(),
        "answer": post.answer_id,
        "like_count": post.like_count,
        "reply_count": lookups.reply_counts.get(&post.id).copied().unwrap_or(0),
        "deleted": post.deleted,
        "removed_reason": post.removed_reason,
    })
}

pub(super) async fn thread_json(state: &Node, post: &Post) -> Result<Value, ApiError> {
    let lookups = ThreadLookups::load(state, std::slice::from_ref(post), &[], None).await?;
    Ok(thread_value(post, &lookups))
}

/// A page of a thread's replies as the API shows them, and the cursor of the next page: a
/// fixed number of queries whatever the page holds (authors and the parents on earlier pages
/// are looked up once for the page).
pub(super) async fn replies_values(
    state: &Node,
    thread: &Post,
    after: Option<Pair<i64, i64>>,
    limit: u64,
) -> Result<(Vec<Value>, Option<Pair<i64, i64>>), ApiError> {
    let page = state
        .db
        .replies_page(thread.id, after.map(|Pair(at, id)| (at, id)), limit)
        .await?;
    let mut by_id: HashMap<i64, String> =
        page.items.iter().map(|r| (r.id, r.ap_id.clone())).collect();
    by_id.insert(thread.id, thread.ap_id.clone());
    let mut earlier: Vec<i64> = page
        .items
        .iter()
        .filter_map(|r| r.parent_id)
        .filter(|p| !by_id.contains_key(p))
        .collect();
    earlier.sort_unstable();
    earlier.dedup();
    by_id.extend(state.db.post_ap_ids(&earlier).await?);
    let authors = handles(state, page.items.iter().map(|r| r.author.as_str())).await?;
    let values = page
        .items
        .iter()
        .map(|r| reply_value(r, &by_id, &authors))
        .collect();
    Ok((values, page.next(|r| Pair(r.published, r.id))))
}
