//! The owning node receives proposed edits and answers them.

use super::*;

// ----- federation -----

/// The owning node receives a member's proposal (a `Create` or `Update` of an `Article`).
pub async fn receive_proposal(
    state: &Node,
    env: &Verified,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), Error> {
    let actor = env.actor.as_str();
    let object = env
        .object()
        .document()
        .and_then(Document::article)
        .ok_or_else(|| Error::invalid("no object"))?;
    // Checked below like a local member's title (plain text, kept as written).
    let title = object.title.clone();
    let content = object
        .source
        .clone()
        .filter(|_| object.source_is_markdown)
        .ok_or_else(|| Error::invalid("an article edit needs a markdown source"))?;
    let message = env
        .activity
        .summary
        .as_deref()
        .map(markdown::plain_text)
        .unwrap_or_default();
    let refuse = |reason: &str| reason.to_string();
    // The same rule as for a local member.
    let allowed = crate::service::access::participant(state, community, actor).await;
    let decision: Result<Outcome, String> = if let Err(refusal) = allowed {
        Err(refusal.message)
    } else if content.len() > MAX_ARTICLE || content.trim().is_empty() {
        Err(refuse("the article is empty or larger than 512 KiB"))
    } else if env.kind == ActivityKind::Create {
        match title.as_deref().map(check_title) {
            Some(Ok(title)) => create_owned(
                state,
                group,
                community,
                actor,
                &title,
                &content,
                if message.is_empty() {
                    "Created"
                } else {
                    &message
                },
                None,
                Some(env.id.to_string()),
            )
            .await
            .map(|(article, rev)| Outcome::Applied { article, rev })
            .map_err(|e| e.message),
            Some(Err(e)) => Err(e.message),
            None => Err(refuse("a new article needs a title")),
        }
    } else {
        let article_id = object
            .id
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let base = env.activity.base_revision.clone().unwrap_or_default();
        match state.db.article_by_ap_id(&article_id).await? {
            Some(article) if article.local && article.community == community.ap_id => {
                if article.protected && !moderates(state, &community.ap_id, actor).await? {
                    Err(refuse("this article is protected: only moderators edit it"))
                } else {
                    let title = match title.as_deref().map(check_title) {
                        Some(Ok(t)) => Some(t),
                        Some(Err(_)) | None => None,
                    };
                    apply_edit(
                        state,
                        group,
                        community,
                        &article,
                        actor,
                        &base,
                        &content,
                        title,
                        &message,
                        Some(env.id.to_string()),
                    )
                    .await
                    .map_err(|e| e.message)
                }
            }
            _ => Err(refuse("no such article in this community")),
        }
    };
    match decision {
        Ok(Outcome::Applied { rev, .. }) => {
            info!(edit = %env.id, rev, "article edit applied");
            // An edit that changed nothing produces no Update: tell the editor directly.
            let applied = state.db.revision(&rev).await?;
            if applied.is_some_and(|r| r.edit_id.as_deref() != Some(env.id.as_str())) {
                answer(
                    state,
                    group,
                    community,
                    env,
                    "Accept",
                    json!({"revision": rev}),
                )
                .await?;
            }
            Ok(())
        }
        Ok(Outcome::Conflict { conflict, latest }) => {
            info!(edit = %env.id, "article edit conflicts");
            answer(
                state,
                group,
                community,
                env,
                "Reject",
                json!({"summary": "conflict", "conflict": conflict, "latestRevision": latest}),
            )
            .await
        }
        Ok(Outcome::Rejected { reason }) | Err(reason) => {
            info!(edit = %env.id, reason, "article edit refused");
            answer(
                state,
                group,
                community,
                env,
                "Reject",
                json!({"summary": reason}),
            )
            .await
        }
        Ok(Outcome::Pending { .. }) => Ok(()),
    }
}

/// The community answers a proposal at its author's inbox.
pub(super) async fn answer(
    state: &Node,
    group: &LocalActor,
    community: &CommunityView,
    env: &Verified,
    kind: &str,
    extra: Value,
) -> Result<(), Error> {
    let inbox = remote::personal_inbox(state, env.actor.as_str()).await?;
    let mut reply = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": community.ap_id,
        "to": [env.actor.as_str()],
        "object": env.id.as_str(),
    });
    if let (Some(r), Some(e)) = (reply.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            r.insert(k.clone(), v.clone());
        }
    }
    delivery::send(state, group, &reply, [inbox]).await?;
    Ok(())
}
