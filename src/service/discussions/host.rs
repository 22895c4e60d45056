//! The community's node receives its members' activities: checks them, applies them, announces them.

use super::*;

// ----- the inbox side -----

/// A remote member leaves a community this node hosts (its owner never does).
pub(super) async fn leave_hosted(
    state: &Node,
    community: &CommunityView,
    actor: &str,
) -> Result<(), Error> {
    let m = state.db.membership(&community.ap_id, actor).await?;
    if m.is_some_and(|m| m.role != "owner") {
        state.db.delete_membership(&community.ap_id, actor).await?;
    }
    Ok(())
}

/// The local community an incoming activity is meant for.
pub(crate) async fn target_community(
    state: &Node,
    env: &Envelope,
) -> Result<Option<CommunityView>, Error> {
    let body = &env.body;
    let object = body.get("object");
    let mut candidates: Vec<Url> = Vec::new();
    for v in [
        body.get("audience"),
        body.get("target"),
        object.and_then(|o| o.get("audience")),
    ] {
        candidates.extend(id_of(v));
    }
    if matches!(env.type_name.as_str(), "Follow" | "Join" | "Leave") {
        candidates.extend(id_of(object));
    }
    for holder in [Some(body), object] {
        let Some(holder) = holder else { continue };
        for key in ["to", "cc"] {
            match holder.get(key) {
                Some(Value::Array(items)) => {
                    candidates.extend(items.iter().filter_map(|i| id_of(Some(i))))
                }
                other => candidates.extend(id_of(other)),
            }
        }
        if let Some(Value::Array(tags)) = holder.get("tag") {
            for tag in tags {
                if inner_kind(tag) == "Mention" {
                    candidates.extend(
                        tag.get("href")
                            .and_then(Value::as_str)
                            .and_then(|h| Url::parse(h).ok()),
                    );
                }
            }
        }
    }
    let ours = &state.settings.instance.domain;
    for url in &candidates {
        if host_of(url).eq_ignore_ascii_case(ours) && url.path().starts_with("/c/") {
            if let Some(view) = by_url(state, url).await? {
                return Ok(Some(view));
            }
        }
    }
    // A reply, like or delete that only names a post: its community.
    let post_ref = match env.type_name.as_str() {
        "Create" | "Update" => object.and_then(|o| id_of(o.get("inReplyTo"))),
        "Undo" => object.and_then(|o| id_of(o.get("object"))),
        _ => id_of(object),
    };
    if let Some(url) = post_ref {
        if let Some(post) = state.db.post_by_ap_id(url.as_str()).await? {
            return known(state, &post.community).await;
        }
    }
    Ok(None)
}

/// The community's node receives a member's activity: checks it, applies it, announces it.
pub(crate) async fn host_receive(
    state: &Node,
    env: &Envelope,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), Error> {
    let at = Arrival {
        state,
        env,
        community,
        group,
    };
    match env.type_name.as_str() {
        "Follow" | "Join" => follow(&at).await,
        // Mobilizon's way of leaving a group.
        "Leave" => leave_hosted(state, community, env.actor.as_str()).await,
        "Undo" => undo(&at).await,
        "Lock" | "Add" | "Remove" | "Block" => moderate(&at).await,
        "Create" => create(&at).await,
        "Update" => update(&at).await,
        "Delete" => delete(&at).await,
        "Like" => like(&at).await,
        _ => Ok(()),
    }
}

/// A member's activity at the community's node, with the community the router found.
struct Arrival<'a> {
    state: &'a Node,
    env: &'a Envelope,
    community: &'a CommunityView,
    group: &'a LocalActor,
}

