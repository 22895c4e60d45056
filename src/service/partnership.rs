//! The partnership handshake between two nodes' instance actors.
//!
//! An admin proposes (`Follow` from our instance actor to theirs, listed here as `proposed`);
//! the other node lists the request as `requested` until its admin accepts (`Accept`, both
//! sides list each other as `partner`) or declines (`Reject`). Either side ends a partnership
//! with an `Undo` of the handshake's `Follow`, which removes the listing on both sides.
//!
//! Handshake traffic is the one exception to the federation policy: a node in allowlist mode
//! must be able to hear a proposal from, and answer, a node that is not yet its partner. The
//! exception covers only these four activity types between instance actors, at `/actor/inbox`,
//! and never a blocked host.

use crate::{
    activitypub::{
        activities::{ActivityKind, Verified},
        actors::host_of,
        objects::{self, AS_CONTEXT},
    },
    db::policy::Instance,
    delivery,
    node::Node,
    service::error::Error,
    service::{
        policy::{normalize_domain, PolicyError},
        remote,
    },
};
use serde_json::{json, Value};
use tracing::info;
use url::Url;

fn our_actor(state: &Node) -> String {
    format!("{}/actor", state.settings.base_url())
}

fn scheme(state: &Node) -> &'static str {
    if state.settings.federation.debug {
        "http"
    } else {
        "https"
    }
}

async fn send(state: &Node, activity: &Value, peer_actor: &str) -> Result<(), PolicyError> {
    let url = Url::parse(peer_actor)
        .map_err(|_| PolicyError::Invalid(format!("{peer_actor} is not a URL")))?;
    let peer = remote::handshake_actor(state, &url, false)
        .await
        .map_err(|e| PolicyError::Invalid(format!("cannot reach {url}: {e}")))?;
    let inbox = Url::parse(&peer.inbox)
        .map_err(|_| PolicyError::Invalid("the other node's actor has no valid inbox".into()))?;
    let signer = state
        .db
        .instance_actor()
        .await?
        .ok_or_else(|| PolicyError::Invalid("this node has no instance actor".into()))?;
    delivery::send(state, &signer, activity, [inbox]).await?;
    Ok(())
}

/// The handshake `Follow` as both sides reconstruct it.
fn follow_doc(id: &str, follower: &str, followed: &str) -> Value {
    json!({"id": id, "type": "Follow", "actor": follower, "object": followed})
}

/// Which side sent the `Follow` of a listing: (follower, followed).
fn follow_sides(state: &Node, listing: &Instance) -> (String, String) {
    let ours = our_actor(state);
    let peer = listing.peer_actor.clone().unwrap_or_default();
    let we_asked = listing.follow_id.as_deref().is_some_and(|id| {
        Url::parse(id)
            .is_ok_and(|u| host_of(&u).eq_ignore_ascii_case(&state.settings.instance.domain))
    });
    if we_asked {
        (ours, peer)
    } else {
        (peer, ours)
    }
}

/// `partner propose DOMAIN`: asks the node at `domain` to become partners.
pub async fn propose(state: &Node, raw: &str, by: &str) -> Result<String, PolicyError> {
    let domain = normalize_domain(raw)?;
    if domain.eq_ignore_ascii_case(&state.settings.instance.domain) {
        return Err(PolicyError::Invalid(
            "a node cannot partner with itself".into(),
        ));
    }
    match state.db.instance(&domain).await? {
        Some(i) if i.state == "blocked" => {
            return Err(PolicyError::Invalid(format!(
                "{domain} is blocked; unblock it before proposing a partnership"
            )))
        }
        Some(i) if i.state == "partner" => {
            return Err(PolicyError::Invalid(format!(
                "{domain} is already a partner"
            )))
        }
        Some(i) if i.state == "requested" => {
            return Err(PolicyError::Invalid(format!(
                "{domain} already asked to partner with this node; accept its request instead"
            )))
        }
        _ => {}
    }
    let url = Url::parse(&format!("{}://{domain}/actor", scheme(state)))
        .map_err(|_| PolicyError::Invalid(format!("{raw:?} is not a domain")))?;
    let peer = remote::handshake_actor(state, &url, true)
        .await
        .map_err(|e| PolicyError::Invalid(format!("cannot reach {domain}'s node: {e}")))?;
    if !matches!(peer.kind.as_str(), "Application" | "Service") {
        return Err(PolicyError::Invalid(format!(
            "{url} is not an instance actor"
        )));
    }
    let base = state.settings.base_url();
    let follow_id = objects::new_id(&base, "activities/partnership");
    let mut follow = follow_doc(&follow_id, &our_actor(state), &peer.ap_id);
    follow["@context"] = json!(AS_CONTEXT);
    follow["to"] = json!([peer.ap_id]);
    if !state
        .db
        .set_handshake(&domain, "proposed", &peer.ap_id, &follow_id)
        .await?
    {
        return Err(PolicyError::Invalid(format!("{domain} is blocked")));
    }
    send(state, &follow, &peer.ap_id).await?;
    state
        .db
        .audit(by, "partnership.propose", &domain, None)
        .await?;
    Ok(domain)
}

