//! Creating, proposing, updating and deleting events, and sending them to their community's node.

use super::*;

// ----- use cases -----

pub(super) async fn owner_jobs(
    state: &Node,
    group: &LocalActor,
    kind: &str,
    event: &Event,
) -> Result<Vec<crate::db::queue::NewJob>, Error> {
    let mut inboxes: Vec<Url> = Vec::new();
    // Participants who do not follow the community (e.g. from Mobilizon) hear changes too.
    if kind != "Create" && event.id != 0 {
        let remote: Vec<String> = state
            .db
            .participants(event.id)
            .await?
            .into_iter()
            .filter(|p| p.user_id.is_none())
            .map(|p| p.actor)
            .collect();
        // Their actors in one query, not one per participant.
        let actors: std::collections::HashMap<String, _> = state
            .db
            .remote_actors(&remote)
            .await?
            .into_iter()
            .map(|a| (a.ap_id.clone(), a))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for actor in remote.iter().filter_map(|id| actors.get(id)) {
            let target = actor.shared_inbox.clone().unwrap_or(actor.inbox.clone());
            if let Ok(url) = Url::parse(&target) {
                if seen.insert(url.clone()) {
                    inboxes.push(url);
                }
            }
        }
    }
    let base = state.settings.base_url();
    let object = if kind == "Delete" {
        json!(event.ap_id)
    } else {
        event_json(event)
    };
    let activity = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": event.community,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", event.community)],
        "audience": event.community,
        "object": object,
    });
    let mut activities = vec![activity];
    if kind == "Create" {
        activities.push(objects::announce(
            &base,
            &event.community,
            json!(event.ap_id),
        ));
    }
    broadcast_jobs(state, group, &event.community, activities, inboxes).await
}

pub(super) async fn organizer_of(
    state: &Node,
    member: &Member,
    community: &CommunityView,
) -> Result<LocalActor, Error> {
    let Some((group, _)) = community.local() else {
        return Err(Error::forbidden(
            "events are scheduled on the community's own node",
        ));
    };
    if !moderates(state, &community.ap_id, &member.ap_id(state)).await? {
        return Err(Error::forbidden(
            "only the community's moderators schedule events",
        ));
    }
    Ok(group.clone())
}

pub async fn create(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    input: EventInput,
) -> Result<Event, Error> {
    let group = organizer_of(state, member, community).await?;
    let event = draft(state, community, &member.ap_id(state), input)?;
    let jobs = owner_jobs(state, &group, "Create", &event).await?;
    let saved = state
        .db
        .save_event(event, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(saved)
}

/// A moderator on another node schedules an event: the proposal goes to the community's node,
/// which creates the event (with its own id) and announces it to every member node, this one
/// included. Returns the proposal's activity id.
pub async fn propose(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    input: EventInput,
) -> Result<String, Error> {
    let event = draft(state, community, &member.ap_id(state), input)?;
    send_to_host(state, member, community, "Create", event_json(&event)).await
}

/// Sends a moderator's `kind` of an event (`Create`, `Update`, `Delete`) to the inbox of the
/// community's node, which checks and applies it (see [`hosted_event_change`]). The role is
/// checked here first. Returns the activity's id.
pub(super) async fn send_to_host(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    kind: &str,
    object: Value,
) -> Result<String, Error> {
    let remote = community.remote().ok_or_else(Error::internal)?;
    let me = member.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(Error::forbidden(
            "only the community's moderators schedule, change or delete events",
        ));
    }
    let base = state.settings.base_url();
    let id = objects::new_id(&base, &format!("activities/{}", kind.to_lowercase()));
    let mut activity = json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": kind,
        "actor": me,
        "to": [community.ap_id],
        "audience": community.ap_id,
        "object": object,
    });
    crate::service::privacy::address(&mut activity, community);
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| Error::invalid("the community has no valid inbox"))?;
    delivery::send(state, &member.actor, &activity, [inbox]).await?;
    Ok(id)
}

/// The local community `community` and its actor, when `actor` (a moderator on another node)
/// moderates it: the check every remote moderator's event change passes on the host.
pub(super) async fn hosted_event_change(
    state: &Node,
    community: &str,
    actor: &str,
) -> Result<(CommunityView, LocalActor), Error> {
    let Some((view, group)) = known(state, community)
        .await?
        .and_then(|c| c.local().cloned().map(|(group, _)| (c, group)))
    else {
        return Err(Error::forbidden(
            "events are proposed to a community of this node",
        ));
    };
    if !moderates(state, &view.ap_id, actor).await? {
        return Err(Error::forbidden(
            "only the community's moderators schedule, change or delete events",
        ));
    }
    Ok((view, group))
}

/// A moderator on another node changes (or cancels) an event: checked here, sent to the
/// community's node as an `Update`, applied and announced there. Returns the event as it will
/// be once applied.
pub(super) async fn propose_update(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    event: &Event,
    input: EventInput,
) -> Result<Event, Error> {
    let changed = apply_input(event.clone(), input)?;
    send_to_host(state, member, community, "Update", event_json(&changed)).await?;
    Ok(changed)
}

