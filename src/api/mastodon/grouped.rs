//! Grouped notifications (`/api/v2/notifications`), which apps use when a server says it is
//! Mastodon 4.3 or later: likes of one status on one (UTC) day form one group, keyed
//! `favourite-{status}-{day}`, and so do boosts (`reblog-{status}-{day}`); every other
//! notification is its own group, `ungrouped-{id}`, as Mastodon keys it. Apps that ask for
//! no grouping of a kind (`grouped_types[]` without `favourite` or `reblog`) get each alone. Groups are formed within the page of notifications read, so a page
//! of `limit` notifications yields at most `limit` groups; a group's `notifications_count`
//! counts the whole group when it is read by its key.

use super::{
    accounts::Profiles,
    filtering::Active,
    notifications::{gather, kind_name, note_id, params, Params},
    rfc3339, statuses, MastodonError,
};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::discussions::Post,
    node::Node,
    service::notifications::{self as notes, Kind, Notification},
};
use axum::{
    extract::{OriginalUri, Path, RawQuery, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use std::collections::HashMap;

const DAY_MS: i64 = 86_400_000;

/// The most accounts a group shows (Mastodon shows a handful of avatars).
const SAMPLE_ACCOUNTS: usize = 8;

/// The most likes (or boosts) a group read by its key gathers.
const GROUP_MAX: u64 = 400;

/// The kinds grouped by status and day, with their key's prefix (Mastodon's type name).
const GROUPED: [(Kind, &str); 2] = [(Kind::Like, "favourite"), (Kind::Boost, "reblog")];

/// A notification's group key: likes and boosts are grouped by status and day when their
/// type is among `grouped`.
pub fn key(n: &Notification, grouped: &[impl AsRef<str>]) -> String {
    match (GROUPED.iter().find(|(k, _)| *k == n.kind), n.post_id()) {
        (Some((_, name)), Some(post)) if grouped.iter().any(|g| g.as_ref() == *name) => {
            format!("{name}-{post}-{}", n.at.div_euclid(DAY_MS))
        }
        _ => format!("ungrouped-{}", n.id),
    }
}

/// What a group key names.
enum Key {
    One(i64),
    Day { kind: Kind, post: i64, day: i64 },
}

fn parse(key: &str) -> Result<Key, MastodonError> {
    let missing = || MastodonError::not_found("Record not found");
    if let Some(id) = key.strip_prefix("ungrouped-") {
        return Ok(Key::One(note_id(id)?));
    }
    let (kind, rest) = GROUPED
        .iter()
        .find_map(|(kind, name)| {
            key.strip_prefix(name)
                .and_then(|r| r.strip_prefix('-'))
                .map(|r| (*kind, r))
        })
        .ok_or_else(missing)?;
    let (post, day) = rest.split_once('-').ok_or_else(missing)?;
    Ok(Key::Day {
        kind,
        post: post.parse().map_err(|_| missing())?,
        day: day.parse().map_err(|_| missing())?,
    })
}

struct Group<'a> {
    key: String,
    /// Newest first.
    notes: Vec<&'a Notification>,
}

/// `notes` (newest first) in groups, ordered by each group's newest notification.
fn group<'a>(notes: &'a [Notification], grouped: &[String]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for n in notes {
        let key = key(n, grouped);
        match at.get(&key) {
            Some(&i) => groups[i].notes.push(n),
            None => {
                at.insert(key.clone(), groups.len());
                groups.push(Group {
                    key,
                    notes: vec![n],
                });
            }
        }
    }
    groups
}

