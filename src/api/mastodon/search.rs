//! `GET /api/v2/search` and `GET /api/v1/accounts/search`: a handle (`name`, `@name@host`) or a profile URL finds the account;
//! with `resolve=true` (and a signed-in caller) a community of another server is looked up
//! through WebFinger and ActivityPub, with the node's one signed client, and remembered.
//! Statuses are found by their URL (an article's or event's too) or by words, through the full-text index, among what the
//! caller may read (`limit`, `offset`).

use super::{
    accounts::{self, Who},
    cards,
    domains::Blocked,
    flag, statuses, MastodonError,
};
use crate::{
    api::{Auth, Caller, MaybeAuth, Read},
    db::discussions::Post,
    domain::ActorKind,
    node::Node,
    service::discussions as svc,
    web::Q,
};
use axum::{extract::State, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(deserialize_with = "flag")]
    resolve: Option<bool>,
    limit: Option<String>,
    offset: Option<String>,
}

/// Mastodon's default and largest page of results, and the deepest offset this node pages to.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 40;
const MAX_OFFSET: u64 = 400;
/// Mastodon's default and largest page of `/api/v1/accounts/search`.
const ACCOUNTS_LIMIT: u64 = 40;
const ACCOUNTS_MAX_LIMIT: u64 = 80;

fn number(name: &str, value: &Option<String>, default: u64) -> Result<u64, MastodonError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| MastodonError::bad_request(format!("{name} must be a number"))),
    }
}

