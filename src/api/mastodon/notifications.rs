//! Notifications: a reply to one of the caller's posts (Mastodon's `mention`, as apps show
//! replies) and a like of one (`favourite`), newest first. They are read from the posts and
//! likes themselves, so one arriving from another node is there as soon as the post or like
//! is stored, and none is lost in a crash. `unread_count` counts those after the
//! `notifications` read marker.
//!
//! A notification's id is its moment in milliseconds times 1000, plus 500 for a like, plus
//! its row id modulo 500: numeric, ordered by time across both kinds, under 2^53.

use super::{accounts::Profiles, rfc3339, statuses, MastodonError};
use crate::{
    api::{may_read, Auth, Caller, Read},
    db::discussions::Post,
    node::Node,
};
use axum::{
    extract::{RawQuery, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use std::collections::HashMap;

const REPLY: i64 = 0;
const LIKE: i64 = 1;

fn note_id(at_ms: i64, kind: i64, row: i64) -> i64 {
    at_ms * 1000 + kind * 500 + row.rem_euclid(500)
}

/// One notification before rendering.
struct Note {
    id: i64,
    kind: &'static str,
    account: String,
    post_id: i64,
    at: i64,
}

struct Params {
    max_id: Option<i64>,
    since_id: Option<i64>,
    limit: u64,
    types: Vec<String>,
    exclude: Vec<String>,
}

fn params(query: Option<String>) -> Result<Params, MastodonError> {
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
    })
}

/// The caller's notifications in a window, newest first, with the posts they are about,
/// keeping only those in communities the caller may still read.
async fn gather(
    state: &Node,
    caller: &Caller,
    p: &Params,
) -> Result<(Vec<Note>, HashMap<i64, Post>), MastodonError> {
    let wanted = |kind: &str| {
        (p.types.is_empty() || p.types.iter().any(|t| t == kind))
            && !p.exclude.iter().any(|t| t == kind)
    };
    let me = caller.member.ap_id(state);
    let before = p.max_id.map(|m| m / 1000 + 1);
    let after = p.since_id.map(|s| s / 1000 - 1);
    let (replies, likes) = state
        .db
        .reactions(
            &me,
            before,
            after,
            p.limit,
            (wanted("mention"), wanted("favourite")),
        )
        .await?;
    let mut notes: Vec<Note> = replies
        .iter()
        .map(|r| Note {
            id: note_id(r.created_at, REPLY, r.id),
            kind: "mention",
            account: r.author.clone(),
            post_id: r.id,
            at: r.created_at,
        })
        .chain(likes.iter().map(|l| Note {
            id: note_id(l.created_at, LIKE, l.id),
            kind: "favourite",
            account: l.actor.clone(),
            post_id: l.post_id,
            at: l.created_at,
        }))
        .filter(|n| p.max_id.is_none_or(|m| n.id < m) && p.since_id.is_none_or(|s| n.id > s))
        .collect();
    notes.sort_by_key(|n| std::cmp::Reverse(n.id));
    notes.truncate(usize::try_from(p.limit).unwrap_or(80));
    let mut posts: HashMap<i64, Post> = replies.into_iter().map(|r| (r.id, r)).collect();
    let liked: Vec<i64> = notes
        .iter()
        .filter(|n| !posts.contains_key(&n.post_id))
        .map(|n| n.post_id)
        .collect();
    posts.extend(
        state
            .db
            .posts_by_ids(&liked)
            .await?
            .into_iter()
            .map(|p| (p.id, p)),
    );
    let mut readable: HashMap<String, bool> = HashMap::new();
    let mut kept = Vec::with_capacity(notes.len());
    for note in notes {
        let Some(post) = posts.get(&note.post_id) else {
            continue;
        };
        if post.deleted || post.removed_reason.is_some() {
            continue;
        }
        let ok = match readable.get(&post.community) {
            Some(ok) => *ok,
            None => {
                let ok = may_read(state, Some(caller), &post.community).await.is_ok();
                readable.insert(post.community.clone(), ok);
                ok
            }
        };
        if ok {
            kept.push(note);
        }
    }
    Ok((kept, posts))
}

/// `GET /api/v1/notifications` (`types[]`, `exclude_types[]`, `max_id`, `since_id`,
/// `min_id`, `limit`), with a `Link` to the next page.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Response, MastodonError> {
    let p = params(query)?;
    let (notes, posts) = gather(&state, &auth, &p).await?;
    let mut about: Vec<Post> = Vec::new();
    for n in &notes {
        if let Some(post) = posts.get(&n.post_id) {
            if !about.iter().any(|a| a.id == post.id) {
                about.push(post.clone());
            }
        }
    }
    let rendered = statuses::render(&state, Some(&auth.member), &about).await?;
    let by_post: HashMap<i64, Value> = about.iter().map(|p| p.id).zip(rendered).collect();
    let accounts: Vec<String> = notes.iter().map(|n| n.account.clone()).collect();
    let profiles = Profiles::load(&state, &accounts).await?;
    let body: Vec<Value> = notes
        .iter()
        .map(|n| {
            json!({
                "id": n.id.to_string(),
                "type": n.kind,
                "created_at": rfc3339(n.at),
                "account": profiles.get(&n.account),
                "status": by_post.get(&n.post_id).cloned().unwrap_or(Value::Null),
                "group_key": format!("ungrouped-{}", n.id),
            })
        })
        .collect();
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

/// `GET /api/v1/notifications/unread_count`: those after the `notifications` marker (at most
/// 1000).
pub async fn unread_count(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let marker = state
        .db
        .markers(auth.member.user.id, &["notifications"])
        .await?
        .into_iter()
        .next()
        .and_then(|m| m.last_read_id.parse::<i64>().ok());
    let p = Params {
        max_id: None,
        since_id: marker,
        limit: 1000,
        types: Vec::new(),
        exclude: Vec::new(),
    };
    let (notes, _) = gather(&state, &auth, &p).await?;
    Ok(Json(json!({"count": notes.len()})))
}

#[cfg(test)]
mod tests {
    use super::note_id;

    #[test]
    fn ids_order_by_time_across_kinds_and_stay_below_2_pow_53() {
        let at = 1_800_000_000_000;
        assert!(note_id(at, 0, 7) < note_id(at + 1, 0, 3));
        assert!(note_id(at + 1, 1, 999) > note_id(at + 1, 0, 499));
        assert!(note_id(7_258_118_400_000, 1, 123_456) < (1i64 << 53));
    }
}
