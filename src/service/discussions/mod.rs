//! Communities and discussions: the use cases behind the native API (and, later, the Mastodon
//! API and the web UI), and what the inbox does with community activities.
//!
//! FEP-1b12: a community's node orders every change. Members' activities go to the community's
//! inbox; the community checks them and `Announce`s them unchanged to every follower inbox.
//! Replicas apply what the community announces; content authored on a third host is re-fetched
//! from its origin before it is stored, while moderation (deletes by moderators, locks, pins,
//! bans, likes) is taken on the community's word, since it is the authority over its own space.

use crate::{
    activitypub::{
        activities::{Activity, ActivityKind, Document, DocumentKind, Object, Verified},
        actors::host_of,
        objects::{self, IncomingPost, PostContext},
        proof,
    },
    db::{
        discussions::{
            CommunityProfile, Membership, NewMembership, NewPost, Post, PostChange, Write,
        },
        now_ms,
        queue::NewJob,
        Community, LocalActor, RemoteActor, User,
    },
    delivery,
    domain::{ActorKind, MemberState, Name, Role},
    markdown,
    node::Node,
    service::error::Error,
    service::{
        access::{self, Moderation},
        accounts, articles, privacy, remote,
    },
};
use serde_json::{json, Value};
use tracing::{info, warn};
use url::Url;

mod answers;
mod backfill;
mod communities;
mod host;
mod membership;
mod mentions;
mod moderation;
mod outbound;
mod posts;
mod replica;
pub use answers::mark_answer;
pub use backfill::*;
pub use communities::*;
pub(crate) use host::*;
pub use membership::*;
pub use moderation::*;
pub(crate) use outbound::*;
pub use posts::*;
pub(crate) use replica::*;

/// Longest markdown body accepted from a local member, in bytes.
const MAX_BODY: usize = 100 * 1024;
/// How many threads a node backfills when it starts replicating a community.
const BACKFILL_LIMIT: usize = 50;
/// How deep a chain of unknown parents is fetched.
const MAX_PARENT_DEPTH: usize = 8;

/// A community as this node sees it: hosted here, or replicated from another node.
#[derive(Clone, Debug)]
pub struct CommunityView {
    pub ap_id: String,
    pub slug: String,
    pub domain: String,
    pub title: String,
    pub summary: String,
    pub charter: String,
    pub visibility: String,
    pub icon_url: Option<String>,
    pub banner_url: Option<String>,
    /// Where the community lives: here (with its actor and row) or on another node (as this
    /// node knows its actor).
    pub home: Home,
}

/// Where a community lives.
#[derive(Debug, Clone)]
pub enum Home {
    Here(Box<(LocalActor, Community)>),
    Elsewhere(Box<RemoteActor>),
}

impl CommunityView {
    /// The community's actor and row, when it lives here.
    pub fn local(&self) -> Option<&(LocalActor, Community)> {
        match &self.home {
            Home::Here(here) => Some(here),
            Home::Elsewhere(_) => None,
        }
    }

    /// The community's actor as this node knows it, when it lives elsewhere.
    pub fn remote(&self) -> Option<&RemoteActor> {
        match &self.home {
            Home::Elsewhere(actor) => Some(actor),
            Home::Here(_) => None,
        }
    }

    pub fn handle(&self) -> String {
        format!("{}@{}", self.slug, self.domain)
    }

    pub fn mention(&self) -> String {
        format!("@{}@{}", self.slug, self.domain)
    }
}

/// The acting local user.
#[derive(Clone, Debug)]
pub struct Member {
    pub actor: LocalActor,
    pub user: User,
}

pub fn user_ap_id(state: &Node, name: &str) -> String {
    format!("{}/u/{name}", state.settings.base_url())
}

pub fn community_ap_id(state: &Node, name: &str) -> String {
    format!("{}/c/{name}", state.settings.base_url())
}

impl Member {
    pub fn ap_id(&self, state: &Node) -> String {
        user_ap_id(state, &self.actor.name)
    }
}

fn local_view(state: &Node, actor: LocalActor, community: Community) -> CommunityView {
    CommunityView {
        ap_id: community_ap_id(state, &actor.name),
        slug: actor.name.clone(),
        domain: state.settings.instance.domain.clone(),
        title: actor.display_name.clone(),
        summary: actor.summary.clone(),
        charter: community.charter.clone(),
        visibility: community.visibility.clone(),
        icon_url: actor.icon_url.clone(),
        banner_url: community.banner_url.clone(),
        home: Home::Here(Box::new((actor, community))),
    }
}

