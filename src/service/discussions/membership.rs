//! Joining and leaving, approvals and roles: the local side of memberships.

use super::*;

/// Joins a community. Local: accepted at once. Remote: a `Follow` is sent and the membership
/// stays `pending` until the community answers.
pub async fn join(
    state: &Node,
    member: &Member,
    community: &CommunityView,
) -> Result<Membership, Error> {
    let me = member.ap_id(state);
    if state
        .db
        .active_ban(&community.ap_id, &me, now_ms())
        .await?
        .is_some()
    {
        return Err(Error::forbidden("you are banned from this community"));
    }
    let existing = state.db.membership(&community.ap_id, &me).await?;
    if let Some(existing) = &existing {
        if existing.state == MemberState::Accepted {
            return Ok(existing.clone());
        }
    }
    if community.local().is_some() {
        return Ok(state
            .db
            .upsert_membership(NewMembership {
                community: community.ap_id.clone(),
                actor: me,
                user_id: Some(member.user.id),
                role: Role::Member,
                state: if needs_approval(community) {
                    MemberState::Pending
                } else {
                    MemberState::Accepted
                },
                follow_id: None,
                inbox: None,
            })
            .await?);
    }
    let base = state.settings.base_url();
    // An invitation (Mobilizon's `Invite` of its group) is accepted first, as Mobilizon expects;
    // the `Follow` then brings the community's content here, as for every community.
    if let Some(invite) = existing
        .filter(|m| m.state == MemberState::Invited)
        .and_then(|m| m.follow_id)
    {
        let accept = json!({
            "@context": objects::AS_CONTEXT,
            "id": objects::new_id(&base, "activities/accept"),
            "type": "Accept",
            "actor": me,
            "object": invite,
            "to": [community.ap_id],
        });
        send_to_community(state, &member.actor, community, &accept).await?;
    }
    let follow_id = objects::new_id(&base, "activities/follow");
    let follow = json!({
        "@context": objects::AS_CONTEXT,
        "id": follow_id,
        "type": "Follow",
        "actor": me,
        "object": community.ap_id,
        "to": [community.ap_id],
    });
    let membership = state
        .db
        .upsert_membership(NewMembership {
            community: community.ap_id.clone(),
            actor: me,
            user_id: Some(member.user.id),
            role: Role::Member,
            state: MemberState::Pending,
            follow_id: Some(follow_id),
            inbox: None,
        })
        .await?;
    send_to_community(state, &member.actor, community, &follow).await?;
    Ok(membership)
}

pub async fn leave(state: &Node, member: &Member, community: &CommunityView) -> Result<(), Error> {
    let me = member.ap_id(state);
    let existing = state
        .db
        .membership(&community.ap_id, &me)
        .await?
        .ok_or_else(|| Error::not_found("you are not a member of this community"))?;
    if existing.role == Role::Owner {
        return Err(Error::conflict(
            "the owner cannot leave; transfer ownership first",
        ));
    }
    state.db.delete_membership(&community.ap_id, &me).await?;
    if community.local().is_none() {
        let base = state.settings.base_url();
        let follow = json!({
            "id": existing.follow_id,
            "type": "Follow",
            "actor": me,
            "object": community.ap_id,
        });
        let undo = json!({
            "@context": objects::AS_CONTEXT,
            "id": objects::new_id(&base, "activities/undo"),
            "type": "Undo",
            "actor": me,
            "object": follow,
            "to": [community.ap_id],
        });
        send_to_community(state, &member.actor, community, &undo).await?;
        // A confidential community's copy is kept for its members only: when the last one
        // here leaves, it goes.
        drop_copy_if_unread(state, community).await?;
    }
    Ok(())
}

/// Whether a local user may contribute: [`access::participant`].
pub(crate) async fn require_member(
    state: &Node,
    member: &Member,
    community: &CommunityView,
) -> Result<(), Error> {
    access::participant(state, community, &member.ap_id(state)).await
}

/// Whether joining waits for a moderator (communities visible to members only).
pub fn needs_approval(community: &CommunityView) -> bool {
    community.visibility == "members"
}

/// Whether `actor` moderates the local community `community`.
pub(crate) async fn moderates(state: &Node, community: &str, actor: &str) -> Result<bool, Error> {
    access::is_moderator(state, community, actor).await
}

