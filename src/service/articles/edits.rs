//! Writing articles: create, edit (fast-forward, three-way merge, conflict), propose to the owning node, protect, revert, review.

use super::*;

// ----- local use cases -----

pub struct NewArticleInput {
    pub title: String,
    pub content: String,
    pub message: Option<String>,
    pub review_interval_days: Option<i32>,
}

pub async fn create(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    input: NewArticleInput,
) -> Result<Outcome, Error> {
    let title = check_title(&input.title)?;
    check_content(&input.content)?;
    if input
        .review_interval_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(Error::refused(
            "review_interval_days must be between 1 and 3650",
        ));
    }
    require_member(state, member, community).await?;
    let message = input.message.unwrap_or_else(|| "Created".into());
    let me = member.ap_id(state);
    match community.local() {
        Some((group, _)) => {
            let (article, rev) = create_owned(
                state,
                group,
                community,
                &me,
                &title,
                &input.content,
                &message,
                input.review_interval_days,
                None,
            )
            .await?;
            Ok(Outcome::Applied { article, rev })
        }
        None => {
            let base = state.settings.base_url();
            let edit_id = objects::new_id(&base, "edits");
            let proposal = json!({
                "@context": AS_CONTEXT,
                "id": edit_id,
                "type": "Create",
                "actor": me,
                "to": [community.ap_id],
                "audience": community.ap_id,
                "summary": message,
                "object": {
                    "type": "Article",
                    "name": title,
                    "source": {"content": input.content, "mediaType": "text/markdown"},
                    "attributedTo": me,
                },
            });
            propose(
                state,
                member,
                community,
                proposal,
                None,
                None,
                Some(title),
                input.content,
                message,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn create_owned(
    state: &Node,
    group: &LocalActor,
    community: &CommunityView,
    author: &str,
    title: &str,
    content: &str,
    message: &str,
    review_interval_days: Option<i32>,
    edit_id: Option<String>,
) -> Result<(Article, String), Error> {
    let base = state.settings.base_url();
    let ap_id = objects::new_id(&base, "a");
    let slug = unique_slug(state, &community.ap_id, title).await?;
    let now = now_ms();
    let first = NewRevision {
        rev_id: revision_id(&ap_id, None, author, title, content),
        parent_rev: None,
        author: author.to_string(),
        message: message.to_string(),
        title: title.to_string(),
        content: content.to_string(),
        edit_id,
        created_at: now,
    };
    let draft = Article {
        id: 0,
        ap_id: ap_id.clone(),
        community: community.ap_id.clone(),
        title: title.to_string(),
        slug: slug.clone(),
        current_rev: first.rev_id.clone(),
        protected: false,
        review_interval_days,
        last_reviewed_at: None,
        last_reviewed_by: None,
        local: true,
        created_at: now,
        updated_at: now,
    };
    let jobs = owner_jobs(
        state,
        group,
        "Create",
        &draft,
        &draft_revision(&first),
        &[author.to_string()],
        &community.mention(),
    )
    .await?;
    let rev = first.rev_id.clone();
    let article = state
        .db
        .insert_article(
            NewArticle {
                ap_id,
                community: community.ap_id.clone(),
                slug,
                review_interval_days,
                local: true,
            },
            first,
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup);
    Ok((article, rev))
}

pub struct EditInput {
    pub content: String,
    pub base_revision: String,
    pub title: Option<String>,
    pub message: Option<String>,
}

pub async fn edit(
    state: &Node,
    member: &Member,
    article: &Article,
    input: EditInput,
) -> Result<Outcome, Error> {
    check_content(&input.content)?;
    let title = input.title.as_deref().map(check_title).transpose()?;
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| Error::not_found("the article's community is unknown"))?;
    require_member(state, member, &community).await?;
    let me = member.ap_id(state);
    if article.protected && !moderates(state, &community.ap_id, &me).await? {
        return Err(Error::forbidden(
            "this article is protected: only moderators edit it",
        ));
    }
    let message = input.message.unwrap_or_default();
    match community.local() {
        Some((group, _)) => {
            apply_edit(
                state,
                group,
                &community,
                article,
                &me,
                &input.base_revision,
                &input.content,
                title,
                &message,
                None,
            )
            .await
        }
        None => {
            let base = state.settings.base_url();
            let edit_id = objects::new_id(&base, "edits");
            let mut object = json!({
                "type": "Article",
                "id": article.ap_id,
                "source": {"content": input.content, "mediaType": "text/markdown"},
            });
            if let Some(t) = &title {
                object["name"] = json!(t);
            }
            let proposal = json!({
                "@context": AS_CONTEXT,
                "id": edit_id,
                "type": "Update",
                "actor": me,
                "to": [community.ap_id],
                "audience": community.ap_id,
                "summary": message,
                "baseRevision": input.base_revision,
                "object": object,
            });
            propose(
                state,
                member,
                &community,
                proposal,
                Some(article.ap_id.clone()),
                Some(input.base_revision),
                title,
                input.content,
                message,
            )
            .await
        }
    }
}

/// Sends a proposal to a remote community and waits (within `articles.edit_wait_ms`) for the
/// owner's decision. The proposal is recorded with its delivery in one transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn propose(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    proposal: Value,
    article: Option<String>,
    base_rev: Option<String>,
    title: Option<String>,
    content: String,
    message: String,
) -> Result<Outcome, Error> {
    let remote = community.remote().ok_or_else(Error::internal)?;
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| Error::invalid("the community has no valid inbox"))?;
    let edit_id = proposal["id"].as_str().unwrap_or_default().to_string();
    let mut proposal = proposal;
    crate::service::privacy::address(&mut proposal, community);
    let jobs = delivery::jobs_for(state, &member.actor, &proposal, [inbox]);
    state
        .db
        .insert_edit(
            ArticleEdit {
                id: 0,
                edit_id: edit_id.clone(),
                article,
                community: community.ap_id.clone(),
                user_id: member.user.id,
                base_rev,
                title,
                content,
                message,
                state: "pending".into(),
                result_rev: None,
                conflict: None,
                latest_rev: None,
                reason: None,
                created_at: now_ms(),
                decided_at: None,
            },
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup);
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(state.settings.articles.edit_wait_ms);
    loop {
        let edit = state
            .db
            .edit_by_edit_id(&edit_id)
            .await?
            .ok_or_else(Error::internal)?;
        if edit.state != "pending" || tokio::time::Instant::now() >= deadline {
            return outcome_of(state, edit).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The outcome a recorded proposal stands at.
pub async fn outcome_of(state: &Node, edit: ArticleEdit) -> Result<Outcome, Error> {
    Ok(match edit.state.as_str() {
        "applied" => {
            let rev = edit.result_rev.clone().unwrap_or_default();
            let article = match state.db.revision(&rev).await? {
                Some(r) => state.db.article(r.article_id).await?,
                None => None,
            };
            match article {
                Some(article) => Outcome::Applied { article, rev },
                None => Outcome::Pending { edit },
            }
        }
        "conflict" => Outcome::Conflict {
            conflict: edit.conflict.unwrap_or_default(),
            latest: edit.latest_rev.unwrap_or_default(),
        },
        "rejected" => Outcome::Rejected {
            reason: edit
                .reason
                .unwrap_or_else(|| "refused by the community".into()),
        },
        _ => Outcome::Pending { edit },
    })
}

/// The owner applies an edit based on `base_rev`: fast-forward, clean merge, or conflict.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_edit(
    state: &Node,
    group: &LocalActor,
    community: &CommunityView,
    article: &Article,
    author: &str,
    base_rev: &str,
    proposed: &str,
    title: Option<String>,
    message: &str,
    edit_id: Option<String>,
) -> Result<Outcome, Error> {
    let base = state
        .db
        .revision(base_rev)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| Error::refused("base_revision is not a revision of this article"))?;
    // A concurrent writer can move the head between reading and writing: retry on the new head.
    for _ in 0..5 {
        let article = state
            .db
            .article(article.id)
            .await?
            .ok_or_else(|| Error::not_found("the article is gone"))?;
        let latest = state
            .db
            .revision(&article.current_rev)
            .await?
            .ok_or_else(Error::internal)?;
        let merged = match three_way(&base, &latest, proposed).await? {
            Ok(text) => text,
            Err(conflict) => {
                return Ok(Outcome::Conflict {
                    conflict,
                    latest: latest.rev_id,
                })
            }
        };
        // Only a title the editor changed counts, so a stale title does not undo a rename.
        let new_title = match &title {
            Some(t) if *t != base.title => t.clone(),
            _ => latest.title.clone(),
        };
        if merged == latest.content && new_title == latest.title {
            return Ok(Outcome::Applied {
                rev: latest.rev_id.clone(),
                article,
            });
        }
        let revision = NewRevision {
            rev_id: revision_id(
                &article.ap_id,
                Some(&latest.rev_id),
                author,
                &new_title,
                &merged,
            ),
            parent_rev: Some(latest.rev_id.clone()),
            author: author.to_string(),
            message: message.to_string(),
            title: new_title.clone(),
            content: merged,
            edit_id: edit_id.clone(),
            created_at: now_ms(),
        };
        let new_slug = if new_title != latest.title {
            renamed_slug(state, &article, &new_title).await?
        } else {
            None
        };
        let jobs = revision_jobs(state, group, community, &article, &revision, &new_slug).await?;
        let rev = revision.rev_id.clone();
        if state
            .db
            .append_revision(&article, &latest.rev_id, revision, new_slug, jobs)
            .await?
            .wake(&state.delivery_wakeup)
        {
            let article = state
                .db
                .article(article.id)
                .await?
                .ok_or_else(Error::internal)?;
            return Ok(Outcome::Applied { article, rev });
        }
    }
    Err(Error::conflict(
        "the article is changing too fast; try again",
    ))
}

/// The text a proposal based on `base` becomes on top of `latest`: the proposal itself when
/// nothing moved, a clean three-way merge, or (`Err`) the conflict with its markers.
async fn three_way(
    base: &Revision,
    latest: &Revision,
    proposed: &str,
) -> Result<Result<String, String>, Error> {
    if latest.rev_id == base.rev_id {
        return Ok(Ok(proposed.to_string()));
    }
    let (ancestor, ours, theirs) = (
        base.content.clone(),
        latest.content.clone(),
        proposed.to_string(),
    );
    bounded_diff(
        &[&base.content, &latest.content, proposed],
        "an automatic merge",
        move || diffy::merge(&ancestor, &ours, &theirs),
    )
    .await
}

/// The slug a renamed article takes (none when its slug already fits the new title).
async fn renamed_slug(
    state: &Node,
    article: &Article,
    new_title: &str,
) -> Result<Option<String>, Error> {
    let candidate = slugify(new_title);
    Ok(
        match state
            .db
            .article_by_slug(&article.community, &candidate)
            .await?
        {
            Some(a) if a.id == article.id => None,
            _ => Some(unique_slug(state, &article.community, new_title).await?),
        },
    )
}

/// The community's `Update(Article)` to its followers for a new revision of `article`.
async fn revision_jobs(
    state: &Node,
    group: &LocalActor,
    community: &CommunityView,
    article: &Article,
    revision: &NewRevision,
    new_slug: &Option<String>,
) -> Result<Vec<NewJob>, Error> {
    let mut authors = state.db.article_authors(article.id).await?;
    if !authors.contains(&revision.author) {
        authors.push(revision.author.clone());
    }
    let mut after = article.clone();
    after.title = revision.title.clone();
    if let Some(slug) = new_slug {
        after.slug = slug.clone();
    }
    after.current_rev = revision.rev_id.clone();
    owner_jobs(
        state,
        group,
        "Update",
        &after,
        &draft_revision(revision),
        &authors,
        &community.mention(),
    )
    .await
}

/// Moderators of the owning node protect an article (only moderators edit it) or lift that.
pub async fn protect(
    state: &Node,
    member: &Member,
    article: &Article,
    protected: bool,
) -> Result<(), Error> {
    owner_moderator(state, member, article).await?;
    state
        .db
        .set_article_protected(article.id, protected)
        .await?;
    let action = if protected {
        "article.protect"
    } else {
        "article.unprotect"
    };
    state
        .db
        .audit(&member.ap_id(state), action, &article.ap_id, None)
        .await?;
    Ok(())
}

/// A moderator reverts to an old revision: a new revision with that text, history intact.
pub async fn revert(
    state: &Node,
    member: &Member,
    article: &Article,
    to: &str,
) -> Result<Outcome, Error> {
    let (group, community) = owner_moderator(state, member, article).await?;
    let target = state
        .db
        .revision(to)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| Error::not_found("no such revision of this article"))?;
    let me = member.ap_id(state);
    state
        .db
        .audit(&me, "article.revert", &article.ap_id, Some(&target.rev_id))
        .await?;
    let short: String = target.rev_id.chars().take(12).collect();
    apply_edit(
        state,
        &group,
        &community,
        article,
        &me,
        &article.current_rev,
        &target.content,
        Some(target.title.clone()),
        &format!("Revert to {short}"),
        None,
    )
    .await
}