fn remote_view(actor: RemoteActor) -> CommunityView {
    CommunityView {
        ap_id: actor.ap_id.clone(),
        slug: actor.preferred_username.clone(),
        domain: actor.host.clone(),
        title: actor
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| actor.preferred_username.clone()),
        summary: actor.summary.clone().unwrap_or_default(),
        charter: String::new(),
        visibility: actor.visibility.clone().unwrap_or_else(|| "public".into()),
        icon_url: actor.icon_url.clone(),
        banner_url: None,
        home: Home::Elsewhere(Box::new(actor)),
    }
}

/// A local community by slug.
pub async fn local_community(state: &Node, slug: &str) -> Result<CommunityView, Error> {
    let (actor, community) = state
        .db
        .local_community(&slug.to_lowercase())
        .await?
        .ok_or_else(|| Error::not_found(format!("no community {slug:?} on this node")))?;
    Ok(local_view(state, actor, community))
}

/// Finds a community by `slug`, `slug@domain`, `@slug@domain` or actor URL, resolving remote
/// ones by WebFinger and fetching their `Group`.
pub async fn resolve(state: &Node, handle: &str) -> Result<CommunityView, Error> {
    refuse_control_characters(handle)?;
    let handle = handle.trim();
    if handle.starts_with("https://") || handle.starts_with("http://") {
        let url = Url::parse(handle).map_err(|_| Error::invalid("not a URL"))?;
        return by_url(state, &url)
            .await?
            .ok_or_else(|| Error::not_found("no community at that URL"));
    }
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let (slug, domain) = match handle.split_once('@') {
        Some((slug, domain)) => (slug, Some(domain)),
        None => (handle, None),
    };
    let ours = &state.settings.instance.domain;
    match domain {
        None => local_community(state, slug).await,
        Some(d) if d.eq_ignore_ascii_case(ours) => local_community(state, slug).await,
        Some(domain) => {
            if slug.is_empty() || domain.contains('/') || state.db.policy_key(domain).is_none() {
                return Err(Error::invalid("expected a handle like slug@domain"));
            }
            if !state.db.federates_with(domain).await? {
                return Err(Error::forbidden(format!(
                    "this node does not federate with {domain}"
                )));
            }
            // A community already known resolves without the network, so replicas keep
            // working while its node is down.
            if let Some(known) = state
                .db
                .remote_group(&slug.to_lowercase(), &domain.to_lowercase())
                .await?
            {
                return Ok(remote_view(known));
            }
            let url = state
                .client
                .webfinger(slug, domain)
                .await
                .map_err(|e| Error::not_found(format!("cannot find {slug}@{domain}: {e}")))?;
            by_url(state, &url)
                .await?
                .ok_or_else(|| Error::not_found(format!("{slug}@{domain} is not a community")))
        }
    }
}

/// Handles and actor URLs never hold control characters (CR/LF would otherwise travel into
/// the headers and URLs built from them).
fn refuse_control_characters(handle: &str) -> Result<(), Error> {
    if handle.chars().any(char::is_control) {
        return Err(Error::invalid("a handle cannot contain control characters"));
    }
    Ok(())
}

/// The community at an actor URL, if it is one.
pub async fn by_url(state: &Node, url: &Url) -> Result<Option<CommunityView>, Error> {
    if host_of(url).eq_ignore_ascii_case(&state.settings.instance.domain) {
        let Some(slug) = url.path().strip_prefix("/c/") else {
            return Ok(None);
        };
        return Ok(state
            .db
            .remembered_local_community(slug)
            .await?
            .map(|(a, c)| local_view(state, a, c)));
    }
    let actor = remote::actor(state, url, false)
        .await
        .map_err(|e| Error::not_found(format!("cannot fetch {url}: {e}")))?;
    if actor.kind != "Group" {
        return Ok(None);
    }
    Ok(Some(remote_view(actor)))
}

/// A community this node already knows (hosted or replicated), by ActivityPub id.
pub async fn known(state: &Node, ap_id: &str) -> Result<Option<CommunityView>, Error> {
    let Ok(url) = Url::parse(ap_id) else {
        return Ok(None);
    };
    if host_of(&url).eq_ignore_ascii_case(&state.settings.instance.domain) {
        return by_url(state, &url).await;
    }
    Ok(state
        .db
        .remote_actor(ap_id)
        .await?
        .filter(|a| a.kind == "Group")
        .map(remote_view))
}

/// Whether this kind of actor id belongs to a local user (for API lookups of members).
pub fn local_user_name<'a>(state: &Node, ap_id: &'a str) -> Option<&'a str> {
    let prefix = format!("{}/u/", state.settings.base_url());
    ap_id
        .strip_prefix(prefix.as_str())
        .filter(|n| !n.contains('/'))
}

