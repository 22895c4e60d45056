//! Confidential communities (`partners`, `members`): who may read their content over
//! ActivityPub, who may receive it, and how it is addressed.
//!
//! - Public communities address everything to `as:Public`; the others address their content to
//!   the community's followers collection and never to `Public` ([`address`]).
//! - The community's node serves a confidential community's objects and collections only to
//!   GETs signed by a node it federates with that, for `members`, has at least one approved
//!   member, and for `partners` is a listed partner. A node replicating a confidential
//!   community serves the objects its own users wrote there only to the community's node.
//! - Deliveries go to accepted members only; for `partners`, only to partner nodes
//!   ([`may_receive`]).

use crate::domain::MemberState;
use crate::{
    activitypub::{actors::host_of, objects::restrict_to_followers},
    node::{Node, Recipients},
    service::discussions::{self, CommunityView},
    service::error::Error,
};
use serde_json::Value;
use std::{collections::HashSet, future::Future, pin::Pin};
use url::Url;

/// Software known to show followers-only content to people who are not followers; confidential
/// communities refuse their follows.
pub const LEAKY_SOFTWARE: [&str; 2] = ["kbin", "mbin"];

pub fn is_public(community: &CommunityView) -> bool {
    community.visibility == "public"
}

/// [`restrict_to_followers`] when the community is confidential.
pub fn address(value: &mut Value, community: &CommunityView) {
    if !is_public(community) {
        restrict_to_followers(value, &community.ap_id);
    }
}

/// Whether the node `host` may hold the community's content: for the community's node, a
/// `members` community needs an approved member there and a `partners` community a listed
/// partner; a replica shares its users' contributions only with the community's node.
pub async fn may_receive(
    state: &Node,
    community: &CommunityView,
    host: &str,
) -> Result<bool, Error> {
    if is_public(community) {
        return Ok(state.db.federates_with(host).await?);
    }
    if community.local().is_none() {
        return Ok(host.eq_ignore_ascii_case(&community.domain));
    }
    if !state.db.federates_with(host).await? {
        return Ok(false);
    }
    Ok(match community.visibility.as_str() {
        "partners" => {
            state
                .db
                .instance(host)
                .await?
                .is_some_and(|i| i.state == "partner")
                && state.db.has_member_on(&community.ap_id, host).await?
        }
        _ => state.db.has_member_on(&community.ap_id, host).await?,
    })
}

/// Whether a queued activity of the community `audience` may still go to `host`: false only
/// for content of a confidential community that `host` may no longer receive.
pub async fn may_deliver(state: &Node, audience: &str, host: &str) -> Result<bool, Error> {
    match discussions::known(state, audience).await? {
        Some(community) if !is_public(&community) => may_receive(state, &community, host).await,
        _ => Ok(true),
    }
}

/// [`may_deliver`] as the delivery worker asks it (see [`Recipients`]).
pub struct DeliveryGate;

impl Recipients for DeliveryGate {
    fn may_receive<'a>(
        &'a self,
        node: &'a Node,
        audience: &'a str,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>> {
        Box::pin(async move {
            may_deliver(node, audience, host)
                .await
                .map_err(|e| e.message)
        })
    }
}

/// Keeps the inboxes of nodes that may receive the community's content.
pub async fn receiving_inboxes(
    state: &Node,
    community: &CommunityView,
    inboxes: Vec<Url>,
) -> Result<Vec<Url>, Error> {
    if is_public(community) {
        return Ok(inboxes);
    }
    let mut kept = Vec::with_capacity(inboxes.len());
    for inbox in inboxes {
        if may_receive(state, community, &host_of(&inbox)).await? {
            kept.push(inbox);
        }
    }
    Ok(kept)
}

