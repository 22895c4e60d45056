//! The owning node receives proposed edits and answers them.

use super::*;

// ----- federation -----

/// The owning node receives a member's proposal (a `Create` or `Update` of an `Article`),
/// decides it under the rules local members follow, and answers the editor's node.
pub async fn receive_proposal(
    state: &Node,
    env: &Verified,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), Error> {
    let object = env
        .object()
        .document()
        .and_then(Document::article)
        .ok_or_else(|| Error::invalid("no object"))?;
    let content = object
        .source
        .clone()
        .filter(|_| object.source_is_markdown)
        .ok_or_else(|| Error::invalid("an article edit needs a markdown source"))?;
    let proposal = Proposal {
        state,
        env,
        community,
        group,
        actor: env.actor.as_str(),
        // Checked like a local member's title (plain text, kept as written).
        title: object.title.clone(),
        content,
        message: env
            .activity
            .summary
            .as_deref()
            .map(markdown::plain_text)
            .unwrap_or_default(),
        article: object
            .id
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default(),
    };
    let decision = proposal.decide().await?;
    proposal.answer(decision).await
}

/// A member's proposal at the owning node, read from its activity.
struct Proposal<'a> {
    state: &'a Node,
    env: &'a Verified,
    community: &'a CommunityView,
    group: &'a LocalActor,
    actor: &'a str,
    title: Option<String>,
    content: String,
    message: String,
    /// The article an `Update` edits.
    article: String,
}

impl Proposal<'_> {
    /// What becomes of the proposal; `Err` is a refusal, with the reason the editor is told.
    async fn decide(&self) -> Result<Result<Outcome, String>, Error> {
        // The same rule as for a local member.
        if let Err(refusal) = access::participant(self.state, self.community, self.actor).await {
            return Ok(Err(refusal.message));
        }
        if self.content.len() > MAX_ARTICLE || self.content.trim().is_empty() {
            return Ok(Err("the article is empty or larger than 512 KiB".into()));
        }
        if self.env.kind == ActivityKind::Create {
            Ok(self.new_article().await)
        } else {
            self.edit().await
        }
    }

    async fn new_article(&self) -> Result<Outcome, String> {
        let title = match self.title.as_deref().map(check_title) {
            Some(Ok(title)) => title,
            Some(Err(e)) => return Err(e.message),
            None => return Err("a new article needs a title".into()),
        };
        let message = if self.message.is_empty() {
            "Created"
        } else {
            &self.message
        };
        create_owned(
            self.state,
            self.group,
            self.community,
            self.actor,
            &title,
            &self.content,
            message,
            None,
            Some(self.env.id.to_string()),
        )
        .await
        .map(|(article, rev)| Outcome::Applied { article, rev })
        .map_err(|e| e.message)
    }

    async fn edit(&self) -> Result<Result<Outcome, String>, Error> {
        let (state, community) = (self.state, self.community);
        let article = match state.db.article_by_ap_id(&self.article).await? {
            Some(a) if a.local && a.community == community.ap_id => a,
            _ => return Ok(Err("no such article in this community".into())),
        };
        if article.protected && !moderates(state, &community.ap_id, self.actor).await? {
            return Ok(Err(
                "this article is protected: only moderators edit it".into()
            ));
        }
        // A proposed title that does not pass keeps the current one.
        let title = self.title.as_deref().and_then(|t| check_title(t).ok());
        let base = self.env.activity.base_revision.clone().unwrap_or_default();
        Ok(apply_edit(
            state,
            self.group,
            community,
            &article,
            self.actor,
            &base,
            &self.content,
            title,
            &self.message,
            Some(self.env.id.to_string()),
        )
        .await
        .map_err(|e| e.message))
    }

    /// Tells the editor's node what became of the proposal (an applied edit that produced a
    /// revision is told by the community's `Update` instead).
    async fn answer(&self, decision: Result<Outcome, String>) -> Result<(), Error> {
        let (state, env) = (self.state, self.env);
        let (kind, extra) = match decision {
            Ok(Outcome::Applied { rev, .. }) => {
                info!(edit = %env.id, rev, "article edit applied");
                // An edit that changed nothing produces no Update: tell the editor directly.
                let applied = state.db.revision(&rev).await?;
                if applied.is_none_or(|r| r.edit_id.as_deref() == Some(env.id.as_str())) {
                    return Ok(());
                }
                ("Accept", json!({"revision": rev}))
            }
            Ok(Outcome::Conflict { conflict, latest }) => {
                info!(edit = %env.id, "article edit conflicts");
                (
                    "Reject",
                    json!({"summary": "conflict", "conflict": conflict, "latestRevision": latest}),
                )
            }
            Ok(Outcome::Rejected { reason }) | Err(reason) => {
                info!(edit = %env.id, reason, "article edit refused");
                ("Reject", json!({"summary": reason}))
            }
            Ok(Outcome::Pending { .. }) => return Ok(()),
        };
        answer(state, self.group, self.community, env, kind, extra).await
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