/// A `Follow` (or Mobilizon's `Join`): accepted, held for a moderator, or refused, and answered.
async fn follow(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let env = at.env;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let follower = remote::actor(state, &env.actor, false)
        .await
        .map_err(|e| Error::invalid(format!("cannot fetch the follower: {e}")))?;
    let refusal = privacy::refuse_follower(state, community, &host_of(&env.actor)).await?;
    if let Some(why) = &refusal {
        info!(follower = actor, community = %community.ap_id, reason = %why, "follow refused");
    }
    let banned = state
        .db
        .active_ban(&community.ap_id, actor, now_ms())
        .await?
        .is_some();
    let refused = banned || refusal.is_some();
    let answer = if refused { "Reject" } else { "Accept" };
    if !refused {
        let pending = needs_approval(community);
        state
            .db
            .upsert_membership(NewMembership {
                community: community.ap_id.clone(),
                actor: actor.to_string(),
                user_id: None,
                role: "member",
                state: if pending { "pending" } else { "accepted" },
                follow_id: Some(env.id.to_string()),
                inbox: Some(
                    follower
                        .shared_inbox
                        .clone()
                        .unwrap_or(follower.inbox.clone()),
                ),
            })
            .await?;
        if pending {
            info!(follower = actor, community = %community.ap_id, "join request waits for a moderator");
            return Ok(());
        }
    }
    let reply = json!({
        "@context": objects::AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", answer.to_lowercase())),
        "type": answer,
        "actor": community.ap_id,
        "to": [actor],
        "object": body,
    });
    let inbox = Url::parse(&follower.inbox)
        .map_err(|_| Error::invalid("the follower has no valid inbox"))?;
    delivery::send(state, group, &reply, [inbox]).await?;
    info!(follower = actor, community = %community.ap_id, answer, "follow answered");
    Ok(())
}

/// An `Undo` of the actor's own follow, like, lock or block.
async fn undo(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    let inner = object.ok_or_else(|| Error::invalid("Undo without an object"))?;
    let inner_actor = id_of(inner.get("actor"));
    if inner_actor.as_ref().is_some_and(|a| a.as_str() != actor) {
        return Err(Error::forbidden(
            "an actor can only undo its own activities",
        ));
    }
    match inner_kind(inner) {
        "Follow" | "Join" => leave_hosted(state, community, actor).await,
        "Like" => {
            let post = post_in(state, community, id_of(inner.get("object"))).await?;
            let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
            let write = Write::RemoveLike {
                post_id: post.id,
                actor: actor.to_string(),
            };
            state
                .db
                .apply_and_enqueue(&[write], jobs, true)
                .await?
                .wake(&state.delivery_wakeup);
            Ok(())
        }
        "Lock" | "Block" => {
            if !moderates(state, &community.ap_id, actor).await? {
                return Err(Error::forbidden("only moderators can do this"));
            }
            apply_announced(state, community, body).await?;
            announce(state, group, &community.ap_id, body.clone(), None).await
        }
        _ => Ok(()),
    }
}

/// A remote moderator locks, pins, bans or changes roles, under the rules local moderators follow.
async fn moderate(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let env = at.env;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    if !moderates(state, &community.ap_id, actor).await? {
        return Err(Error::forbidden("only moderators can do this"));
    }
    let target = id_of(object);
    let to_moderators = id_of(body.get("target"))
        .is_some_and(|t| t.as_str() == format!("{}/moderators", community.ap_id));
    // The same rules as for a local moderator.
    match (env.type_name.as_str(), &target) {
        ("Block", Some(who)) => {
            access::moderation(
                state,
                community,
                actor,
                Moderation::Ban {
                    target: who.as_str(),
                },
            )
            .await?
        }
        ("Add" | "Remove", Some(who)) if to_moderators => {
            access::moderation(
                state,
                community,
                actor,
                Moderation::Role {
                    target: who.as_str(),
                },
            )
            .await?
        }
        ("Block", None) => return Err(Error::invalid("a Block names nobody")),
        _ => {}
    }
    // Applied here with the same rules replicas use for the community's announces.
    apply_announced(state, community, body).await?;
    if env.type_name == "Block" && !privacy::is_public(community) {
        if let Some(who) = &target {
            end_membership(state, community, group, who.as_str()).await?;
        }
    }
    let target = id_of(object).map(|u| u.to_string()).unwrap_or_default();
    state
        .db
        .audit(
            actor,
            &format!("remote.{}", env.type_name.to_lowercase()),
            &target,
            None,
        )
        .await?;
    announce(state, group, &community.ap_id, body.clone(), None).await
}

/// A member's new thread or reply: stored and announced in one transaction.
async fn create(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    // The same rule as for a local member: accepted, not banned.
    access::participant(state, community, actor).await?;
    let doc = object.ok_or_else(|| Error::invalid("Create without an object"))?;
    let incoming = parse_post(doc).map_err(Error::invalid)?;
    if incoming.author.as_str() != actor {
        return Err(Error::forbidden("the object is not the actor's own"));
    }
    // Stored and announced in one transaction: an accepted post always reaches the
    // followers.
    let new_thread = incoming
        .in_reply_to
        .is_none()
        .then_some(incoming.ap_id.as_str());
    let signed = signed_object(state, doc, &incoming.author).await?;
    let jobs = announce_jobs(state, group, &community.ap_id, body, new_thread).await?;
    store_incoming(state, community, &incoming, signed, 0, jobs).await?;
    Ok(())
}

