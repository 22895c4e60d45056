//! What the inbox does with events: documents from their community, proposals, RSVPs and answers.

use super::*;

// ----- federation -----

/// What the router sends here: an event's document, an event deleted, an answer to one of our
/// members' RSVPs, or an RSVP to an event owned here.
pub async fn receive(state: &Node, env: &Verified) -> Result<(), Error> {
    use ActivityKind::*;
    let object = env.object();
    if matches!(env.kind, Create | Update) && object.is_document(DocumentKind::Event) {
        return event_document(state, env).await;
    }
    if env.kind == Delete {
        return event_deleted(state, env).await;
    }
    if matches!(env.kind, Accept | TentativeAccept | Reject | Ignore)
        && rsvp_answered(state, env).await?
    {
        return Ok(());
    }
    remote_rsvp(state, env).await
}

/// The owning community telling followers about an event, or a member proposing one.
async fn event_document(state: &Node, env: &Verified) -> Result<(), Error> {
    let from_community = known(state, env.actor.as_str()).await?.is_some();
    match (from_community, env.object().document()) {
        (false, Some(doc)) if env.kind == ActivityKind::Create => {
            receive_proposal(state, env, doc).await
        }
        (false, Some(doc)) => receive_update_proposal(state, env, doc).await,
        _ => receive_from_owner(state, env).await,
    }
}

/// An event deleted by its community (our replica goes), or by a moderator on another node of
/// a community hosted here.
async fn event_deleted(state: &Node, env: &Verified) -> Result<(), Error> {
    let actor = env.actor.as_str();
    if let Some(id) = env.object().id() {
        if let Some(event) = state.db.event_by_ap_id(id.as_str()).await? {
            if !event.local && event.community == actor {
                state
                    .db
                    .delete_event(event.id, Vec::new())
                    .await?
                    .wake(&state.delivery_wakeup);
                return Ok(());
            }
            // A moderator on another node deletes an event of a community hosted here.
            if event.local {
                let (_, group) = hosted_event_change(state, &event.community, actor).await?;
                let jobs = owner_jobs(state, &group, "Delete", &event).await?;
                state
                    .db
                    .delete_event(event.id, jobs)
                    .await?
                    .wake(&state.delivery_wakeup);
                state
                    .db
                    .audit(
                        actor,
                        "remote.event.delete",
                        &event.ap_id,
                        Some(&event.title),
                    )
                    .await?;
                return Ok(());
            }
            return Err(Error::forbidden(
                "only the owning community deletes an event",
            ));
        }
    }
    Ok(())
}

/// An answer to one of our members' Joins; false when the activity answers none.
async fn rsvp_answered(state: &Node, env: &Verified) -> Result<bool, Error> {
    let actor = env.actor.as_str();
    let join_id = env.object().id();
    if let Some(p) = match join_id {
        Some(j) => state.db.participant_by_join(j.as_str()).await?,
        None => None,
    } {
        let event = state
            .db
            .event(p.event_id)
            .await?
            .ok_or_else(Error::internal)?;
        if event.community != actor {
            return Err(Error::forbidden("only the event's community answers"));
        }
        let st = match env.kind {
            ActivityKind::Accept => RsvpState::Going,
            ActivityKind::TentativeAccept => RsvpState::Waitlisted,
            ActivityKind::Ignore => RsvpState::Ignored,
            _ => RsvpState::Rejected,
        };
        state
            .db
            .set_participant(event.id, &p.actor, p.user_id, st, p.join_id.clone())
            .await?;
        return Ok(true);
    }
    Ok(false)
}

/// An RSVP to an event owned here: `Join`/`Leave`, or Friendica's `Accept`/`TentativeAccept`/
/// `Reject` of the event itself. Every refusal is answered.
async fn remote_rsvp(state: &Node, env: &Verified) -> Result<(), Error> {
    use ActivityKind::*;
    let object = env.object();
    let actor = env.actor.as_str();
    // Friendica answers the event itself (by id, or embedded).
    let event_url = match env.kind {
        Join | Leave => object.id(),
        _ => object
            .id()
            .filter(|_| object.is_link() || object.is_document(DocumentKind::Event)),
    };
    let Some(event_url) = event_url else {
        return Ok(());
    };
    let Some(event) = state
        .db
        .event_by_ap_id(event_url.as_str())
        .await?
        .filter(|e| e.local)
    else {
        return Err(Error::not_found("no such event on this node"));
    };
    let community = known(state, &event.community)
        .await?
        .ok_or_else(Error::internal)?;
    let Some((group, _)) = community.local().cloned() else {
        return Err(Error::internal());
    };
    let wants = matches!(env.kind, Join | Accept | TentativeAccept);
    if !wants {
        return leave_local(state, &group, &event, actor).await;
    }
    let join_id = env.id.to_string();
    let tell_them = |answer: &'static str, why: Option<String>| {
        let (group, event, join_id) = (&group, &event, &join_id);
        async move {
            tell(
                state,
                group,
                event,
                actor,
                answer,
                Some(join_id),
                why.as_deref(),
            )
            .await
        }
    };
    // The same rule as for a local member: accepted and not banned.
    if let Err(refusal) = crate::service::access::participant(state, &community, actor).await {
        return tell_them("Reject", Some(refusal.message)).await;
    }
    if event.join_mode == JoinMode::NoRsvp {
        return tell_them("Ignore", None).await;
    }
    let invited = is_invited(state, &event, actor).await?;
    if let Some(why) = rsvp_closed(&event, invited) {
        return tell_them("Reject", Some(why)).await;
    }
    let st = state
        .db
        .join_event(
            event.id,
            actor,
            None,
            Some(join_id.clone()),
            join_rule(&event),
        )
        .await?;
    match st {
        RsvpState::Going => tell_them("Accept", None).await?,
        RsvpState::Waitlisted => {
            tell_them(
                "TentativeAccept",
                Some("full: you are on the waitlist".into()),
            )
            .await?
        }
        _ => {}
    }
    counts_changed(state, &group, event.id).await
}

pub(super) async fn receive_from_owner(state: &Node, env: &Verified) -> Result<(), Error> {
    let mut incoming = match env.object() {
        Object::Document(doc) => doc.event(state.settings.federation.debug),
        Object::Absent => return Err(Error::invalid("no object")),
        _ => Err("not an Event".to_string()),
    }
    .map_err(Error::invalid)?;
    let Some(community) = known(state, env.actor.as_str()).await? else {
        return Err(Error::forbidden(
            "events are only accepted from their community",
        ));
    };
    let event_url = Url::parse(&incoming.ap_id).map_err(|_| Error::invalid("bad event id"))?;
    if community.local().is_some()
        || incoming.community != community.ap_id
        || host_of(&event_url) != host_of(&env.actor)
    {
        return Err(Error::forbidden(
            "an event is only accepted from the community that owns it",
        ));
    }
    if !state.db.has_local_membership(&community.ap_id).await? {
        return Ok(());
    }
    incoming.local = false;
    if let Some(existing) = state.db.event_by_ap_id(&incoming.ap_id).await? {
        incoming.sequence = existing.sequence + 1;
    }
    state
        .db
        .save_event(incoming, Vec::new())
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}
