//! Bans: the local side.

use super::*;

/// Bans `target` (an actor id) from a community hosted here.
pub async fn ban(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    target: &str,
    reason: Option<String>,
    expires_at: Option<i64>,
) -> Result<(), Error> {
    let me = member.ap_id(state);
    if community.local().is_some() {
        access::moderation(state, community, &me, Moderation::Ban { target }).await?;
    } else {
        // A moderator elsewhere: checked here as far as this node knows the roles, and again
        // by the community's node, which decides.
        if !moderates(state, &community.ap_id, &me).await? {
            return Err(Error::forbidden("only moderators of the community can ban"));
        }
        if target == me {
            return Err(Error::refused("you cannot ban yourself"));
        }
        if moderates(state, &community.ap_id, target).await? {
            return Err(Error::forbidden("moderators cannot be banned"));
        }
    }
    if expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(Error::refused("the ban would already be over"));
    }
    let audit_reason = reason.clone();
    let base = state.settings.base_url();
    let mut block = objects::activity(&base, "Block", &me, json!(target), &community.ap_id);
    block["target"] = json!(community.ap_id);
    if let Some(reason) = &reason {
        block["summary"] = json!(reason);
    }
    if let Some(t) = expires_at {
        block["endTime"] = json!(objects::rfc3339(t));
    }
    let mut jobs = plan(state, member, community, &block, None).await?;
    let mut writes = Vec::new();
    if community.local().is_some() {
        writes.push(Write::Ban {
            community: community.ap_id.clone(),
            actor: target.to_string(),
            reason,
            expires_at,
        });
        // Someone banned from a confidential community stops being a member, so their node
        // stops receiving it unless others there still belong; it is told so.
        if !privacy::is_public(community) {
            writes.push(Write::DeleteMembership {
                community: community.ap_id.clone(),
                actor: target.to_string(),
            });
            if let (Some((group, _)), Some(m)) = (
                community.local(),
                state.db.membership(&community.ap_id, target).await?,
            ) {
                jobs.extend(farewell_jobs(state, group, &m));
            }
        }
    }
    state
        .db
        .apply_and_enqueue(&writes, jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    state
        .db
        .audit(&me, "community.ban", target, audit_reason.as_deref())
        .await?;
    Ok(())
}

pub async fn unban(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    target: &str,
) -> Result<(), Error> {
    let me = member.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(Error::forbidden(
            "only moderators of the community can unban",
        ));
    }
    if community.local().is_some()
        && state
            .db
            .active_ban(&community.ap_id, target, now_ms())
            .await?
            .is_none()
    {
        return Err(Error::not_found("that actor is not banned here"));
    }
    let base = state.settings.base_url();
    let mut block = json!({"type": "Block", "actor": me, "object": target});
    block["target"] = json!(community.ap_id);
    let undo = objects::activity(&base, "Undo", &me, block, &community.ap_id);
    let jobs = plan(state, member, community, &undo, None).await?;
    let writes = match community.local() {
        Some(_) => vec![Write::Unban {
            community: community.ap_id.clone(),
            actor: target.to_string(),
        }],
        None => Vec::new(),
    };
    state
        .db
        .apply_and_enqueue(&writes, jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    state.db.audit(&me, "community.unban", target, None).await?;
    Ok(())
}
