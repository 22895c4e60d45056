//! RSVPs and invitations: who may take part, capacity, waitlist and approval, and the answers to remote RSVPs.

use super::*;

/// Why an RSVP cannot be taken from someone (`invited` to an invitation-only event or not).
pub(super) fn rsvp_closed(event: &Event, invited: bool) -> Option<String> {
    if event.status == EventStatus::Cancelled {
        return Some("the event is cancelled".into());
    }
    if event.ends_at < now_ms() {
        return Some("the event is over".into());
    }
    match event.join_mode {
        JoinMode::NoRsvp => Some("this event takes no RSVPs".into()),
        JoinMode::Invite if !invited => Some("this event is by invitation only".into()),
        JoinMode::External => Some(format!(
            "RSVP on the organizer's site: {}",
            event.external_url.clone().unwrap_or_default()
        )),
        _ => None,
    }
}

pub(super) async fn is_invited(state: &Node, event: &Event, actor: &str) -> Result<bool, Error> {
    Ok(state
        .db
        .participant(event.id, actor)
        .await?
        .is_some_and(|p| p.state == RsvpState::Invited))
}

/// An organizer invites a member of the community to an event (any join mode; the only way
/// into an invitation-only one). A remote invitee's node hears it as an `Invite` from the
/// community, so the invitee sees the invitation there.
pub async fn invite(
    state: &Node,
    member: &Member,
    event: &Event,
    who: &str,
) -> Result<String, Error> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| Error::not_found("the event's community is unknown"))?;
    let group = organizer_of(state, member, &community).await?;
    if event.status == EventStatus::Cancelled || event.ends_at < now_ms() {
        return Err(Error::refused("the event is cancelled or over"));
    }
    let invitee = crate::service::discussions::resolve_actor(state, who).await?;
    let membership = state.db.membership(&community.ap_id, &invitee).await?;
    if membership
        .as_ref()
        .is_none_or(|m| m.state != MemberState::Accepted)
    {
        return Err(Error::refused(format!(
            "{invitee} is not a member of the community; invite members only"
        )));
    }
    if let Some(p) = state.db.participant(event.id, &invitee).await? {
        if matches!(
            p.state,
            RsvpState::Going | RsvpState::Waitlisted | RsvpState::Pending
        ) {
            return Err(Error::conflict(format!(
                "{invitee} has already answered ({})",
                p.state
            )));
        }
    }
    let user_id = membership.and_then(|m| m.user_id);
    state
        .db
        .set_participant(event.id, &invitee, user_id, RsvpState::Invited, None)
        .await?;
    state
        .db
        .audit(
            &member.ap_id(state),
            "event.invite",
            &invitee,
            Some(&event.ap_id),
        )
        .await?;
    if user_id.is_none() {
        let base = state.settings.base_url();
        let invite = json!({
            "@context": AS_CONTEXT,
            "id": objects::new_id(&base, "activities/invite"),
            "type": "Invite",
            "actor": event.community,
            "object": event.ap_id,
            "target": invitee,
            "to": [invitee],
        });
        let inbox = crate::service::remote::personal_inbox(state, &invitee).await?;
        delivery::send(state, &group, &invite, [inbox]).await?;
    }
    Ok(invitee)
}

/// An `Invite` to an event from its community, for a user of this node.
pub async fn receive_invite(state: &Node, env: &Verified) -> Result<(), Error> {
    let Some(event) = (match env.object().id() {
        Some(id) => state.db.event_by_ap_id(id.as_str()).await?,
        None => None,
    }) else {
        // Mobilizon invites to a group this node has not seen yet in the same way.
        if env
            .object()
            .id()
            .is_some_and(|o| host_of(o) == host_of(&env.actor))
        {
            return crate::service::discussions::receive_group_invite(state, env).await;
        }
        info!(activity = %env.id, "invitation to an event unknown here ignored");
        return Ok(());
    };
    if event.local || event.community != env.actor.as_str() {
        return Err(Error::forbidden(
            "only the event's community sends its invitations",
        ));
    }
    let Some(target) = env.activity.target.clone() else {
        return Err(Error::invalid("an Invite needs a target"));
    };
    let Some(name) = crate::service::discussions::local_user_name(state, target.as_str()) else {
        return Err(Error::invalid("the invitee is not a user of this node"));
    };
    let user = match state.db.local_actor_by_name(name).await? {
        Some(actor) => state.db.user_by_actor(actor.id).await?,
        None => None,
    }
    .ok_or_else(|| Error::not_found("no such user"))?;
    let current = state.db.participant(event.id, target.as_str()).await?;
    if current.is_none_or(|p| {
        matches!(
            p.state,
            RsvpState::Rejected | RsvpState::Ignored | RsvpState::Invited
        )
    }) {
        state
            .db
            .set_participant(
                event.id,
                target.as_str(),
                Some(user.id),
                RsvpState::Invited,
                None,
            )
            .await?;
    }
    Ok(())
}

