//! Mastodon's Account entity for the people and communities this node knows, and the account
//! endpoints: `verify_credentials`, `GET /api/v1/accounts/{id}`, `/lookup`.
//!
//! Ids are numeric strings, stable for the life of the row: a local actor's is twice its row
//! id, a remote actor's twice its row id plus one, so the two tables never clash. Communities
//! are accounts with `group: true`; their accepted members are their followers.

use super::{avatar_url, html_paragraphs, rfc3339, MastodonError};
use crate::web::Q;
use crate::{
    api::{Auth, Read, Write},
    db::{mastodon::Counts, personal::Kept, LocalActor, RemoteActor},
    domain::ActorKind,
    node::Node,
    service::{
        accounts::{
            profile::{update_profile, ProfileChange},
            Account,
        },
        discussions::Member,
    },
    web::form_or_json,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// An actor an account id names.
pub enum Who {
    Local(LocalActor),
    Remote(RemoteActor),
}

impl Who {
    /// The actor's ActivityPub id.
    pub fn ap_id(&self, state: &Node) -> String {
        match self {
            Who::Local(a) => {
                let path = if a.kind == ActorKind::Group.as_str() {
                    "c"
                } else {
                    "u"
                };
                format!("{}/{path}/{}", state.settings.base_url(), a.name)
            }
            Who::Remote(a) => a.ap_id.clone(),
        }
    }

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

/// The actors of account ids, in the order asked, leaving out those that do not exist, in
/// two queries whatever their number.
pub async fn by_ids(state: &Node, ids: &[String]) -> Result<Vec<Who>, MastodonError> {
    let numbers: Vec<i64> = ids
        .iter()
        .filter_map(|id| id.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .collect();
    let local: Vec<i64> = numbers
        .iter()
        .filter(|n| *n % 2 == 0)
        .map(|n| n / 2)
        .collect();
    let remote: Vec<i64> = numbers
        .iter()
        .filter(|n| *n % 2 == 1)
        .map(|n| n / 2)
        .collect();
    let (locals, remotes) = state.db.actors_by_row_ids(&local, &remote).await?;
    let mut found: std::collections::HashMap<String, Who> = locals
        .into_iter()
        .filter(|a| a.kind != ActorKind::Application.as_str())
        .map(Who::Local)
        .chain(remotes.into_iter().map(Who::Remote))
        .map(|w| (w.account_id(), w))
        .collect();
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id.trim()))
        .collect())
}

/// The actor of an account id, or Mastodon's 404.
pub async fn existing(state: &Node, id: &str) -> Result<Who, MastodonError> {
    by_id(state, id)
        .await?
        .ok_or_else(|| MastodonError::not_found("Record not found"))
}

/// The Account entities of a set of actors, loaded in a fixed number of queries whatever
/// their number (actors, communities, counts), for one account or a page of statuses.
pub struct Profiles {
    accounts: HashMap<String, Value>,
}

impl Profiles {
    pub async fn load(state: &Node, ap_ids: &[String]) -> Result<Profiles, MastodonError> {
        let base = state.settings.base_url();
        let mut ids: Vec<String> = ap_ids.to_vec();
        ids.sort();
        ids.dedup();
        let local_name = |id: &str| {
            id.strip_prefix(&format!("{base}/u/"))
                .or_else(|| id.strip_prefix(&format!("{base}/c/")))
                .filter(|n| !n.contains('/'))
                .map(str::to_string)
        };
        let names: Vec<String> = ids.iter().filter_map(|id| local_name(id)).collect();
        let remote_ids: Vec<String> = ids
            .iter()
            .filter(|id| local_name(id).is_none())
            .cloned()
            .collect();
        let locals = state.db.local_actors_named(&names).await?;
        let group_names: Vec<String> = locals
            .iter()
            .filter(|a| a.kind == ActorKind::Group.as_str())
            .map(|a| a.name.clone())
            .collect();
        let confidential: HashMap<String, bool> = state
            .db
            .local_communities(&group_names)
            .await?
            .into_iter()
            .map(|(a, c)| (a.name, c.visibility != "public"))
            .collect();
        let remotes = state.db.remote_actors_by_ap_ids(&remote_ids).await?;
        let counts = state.db.profile_counts(&ids).await?;
        let avatar = avatar_url(state);
        let mut accounts = HashMap::new();
        for actor in locals {
            let group = actor.kind == ActorKind::Group.as_str();
            if !group && actor.kind != ActorKind::Person.as_str() {
                continue;
            }
            let url = format!("{base}/{}/{}", if group { "c" } else { "u" }, actor.name);
            let c = counts.get(&url).copied().unwrap_or_default();
            let locked = group && confidential.get(&actor.name).copied().unwrap_or(false);
            let picture = actor.icon_url.clone().unwrap_or_else(|| avatar.clone());
            let account = entity(Entity {
                id: Who::Local(actor.clone()).account_id(),
                username: &actor.name,
                acct: actor.name.clone(),
                url: &url,
                display_name: &actor.display_name,
                note: html_paragraphs(&actor.summary),
                avatar: &picture,
                locked,
                bot: false,
                group,
                created_at: actor.created_at,
                counts: c,
            });
            accounts.insert(url, account);
        }
        for actor in remotes {
            let group = actor.kind == "Group";
            let c = counts.get(&actor.ap_id).copied().unwrap_or_default();
            let picture = actor.icon_url.clone().unwrap_or_else(|| avatar.clone());
            let account = entity(Entity {
                id: Who::Remote(actor.clone()).account_id(),
                username: &actor.preferred_username,
                acct: format!(
                    "{}@{}",
                    actor.preferred_username,
                    crate::db::mastodon::authority_of(&actor.ap_id)
                ),
                url: &actor.ap_id,
                display_name: actor.name.as_deref().unwrap_or(""),
                note: crate::markdown::sanitize(actor.summary.as_deref().unwrap_or("")),
                avatar: &picture,
                locked: group && actor.visibility.as_deref().is_some_and(|v| v != "public"),
                bot: actor.kind == "Service" || actor.kind == "Application",
                group,
                created_at: actor.fetched_at,
                counts: c,
            });
            accounts.insert(actor.ap_id.clone(), account);
        }
        Ok(Profiles { accounts })
    }