/// A moderator approves or rejects a pending join of a community hosted here. A remote
/// member's node hears the answer as `Accept` or `Reject` of its `Follow`.
pub async fn decide_membership(
    state: &Node,
    moderator: &Member,
    community: &CommunityView,
    membership_id: i64,
    approve: bool,
) -> Result<Option<Membership>, Error> {
    let Some((group, _)) = community.local() else {
        return Err(Error::forbidden(
            "memberships are decided on the community's node",
        ));
    };
    if !moderates(state, &community.ap_id, &moderator.ap_id(state)).await? {
        return Err(Error::forbidden("only moderators decide on members"));
    }
    let membership = state
        .db
        .membership_by_id(membership_id)
        .await?
        .filter(|m| m.community == community.ap_id)
        .ok_or_else(|| Error::not_found("no such member in this community"))?;
    if membership.state != MemberState::Pending {
        return Err(Error::conflict(format!(
            "the membership is {}, not pending",
            membership.state
        )));
    }
    let action = if approve {
        "membership.approve"
    } else {
        "membership.reject"
    };
    state
        .db
        .audit(&moderator.ap_id(state), action, &membership.actor, None)
        .await?;
    if approve {
        state
            .db
            .set_membership_state(&community.ap_id, &membership.actor, MemberState::Accepted)
            .await?;
    } else {
        state
            .db
            .delete_membership(&community.ap_id, &membership.actor)
            .await?;
    }
    if membership.user_id.is_none() {
        let answer = if approve { "Accept" } else { "Reject" };
        let follow = json!({
            "id": membership.follow_id,
            "type": "Follow",
            "actor": membership.actor,
            "object": community.ap_id,
        });
        let reply = json!({
            "@context": objects::AS_CONTEXT,
            "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", answer.to_lowercase())),
            "type": answer,
            "actor": community.ap_id,
            "to": [membership.actor],
            "object": follow,
        });
        let inbox = remote::personal_inbox(state, &membership.actor).await?;
        delivery::send(state, group, &reply, [inbox]).await?;
    }
    Ok(state
        .db
        .membership(&community.ap_id, &membership.actor)
        .await?)
}

/// Sets a member's role (`moderator` or `member`) and title in a community hosted here;
/// moderator changes are announced as `Add`/`Remove` on the moderators collection.
pub async fn set_role(
    state: &Node,
    moderator: &Member,
    community: &CommunityView,
    membership_id: i64,
    role: &str,
    title: Option<&str>,
) -> Result<Membership, Error> {
    if community.local().is_none() {
        return Err(Error::forbidden("roles are set on the community's node"));
    }
    let me = moderator.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(Error::forbidden("only moderators set roles"));
    }
    let role = match role.parse::<Role>() {
        Ok(r @ (Role::Moderator | Role::Member)) => r,
        _ => return Err(Error::refused("role must be moderator or member")),
    };
    if title.is_some_and(|t| t.chars().count() > 100) {
        return Err(Error::refused("a title is at most 100 characters"));
    }
    let membership = state
        .db
        .membership_by_id(membership_id)
        .await?
        .filter(|m| m.community == community.ap_id)
        .ok_or_else(|| Error::not_found("no such member in this community"))?;
    access::moderation(
        state,
        community,
        &me,
        Moderation::Role {
            target: &membership.actor,
        },
    )
    .await?;
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    state
        .db
        .set_membership_role(&community.ap_id, &membership.actor, role, title)
        .await?;
    state
        .db
        .audit(
            &me,
            "membership.role",
            &membership.actor,
            Some(role.as_str()),
        )
        .await?;
    if role != membership.role {
        let base = state.settings.base_url();
        let mut activity = objects::activity(
            &base,
            if role == Role::Moderator {
                "Add"
            } else {
                "Remove"
            },
            &me,
            json!(membership.actor),
            &community.ap_id,
        );
        activity["target"] = json!(format!("{}/moderators", community.ap_id));
        distribute(state, moderator, community, activity, None).await?;
    }
    state
        .db
        .membership_by_id(membership_id)
        .await?
        .ok_or_else(|| Error::not_found("gone"))
}

/// A remote community invites a user of this node (Mobilizon's `Invite{object: Group, target:
/// invitee}`): kept as an invitation the user answers by joining. Sent by the group or one of
/// its members, from the group's own host; invitations to communities of this node are made
/// here.
pub(crate) async fn receive_group_invite(state: &Node, env: &Verified) -> Result<(), Error> {
    let group = env
        .object()
        .id()
        .ok_or_else(|| Error::invalid("an Invite needs an object"))?;
    // Nothing here is fetched on a third host's word.
    if host_of(group) != host_of(&env.actor) {
        return Err(Error::forbidden(
            "only the community's own node invites to it",
        ));
    }
    // An invitation to anything else (an event this node never saw) is dropped, as before.
    let Some(community) = by_url(state, group).await.ok().flatten() else {
        info!(activity = %env.id, "invitation to something unknown here ignored");
        return Ok(());
    };
    let target = env
        .activity
        .target
        .as_ref()
        .ok_or_else(|| Error::invalid("an Invite needs a target"))?;
    let Some(name) = local_user_name(state, target.as_str()) else {
        return Err(Error::invalid("the invitee is not a user of this node"));
    };
    if community.local().is_some() {
        return Err(Error::forbidden(
            "invitations to this node's communities are made on this node",
        ));
    }
    if !host_of(&env.actor).eq_ignore_ascii_case(&community.domain) {
        return Err(Error::forbidden(
            "only the community's own node invites to it",
        ));
    }
    let user = match state.db.local_actor_by_name(name).await? {
        Some(actor) => state.db.user_by_actor(actor.id).await?,
        None => None,
    }
    .ok_or_else(|| Error::not_found("no such user"))?;
    if state
        .db
        .membership(&community.ap_id, target.as_str())
        .await?
        .is_some_and(|m| matches!(m.state, MemberState::Accepted | MemberState::Pending))
    {
        return Ok(());
    }
    state
        .db
        .upsert_membership(NewMembership {
            community: community.ap_id.clone(),
            actor: target.to_string(),
            user_id: Some(user.id),
            role: Role::Member,
            state: MemberState::Invited,
            follow_id: Some(env.id.to_string()),
            inbox: None,
        })
        .await?;
    info!(community = %community.ap_id, invitee = %target, "invitation to a community received");
    Ok(())
}