pub(super) fn join_rule(event: &Event) -> JoinRule {
    if event.join_mode == JoinMode::Restricted {
        JoinRule::Approval
    } else {
        JoinRule::Open
    }
}

/// A member RSVPs (`going` true) or withdraws. Returns the member's state (`going`,
/// `pending`, `waitlisted`, `rejected`, or `none` after withdrawing).
pub async fn rsvp(
    state: &Node,
    member: &Member,
    event: &Event,
    going: bool,
) -> Result<Option<RsvpState>, Error> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| Error::not_found("the event's community is unknown"))?;
    let me = member.ap_id(state);
    if going {
        let invited = is_invited(state, event, &me).await?;
        if let Some(why) = rsvp_closed(event, invited) {
            return Err(Error::refused(why));
        }
        require_member(state, member, &community).await?;
    }
    match community.local() {
        Some((group, _)) => {
            if going {
                let st = state
                    .db
                    .join_event(event.id, &me, Some(member.user.id), None, join_rule(event))
                    .await?;
                counts_changed(state, group, event.id).await?;
                Ok(Some(st))
            } else {
                leave_local(state, group, event, &me).await?;
                Ok(None)
            }
        }
        None => {
            let remote = community.remote().ok_or_else(Error::internal)?;
            let inbox = Url::parse(&remote.inbox)
                .map_err(|_| Error::invalid("the community has no valid inbox"))?;
            let base = state.settings.base_url();
            if !going {
                state.db.remove_participant(event.id, &me).await?;
                let leave = json!({
                    "@context": AS_CONTEXT,
                    "id": objects::new_id(&base, "activities/leave"),
                    "type": "Leave", "actor": me, "object": event.ap_id, "to": [event.community],
                });
                delivery::send(state, &member.actor, &leave, [inbox]).await?;
                return Ok(None);
            }
            let join_id = objects::new_id(&base, "activities/join");
            let join = json!({
                "@context": AS_CONTEXT,
                "id": join_id, "type": "Join", "actor": me, "object": event.ap_id,
                "to": [event.community],
            });
            state
                .db
                .set_participant(
                    event.id,
                    &me,
                    Some(member.user.id),
                    RsvpState::Pending,
                    Some(join_id.clone()),
                )
                .await?;
            delivery::send(state, &member.actor, &join, [inbox]).await?;
            if event.join_mode == JoinMode::Restricted {
                // An organizer decides later; the answer arrives as Accept or Reject.
                return Ok(Some(RsvpState::Pending));
            }
            // Wait briefly for the owner's answer, as for article edits.
            let deadline = tokio::time::Instant::now()
                + Duration::from_millis(state.settings.articles.edit_wait_ms);
            loop {
                let p = state.db.participant(event.id, &me).await?;
                let st = p.map(|p| p.state);
                if st != Some(RsvpState::Pending) || tokio::time::Instant::now() >= deadline {
                    return Ok(st);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

pub(super) async fn leave_local(
    state: &Node,
    group: &LocalActor,
    event: &Event,
    actor: &str,
) -> Result<(), Error> {
    if let Some(promoted) = state.db.leave_event(event.id, actor).await? {
        info!(event = %event.ap_id, promoted = %promoted.actor, "moved up from the waitlist");
        if promoted.user_id.is_none() {
            tell(
                state,
                group,
                event,
                &promoted.actor,
                "Accept",
                promoted.join_id.as_deref(),
                None,
            )
            .await?;
        }
    }
    counts_changed(state, group, event.id).await
}

/// Followers learn the new counts.
pub(super) async fn counts_changed(
    state: &Node,
    group: &LocalActor,
    event_id: i64,
) -> Result<(), Error> {
    let Some(event) = state.db.event(event_id).await? else {
        return Ok(());
    };
    let jobs = owner_jobs(state, group, "Update", &event).await?;
    if !jobs.is_empty() {
        state.db.enqueue(jobs).await?.wake(&state.delivery_wakeup);
    }
    Ok(())
}

/// The owner answers a participant at their inbox.
pub(super) async fn tell(
    state: &Node,
    group: &LocalActor,
    event: &Event,
    actor: &str,
    kind: &str,
    join_id: Option<&str>,
    reason: Option<&str>,
) -> Result<(), Error> {
    let inbox = remote::personal_inbox(state, actor).await?;
    let join = json!({"id": join_id, "type": "Join", "actor": actor, "object": event.ap_id});
    let mut answer = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": event.community,
        "to": [actor],
        "object": join,
    });
    if let Some(r) = reason {
        answer["summary"] = json!(r);
    }
    delivery::send(state, group, &answer, [inbox]).await?;
    Ok(())
}

/// An organizer approves or rejects a pending participant.
pub async fn decide(
    state: &Node,
    member: &Member,
    event: &Event,
    participant_id: i64,
    accept: bool,
) -> Result<RsvpState, Error> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| Error::not_found("the event's community is unknown"))?;
    let group = organizer_of(state, member, &community).await?;
    let p = state
        .db
        .participant_by_id(participant_id)
        .await?
        .filter(|p| p.event_id == event.id)
        .ok_or_else(|| Error::not_found("no such participant"))?;
    if p.state != RsvpState::Pending {
        return Err(Error::conflict(format!(
            "the participant is {}, not pending",
            p.state
        )));
    }
    let st = state
        .db
        .decide_participant(event.id, &p.actor, accept)
        .await?;
    let action = if accept {
        "event.approve"
    } else {
        "event.reject"
    };
    state
        .db
        .audit(&member.ap_id(state), action, &p.actor, Some(&event.ap_id))
        .await?;
    if p.user_id.is_none() {
        let (kind, reason) = match st {
            RsvpState::Going => ("Accept", None),
            RsvpState::Waitlisted => ("TentativeAccept", Some("full: you are on the waitlist")),
            _ => ("Reject", Some("the organizer declined")),
        };
        tell(
            state,
            &group,
            event,
            &p.actor,
            kind,
            p.join_id.as_deref(),
            reason,
        )
        .await?;
    }
    counts_changed(state, &group, event.id).await?;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(join_mode: JoinMode, status: EventStatus, ends_in_ms: i64) -> Event {
        let now = now_ms();
        Event {
            starts_at: now + ends_in_ms - 3_600_000,
            ends_at: now + ends_in_ms,
            capacity: Some(10),
            join_mode,
            external_url: Some("https://tickets.example/1".into()),
            status,
            ..sample_event()
        }
    }

    /// Who may RSVP, for every join mode and status, invited or not.
    #[test]
    fn rsvps_open_and_close_by_join_mode_status_and_time() {
        use EventStatus::*;
        use JoinMode::*;
        let day = 86_400_000;
        let cases = [
            (Free, Confirmed, day, false, None),
            (Restricted, Tentative, day, false, None),
            (Invite, Confirmed, day, false, Some("by invitation only")),
            (Invite, Confirmed, day, true, None),
            (NoRsvp, Confirmed, day, true, Some("takes no RSVPs")),
            (
                External,
                Confirmed,
                day,
                false,
                Some("https://tickets.example/1"),
            ),
            (Free, Cancelled, day, true, Some("cancelled")),
            (Free, Confirmed, -day, false, Some("over")),
        ];
        for (mode, status, ends_in, invited, refusal) in cases {
            let why = rsvp_closed(&event(mode, status, ends_in), invited);
            match refusal {
                None => assert_eq!(why, None, "{mode} {status}"),
                Some(part) => assert!(
                    why.as_deref().is_some_and(|w| w.contains(part)),
                    "{mode} {status} invited={invited}: {why:?}"
                ),
            }
        }
        assert!(matches!(
            join_rule(&event(Restricted, Confirmed, day)),
            JoinRule::Approval
        ));
        for mode in [Free, Invite] {
            assert!(matches!(
                join_rule(&event(mode, Confirmed, day)),
                JoinRule::Open
            ));
        }
    }
}