/// `name@domain` of an actor id, from what this node knows.
pub async fn actor_handle(state: &Node, ap_id: &str) -> Result<String, Error> {
    if let Some(name) = local_user_name(state, ap_id) {
        return Ok(format!("{name}@{}", state.settings.instance.domain));
    }
    if let Some(actor) = state.db.remote_actor(ap_id).await? {
        return Ok(format!("{}@{}", actor.preferred_username, actor.host));
    }
    Ok(Url::parse(ap_id)
        .map(|u| {
            let name = u
                .path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or("")
                .to_string();
            format!("{name}@{}", host_of(&u))
        })
        .unwrap_or_else(|_| ap_id.to_string()))
}

/// `name@domain` of each of `ids`, as [`actor_handle`] gives it, with one query for all the
/// remote ones: list presenters call this once per list, never once per item.
pub async fn actor_handles<'a>(
    state: &Node,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>, Error> {
    let mut out = std::collections::HashMap::new();
    let mut remote = Vec::new();
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        match local_user_name(state, id) {
            Some(name) => {
                out.insert(
                    id.to_string(),
                    format!("{name}@{}", state.settings.instance.domain),
                );
            }
            None => remote.push(id.to_string()),
        }
    }
    remote.sort();
    remote.dedup();
    for actor in state.db.remote_actors(&remote).await? {
        out.insert(
            actor.ap_id.clone(),
            format!("{}@{}", actor.preferred_username, actor.host),
        );
    }
    for id in remote {
        // Not known here: the last path segment at the id's host, as `actor_handle` does.
        out.entry(id).or_insert_with_key(|id| {
            Url::parse(id)
                .map(|u| {
                    let name = u
                        .path_segments()
                        .and_then(|mut s| s.next_back())
                        .unwrap_or("")
                        .to_string();
                    format!("{name}@{}", host_of(&u))
                })
                .unwrap_or_else(|_| id.clone())
        });
    }
    Ok(out)
}

/// [`known`] for each of `ap_ids`, in at most three queries: list presenters call this once
/// per list, never once per item. Ids of no known community are absent.
pub async fn known_many<'a>(
    state: &Node,
    ap_ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, CommunityView>, Error> {
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for id in ap_ids {
        let Ok(url) = Url::parse(id) else {
            continue;
        };
        if host_of(&url).eq_ignore_ascii_case(&state.settings.instance.domain) {
            if let Some(slug) = url.path().strip_prefix("/c/") {
                local.push(slug.to_string());
            }
        } else {
            remote.push(id.to_string());
        }
    }
    for list in [&mut local, &mut remote] {
        list.sort();
        list.dedup();
    }
    let mut out = std::collections::HashMap::new();
    for (actor, community) in state.db.local_communities(&local).await? {
        let view = local_view(state, actor, community);
        out.insert(view.ap_id.clone(), view);
    }
    for actor in state.db.remote_actors(&remote).await? {
        if actor.kind == "Group" {
            out.insert(actor.ap_id.clone(), remote_view(actor));
        }
    }
    Ok(out)
}

/// Resolves an actor given as URL or `name@domain` to its id (for bans and role changes).
pub async fn resolve_actor(state: &Node, who: &str) -> Result<String, Error> {
    refuse_control_characters(who)?;
    let who = who.trim().trim_start_matches('@');
    if who.starts_with("http://") || who.starts_with("https://") {
        return Url::parse(who)
            .map(|u| u.to_string())
            .map_err(|_| Error::invalid("not a URL"));
    }
    let (name, domain) = who.split_once('@').unwrap_or((who, ""));
    if domain.is_empty() || domain.eq_ignore_ascii_case(&state.settings.instance.domain) {
        let actor = state
            .db
            .local_actor_by_name(&name.to_lowercase())
            .await?
            .filter(|a| a.kind == ActorKind::Person.as_str())
            .ok_or_else(|| Error::not_found(format!("no user {name:?} on this node")))?;
        return Ok(user_ap_id(state, &actor.name));
    }
    if state.db.policy_key(domain).is_none() {
        return Err(Error::invalid("expected an actor like name@domain"));
    }
    // No WebFinger to a host the policy refuses.
    if !state.db.federates_with(domain).await? {
        return Err(Error::forbidden(format!(
            "this node does not federate with {domain}"
        )));
    }
    state
        .client
        .webfinger(name, domain)
        .await
        .map(|u| u.to_string())
        .map_err(|e| Error::not_found(format!("cannot find {who}: {e}")))
}
