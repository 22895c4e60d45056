//! Notifications: a reply to one of the caller's posts or a post that mentions them
//! (Mastodon's `mention`, as apps show replies), a like (`favourite`) or a boost (`reblog`)
//! of one, and a request to join a community the caller moderates (`follow_request`, from
//! the account asking), newest first. They are read from the posts, likes, boosts and
//! memberships themselves, so one arriving from another node is there as soon as it is
//! stored, and none is lost in a crash. `unread_count` counts those after the
//! `notifications` read marker. One can be dismissed, or all cleared; mutes and blocks keep
//! an account's out (`service::notifications`).
//!
//! Ids are `service::notifications::note_id`: numeric, ordered by time across kinds.

use super::{
    accounts::Profiles, domains::Blocked, filtering::Active, rfc3339, statuses, MastodonError,
};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::discussions::Post,
    node::Node,
    service::notifications::{self as notes, Kind, Notification, Window},
};
use axum::{
    extract::{Path, RawQuery, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Mastodon's name of a notification's kind (apps show replies as mentions).
pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Reply | Kind::Mention => "mention",
        Kind::Like => "favourite",
        Kind::JoinRequest => "follow_request",
        Kind::Boost => "reblog",
        // Not asked for (see `gather`): they are about events and articles, not statuses.
        Kind::Rsvp | Kind::RsvpAnswer | Kind::EditAnswer => "mention",
    }
}

/// The kinds Mastodon groups unless an app asks otherwise.
const DEFAULT_GROUPED: [&str; 3] = ["favourite", "follow", "reblog"];

pub(super) struct Params {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub limit: u64,
    pub types: Vec<String>,
    pub exclude: Vec<String>,
    /// The kinds apps show grouped (v2 only; Mastodon's default: favourites, follows, boosts).
    pub grouped: Vec<String>,
}

impl Params {
    /// Every notification between two ids (exclusive), of every kind.
    pub fn between(since_id: i64, max_id: i64, limit: u64) -> Params {
        Params {
            max_id: Some(max_id),
            since_id: Some(since_id),
            limit,
            types: Vec::new(),
            exclude: Vec::new(),
            grouped: Vec::new(),
        }
    }
}

pub(super) fn params(query: Option<String>) -> Result<Params, MastodonError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let many = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name || *k == format!("{name}[]"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let id = |name: &str| -> Result<Option<i64>, MastodonError> {
        match one(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                MastodonError::bad_request(format!("{name} must be a notification id"))
            }),
        }
    };
    Ok(Params {
        max_id: id("max_id")?,
        since_id: id("since_id")?.or(id("min_id")?),
        limit: one("limit")
            .and_then(|l| l.parse::<u64>().ok())
            .unwrap_or(40)
            .clamp(1, 80),
        types: many("types"),
        exclude: many("exclude_types"),
        grouped: {
            let asked = many("grouped_types");
            if asked.is_empty() {
                DEFAULT_GROUPED.iter().map(|g| g.to_string()).collect()
            } else {
                asked
            }
        },
    })
}

/// The caller's notifications in a window, newest first, with the posts they are about
/// (`service::notifications::gather`, which keeps only those the caller may still read) and
/// the caller's filters of notifications, loaded once for the request (`render` marks with
/// them).
pub(super) async fn gather(
    state: &Node,
    caller: &Caller,
    p: &Params,
) -> Result<(Vec<Notification>, HashMap<i64, Post>, Active), MastodonError> {
    let wanted = |kind: &str| {
        (p.types.is_empty() || p.types.iter().any(|t| t == kind))
            && !p.exclude.iter().any(|t| t == kind)
    };
    let window = Window {
        max_id: p.max_id,
        since_id: p.since_id,
        limit: p.limit,
        replies: wanted("mention"),
        likes: wanted("favourite"),
        mentions: wanted("mention"),
        // RSVPs and edit answers are about events and articles, which are not statuses
        // yet; apps would show them without a status. The web page lists them.
        events: false,
        edits: false,
        joins: wanted("follow_request"),
        boosts: wanted("reblog"),
    };
    let (notes, posts) = notes::gather(state, &caller.member, &window).await?;
    // A notification from an account on a blocked domain, or about a status the caller's
    // `hide` filters match, is left out.
    let filters = Active::load(state, Some(caller.member.user.id), "notifications").await?;
    let blocked = Blocked::load(state, Some(caller)).await?;
    if filters.is_empty() && blocked.is_empty() {
        return Ok((notes, posts, filters));
    }
    let notes = notes
        .into_iter()
        .filter(|n| {
            !blocked.covers(&n.account)
                && n.post_id()
                    .and_then(|id| posts.get(&id))
                    .is_none_or(|p| !blocked.covers(&p.author) && !filters.judge(p).hide)
        })
        .collect();
    Ok((notes, posts, filters))
}