/// The `GroupedNotificationsResults` entity: the groups, and the accounts and statuses they
/// name, each once.
async fn results(
    state: &Node,
    caller: &Caller,
    groups: &[Group<'_>],
    posts: &HashMap<i64, Post>,
    filters: &Active,
) -> Result<Value, MastodonError> {
    let mut about: Vec<Post> = Vec::new();
    let mut accounts: Vec<String> = Vec::new();
    for g in groups {
        if let Some(post) = g.notes[0].post_id().and_then(|id| posts.get(&id)) {
            if !about.iter().any(|a| a.id == post.id) {
                about.push(post.clone());
            }
        }
        for n in g.notes.iter().take(SAMPLE_ACCOUNTS) {
            if !accounts.contains(&n.account) {
                accounts.push(n.account.clone());
            }
        }
    }
    let statuses = statuses::render(state, Some(&caller.member), &about).await?;
    let statuses = filters.apply(&about, statuses);
    let profiles = Profiles::load(state, &accounts).await?;
    let account_id = |ap_id: &str| profiles.get(ap_id)["id"].clone();
    let entities: Vec<Value> = groups
        .iter()
        .map(|g| {
            let newest = g.notes[0];
            let oldest = g.notes[g.notes.len() - 1];
            let mut samples: Vec<Value> = Vec::new();
            for n in g.notes.iter().take(SAMPLE_ACCOUNTS) {
                let id = account_id(&n.account);
                if !samples.contains(&id) {
                    samples.push(id);
                }
            }
            json!({
                "group_key": g.key,
                "notifications_count": g.notes.len(),
                "type": kind_name(newest.kind),
                "most_recent_notification_id": newest.id.to_string(),
                "page_min_id": oldest.id.to_string(),
                "page_max_id": newest.id.to_string(),
                "latest_page_notification_at": rfc3339(newest.at),
                "sample_account_ids": samples,
                "status_id": newest.post_id().map(|id| id.to_string()),
            })
        })
        .collect();
    Ok(json!({
        "accounts": accounts.iter().map(|a| profiles.get(a)).collect::<Vec<_>>(),
        "statuses": statuses,
        "notification_groups": entities,
    }))
}

/// `GET /api/v2/notifications` (`types[]`, `exclude_types[]`, `grouped_types[]`, `max_id`,
/// `since_id`, `min_id`, `limit`), with a `Link` to the next page.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let p = params(query.clone())?;
    let (notes, posts, filters) = gather(&state, &auth, &p).await?;
    let groups = group(&notes, &p.grouped);
    let body = results(&state, &auth, &groups, &posts, &filters).await?;
    let mut response = Json(body).into_response();
    if let Some(last) = notes.last().map(|n| n.id) {
        let kept: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                    .filter(|(k, _)| !matches!(k.as_ref(), "max_id" | "since_id" | "min_id")),
            )
            .append_pair("max_id", &last.to_string())
            .finish();
        let link = format!(
            "<{}{}?{kept}>; rel=\"next\"",
            state.settings.base_url(),
            uri.path()
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// The notifications a group key names, newest first, while they show.
async fn of_key(
    state: &Node,
    caller: &Caller,
    key: &str,
) -> Result<(Vec<Notification>, HashMap<i64, Post>, Active), MastodonError> {
    let (p, day_of) = match parse(key)? {
        Key::One(id) => (Params::between(id - 1, id + 1, 1), None),
        Key::Day { kind, post, day } => {
            // A day past what ids can hold is no group's.
            let span = DAY_MS * 1000;
            let (Some(start), Some(end)) = (
                day.checked_mul(span),
                day.checked_add(1).and_then(|d| d.checked_mul(span)),
            ) else {
                return Err(MastodonError::not_found("Record not found"));
            };
            let mut p = Params::between(start.saturating_sub(1), end, GROUP_MAX);
            p.types = vec![kind_name(kind).into()];
            (p, Some((kind, post)))
        }
    };
    let (mut notes, posts, filters) = gather(state, caller, &p).await?;
    notes.retain(|n| day_of.is_none_or(|(kind, post)| n.kind == kind && n.post_id() == Some(post)));
    if notes.is_empty() {
        return Err(MastodonError::not_found("Record not found"));
    }
    Ok((notes, posts, filters))
}

/// `GET /api/v2/notifications/{group_key}`.
pub async fn one(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(key): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (notes, posts, filters) = of_key(&state, &auth, &key).await?;
    let groups = vec![Group {
        key,
        notes: notes.iter().collect(),
    }];
    Ok(Json(
        results(&state, &auth, &groups, &posts, &filters).await?,
    ))
}

/// `GET /api/v2/notifications/{group_key}/accounts`: everyone in the group, newest first.
pub async fn accounts(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(key): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (notes, _, _) = of_key(&state, &auth, &key).await?;
    let mut accounts: Vec<String> = Vec::new();
    for n in &notes {
        if !accounts.contains(&n.account) {
            accounts.push(n.account.clone());
        }
    }
    let profiles = Profiles::load(&state, &accounts).await?;
    Ok(Json(Value::Array(
        accounts.iter().map(|a| profiles.get(a)).collect(),
    )))
}

/// `POST /api/v2/notifications/{group_key}/dismiss`: every notification of the group.
pub async fn dismiss(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(key): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (notes, _, _) = of_key(&state, &auth, &key).await?;
    for n in &notes {
        notes::dismiss(&state, &auth.member, n.id).await?;
    }
    Ok(Json(json!({})))
}

/// `GET /api/v2/notifications/unread_count`: the groups after the read marker (at most 1000
/// notifications are looked at).
pub async fn unread_count(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MastodonError> {
    let mut p = params(query)?;
    p.since_id = notes::last_read(&state, &auth.member).await?;
    p.max_id = None;
    p.limit = 1000;
    let (notes, _, _) = gather(&state, &auth, &p).await?;
    Ok(Json(json!({"count": group(&notes, &p.grouped).len()})))
}
