//! `GET /api/v2/search`: a handle (`name`, `@name@host`) or a profile URL finds the account;
//! with `resolve=true` (and a signed-in caller) a community of another server is looked up
//! through WebFinger and ActivityPub, with the node's one signed client, and remembered.

use super::{
    accounts::{self, Who},
    flag, MastodonError,
};
use crate::{
    api::{MaybeAuth, Read},
    domain::ActorKind,
    node::Node,
    service::discussions as svc,
    web::Q,
};
use axum::{extract::State, Json};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(deserialize_with = "flag")]
    resolve: Option<bool>,
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

pub async fn search(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<Value>, MastodonError> {
    let query = q.q.trim();
    if query.is_empty() {
        return Err(MastodonError::bad_request("q is required"));
    }
    let wants_accounts = q.kind.as_deref().is_none_or(|k| k == "accounts");
    let mut found: Vec<Value> = Vec::new();
    if wants_accounts && query.len() <= 500 {
        let mut who = local(&state, query).await?;
        if who.is_none() {
            let handle = query.trim_start_matches('@');
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
            who = known.map(Who::Remote);
            // Only a signed-in caller makes the node fetch from other servers.
            if who.is_none() && looks_remote && q.resolve.unwrap_or(false) && auth.is_some() {
                if let Ok(view) = svc::resolve(&state, handle).await {
                    who = state.db.remote_actor(&view.ap_id).await?.map(Who::Remote);
                }
            }
        }
        if let Some(who) = who {
            found.push(accounts::account(&state, &who).await?);
        }
    }
    Ok(Json(json!({
        "accounts": found,
        "statuses": [],
        "hashtags": [],
    })))
}