/// A page of the handshakes waiting for an answer, incoming (`requested`) and outgoing
/// (`proposed`), by domain after `after`.
pub async fn pending(
    state: &Node,
    after: Option<&str>,
    limit: u64,
) -> Result<crate::paging::Page<Instance>, PolicyError> {
    Ok(state
        .db
        .instances_page(&["requested", "proposed"], after, limit)
        .await?)
}

async fn requested(state: &Node, raw: &str) -> Result<(String, Instance), PolicyError> {
    let domain = normalize_domain(raw)?;
    let listing = state
        .db
        .instance(&domain)
        .await?
        .filter(|i| i.state == "requested")
        .ok_or_else(|| PolicyError::NotFound(format!("no partnership request from {domain}")))?;
    Ok((domain, listing))
}

/// Answers a request: accepting lists the other node as a partner on both sides.
pub async fn answer(
    state: &Node,
    raw: &str,
    accept: bool,
    by: &str,
) -> Result<String, PolicyError> {
    let (domain, listing) = requested(state, raw).await?;
    let peer = listing.peer_actor.clone().unwrap_or_default();
    let follow_id = listing.follow_id.clone().unwrap_or_default();
    let kind = if accept { "Accept" } else { "Reject" };
    let base = state.settings.base_url();
    let reply = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": our_actor(state),
        "to": [peer],
        "object": follow_doc(&follow_id, &peer, &our_actor(state)),
    });
    if accept {
        state
            .db
            .set_handshake(&domain, "partner", &peer, &follow_id)
            .await?;
    } else {
        state.db.remove_instance(&domain, "requested").await?;
    }
    send(state, &reply, &peer).await?;
    let action = if accept {
        "partnership.accept"
    } else {
        "partnership.reject"
    };
    state.db.audit(by, action, &domain, None).await?;
    Ok(domain)
}

/// Tells a former partner that the partnership made by handshake is over (called when an
/// admin removes the partner). Partners listed by hand have nobody to tell.
pub async fn end(state: &Node, listing: &Instance) -> Result<(), PolicyError> {
    let (Some(peer), Some(follow_id)) = (&listing.peer_actor, &listing.follow_id) else {
        return Ok(());
    };
    let (follower, followed) = follow_sides(state, listing);
    let base = state.settings.base_url();
    let undo = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, "activities/undo"),
        "type": "Undo",
        "actor": our_actor(state),
        "to": [peer],
        "object": follow_doc(follow_id, &follower, &followed),
    });
    send(state, &undo, peer).await
}

/// `partner remove DOMAIN`: ends a partnership or withdraws this node's pending proposal. When
/// it was made (or asked for) by handshake, the other node is told with an `Undo`.
pub async fn remove(state: &Node, raw: &str, by: &str) -> Result<String, PolicyError> {
    let domain = normalize_domain(raw)?;
    let listing = state
        .db
        .instance(&domain)
        .await?
        .filter(|i| matches!(i.state.as_str(), "partner" | "proposed"))
        .ok_or_else(|| PolicyError::NotFound(format!("{domain} is not listed as partner")))?;
    if listing.peer_actor.is_some() {
        end(state, &listing).await?;
    }
    state.db.remove_instance(&domain, &listing.state).await?;
    let action = if listing.state == "partner" {
        "instance.unlist.partner"
    } else {
        "partnership.withdraw"
    };
    state.db.audit(by, action, &domain, None).await?;
    Ok(domain)
}

/// Whether a verified activity is a step of a partnership handshake addressed to this node.
pub async fn concerns(state: &Node, env: &Verified) -> Result<bool, Error> {
    if !env.kind.is_handshake() {
        return Ok(false);
    }
    let object = env.object();
    if env.kind == ActivityKind::Follow {
        return Ok(object.id().is_some_and(|o| o.as_str() == our_actor(state)));
    }
    // Accept, Reject and Undo name the handshake's Follow.
    if !(object.is_link() || object.is_activity(ActivityKind::Follow)) {
        return Ok(false);
    }
    match object.id() {
        Some(id) => Ok(state.db.instance_by_follow(id.as_str()).await?.is_some()),
        None => Ok(false),
    }
}