    /// The account of `ap_id`; an actor this node never fetched gets a minimal one (id "0").
    pub fn get(&self, ap_id: &str) -> Value {
        self.accounts.get(ap_id).cloned().unwrap_or_else(|| {
            let name = ap_id.rsplit('/').next().unwrap_or(ap_id);
            let host = crate::db::mastodon::authority_of(ap_id);
            entity(Entity {
                id: "0".into(),
                username: name,
                acct: format!("{name}@{host}"),
                url: ap_id,
                display_name: name,
                note: String::new(),
                avatar: "",
                locked: false,
                bot: false,
                group: false,
                created_at: 0,
                counts: Counts::default(),
            })
        })
    }
}

struct Entity<'a> {
    id: String,
    username: &'a str,
    acct: String,
    url: &'a str,
    display_name: &'a str,
    note: String,
    avatar: &'a str,
    locked: bool,
    bot: bool,
    group: bool,
    created_at: i64,
    counts: Counts,
}

fn entity(e: Entity<'_>) -> Value {
    json!({
        "id": e.id,
        "username": e.username,
        "acct": e.acct,
        "url": e.url,
        "uri": e.url,
        "display_name": e.display_name,
        "note": e.note,
        "avatar": e.avatar,
        "avatar_static": e.avatar,
        "header": "",
        "header_static": "",
        "locked": e.locked,
        "fields": [],
        "emojis": [],
        "bot": e.bot,
        "group": e.group,
        "discoverable": true,
        "indexable": false,
        "noindex": false,
        "created_at": rfc3339(e.created_at),
        "last_status_at": e.counts.last_status_at.map(|ms| rfc3339(ms)[..10].to_string()),
        "statuses_count": e.counts.statuses,
        "followers_count": e.counts.followers,
        "following_count": e.counts.following,
    })
}

/// The Account entity of one actor.
pub async fn account(state: &Node, who: &Who) -> Result<Value, MastodonError> {
    let ap_id = who.ap_id(state);
    Ok(Profiles::load(state, std::slice::from_ref(&ap_id))
        .await?
        .get(&ap_id))
}

/// A page of accounts a member keeps (mutes, blocks, a list's accounts), with the `Link`
/// header that pages them by their rows' ids.
pub async fn kept_page(
    state: &Node,
    uri: &axum::http::Uri,
    rows: Vec<Kept>,
) -> Result<axum::response::Response, MastodonError> {
    use axum::response::IntoResponse;
    let targets: Vec<String> = rows.iter().map(|k| k.target.clone()).collect();
    let profiles = Profiles::load(state, &targets).await?;
    let body: Vec<Value> = targets.iter().map(|t| profiles.get(t)).collect();
    let cursors = (rows.first().map(|k| k.id), rows.last().map(|k| k.id));
    Ok(super::timelines::linked(
        state,
        uri,
        Json(body).into_response(),
        cursors,
    ))
}

/// The Account entity of a local actor.
pub async fn local_account(state: &Node, actor: &LocalActor) -> Result<Value, MastodonError> {
    account(state, &Who::Local(actor.clone())).await
}

/// `GET /api/v1/accounts/verify_credentials`: the caller's account, with its `source`.
pub async fn verify_credentials(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    Ok(Json(credential_account(&state, &auth.member).await?))
}

/// The CredentialAccount entity: the caller's Account with its `source` and `role`.
pub(super) async fn credential_account(
    state: &Node,
    member: &Member,
) -> Result<Value, MastodonError> {
    let mut me = local_account(state, &member.actor).await?;
    me["source"] = json!({
        "privacy": "public",
        "sensitive": false,
        "language": member.user.locale,
        "note": member.actor.summary,
        "fields": [],
        "follow_requests_count": 0,
    });
    me["role"] = if member.user.is_admin {
        json!({"id": "3", "name": "Admin", "color": "", "permissions": "1", "highlighted": true})
    } else {
        json!({"id": "-99", "name": "", "color": "", "permissions": "0", "highlighted": false})
    };
    Ok(me)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Credentials {
    display_name: Option<String>,
    note: Option<String>,
}

/// `PATCH /api/v1/accounts/update_credentials`: the display name and the note (the profile's
/// summary), through the same use case as the settings page. Pictures are not taken here.
pub async fn update_credentials(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/"));
    if multipart {
        return Err(MastodonError::unprocessable(
            "this node does not take avatars or headers from apps yet; send the fields as a form or JSON",
        ));
    }
    let req: Credentials = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    let member = &auth.member;
    let account = Account {
        user: member.user.clone(),
        actor: member.actor.clone(),
    };
    let display_name = req
        .display_name
        .unwrap_or_else(|| member.actor.display_name.clone());
    let note = req.note.unwrap_or_else(|| member.actor.summary.clone());
    let now = update_profile(
        &state,
        &account,
        ProfileChange {
            display_name: &display_name,
            summary: &note,
            time_zone: &member.user.time_zone,
            locale: &member.user.locale,
        },
    )
    .await?;
    let member = Member {
        user: now.user,
        actor: now.actor,
    };
    Ok(Json(credential_account(&state, &member).await?))
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
