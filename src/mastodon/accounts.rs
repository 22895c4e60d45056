//! Mastodon's Account entity for the people and communities this node knows, and the account
//! endpoints: `verify_credentials`, `GET /api/v1/accounts/{id}`, `/lookup`.
//!
//! Ids are numeric strings, stable for the life of the row: a local actor's is twice its row
//! id, a remote actor's twice its row id plus one, so the two tables never clash. Communities
//! are accounts with `group: true`; their accepted members are their followers.

use super::{avatar_url, html_paragraphs, rfc3339, MastodonError};
use crate::web::Q;
use crate::{
    api::{Auth, Read},
    db::{LocalActor, RemoteActor},
    domain::ActorKind,
    node::Node,
};
use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// An actor an account id names.
pub enum Who {
    Local(LocalActor),
    Remote(RemoteActor),
}

impl Who {
    pub fn account_id(&self) -> String {
        match self {
            Who::Local(a) => (a.id * 2).to_string(),
            Who::Remote(a) => (a.id * 2 + 1).to_string(),
        }
    }
}

/// The actor of an account id, if there is one.
pub async fn by_id(state: &Node, id: &str) -> Result<Option<Who>, MastodonError> {
    let Ok(n) = id.parse::<i64>() else {
        return Ok(None);
    };
    if n < 0 {
        return Ok(None);
    }
    Ok(if n % 2 == 0 {
        state
            .db
            .local_actor(n / 2)
            .await?
            .filter(|a| a.kind != ActorKind::Application.as_str())
            .map(Who::Local)
    } else {
        state.db.remote_actor_by_id(n / 2).await?.map(Who::Remote)
    })
}

/// The Account entity of a local actor (a person or a community).
pub async fn local_account(state: &Node, actor: &LocalActor) -> Result<Value, MastodonError> {
    let group = actor.kind == ActorKind::Group.as_str();
    let base = state.settings.base_url();
    let url = format!("{base}/{}/{}", if group { "c" } else { "u" }, actor.name);
    let counts = state.db.profile_counts(&url, group).await?;
    let locked = if group {
        match state.db.local_community(&actor.name).await? {
            Some((_, community)) => community.visibility != "public",
            None => false,
        }
    } else {
        false
    };
    let avatar = actor.icon_url.clone().unwrap_or_else(|| avatar_url(state));
    Ok(json!({
        "id": Who::Local(actor.clone()).account_id(),
        "username": actor.name,
        "acct": actor.name,
        "url": url,
        "uri": url,
        "display_name": actor.display_name,
        "note": html_paragraphs(&actor.summary),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": "",
        "header_static": "",
        "locked": locked,
        "fields": [],
        "emojis": [],
        "bot": false,
        "group": group,
        "discoverable": true,
        "indexable": false,
        "noindex": false,
        "created_at": rfc3339(actor.created_at),
        "last_status_at": counts.last_status_at.map(|ms| rfc3339(ms)[..10].to_string()),
        "statuses_count": counts.statuses,
        "followers_count": counts.followers,
        "following_count": counts.following,
    }))
}

/// The Account entity of an actor of another server, as this node last fetched it.
pub async fn remote_account(state: &Node, actor: &RemoteActor) -> Result<Value, MastodonError> {
    let group = actor.kind == "Group";
    let counts = state.db.profile_counts(&actor.ap_id, group).await?;
    let avatar = actor.icon_url.clone().unwrap_or_else(|| avatar_url(state));
    Ok(json!({
        "id": Who::Remote(actor.clone()).account_id(),
        "username": actor.preferred_username,
        "acct": format!("{}@{}", actor.preferred_username, actor.host),
        "url": actor.ap_id,
        "uri": actor.ap_id,
        "display_name": actor.name.clone().unwrap_or_default(),
        "note": crate::markdown::sanitize(actor.summary.as_deref().unwrap_or("")),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": "",
        "header_static": "",
        "locked": group && actor.visibility.as_deref().is_some_and(|v| v != "public"),
        "fields": [],
        "emojis": [],
        "bot": actor.kind == "Service" || actor.kind == "Application",
        "group": group,
        "discoverable": true,
        "indexable": false,
        "noindex": false,
        "created_at": rfc3339(actor.fetched_at),
        "last_status_at": counts.last_status_at.map(|ms| rfc3339(ms)[..10].to_string()),
        "statuses_count": counts.statuses,
        "followers_count": counts.followers,
        "following_count": counts.following,
    }))
}

pub async fn account(state: &Node, who: &Who) -> Result<Value, MastodonError> {
    match who {
        Who::Local(a) => local_account(state, a).await,
        Who::Remote(a) => remote_account(state, a).await,
    }
}

/// `GET /api/v1/accounts/verify_credentials`: the caller's account, with its `source`.
pub async fn verify_credentials(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let mut me = local_account(&state, &auth.member.actor).await?;
    me["source"] = json!({
        "privacy": "public",
        "sensitive": false,
        "language": auth.member.user.locale,
        "note": auth.member.actor.summary,
        "fields": [],
        "follow_requests_count": 0,
    });
    me["role"] = if auth.member.user.is_admin {
        json!({"id": "3", "name": "Admin", "color": "", "permissions": "1", "highlighted": true})
    } else {
        json!({"id": "-99", "name": "", "color": "", "permissions": "0", "highlighted": false})
    };
    Ok(Json(me))
}

/// `GET /api/v1/accounts/{id}`.
pub async fn get(
    State(state): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let who = by_id(&state, &id)
        .await?
        .ok_or_else(|| MastodonError::not_found("Record not found"))?;
    Ok(Json(account(&state, &who).await?))
}

#[derive(Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    acct: String,
}

/// `GET /api/v1/accounts/lookup?acct=name` or `name@host`, among the actors this node knows.
pub async fn lookup(
    State(state): State<Node>,
    Q(q): Q<LookupQuery>,
) -> Result<Json<Value>, MastodonError> {
    let acct = q.acct.trim().trim_start_matches('@');
    if acct.is_empty() {
        return Err(MastodonError::unprocessable("acct is required"));
    }
    let (name, host) = match acct.split_once('@') {
        Some((n, h)) => (n, Some(h)),
        None => (acct, None),
    };
    let ours = &state.settings.instance.domain;
    let who = match host {
        None => local_by_name(&state, name).await?,
        Some(h) if h.eq_ignore_ascii_case(ours) => local_by_name(&state, name).await?,
        Some(h) => state
            .db
            .remote_actor_by_handle(name, &h.to_ascii_lowercase())
            .await?
            .map(Who::Remote),
    };
    let who = who.ok_or_else(|| MastodonError::not_found("Record not found"))?;
    Ok(Json(account(&state, &who).await?))
}

async fn local_by_name(state: &Node, name: &str) -> Result<Option<Who>, MastodonError> {
    Ok(state
        .db
        .local_actor_by_name(&name.to_lowercase())
        .await?
        .filter(|a| a.kind != ActorKind::Application.as_str())
        .map(Who::Local))
}
