//! What a verified activity is for, decided in one place: [`route`] classifies it with one
//! ordered list of questions (and at most one lookup of "an answer to what?"), and [`process`]
//! hands it to the one function of each case. Everything below takes what the route found.
//!
//! The order matters where two readings are possible, and is this:
//! 1. a `Follow` of the instance actor, or an answer to (or undoing of) the partnership `Follow`:
//!    the handshake between instance actors;
//! 2. an `Update` of an actor by itself: a profile change;
//! 3. `Flag`, `Invite`, `Dislike`: reports, invitations (to a community this node knows or
//!    that comes embedded: Mobilizon's `Invite` of a group; otherwise to an event, and an
//!    invitation to no event known here is tried as one to a group of the sender's node),
//!    ignored dislikes;
//! 4. `Join` or `Leave` of a community this node hosts (Mobilizon's group dialect): a
//!    membership request or its end, exactly as `Follow` and `Undo{Follow}`;
//! 5. an event's document, an RSVP (`Join`/`Leave`, or Friendica's `Accept`/`TentativeAccept`/
//!    `Reject` of an event), an answer to our RSVP, or an event's `Delete`;
//! 6. an answer to an article edit this node proposed;
//! 7. an `Article`, from the community that owns it (we hold a replica) or proposed to a
//!    community this node hosts;
//! 8. an `Announce`: a followed community relaying its content;
//! 9. an `Accept`/`Reject` of a membership this node asked for;
//! 10. anything else addressed to (or about a post of) a community this node hosts.

use crate::{
    activitypub::activities::{ActivityKind, DocumentKind, Verified},
    db::{answers::Awaiting, articles::ArticleEdit, LocalActor},
    node::Node,
    service::{
        articles,
        discussions::{self, CommunityView},
        error::Error,
        events, partnership, remote, reports,
    },
};
use tracing::info;

