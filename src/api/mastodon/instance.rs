//! What apps read about the node before and right after signing in: Mastodon's Instance
//! entity (v1 and v2), the peers this node knows, and the start-up lists for features this
//! node does not have (custom emojis, announcements, trends), which are truthfully empty.

use super::{accounts, avatar_url, MastodonError};
use crate::{config::Registration, node::Node};
use axum::{extract::State, Json};
use serde_json::{json, Value};

/// The version apps parse for feature detection: the Mastodon API level this node speaks,
/// then what it is.
pub fn version() -> String {
    format!(
        "4.3.0 (compatible; Roundtable {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The longest status text accepted (what the native API accepts for a reply).
pub const MAX_CHARACTERS: u64 = 20_000;

async fn registrations(state: &Node) -> Result<(bool, bool), MastodonError> {
    Ok(
        match crate::service::accounts::signup::registration(state).await? {
            Registration::Open => (true, false),
            Registration::Approval => (true, true),
            Registration::Invite | Registration::Closed => (false, false),
        },
    )
}

fn statuses_config() -> Value {
    json!({
        "max_characters": MAX_CHARACTERS,
        "max_media_attachments": crate::activitypub::objects::MAX_ATTACHMENTS,
        "characters_reserved_per_url": 23,
    })
}

/// What `POST /api/v2/media` takes (`service::media`): clients offer attaching only what is
/// listed here.
fn media_config(state: &Node) -> Value {
    let media = &state.settings.media;
    let side = u64::from(media.max_dimension);
    json!({
        "supported_mime_types": ["image/jpeg", "image/png", "image/webp"],
        "image_size_limit": media.max_bytes,
        "image_matrix_limit": side * side,
        "description_limit": crate::activitypub::objects::MAX_DESCRIPTION,
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
    })
}

fn polls_config() -> Value {
    json!({
        "max_options": 0,
        "max_characters_per_option": 0,
        "min_expiration": 0,
        "max_expiration": 0,
    })
}

/// The first administrator's account, as the node's contact.
async fn contact(state: &Node) -> Result<Value, MastodonError> {
    match state.db.first_admin().await? {
        Some(actor) => accounts::local_account(state, &actor).await,
        None => Ok(Value::Null),
    }
}

/// `GET /api/v1/instance`.
pub async fn v1(State(state): State<Node>) -> Result<Json<Value>, MastodonError> {
    let s = &state.settings;
    let (open, approval) = registrations(&state).await?;
    let base = s.base_url();
    Ok(Json(json!({
        "uri": s.instance.domain,
        "title": s.instance.name,
        "short_description": s.instance.description,
        "description": s.instance.description,
        "email": "",
        "version": version(),
        "urls": {"streaming_api": streaming_url(&state)},
        "stats": {
            "user_count": state.db.count_users().await?,
            "status_count": state.db.local_post_count().await?,
            "domain_count": state.db.known_hosts(100_000).await?.len(),
        },
        "thumbnail": avatar_url(&state),
        "languages": ["en"],
        "registrations": open,
        "approval_required": approval,
        "invites_enabled": true,
        "configuration": {
            "accounts": {"max_featured_tags": 0},
            "statuses": statuses_config(),
            "media_attachments": media_config(&state),
            "polls": polls_config(),
        },
        "contact_account": contact(&state).await?,
        "rules": [],
        "source_url": format!("{base}/"),
    })))
}

/// Where the streaming API is, as Mastodon names it: the node's own origin with a WebSocket
/// scheme (apps that stream over server-sent events turn it back into HTTP).
fn streaming_url(state: &Node) -> String {
    let base = state.settings.base_url();
    match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.trim_start_matches("http://")),
    }
}

/// `GET /api/v2/instance`.
pub async fn v2(State(state): State<Node>) -> Result<Json<Value>, MastodonError> {
    let s = &state.settings;
    let (open, approval) = registrations(&state).await?;
    let base = s.base_url();
    Ok(Json(json!({
        "domain": s.instance.domain,
        "title": s.instance.name,
        "version": version(),
        "source_url": format!("{base}/"),
        "description": s.instance.description,
        "usage": {"users": {"active_month": state.db.count_users().await?}},
        "thumbnail": {"url": avatar_url(&state)},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": streaming_url(&state)},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
            "statuses": statuses_config(),
            "media_attachments": media_config(&state),
            "polls": polls_config(),
            "translation": {"enabled": false},
        },
        "registrations": {
            "enabled": open,
            "approval_required": approval,
            "message": null,
            "url": null,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": contact(&state).await?},
        "rules": [],
    })))
}

/// `GET /api/v1/instance/peers`: the hosts this node has met.
pub async fn peers(State(state): State<Node>) -> Result<Json<Value>, MastodonError> {
    Ok(Json(json!(state.db.known_hosts(10_000).await?)))
}

/// `GET /api/v1/instance/activity`: the last twelve weeks, newest first: local posts
/// (`statuses`), members who signed in to an app (`logins`) and new accounts
/// (`registrations`), as strings like Mastodon's.
pub async fn activity(State(state): State<Node>) -> Result<Json<Value>, MastodonError> {
    const WEEK_MS: i64 = 7 * 86_400_000;
    let this_week = crate::db::now_ms().div_euclid(WEEK_MS);
    let counts = state
        .db
        .weekly_activity((this_week - 11) * WEEK_MS, WEEK_MS)
        .await?;
    let weeks: Vec<Value> = (0..12)
        .map(|back| {
            let week = this_week - back;
            let [statuses, logins, registrations] = counts.get(&week).copied().unwrap_or_default();
            json!({
                "week": (week * WEEK_MS / 1000).to_string(),
                "statuses": statuses.to_string(),
                "logins": logins.to_string(),
                "registrations": registrations.to_string(),
            })
        })
        .collect();
    Ok(Json(Value::Array(weeks)))
}

/// The lists apps fetch at start for features this node does not have: empty, truthfully.
pub async fn empty_list() -> Json<Value> {
    Json(json!([]))
}