/// The statuses a search finds: a post's, article's or event's URL names it; words are looked up in the full-text
/// index of threads and replies, best first. Only what the caller may read is kept.
async fn statuses(
    state: &Node,
    caller: Option<&Caller>,
    query: &str,
    limit: u64,
    offset: u64,
) -> Result<Vec<Value>, MastodonError> {
    let by_url = query.starts_with("https://") || query.starts_with("http://");
    let posts = if by_url {
        state.db.post_by_ap_id(query).await?.into_iter().collect()
    } else {
        let hits = state
            .db
            .search(query, None, None, offset + limit * 2)
            .await?
            .items;
        let ids: Vec<i64> = hits
            .iter()
            .filter(|h| h.kind == "thread" || h.kind == "reply")
            .map(|h| h.ref_id)
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .collect();
        let mut found: HashMap<i64, Post> = state
            .db
            .posts_by_ids(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        ids.iter().filter_map(|id| found.remove(id)).collect()
    };
    let mut posts: Vec<Post> = statuses::readable_page(state, caller, posts)
        .await?
        .into_iter()
        .filter(|p| !p.deleted && p.removed_reason.is_none())
        .collect();
    posts.truncate(usize::try_from(limit).unwrap_or(20));
    let mut found = statuses::render(state, caller.map(|c| &c.member), &posts).await?;
    // An article's or event's URL names its status.
    if by_url && found.is_empty() {
        if let Some(status) = state.db.status_ref_by_ap_id(query).await? {
            let blocked = Blocked::load(state, caller).await?;
            let shown = state.db.cards(vec![status]).await?;
            let shown = cards::readable(state, caller, &blocked, &[], shown).await?;
            found = cards::render(state, &shown).await?;
        }
    }
    Ok(found)
}

/// The actor a local handle or profile URL names.
async fn local(state: &Node, q: &str) -> Result<Option<Who>, MastodonError> {
    let base = state.settings.base_url();
    let domain = &state.settings.instance.domain;
    let name = if let Some(rest) = q
        .strip_prefix(&format!("{base}/u/"))
        .or_else(|| q.strip_prefix(&format!("{base}/c/")))
    {
        rest.trim_end_matches('/')
    } else {
        let handle = q.trim_start_matches('@');
        match handle.split_once('@') {
            Some((n, h)) if h.eq_ignore_ascii_case(domain) => n,
            Some(_) => return Ok(None),
            None => handle,
        }
    };
    Ok(state
        .db
        .local_actor_by_name(&name.to_lowercase())
        .await?
        .filter(|a| a.kind != ActorKind::Application.as_str())
        .map(Who::Local))
}

/// The accounts `query` names, `limit` of them after `offset`: first the one its whole handle
/// or profile URL names (looked up through WebFinger and ActivityPub when `resolve` and the
/// caller is signed in), then those whose name starts with it (`name` or `name@host…`), this
/// node's before the others' (Mastodon's mention completion).
async fn find_accounts(
    state: &Node,
    caller: Option<&Caller>,
    query: &str,
    resolve: bool,
    limit: u64,
    offset: u64,
) -> Result<Vec<Who>, MastodonError> {
    let mut found: Vec<Who> = Vec::new();
    if query.len() > 500 {
        return Ok(found);
    }
    let handle = query.trim_start_matches('@');
    let mut exact = local(state, query).await?;
    if exact.is_none() {
        let looks_remote = handle.contains('@') || handle.starts_with("https://");
        let known = if handle.starts_with("https://") || handle.starts_with("http://") {
            state.db.remote_actor(handle).await?
        } else {
            match handle.split_once('@') {
                Some((n, h)) => {
                    state
                        .db
                        .remote_actor_by_handle(n, &h.to_ascii_lowercase())
                        .await?
                }
                None => None,
            }
        };
        exact = known.map(Who::Remote);
        // Only a signed-in caller makes the node fetch from other servers.
        if exact.is_none() && looks_remote && resolve && caller.is_some() {
            if let Ok(view) = svc::resolve(state, handle).await {
                exact = state.db.remote_actor(&view.ap_id).await?.map(Who::Remote);
            }
        }
    }
    found.extend(exact);
    if !handle.contains('/') {
        let (name, host) = match handle.split_once('@') {
            Some((n, h)) => (n, Some(h.to_ascii_lowercase())),
            None => (handle, None),
        };
        let domain = state.settings.instance.domain.to_ascii_lowercase();
        let local = host.as_deref().is_none_or(|h| domain.starts_with(h));
        if !name.is_empty() {
            let (ours, theirs) = state
                .db
                .actors_by_prefix(name, host.as_deref(), local, limit + offset + 1)
                .await?;
            let seen: Vec<String> = found.iter().map(|w| w.ap_id(state)).collect();
            let matches: Vec<Who> = ours
                .into_iter()
                .map(Who::Local)
                .chain(theirs.into_iter().map(Who::Remote))
                .filter(|w| !seen.contains(&w.ap_id(state)))
                .collect();
            // A confidential community is listed only to those who may read it (its whole
            // handle still finds it, as the lookup does).
            let groups: Vec<String> = matches
                .iter()
                .filter(|w| is_group(w))
                .map(|w| w.ap_id(state))
                .collect();
            let readable = cards::readable_communities(state, caller, &groups).await?;
            found.extend(
                matches
                    .into_iter()
                    .filter(|w| !is_group(w) || readable.contains(&w.ap_id(state))),
            );
        }
    }
    Ok(found
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect())
}

fn is_group(who: &Who) -> bool {
    match who {
        Who::Local(a) => a.kind == ActorKind::Group.as_str(),
        Who::Remote(a) => a.kind == "Group",
    }
}

/// The Account entities of `who`, in their order, in a fixed number of queries.
async fn rendered(state: &Node, who: &[Who]) -> Result<Vec<Value>, MastodonError> {
    let ap_ids: Vec<String> = who.iter().map(|w| w.ap_id(state)).collect();
    let profiles = accounts::Profiles::load(state, &ap_ids).await?;
    Ok(ap_ids.iter().map(|id| profiles.get(id)).collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountSearchQuery {
    q: String,
    #[serde(deserialize_with = "flag")]
    resolve: Option<bool>,
    #[serde(deserialize_with = "flag")]
    following: Option<bool>,
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /api/v1/accounts/search`: accounts by a prefix of their name or handle, as apps ask
/// while a member types a mention; `following=true` keeps the communities they joined.
pub async fn accounts_search(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<AccountSearchQuery>,
) -> Result<Json<Value>, MastodonError> {
    let query = q.q.trim();
    if query.is_empty() {
        return Err(MastodonError::bad_request("q is required"));
    }
    let limit = number("limit", &q.limit, ACCOUNTS_LIMIT)?.clamp(1, ACCOUNTS_MAX_LIMIT);
    let offset = number("offset", &q.offset, 0)?.min(MAX_OFFSET);
    let mut who = find_accounts(
        &state,
        Some(&auth),
        query,
        q.resolve.unwrap_or(false),
        limit,
        offset,
    )
    .await?;
    if q.following.unwrap_or(false) {
        let joined = state
            .db
            .accepted_communities(&auth.member.ap_id(&state))
            .await?;
        who.retain(|w| joined.contains(&w.ap_id(&state)));
    }
    Ok(Json(Value::Array(rendered(&state, &who).await?)))
}

pub async fn search(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<Value>, MastodonError> {
    let query = q.q.trim();
    if query.is_empty() {
        return Err(MastodonError::bad_request("q is required"));
    }
    let limit = number("limit", &q.limit, DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT);
    let offset = number("offset", &q.offset, 0)?.min(MAX_OFFSET);
    let wants_accounts = q.kind.as_deref().is_none_or(|k| k == "accounts");
    let wants_statuses = q.kind.as_deref().is_none_or(|k| k == "statuses");
    let accounts = if wants_accounts {
        let who = find_accounts(
            &state,
            auth.as_deref(),
            query,
            q.resolve.unwrap_or(false),
            limit,
            offset,
        )
        .await?;
        rendered(&state, &who).await?
    } else {
        Vec::new()
    };
    let statuses = if wants_statuses && query.chars().count() <= 200 {
        statuses(&state, auth.as_deref(), query, limit, offset).await?
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "accounts": accounts,
        "statuses": statuses,
        "hashtags": [],
    })))
}