/// What an activity is for.
#[derive(Debug)]
pub enum Route {
    Handshake,
    ActorUpdated,
    Report,
    EventInvitation,
    /// Mobilizon's `Invite` of a group, for a user of this node.
    CommunityInvitation,
    /// An event's document, an RSVP, an answer to one, or an event deleted.
    Event,
    EditAnswered(ArticleEdit),
    ArticleFromOwner,
    ArticleProposal(CommunityView, LocalActor),
    /// An article for a community that does not own it.
    ArticleElsewhere,
    FromCommunity,
    MembershipAnswered,
    /// A member's (or would-be member's) activity for a community this node hosts.
    ToCommunity(CommunityView, LocalActor),
    Ignored(&'static str),
}

/// Classifies a verified activity (see the module's list for the order).
pub async fn route(state: &Node, env: &Verified) -> Result<Route, Error> {
    use ActivityKind::*;
    let object = env.object();
    let object_id = object.id().cloned();
    // A `Delete` may name an RSVP's `Join` too (it then goes to events, as an RSVP's answer does).
    let answers = matches!(
        env.kind,
        Accept | Reject | TentativeAccept | Ignore | Undo | Delete
    );
    let awaiting = match (&object_id, answers) {
        (Some(id), true) => state.db.awaiting(id.as_str()).await?,
        _ => None,
    };
    // 1. The partnership handshake.
    let instance_actor = format!("{}/actor", state.settings.base_url());
    let handshake = match env.kind {
        Follow => object_id
            .as_ref()
            .is_some_and(|o| o.as_str() == instance_actor),
        Accept | Reject | Undo => awaiting == Some(Awaiting::Handshake),
        _ => false,
    };
    if handshake {
        return Ok(Route::Handshake);
    }
    // 2. A profile change.
    if env.kind == Update
        && object.document().is_some_and(|d| d.kind.is_actor())
        && object_id.as_ref() == Some(&env.actor)
    {
        return Ok(Route::ActorUpdated);
    }
    // 3. Kinds with one meaning.
    match env.kind {
        Flag => return Ok(Route::Report),
        Invite => return invitation_route(state, env).await,
        Dislike => return Ok(Route::Ignored("dislikes are not counted")),
        _ => {}
    }
    // 4. Mobilizon's group membership.
    if matches!(env.kind, Join | Leave) {
        if let Some(community) = hosted(state, object_id.as_ref()).await? {
            return Ok(Route::ToCommunity(community.0, community.1));
        }
    }
    // 5. Events.
    let event_object = object.is_document(DocumentKind::Event);
    let names_event = match (&object_id, env.kind) {
        (Some(id), Accept | TentativeAccept | Reject | Ignore | Delete) => {
            state.db.event_by_ap_id(id.as_str()).await?.is_some()
        }
        _ => false,
    };
    let answers_rsvp = awaiting == Some(Awaiting::Rsvp)
        && matches!(
            env.kind,
            Accept | TentativeAccept | Reject | Ignore | Delete
        );
    if event_object || matches!(env.kind, Join | Leave) || answers_rsvp || names_event {
        return Ok(Route::Event);
    }
    // 6. Answers to our article edits.
    if matches!(env.kind, Accept | Reject) && awaiting == Some(Awaiting::Edit) {
        if let Some(edit) = state
            .db
            .edit_by_edit_id(object_id.as_ref().map_or("", |u| u.as_str()))
            .await?
        {
            return Ok(Route::EditAnswered(edit));
        }
    }
    // 7. Articles.
    if matches!(env.kind, Create | Update) && object.is_document(DocumentKind::Article) {
        return article_route(state, env).await;
    }
    // 8. and 9. From communities this node follows.
    match env.kind {
        Announce => return Ok(Route::FromCommunity),
        Accept | Reject => return Ok(Route::MembershipAnswered),
        _ => {}
    }
    // 10. To a community this node hosts.
    match discussions::target_community(state, env).await? {
        Some(community) => match community.local().cloned() {
            Some((group, _)) => Ok(Route::ToCommunity(community, group)),
            None => Ok(Route::Ignored("addressed to a community hosted elsewhere")),
        },
        None => Ok(Route::Ignored("for no community of this node")),
    }
}

/// An invitation to a community this node knows or that comes embedded (Mobilizon's `Invite`
/// of a group), otherwise to an event.
async fn invitation_route(state: &Node, env: &Verified) -> Result<Route, Error> {
    let object = env.object();
    let community = match object.id() {
        Some(id) => discussions::known(state, id.as_str()).await?,
        None => None,
    };
    Ok(
        if community.is_some() || object.is_document(DocumentKind::Group) {
            Route::CommunityInvitation
        } else {
            Route::EventInvitation
        },
    )
}

/// An article from the community that owns it, or proposed to a community hosted here.
async fn article_route(state: &Node, env: &Verified) -> Result<Route, Error> {
    if discussions::known(state, env.actor.as_str())
        .await?
        .is_some_and(|c| c.local().is_none())
    {
        return Ok(Route::ArticleFromOwner);
    }
    Ok(match discussions::target_community(state, env).await? {
        Some(community) => match community.local().cloned() {
            Some((group, _)) => Route::ArticleProposal(community, group),
            None => Route::ArticleElsewhere,
        },
        None => Route::ArticleElsewhere,
    })
}

/// The community this node hosts at `id`, with its actor.
async fn hosted(
    state: &Node,
    id: Option<&url::Url>,
) -> Result<Option<(CommunityView, LocalActor)>, Error> {
    let Some(id) = id else { return Ok(None) };
    Ok(discussions::known(state, id.as_str())
        .await?
        .and_then(|c| c.local().cloned().map(|(group, _)| (c, group))))
}

/// Does what a verified activity is for.
pub async fn process(state: &Node, env: &Verified) -> Result<(), Error> {
    let outcome = dispatch(state, env).await;
    if outcome.is_ok() {
        crate::service::replication::heard(state, env).await?;
    }
    outcome
}

async fn dispatch(state: &Node, env: &Verified) -> Result<(), Error> {
    match route(state, env).await? {
        Route::Handshake => partnership::receive(state, env).await,
        Route::ActorUpdated => {
            remote::actor(state, &env.actor, true)
                .await
                .map_err(|e| Error::invalid(format!("cannot refresh the actor: {e}")))?;
            Ok(())
        }
        Route::Report => reports::receive(state, env).await,
        Route::EventInvitation => events::receive_invite(state, env).await,
        Route::CommunityInvitation => discussions::receive_group_invite(state, env).await,
        Route::Event => events::receive(state, env).await,
        Route::EditAnswered(edit) => articles::receive_answer(state, env, edit).await,
        Route::ArticleFromOwner => articles::receive_from_owner(state, env).await,
        Route::ArticleProposal(community, group) => {
            articles::receive_proposal(state, env, &community, &group).await
        }
        Route::ArticleElsewhere => Err(Error::forbidden(
            "articles are only accepted from the community that owns them",
        )),
        Route::FromCommunity => discussions::receive_announce(state, env).await,
        Route::MembershipAnswered => discussions::receive_follow_answer(state, env).await,
        Route::ToCommunity(community, group) => {
            discussions::host_receive(state, env, &community, &group).await
        }
        Route::Ignored(why) => {
            info!(activity = %env.id, kind = env.kind.name(), why, "activity ignored");
            Ok(())
        }
    }
}
