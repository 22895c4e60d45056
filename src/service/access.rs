//! Who may do what in a community of this node: the one rule for local and remote actors.
//!
//! Every front door — the native API for local users, the inbox for people on other nodes —
//! calls these functions, so a post, an edit, a like, an RSVP or a role change is checked the
//! same way whoever sends it: membership, bans and roles (locks are checked where the thread is
//! at hand, by `discussions::check_open`).

use crate::{
    db::{
        discussions::{Ban, Membership},
        now_ms,
    },
    domain::{MemberState, Role},
    node::Node,
    service::error::Error,
    service::{discussions::CommunityView, privacy},
};
use std::collections::HashMap;

/// Whether `actor` may contribute to `community` (post, reply, edit, like, propose an article
/// edit, RSVP): never while banned; in a confidential community only as an accepted member; a
/// public community is open to everyone else, as groups and events are across the fediverse.
/// Refusals say why.
pub async fn participant(
    state: &Node,
    community: &CommunityView,
    actor: &str,
) -> Result<(), Error> {
    let ban = state
        .db
        .remembered_active_ban(&community.ap_id, actor, now_ms())
        .await?;
    let membership = if ban.is_none() && !privacy::is_public(community) {
        state.db.membership(&community.ap_id, actor).await?
    } else {
        None
    };
    participant_rule(community, ban.as_ref(), membership.as_ref())
}

/// [`participant`] for `actor` in each of `communities`, in two queries (for lists, such as
/// a personal calendar, that span many communities): true where `actor` may take part.
pub async fn participant_in_each(
    state: &Node,
    communities: &[&CommunityView],
    actor: &str,
) -> Result<HashMap<String, bool>, Error> {
    let ids: Vec<String> = communities.iter().map(|c| c.ap_id.clone()).collect();
    let bans = state.db.active_bans_of(actor, &ids, now_ms()).await?;
    let confidential: Vec<String> = communities
        .iter()
        .filter(|c| !privacy::is_public(c))
        .map(|c| c.ap_id.clone())
        .collect();
    let memberships = state.db.memberships_of(actor, &confidential).await?;
    Ok(communities
        .iter()
        .map(|c| {
            let ok = participant_rule(c, bans.get(&c.ap_id), memberships.get(&c.ap_id)).is_ok();
            (c.ap_id.clone(), ok)
        })
        .collect())
}

/// The rule behind [`participant`], given the ban in force and the membership.
fn participant_rule(
    community: &CommunityView,
    ban: Option<&Ban>,
    membership: Option<&Membership>,
) -> Result<(), Error> {
    if let Some(ban) = ban {
        let reason = ban
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        return Err(Error::forbidden(format!(
            "banned from this community{reason}"
        )));
    }
    if privacy::is_public(community) {
        return Ok(());
    }
    match membership {
        Some(m) if m.state == MemberState::Accepted => Ok(()),
        Some(m) if m.state == MemberState::Rejected => Err(Error::forbidden(
            "the community declined the request to join",
        )),
        Some(_) => Err(Error::forbidden("the membership is still pending approval")),
        None => Err(Error::forbidden(
            "this community is confidential: join it first",
        )),
    }
}

/// Whether `actor` is an accepted owner or moderator of `community`.
pub async fn is_moderator(state: &Node, community: &str, actor: &str) -> Result<bool, Error> {
    Ok(state
        .db
        .membership(community, actor)
        .await?
        .is_some_and(|m| m.state == MemberState::Accepted && m.role.moderates()))
}

/// A moderator's action on a person of the community.
pub enum Moderation<'a> {
    /// Ban (`Block`) `target`.
    Ban { target: &'a str },
    /// Make `target` a moderator (`Add` to the moderators) or a plain member (`Remove`).
    Role { target: &'a str },
}

/// Checks a moderator's action on the community's node, for local and remote moderators
/// alike: the actor moderates; nobody bans themselves or another moderator; roles go only to
/// accepted members; the owner's role never changes (so the owner can never be demoted and
/// then banned).
pub async fn moderation(
    state: &Node,
    community: &CommunityView,
    actor: &str,
    action: Moderation<'_>,
) -> Result<(), Error> {
    if community.local().is_none() {
        return Err(Error::forbidden(
            "moderation is decided on the community's node",
        ));
    }
    if !is_moderator(state, &community.ap_id, actor).await? {
        return Err(Error::forbidden("only moderators can do this"));
    }
    match action {
        Moderation::Ban { target } => {
            if target == actor {
                return Err(Error::refused("you cannot ban yourself"));
            }
            if is_moderator(state, &community.ap_id, target).await? {
                return Err(Error::forbidden("moderators cannot be banned"));
            }
            if let Some(m) = state.db.membership(&community.ap_id, target).await? {
                if m.role == Role::Owner {
                    return Err(Error::forbidden("the owner cannot be banned"));
                }
            }
            Ok(())
        }
        Moderation::Role { target } => {
            let membership = state
                .db
                .membership(&community.ap_id, target)
                .await?
                .ok_or_else(|| Error::not_found("no such member in this community"))?;
            if membership.role == Role::Owner {
                return Err(Error::forbidden("the owner's role cannot be changed"));
            }
            if membership.state != MemberState::Accepted {
                return Err(Error::conflict("only accepted members get roles"));
            }
            Ok(())
        }
    }
}