/// The Notification entities of `notes`, with their statuses and accounts loaded at once.
pub(super) async fn render(
    state: &Node,
    caller: &Caller,
    notes: &[Notification],
    posts: &HashMap<i64, Post>,
    filters: &Active,
) -> Result<Vec<Value>, MastodonError> {
    let mut about: Vec<Post> = Vec::new();
    for n in notes {
        if let Some(post) = n.post_id().and_then(|id| posts.get(&id)) {
            if !about.iter().any(|a| a.id == post.id) {
                about.push(post.clone());
            }
        }
    }
    let rendered = statuses::render(state, Some(&caller.member), &about).await?;
    let rendered = filters.apply(&about, rendered);
    let by_post: HashMap<i64, Value> = about.iter().map(|p| p.id).zip(rendered).collect();
    let accounts: Vec<String> = notes.iter().map(|n| n.account.clone()).collect();
    let profiles = Profiles::load(state, &accounts).await?;
    Ok(notes
        .iter()
        .map(|n| {
            json!({
                "id": n.id.to_string(),
                "type": kind_name(n.kind),
                "created_at": rfc3339(n.at),
                "account": profiles.get(&n.account),
                "status": n.post_id().and_then(|id| by_post.get(&id)).cloned().unwrap_or(Value::Null),
                "group_key": super::grouped::key(n, &DEFAULT_GROUPED),
            })
        })
        .collect())
}

/// `GET /api/v1/notifications` (`types[]`, `exclude_types[]`, `max_id`, `since_id`,
/// `min_id`, `limit`), with a `Link` to the next page.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Response, MastodonError> {
    let p = params(query)?;
    let (notes, posts, filters) = gather(&state, &auth, &p).await?;
    let body = render(&state, &auth, &notes, &posts, &filters).await?;
    let last = notes.last().map(|n| n.id);
    let mut response = Json(body).into_response();
    if let Some(last) = last {
        let link = format!(
            "<{}/api/v1/notifications?max_id={last}&limit={}>; rel=\"next\"",
            state.settings.base_url(),
            p.limit
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

pub(super) fn note_id(id: &str) -> Result<i64, MastodonError> {
    id.trim()
        .parse::<i64>()
        .ok()
        // Notifications are looked up between their neighbours' ids: none is the largest.
        .filter(|id| (1..i64::MAX).contains(id))
        .ok_or_else(|| MastodonError::not_found("Record not found"))
}

/// `GET /api/v1/notifications/{id}`: one of the caller's notifications, while it shows.
pub async fn one(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let id = note_id(&id)?;
    let p = Params::between(id - 1, id + 1, 1);
    let (notes, posts, filters) = gather(&state, &auth, &p).await?;
    let notes: Vec<Notification> = notes.into_iter().filter(|n| n.id == id).collect();
    render(&state, &auth, &notes, &posts, &filters)
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| MastodonError::not_found("Record not found"))
}

/// `POST /api/v1/notifications/{id}/dismiss`: it no longer shows, in apps or on the page.
pub async fn dismiss(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    notes::dismiss(&state, &auth.member, note_id(&id)?).await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/clear`: every notification the caller has now is gone.
pub async fn clear(
    State(state): State<Node>,
    auth: Auth<Write>,
) -> Result<Json<Value>, MastodonError> {
    notes::clear(&state, &auth.member).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/notifications/unread_count`: those after the `notifications` marker (at most
/// 1000).
pub async fn unread_count(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let marker = notes::last_read(&state, &auth.member).await?;
    let p = Params {
        max_id: None,
        since_id: marker,
        limit: 1000,
        types: Vec::new(),
        exclude: Vec::new(),
        grouped: Vec::new(),
    };
    let (notes, _, _) = gather(&state, &auth, &p).await?;
    Ok(Json(json!({"count": notes.len()})))
}