/// The community's node receives a remote moderator's change to one of its events.
pub(super) async fn receive_update_proposal(
    state: &Node,
    env: &Verified,
    doc: &Document,
) -> Result<(), Error> {
    let proposed = doc
        .event(state.settings.federation.debug)
        .map_err(Error::invalid)?;
    let Some(event) = state
        .db
        .event_by_ap_id(&proposed.ap_id)
        .await?
        .filter(|e| e.local)
    else {
        return Err(Error::not_found("no such event on this node"));
    };
    let actor = env.actor.as_str();
    let (_, group) = hosted_event_change(state, &event.community, actor).await?;
    let mut changed = apply_input(event.clone(), input_from(proposed, true))?;
    changed.sequence += 1;
    changed.updated_at = now_ms();
    let jobs = owner_jobs(state, &group, "Update", &changed).await?;
    let saved = state
        .db
        .save_event(changed, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    state
        .db
        .audit(
            actor,
            "remote.event.update",
            &saved.ap_id,
            Some(saved.status.as_str()),
        )
        .await?;
    Ok(())
}

/// The fields of an event received from another node, as if typed into the API (so they get
/// the same checks); `with_status` for changes, where cancelling is one.
pub(super) fn input_from(e: Event, with_status: bool) -> EventInput {
    EventInput {
        title: Some(e.title),
        description: Some(e.description),
        starts_at: Some(rfc3339(e.starts_at)),
        ends_at: Some(rfc3339(e.ends_at)),
        timezone: Some(e.timezone),
        place_name: Some(e.place_name),
        place_address: Some(e.place_address),
        latitude: Some(e.latitude),
        longitude: Some(e.longitude),
        online_url: Some(e.online_url),
        capacity: Some(e.capacity.map(i64::from)),
        join_mode: Some(e.join_mode.to_string()),
        external_url: Some(e.external_url),
        status: with_status.then(|| e.status.to_string()),
        category: Some(e.category),
    }
}

/// The community's node receives a remote moderator's proposed event and schedules it.
pub(super) async fn receive_proposal(
    state: &Node,
    env: &Verified,
    doc: &Document,
) -> Result<(), Error> {
    let proposed = doc
        .event(state.settings.federation.debug)
        .map_err(Error::invalid)?;
    let actor = env.actor.as_str();
    let (community, group) = hosted_event_change(state, &proposed.community, actor).await?;
    // The same checks as a local organizer's request.
    let event = draft(state, &community, actor, input_from(proposed, false))?;
    let jobs = owner_jobs(state, &group, "Create", &event).await?;
    let saved = state
        .db
        .save_event(event, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    state
        .db
        .audit(
            actor,
            "remote.event.create",
            &saved.ap_id,
            Some(&saved.title),
        )
        .await?;
    Ok(())
}

/// A new event of `community` organized by `organizer`, checked, not yet stored.
pub(super) fn draft(
    state: &Node,
    community: &CommunityView,
    organizer: &str,
    input: EventInput,
) -> Result<Event, Error> {
    for (field, present) in [
        ("title", input.title.is_some()),
        ("starts_at", input.starts_at.is_some()),
        ("ends_at", input.ends_at.is_some()),
        ("timezone", input.timezone.is_some()),
    ] {
        if !present {
            return Err(Error::refused(format!("{field} is required")));
        }
    }
    let now = now_ms();
    let blank = Event {
        id: 0,
        ap_id: objects::new_id(&state.settings.base_url(), "e"),
        community: community.ap_id.clone(),
        organizer: organizer.to_string(),
        title: String::new(),
        description: String::new(),
        starts_at: 0,
        ends_at: 0,
        timezone: "UTC".into(),
        place_name: None,
        place_address: None,
        latitude: None,
        longitude: None,
        online_url: None,
        capacity: None,
        join_mode: JoinMode::Free,
        external_url: None,
        status: EventStatus::Confirmed,
        category: None,
        participant_count: 0,
        sequence: 0,
        local: true,
        created_at: now,
        updated_at: now,
    };
    apply_input(blank, input)
}

/// An organizer or moderator changes the event (moving it, cancelling it…).
pub async fn update(
    state: &Node,
    member: &Member,
    event: &Event,
    input: EventInput,
) -> Result<Event, Error> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| Error::not_found("the event's community is unknown"))?;
    if community.local().is_none() {
        return propose_update(state, member, &community, event, input).await;
    }
    let group = organizer_of(state, member, &community).await?;
    let mut changed = apply_input(event.clone(), input)?;
    changed.sequence += 1;
    changed.updated_at = now_ms();
    let jobs = owner_jobs(state, &group, "Update", &changed).await?;
    let saved = state
        .db
        .save_event(changed, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(saved)
}

/// Deletes an event. Returns false when the deletion was sent to the community's node (an
/// event of a community elsewhere), which deletes it and tells every member node.
pub async fn delete(state: &Node, member: &Member, event: &Event) -> Result<bool, Error> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| Error::not_found("the event's community is unknown"))?;
    if community.local().is_none() {
        send_to_host(state, member, &community, "Delete", json!(event.ap_id)).await?;
        return Ok(false);
    }
    let group = organizer_of(state, member, &community).await?;
    let jobs = owner_jobs(state, &group, "Delete", event).await?;
    state
        .db
        .delete_event(event.id, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(true)
}