/// Whether a follow of a confidential community from `host` is refused outright: a `partners`
/// community takes followers from partner nodes only, and neither takes followers on software
/// known to leak followers-only content.
pub async fn refuse_follower(
    state: &Node,
    community: &CommunityView,
    host: &str,
) -> Result<Option<String>, Error> {
    if is_public(community) {
        return Ok(None);
    }
    let partner = state
        .db
        .instance(host)
        .await?
        .is_some_and(|i| i.state == "partner");
    if community.visibility == "partners" && !partner {
        return Ok(Some(format!(
            "{host} is not a partner of this node; this community is open to partners only"
        )));
    }
    if let Some(software) = crate::service::remote::software(state, host).await {
        if LEAKY_SOFTWARE.contains(&software.as_str()) {
            return Ok(Some(format!(
                "{software} shows followers-only posts to non-followers; this community is confidential"
            )));
        }
    }
    Ok(None)
}

/// The community a stored post, article or event belongs to, as this node knows it.
pub async fn community_of(state: &Node, ap_id: &str) -> Result<CommunityView, Error> {
    discussions::known(state, ap_id)
        .await?
        .ok_or_else(|| Error::not_found("the community of this item is unknown here"))
}

// ----- who may read a community's content: the one check of every front door -----

/// Whether `reader` (a signed-in local member, or nobody) may read the content of
/// `community`: public communities are read by everyone; confidential ones by signed-in
/// readers who are not banned and are accepted members — or, for a `partners` community open
/// to its node's users, by every local user. The native API, the Mastodon API and the pages
/// all ask this, for one community or ([`readable_each`]) for a list.
pub async fn may_read(
    state: &Node,
    reader: Option<&discussions::Member>,
    community: &CommunityView,
) -> Result<(), Error> {
    let reader = match reader {
        Some(member) if !is_public(community) => {
            let me = member.ap_id(state);
            let banned = state
                .db
                .active_ban(&community.ap_id, &me, crate::db::now_ms())
                .await?
                .is_some();
            // Membership decides only when neither a ban nor the node's own readers do.
            let member = !banned
                && !opens_to_local_readers(community)
                && state
                    .db
                    .membership(&community.ap_id, &me)
                    .await?
                    .is_some_and(|m| m.state == MemberState::Accepted);
            Some(Reader { banned, member })
        }
        Some(_) => Some(Reader {
            banned: false,
            member: false,
        }),
        None => None,
    };
    if read_rule(community, reader) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "this community is confidential: only its members see its content",
        ))
    }
}

/// [`may_read`] for each of `communities`, in at most two queries (for lists, such as search
/// results or a home page, that span communities): the ids of those `reader` may read.
pub async fn readable_each(
    state: &Node,
    reader: Option<&discussions::Member>,
    communities: &[&CommunityView],
) -> Result<HashSet<String>, Error> {
    let confidential: Vec<String> = communities
        .iter()
        .filter(|v| !is_public(v))
        .map(|v| v.ap_id.clone())
        .collect();
    let (bans, memberships) = match reader {
        Some(member) if !confidential.is_empty() => {
            let me = member.ap_id(state);
            (
                state
                    .db
                    .active_bans_of(&me, &confidential, crate::db::now_ms())
                    .await?,
                state.db.memberships_of(&me, &confidential).await?,
            )
        }
        _ => Default::default(),
    };
    Ok(communities
        .iter()
        .filter(|v| {
            let reader = reader.map(|_| Reader {
                banned: bans.contains_key(&v.ap_id),
                member: memberships
                    .get(&v.ap_id)
                    .is_some_and(|m| m.state == MemberState::Accepted),
            });
            read_rule(v, reader)
        })
        .map(|v| v.ap_id.clone())
        .collect())
}

/// What the read rule knows of a signed-in reader of a confidential community.
#[derive(Clone, Copy)]
struct Reader {
    banned: bool,
    member: bool,
}

/// The rule behind [`may_read`].
fn read_rule(community: &CommunityView, reader: Option<Reader>) -> bool {
    if is_public(community) {
        return true;
    }
    match reader {
        None => false,
        Some(r) if r.banned => false,
        Some(r) => opens_to_local_readers(community) || r.member,
    }
}

/// A partners community may open itself to every user of its own node.
pub fn opens_to_local_readers(community: &CommunityView) -> bool {
    community.visibility == "partners"
        && community
            .local()
            .as_ref()
            .is_some_and(|(_, row)| row.local_readers)
}
