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
    if m.is_some_and(|m| m.role != Role::Owner) {
        state.db.delete_membership(&community.ap_id, actor).await?;
    }
    Ok(())
}

/// The local community an incoming activity is meant for.
pub(crate) async fn target_community(
    state: &Node,
    env: &Verified,
) -> Result<Option<CommunityView>, Error> {
    let activity = &env.activity;
    let object = &activity.object;
    let mut candidates: Vec<Url> = Vec::new();
    candidates.extend(
        [
            activity.audience.as_ref(),
            activity.target.as_ref(),
            object.audience(),
        ]
        .into_iter()
        .flatten()
        .cloned(),
    );
    if matches!(
        env.kind,
        ActivityKind::Follow | ActivityKind::Join | ActivityKind::Leave
    ) {
        candidates.extend(object.id().cloned());
    }
    candidates.extend(activity.addressed.iter().cloned());
    candidates.extend(object.addressed().iter().cloned());
    let ours = &state.settings.instance.domain;
    for url in &candidates {
        if host_of(url).eq_ignore_ascii_case(ours) && url.path().starts_with("/c/") {
            if let Some(view) = by_url(state, url).await? {
                return Ok(Some(view));
            }
        }
    }
    // A reply, like or delete that only names a post: its community.
    let post_ref = match env.kind {
        ActivityKind::Create | ActivityKind::Update => {
            object.document().and_then(|d| d.in_reply_to.clone())
        }
        ActivityKind::Undo => object.activity().and_then(|a| a.object.id().cloned()),
        _ => object.id().cloned(),
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
    env: &Verified,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), Error> {
    let at = Arrival {
        state,
        env,
        community,
        group,
    };
    use ActivityKind::*;
    match env.kind {
        Follow | Join => follow(&at).await,
        // Mobilizon's way of leaving a group.
        Leave => leave_hosted(state, community, env.actor.as_str()).await,
        Undo => undo(&at).await,
        Lock | Add | Remove | Block => moderate(&at).await,
        Create => create(&at).await,
        Update => update(&at).await,
        Delete => delete(&at).await,
        Like => like(&at).await,
        Accept | TentativeAccept | Reject | Dislike | Announce | Flag | Invite | Ignore => Ok(()),
    }
}

/// A member's activity at the community's node, with the community the router found.
struct Arrival<'a> {
    state: &'a Node,
    env: &'a Verified,
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
                role: Role::Member,
                state: if pending {
                    MemberState::Pending
                } else {
                    MemberState::Accepted
                },
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
        "object": env.raw,
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
    let body = &at.env.raw;
    let object = at.env.object();
    // An Undo that names only an id, or no activity, undoes nothing here.
    let Some(inner) = object.activity() else {
        return match object {
            Object::Absent => Err(Error::invalid("Undo without an object")),
            _ => Ok(()),
        };
    };
    if inner.actor.as_ref().is_some_and(|a| a.as_str() != actor) {
        return Err(Error::forbidden(
            "an actor can only undo its own activities",
        ));
    }
    match inner.kind {
        ActivityKind::Follow | ActivityKind::Join => leave_hosted(state, community, actor).await,
        ActivityKind::Like => {
            let post = post_in(state, community, inner.object.id().cloned()).await?;
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
        ActivityKind::Lock | ActivityKind::Block => {
            if !moderates(state, &community.ap_id, actor).await? {
                return Err(Error::forbidden("only moderators can do this"));
            }
            apply_relayed(state, community, &at.env.activity).await?;
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
    let body = &at.env.raw;
    if !moderates(state, &community.ap_id, actor).await? {
        return Err(Error::forbidden("only moderators can do this"));
    }
    let target = env.object().id().cloned();
    let to_moderators = env
        .activity
        .target
        .as_ref()
        .is_some_and(|t| t.as_str() == format!("{}/moderators", community.ap_id));
    // The same rules as for a local moderator.
    match (env.kind, &target) {
        (ActivityKind::Block, Some(who)) => {
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
        (ActivityKind::Add | ActivityKind::Remove, Some(who)) if to_moderators => {
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
        (ActivityKind::Block, None) => return Err(Error::invalid("a Block names nobody")),
        _ => {}
    }
    // Applied here with the same rules replicas use for the community's announces.
    apply_relayed(state, community, &env.activity).await?;
    if env.kind == ActivityKind::Block && !privacy::is_public(community) {
        if let Some(who) = &target {
            end_membership(state, community, group, who.as_str()).await?;
        }
    }
    let target = target.map(|u| u.to_string()).unwrap_or_default();
    state
        .db
        .audit(
            actor,
            &format!("remote.{}", env.kind.name().to_lowercase()),
            &target,
            None,
        )
        .await?;
    announce(state, group, &community.ap_id, body.clone(), None).await
}

/// The thread or reply a `Create`/`Update` carries embedded (what every sender does).
fn embedded_post<'a>(object: &'a Object, kind: &str) -> Result<&'a Document, Error> {
    match object {
        Object::Document(doc) => Ok(doc),
        Object::Absent => Err(Error::invalid(format!("{kind} without an object"))),
        other => Err(not_a_post(other)),
    }
}

/// A member's new thread or reply: stored and announced in one transaction.
async fn create(at: &Arrival<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let group = at.group;
    let actor = at.env.actor.as_str();
    let body = &at.env.raw;
    // The same rule as for a local member: accepted, not banned.
    access::participant(state, community, actor).await?;
    let doc = embedded_post(at.env.object(), "Create")?;
    let incoming = doc.post().map_err(Error::invalid)?;
    if incoming.author.as_str() != actor {
        return Err(Error::forbidden("the object is not the actor's own"));
    }
    // Stored and announced in one transaction: an accepted post always reaches the
    // followers.
    let new_thread = incoming
        .in_reply_to
        .is_none()
        .then_some(incoming.ap_id.as_str());
    let signed = signed_object(state, &doc.raw, &incoming.author).await?;
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
    let body = &at.env.raw;
    // The same rule as for a local member: accepted, not banned.
    let doc = embedded_post(at.env.object(), "Update")?;
    if objects::answer_mark(&doc.raw).is_some() {
        return answers::hosted_answer(state, community, group, actor, doc, body).await;
    }
    access::participant(state, community, actor).await?;
    let incoming = doc.post().map_err(Error::invalid)?;
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
    let signed = signed_object(state, &doc.raw, &incoming.author).await?;
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
    let body = &at.env.raw;
    let post = post_in(state, community, at.env.object().id().cloned()).await?;
    let change = if post.author == actor {
        PostChange::Deleted
    } else if moderates(state, &community.ap_id, actor).await? {
        let reason = at
            .env
            .activity
            .summary
            .as_deref()
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
    let body = &at.env.raw;
    // The same rule as for a local member: accepted, not banned.
    access::participant(state, community, actor).await?;
    let post = post_in(state, community, env.object().id().cloned()).await?;
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
    if membership.role == Role::Owner {
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
    if community.local().is_none()
        && !privacy::is_public(community)
        && state.db.local_member_count(&community.ap_id).await? == 0
    {
        let n = state.db.purge_community_copy(&community.ap_id).await?;
        info!(community = %community.ap_id, records = n, "copy of a confidential community deleted: no member here any more");
    }
    Ok(())
}