/// Handles a handshake step from another node's instance actor.
pub async fn receive(state: &Node, env: &Verified) -> Result<(), Error> {
    let domain = host_of(&env.actor);
    let actor = env.actor.to_string();
    let peer = remote::handshake_actor(state, &env.actor, false)
        .await
        .map_err(|e| Error::unauthenticated(format!("cannot verify the actor: {e}")))?;
    if !matches!(peer.kind.as_str(), "Application" | "Service") {
        return Err(Error::forbidden(
            "partnerships are made between instance actors",
        ));
    }
    let listing = state.db.instance(&domain).await?;
    let step = Handshake {
        state,
        env,
        domain,
        actor,
        listing,
    };
    match env.kind {
        ActivityKind::Follow => step.follow().await,
        ActivityKind::Accept | ActivityKind::Reject => step.answer().await,
        ActivityKind::Undo => step.undo().await,
        _ => Err(Error::invalid("not a partnership handshake activity")),
    }
}

/// A handshake step from a verified instance actor, with its node's listing here.
struct Handshake<'a> {
    state: &'a Node,
    env: &'a Verified,
    domain: String,
    actor: String,
    listing: Option<crate::db::policy::Instance>,
}

impl Handshake<'_> {
    /// Another node asks for a partnership (or agrees to ours, when both asked).
    async fn follow(self) -> Result<(), Error> {
        let Handshake {
            state,
            env,
            domain,
            actor,
            listing,
        } = self;
        let who = || format!("{actor} (instance actor)");
        if !concerns(state, env).await? {
            return Err(Error::forbidden(
                "only this node's instance actor takes partnership requests",
            ));
        }
        match listing.as_ref().map(|i| i.state.as_str()) {
            Some("blocked") => Err(Error::forbidden("this node blocks yours")),
            Some("partner" | "proposed") => {
                // Already a partner here (listed by hand), or both admins proposed at
                // once: either way, agreement.
                state
                    .db
                    .set_handshake(&domain, "requested", &actor, env.id.as_str())
                    .await?;
                answer(state, &domain, true, &who())
                    .await
                    .map_err(|e| Error::invalid(e.to_string()))?;
                Ok(())
            }
            _ => {
                state
                    .db
                    .set_handshake(&domain, "requested", &actor, env.id.as_str())
                    .await?;
                state
                    .db
                    .audit(&who(), "partnership.requested", &domain, None)
                    .await?;
                info!(%domain, "partnership requested; waiting for an admin");
                Ok(())
            }
        }
    }

    /// The other node answers our proposal.
    async fn answer(self) -> Result<(), Error> {
        let Handshake {
            state,
            env,
            domain,
            actor,
            listing,
        } = self;
        let who = || format!("{actor} (instance actor)");
        let follow_id = env.object().id().map(|u| u.to_string());
        let Some(listing) = listing.filter(|i| {
            i.state == "proposed"
                && i.follow_id == follow_id
                && i.peer_actor.as_deref() == Some(actor.as_str())
        }) else {
            return Err(Error::forbidden(
                "that is not an answer to a proposal of this node",
            ));
        };
        if env.kind == ActivityKind::Accept {
            state
                .db
                .set_handshake(
                    &domain,
                    "partner",
                    &actor,
                    listing.follow_id.as_deref().unwrap_or_default(),
                )
                .await?;
            state
                .db
                .audit(&who(), "partnership.accepted", &domain, None)
                .await?;
            info!(%domain, "partnership accepted");
        } else {
            state.db.remove_instance(&domain, "proposed").await?;
            state
                .db
                .audit(&who(), "partnership.rejected", &domain, None)
                .await?;
        }
        Ok(())
    }

    /// The other node ends the partnership (or withdraws its request).
    async fn undo(self) -> Result<(), Error> {
        let Handshake {
            state,
            env,
            domain,
            actor,
            listing,
        } = self;
        let who = || format!("{actor} (instance actor)");
        let follow_id = env.object().id().map(|u| u.to_string());
        let Some(listing) = listing.filter(|i| {
            i.state != "blocked"
                && i.follow_id == follow_id
                && i.peer_actor.as_deref() == Some(actor.as_str())
        }) else {
            return Ok(());
        };
        state.db.remove_instance(&domain, &listing.state).await?;
        state
            .db
            .audit(&who(), "partnership.ended", &domain, None)
            .await?;
        info!(%domain, "partnership ended by the other node");
        Ok(())
    }
}