/// An author's edit of their post.
async fn update(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    // The same rule as for a local member: accepted, not banned.
    access::participant(state, community, actor).await?;
    let doc = object.ok_or_else(|| Error::invalid("Update without an object"))?;
    let incoming = parse_post(doc).map_err(Error::invalid)?;
    let existing = state
        .db
        .post_by_ap_id(incoming.ap_id.as_str())
        .await?
        .ok_or_else(|| Error::not_found("no such post in this community"))?;
    if existing.author != actor || incoming.author.as_str() != actor {
        return Err(Error::forbidden("only the author can edit this"));
    }
    if existing.community != community.ap_id {
        return Err(Error::forbidden("the post is not in this community"));
    }
    let signed = signed_object(state, doc, &incoming.author).await?;
    let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
    apply_update(state, &existing, &incoming, signed, jobs).await?;
    Ok(())
}

/// A post deleted by its author or removed by a moderator.
async fn delete(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    let post = post_in(state, community, id_of(object)).await?;
    let change = if post.author == actor {
        PostChange::Deleted
    } else if moderates(state, &community.ap_id, actor).await? {
        let reason = body
            .get("summary")
            .and_then(Value::as_str)
            .map(markdown::plain_text)
            .unwrap_or_else(|| "removed by a moderator".into());
        state
            .db
            .audit(actor, "post.remove", &post.ap_id, Some(&reason))
            .await?;
        PostChange::Removed(reason)
    } else {
        return Err(Error::forbidden(
            "only the author or a moderator can delete this",
        ));
    };
    let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
    state
        .db
        .change_post_and_enqueue(post.id, change, jobs)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// A member likes a post.
async fn like(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let env = at.env;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.body;
    let object = at.env.body.get("object");
    // The same rule as for a local member: accepted, not banned.
    access::participant(state, community, actor).await?;
    let post = post_in(state, community, id_of(object)).await?;
    let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
    let write = Write::AddLike {
        post_id: post.id,
        actor: actor.to_string(),
        ap_id: env.id.to_string(),
    };
    state
        .db
        .apply_and_enqueue(&[write], jobs, true)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// The `Reject` of a remote member's `Follow` that tells their node the membership is over
/// (Mastodon and Lemmy drop a follow they receive a `Reject` for). None for local members.
pub(super) fn farewell_jobs(
    state: &Node,
    group: &LocalActor,
    membership: &Membership,
) -> Vec<NewJob> {
    let (Some(follow_id), Some(inbox)) = (
        membership.follow_id.as_deref(),
        membership.inbox.as_deref().and_then(|i| Url::parse(i).ok()),
    ) else {
        return Vec::new();
    };
    let reject = json!({
        "@context": objects::AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), "activities/reject"),
        "type": "Reject",
        "actor": membership.community,
        "to": [membership.actor],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": membership.actor,
            "object": membership.community,
        },
    });
    delivery::jobs_for(state, group, &reject, [inbox])
}

/// Ends `actor`'s membership of a confidential community hosted here (after a ban) and tells
/// their node.
pub(super) async fn end_membership(
    state: &Node,
    community: &CommunityView,
    group: &LocalActor,
    actor: &str,
) -> Result<(), Error> {
    let Some(membership) = state.db.membership(&community.ap_id, actor).await? else {
        return Ok(());
    };
    if membership.role == "owner" {
        return Ok(());
    }
    let writes = [Write::DeleteMembership {
        community: community.ap_id.clone(),
        actor: actor.to_string(),
    }];
    let jobs = farewell_jobs(state, group, &membership);
    state
        .db
        .apply_and_enqueue(&writes, jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// On a replica of a confidential community: when no local user is an accepted member any
/// more, the copy goes.
pub(super) async fn drop_copy_if_unread(
    state: &Node,
    community: &CommunityView,
) -> Result<(), Error> {
    if community.local.is_none()
        && !privacy::is_public(community)
        && state.db.local_member_count(&community.ap_id).await? == 0
    {
        let n = state.db.purge_community_copy(&community.ap_id).await?;
        info!(community = %community.ap_id, records = n, "copy of a confidential community deleted: no member here any more");
    }
    Ok(())
}