pub(super) async fn owner_moderator(
    state: &Node,
    member: &Member,
    article: &Article,
) -> Result<(LocalActor, CommunityView), Error> {
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| Error::not_found("the article's community is unknown"))?;
    let Some((group, _)) = community.local().cloned() else {
        return Err(Error::forbidden(
            "this is done on the node that owns the article",
        ));
    };
    if !moderates(state, &community.ap_id, &member.ap_id(state)).await? {
        return Err(Error::forbidden("only moderators can do this"));
    }
    Ok((group, community))
}

/// A member confirms the article is still correct (optionally setting the review interval).
pub async fn review(
    state: &Node,
    member: &Member,
    article: &Article,
    interval_days: Option<i32>,
) -> Result<(), Error> {
    if interval_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(Error::refused("interval_days must be between 1 and 3650"));
    }
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| Error::not_found("the article's community is unknown"))?;
    require_member(state, member, &community).await?;
    state
        .db
        .record_review(article.id, &member.ap_id(state), now_ms(), interval_days)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, content: &str) -> Revision {
        Revision {
            id: 0,
            article_id: 1,
            rev_id: id.into(),
            parent_rev: None,
            author: "https://a.example/u/ada".into(),
            message: String::new(),
            title: "Runbook".into(),
            content: content.into(),
            seq: 1,
            edit_id: None,
            created_at: 0,
        }
    }

    /// The three-way merge decision: fast-forward, clean merge, or the conflict with markers.
    #[tokio::test]
    async fn a_proposal_fast_forwards_merges_or_conflicts() {
        let base = rev("base", "one\ntwo\nthree\n");
        let cases = [
            // Nothing moved since the base: the proposal is the new text.
            (
                rev("base", "one\ntwo\nthree\n"),
                "one\n2\nthree\n",
                Ok("one\n2\nthree\n"),
            ),
            // The head changed another line: both changes are kept.
            (
                rev("head", "one\ntwo\nthree\nfour\n"),
                "ONE\ntwo\nthree\n",
                Ok("ONE\ntwo\nthree\nfour\n"),
            ),
            // The head changed the same line: a conflict, nothing merged.
            (
                rev("head", "one\nTWO\nthree\n"),
                "one\nzwei\nthree\n",
                Err(()),
            ),
        ];
        for (latest, proposed, expected) in cases {
            let got = three_way(&base, &latest, proposed).await.expect("merged");
            match (got, expected) {
                (Ok(text), Ok(want)) => assert_eq!(text, want, "{proposed:?}"),
                (Err(conflict), Err(())) => {
                    assert!(
                        conflict.contains("<<<<<<<") && conflict.contains("zwei"),
                        "{conflict}"
                    )
                }
                (got, want) => panic!("{proposed:?}: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_merge_of_overlong_texts_is_refused() {
        let long = "line\n".repeat(MAX_DIFF_LINES + 1);
        let base = rev("base", "x\n");
        let err = three_way(&base, &rev("head", &long), "y\n")
            .await
            .expect_err("refused");
        assert_eq!(err.kind, crate::service::error::Kind::Refused);
    }
}
