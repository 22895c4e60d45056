//! Knowledge articles: a versioned knowledge base in every community, owned by the community's
//! node, which orders every change.
//!
//! Every edit is a revision holding the full markdown text, identified by a content hash that
//! every node computes the same way (and checks on receipt). An edit names the revision it was
//! based on; if the article moved on since, the owner three-way merges base → latest and
//! base → proposed. A clean merge becomes a new revision; a conflict stores nothing and answers
//! with the conflicting text (with markers) and the latest revision. Members on other nodes
//! propose edits to the owner (`Update` with `baseRevision`); the owner decides and either
//! sends the new revision to every follower (`Update(Article)` from the community) or answers
//! the editor's node with a `Reject` carrying the conflict.

use crate::{
    app::AppState,
    db::{
        articles::{Article, ArticleEdit, NewArticle, NewRevision, Revision},
        now_ms,
        queue::NewJob,
        LocalActor,
    },
    error::ApiError,
    federation::{
        activities::Envelope,
        actors::host_of,
        delivery,
        objects::{self, id_of, rfc3339, AS_CONTEXT, PUBLIC},
    },
    markdown,
    service::{
        discussions::{
            broadcast_jobs, check_title, inner_kind, known, moderates, require_member,
            CommunityView, Member,
        },
        remote,
    },
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tracing::{info, warn};
use url::Url;

/// Largest article text, in bytes.
pub const MAX_ARTICLE: usize = 512 * 1024;
/// Revisions per page of an article's history collection.
const HISTORY_PAGE: u64 = 10;
/// Most revisions one page of the API's history list holds (`?limit=N`, default and maximum).
pub const MAX_REVISIONS_LISTED: u64 = 100;
/// Most lines a text may have to be diffed or merged. Myers' diff costs up to the product of
/// the two lengths: two unrelated texts of this size take about 0.2 s of one core.
pub const MAX_DIFF_LINES: usize = 4_000;
/// How long a diff or merge waits for a free slot before the request is answered 503.
const DIFF_WAIT: Duration = Duration::from_secs(10);

/// Diffs and merges run on the blocking pool, never on the async runtime, and at most one per
/// core at a time.
static DIFF_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs `work` (a diff or a merge of `texts`) off the async runtime behind [`DIFF_SLOTS`].
/// Texts of more than [`MAX_DIFF_LINES`] lines are refused with 422 before any work.
pub fn bounded_diff<T: Send + 'static>(
    texts: &[&str],
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Result<T, ApiError>> {
    // Checked before the future exists, so it borrows nothing.
    let too_long = texts.iter().any(|t| t.lines().count() > MAX_DIFF_LINES);
    let refusal = format!("{what} compares texts of at most {MAX_DIFF_LINES} lines");
    async move {
        if too_long {
            return Err(ApiError::unprocessable(refusal));
        }
        run_blocking_diff(work).await
    }
}

async fn run_blocking_diff<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let slot = tokio::time::timeout(DIFF_WAIT, DIFF_SLOTS.acquire())
        .await
        .map_err(|_| ApiError::unavailable("the node is busy comparing texts; try again later"))?
        .map_err(|_| ApiError::internal())?;
    // The slot goes with the work, so a client that hangs up does not free it early.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| {
        warn!(error = %e, "a diff or merge failed");
        ApiError::internal()
    })
}

/// The id of a revision: a hash of everything it consists of, the same on every node.
pub fn revision_id(
    article: &str,
    parent: Option<&str>,
    author: &str,
    title: &str,
    content: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [article, parent.unwrap_or(""), author, title, content] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A URL slug from any Unicode title: lowercase letters and digits joined by dashes.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c);
        } else {
            dash = true;
        }
        if slug.chars().count() >= 80 {
            break;
        }
    }
    if slug.is_empty() {
        "article".into()
    } else {
        slug
    }
}

async fn unique_slug(state: &AppState, community: &str, title: &str) -> Result<String, ApiError> {
    let base = slugify(title);
    let mut candidate = base.clone();
    let mut n = 2;
    while state.db.slug_taken(community, &candidate).await? {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Plain-text summary: the first paragraph, at most 500 characters.
pub fn summary_of(content_md: &str) -> String {
    let html = markdown::render(content_md);
    let first = html.split("</p>").next().unwrap_or(&html);
    let text = markdown::plain_text(first);
    let text = if text.is_empty() {
        markdown::plain_text(&html)
    } else {
        text
    };
    markdown::excerpt(&text, 500)
}

fn check_content(content: &str) -> Result<(), ApiError> {
    if content.trim().is_empty() {
        return Err(ApiError::unprocessable("the article is empty"));
    }
    if content.len() > MAX_ARTICLE {
        return Err(ApiError::unprocessable("an article is at most 512 KiB"));
    }
    Ok(())
}

/// What became of a create or edit.
#[derive(Debug)]
pub enum Outcome {
    /// Stored as `rev` (also when nothing changed: then `rev` is the unchanged head).
    Applied { article: Article, rev: String },
    /// Nothing stored; the editor resolves `conflict` against `latest` and resubmits.
    Conflict { conflict: String, latest: String },
    /// The owner refused it.
    Rejected { reason: String },
    /// The owner has not answered yet; the proposal stays recorded and resolves later.
    Pending { edit: ArticleEdit },
}

// ----- documents -----

/// The `Article` document of `article` at revision `rev`.
pub fn article_json(article: &Article, rev: &Revision, authors: &[String], mention: &str) -> Value {
    json!({
        "@context": [AS_CONTEXT, {"roundtable": "https://roundtable.example/ns#",
            "revision": "roundtable:revision", "history": {"@id": "roundtable:history", "@type": "@id"}}],
        "id": article.ap_id,
        "type": "Article",
        "name": rev.title,
        "summary": summary_of(&rev.content),
        "content": markdown::render(&rev.content),
        "mediaType": "text/html",
        "source": {"content": rev.content, "mediaType": "text/markdown"},
        "url": article.ap_id,
        "attributedTo": authors,
        "audience": article.community,
        "to": [article.community, PUBLIC],
        "cc": [format!("{}/followers", article.community)],
        "tag": [{"type": "Mention", "href": article.community, "name": mention}],
        "published": rfc3339(article.created_at),
        "updated": rfc3339(rev.created_at),
        "revision": revision_json(rev),
        "history": format!("{}/history", article.ap_id),
    })
}

fn revision_json(rev: &Revision) -> Value {
    json!({
        "id": rev.rev_id,
        "parent": rev.parent_rev,
        "author": rev.author,
        "message": rev.message,
        "published": rfc3339(rev.created_at),
        "edit": rev.edit_id,
    })
}

fn draft_revision(r: &NewRevision) -> Revision {
    Revision {
        id: 0,
        article_id: 0,
        rev_id: r.rev_id.clone(),
        parent_rev: r.parent_rev.clone(),
        author: r.author.clone(),
        message: r.message.clone(),
        title: r.title.clone(),
        content: r.content.clone(),
        seq: 0,
        edit_id: r.edit_id.clone(),
        created_at: r.created_at,
    }
}

/// The community's `Create`/`Update` of the article at `rev`, to every follower inbox.
async fn owner_jobs(
    state: &AppState,
    group: &LocalActor,
    kind: &str,
    article: &Article,
    rev: &Revision,
    authors: &[String],
    mention: &str,
) -> Result<Vec<NewJob>, ApiError> {
    let base = state.settings.base_url();
    let activity = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": article.community,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", article.community)],
        "audience": article.community,
        "object": article_json(article, rev, authors, mention),
    });
    let mut activities = vec![activity];
    // Mastodon followers see new articles through a plain Announce of the id.
    if kind == "Create" {
        activities.push(objects::announce(
            &base,
            &article.community,
            json!(article.ap_id),
        ));
    }
    broadcast_jobs(state, group, &article.community, activities, Vec::new()).await
}

// ----- local use cases -----

pub struct NewArticleInput {
    pub title: String,
    pub content: String,
    pub message: Option<String>,
    pub review_interval_days: Option<i32>,
}

pub async fn create(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    input: NewArticleInput,
) -> Result<Outcome, ApiError> {
    let title = check_title(&input.title)?;
    check_content(&input.content)?;
    if input
        .review_interval_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(ApiError::unprocessable(
            "review_interval_days must be between 1 and 3650",
        ));
    }
    require_member(state, member, community).await?;
    let message = input.message.unwrap_or_else(|| "Created".into());
    let me = member.ap_id(state);
    match &community.local {
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
async fn create_owned(
    state: &AppState,
    group: &LocalActor,
    community: &CommunityView,
    author: &str,
    title: &str,
    content: &str,
    message: &str,
    review_interval_days: Option<i32>,
    edit_id: Option<String>,
) -> Result<(Article, String), ApiError> {
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
        .await?;
    state.delivery_wakeup.notify_waiters();
    Ok((article, rev))
}

pub struct EditInput {
    pub content: String,
    pub base_revision: String,
    pub title: Option<String>,
    pub message: Option<String>,
}

pub async fn edit(
    state: &AppState,
    member: &Member,
    article: &Article,
    input: EditInput,
) -> Result<Outcome, ApiError> {
    check_content(&input.content)?;
    let title = input.title.as_deref().map(check_title).transpose()?;
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the article's community is unknown"))?;
    require_member(state, member, &community).await?;
    let me = member.ap_id(state);
    if article.protected && !moderates(state, &community.ap_id, &me).await? {
        return Err(ApiError::forbidden(
            "this article is protected: only moderators edit it",
        ));
    }
    let message = input.message.unwrap_or_default();
    match &community.local {
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
async fn propose(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    proposal: Value,
    article: Option<String>,
    base_rev: Option<String>,
    title: Option<String>,
    content: String,
    message: String,
) -> Result<Outcome, ApiError> {
    let remote = community.remote.as_ref().ok_or_else(ApiError::internal)?;
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| ApiError::bad_request("the community has no valid inbox"))?;
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
        .await?;
    state.delivery_wakeup.notify_waiters();
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(state.settings.articles.edit_wait_ms);
    loop {
        let edit = state
            .db
            .edit_by_edit_id(&edit_id)
            .await?
            .ok_or_else(ApiError::internal)?;
        if edit.state != "pending" || tokio::time::Instant::now() >= deadline {
            return outcome_of(state, edit).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The outcome a recorded proposal stands at.
pub async fn outcome_of(state: &AppState, edit: ArticleEdit) -> Result<Outcome, ApiError> {
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
async fn apply_edit(
    state: &AppState,
    group: &LocalActor,
    community: &CommunityView,
    article: &Article,
    author: &str,
    base_rev: &str,
    proposed: &str,
    title: Option<String>,
    message: &str,
    edit_id: Option<String>,
) -> Result<Outcome, ApiError> {
    let base = state
        .db
        .revision(base_rev)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| {
            ApiError::unprocessable("base_revision is not a revision of this article")
        })?;
    // A concurrent writer can move the head between reading and writing: retry on the new head.
    for _ in 0..5 {
        let article = state
            .db
            .article(article.id)
            .await?
            .ok_or_else(|| ApiError::not_found("the article is gone"))?;
        let latest = state
            .db
            .revision(&article.current_rev)
            .await?
            .ok_or_else(ApiError::internal)?;
        let merged = if latest.rev_id == base.rev_id {
            proposed.to_string()
        } else {
            let (ancestor, ours, theirs) = (
                base.content.clone(),
                latest.content.clone(),
                proposed.to_string(),
            );
            let merged = bounded_diff(
                &[&base.content, &latest.content, proposed],
                "an automatic merge",
                move || diffy::merge(&ancestor, &ours, &theirs),
            )
            .await?;
            match merged {
                Ok(text) => text,
                Err(conflict) => {
                    return Ok(Outcome::Conflict {
                        conflict,
                        latest: latest.rev_id,
                    })
                }
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
            let candidate = slugify(&new_title);
            match state
                .db
                .article_by_slug(&article.community, &candidate)
                .await?
            {
                Some(a) if a.id == article.id => None,
                _ => Some(unique_slug(state, &article.community, &new_title).await?),
            }
        } else {
            None
        };
        let mut authors = state.db.article_authors(article.id).await?;
        if !authors.iter().any(|a| a == author) {
            authors.push(author.to_string());
        }
        let mut after = article.clone();
        after.title = new_title;
        if let Some(slug) = &new_slug {
            after.slug = slug.clone();
        }
        after.current_rev = revision.rev_id.clone();
        let jobs = owner_jobs(
            state,
            group,
            "Update",
            &after,
            &draft_revision(&revision),
            &authors,
            &community.mention(),
        )
        .await?;
        let rev = revision.rev_id.clone();
        if state
            .db
            .append_revision(&article, &latest.rev_id, revision, new_slug, jobs)
            .await?
        {
            state.delivery_wakeup.notify_waiters();
            let article = state
                .db
                .article(article.id)
                .await?
                .ok_or_else(ApiError::internal)?;
            return Ok(Outcome::Applied { article, rev });
        }
    }
    Err(ApiError::conflict(
        "the article is changing too fast; try again",
    ))
}

/// Moderators of the owning node protect an article (only moderators edit it) or lift that.
pub async fn protect(
    state: &AppState,
    member: &Member,
    article: &Article,
    protected: bool,
) -> Result<(), ApiError> {
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
    state: &AppState,
    member: &Member,
    article: &Article,
    to: &str,
) -> Result<Outcome, ApiError> {
    let (group, community) = owner_moderator(state, member, article).await?;
    let target = state
        .db
        .revision(to)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| ApiError::not_found("no such revision of this article"))?;
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

async fn owner_moderator(
    state: &AppState,
    member: &Member,
    article: &Article,
) -> Result<(LocalActor, CommunityView), ApiError> {
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the article's community is unknown"))?;
    let Some((group, _)) = community.local.clone() else {
        return Err(ApiError::forbidden(
            "this is done on the node that owns the article",
        ));
    };
    if !moderates(state, &community.ap_id, &member.ap_id(state)).await? {
        return Err(ApiError::forbidden("only moderators can do this"));
    }
    Ok((group, community))
}

/// A member confirms the article is still correct (optionally setting the review interval).
pub async fn review(
    state: &AppState,
    member: &Member,
    article: &Article,
    interval_days: Option<i32>,
) -> Result<(), ApiError> {
    if interval_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ApiError::unprocessable(
            "interval_days must be between 1 and 3650",
        ));
    }
    let community = known(state, &article.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the article's community is unknown"))?;
    require_member(state, member, &community).await?;
    state
        .db
        .record_review(article.id, &member.ap_id(state), now_ms(), interval_days)
        .await?;
    Ok(())
}

// ----- federation -----

/// Whether an incoming activity is about articles.
pub fn concerns_articles(env: &Envelope) -> bool {
    env.body
        .get("object")
        .is_some_and(|o| inner_kind(o) == "Article")
}

/// The owning node receives a member's proposal (a `Create` or `Update` of an `Article`).
pub async fn receive_proposal(
    state: &AppState,
    env: &Envelope,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), ApiError> {
    let actor = env.actor.as_str();
    let body = &env.body;
    let object = body
        .get("object")
        .ok_or_else(|| ApiError::bad_request("no object"))?;
    // Checked below like a local member's title (plain text, kept as written).
    let title = object
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let content = object
        .get("source")
        .filter(|s| s.get("mediaType").and_then(Value::as_str) == Some("text/markdown"))
        .and_then(|s| s.get("content"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("an article edit needs a markdown source"))?;
    let message = body
        .get("summary")
        .and_then(Value::as_str)
        .map(markdown::plain_text)
        .unwrap_or_default();
    let refuse = |reason: &str| reason.to_string();
    // The same rule as for a local member.
    let allowed = crate::service::access::participant(state, community, actor).await;
    let decision: Result<Outcome, String> = if let Err(refusal) = allowed {
        Err(refusal.message)
    } else if content.len() > MAX_ARTICLE || content.trim().is_empty() {
        Err(refuse("the article is empty or larger than 512 KiB"))
    } else if env.type_name == "Create" {
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
        let article_id = id_of(Some(object))
            .map(|u| u.to_string())
            .unwrap_or_default();
        let base = body
            .get("baseRevision")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
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
async fn answer(
    state: &AppState,
    group: &LocalActor,
    community: &CommunityView,
    env: &Envelope,
    kind: &str,
    extra: Value,
) -> Result<(), ApiError> {
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

/// A replica receives the owning community's `Create`/`Update` of an article.
pub async fn receive_from_owner(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let object = env
        .body
        .get("object")
        .ok_or_else(|| ApiError::bad_request("no object"))?;
    let Some(community) = known(state, env.actor.as_str()).await? else {
        return Err(ApiError::forbidden(
            "articles are only accepted from their community",
        ));
    };
    if community.local.is_some() {
        return Ok(());
    }
    let article_url = id_of(Some(object)).ok_or_else(|| ApiError::bad_request("no article id"))?;
    let audience = id_of(object.get("audience")).map(|u| u.to_string());
    if audience.as_deref() != Some(community.ap_id.as_str())
        || host_of(&article_url) != host_of(&env.actor)
    {
        return Err(ApiError::forbidden(
            "an article is only accepted from the community that owns it",
        ));
    }
    // Replicated only while someone here is an accepted member.
    if state.db.local_member_count(&community.ap_id).await? == 0 {
        return Ok(());
    }
    store_replica_revision(state, &community, object, 0).await
}

/// Stores the revision an `Article` document carries, syncing the history first if the
/// replica misses its parent.
pub(crate) async fn store_replica_revision(
    state: &AppState,
    community: &CommunityView,
    doc: &Value,
    depth: usize,
) -> Result<(), ApiError> {
    let ap_id = id_of(Some(doc)).ok_or_else(|| ApiError::bad_request("no article id"))?;
    // Filed only under the community that owns it: the article names it as its audience and
    // lives on its node, whoever relays it.
    let owner_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    if id_of(doc.get("audience")).map(|u| u.to_string()).as_deref()
        != Some(community.ap_id.as_str())
        || host_of(&ap_id) != owner_host
    {
        return Err(ApiError::forbidden(
            "an article is only accepted from the community that owns it",
        ));
    }
    if let Some(existing) = state.db.article_by_ap_id(ap_id.as_str()).await? {
        if existing.community != community.ap_id || existing.local {
            return Err(ApiError::forbidden("that article belongs elsewhere"));
        }
    }
    let (_, incoming) = parse_article_doc(doc)?;
    apply_replica_revision(state, community, ap_id.as_str(), incoming, depth).await
}

/// The article id and the revision an `Article` document carries, the revision id checked
/// against its content (no database access; the fuzz target `article_document` calls it).
pub fn parse_article_doc(doc: &Value) -> Result<(Url, NewRevision), ApiError> {
    let ap_id = id_of(Some(doc)).ok_or_else(|| ApiError::bad_request("no article id"))?;
    let rev = doc
        .get("revision")
        .ok_or_else(|| ApiError::bad_request("no revision"))?;
    // The title as the owner hashed it: a plain-text title, not HTML to strip.
    let title = doc
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("no title"))?;
    let content = doc
        .get("source")
        .and_then(|s| s.get("content"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("no markdown source"))?;
    let incoming = parse_revision(ap_id.as_str(), rev, title, content)?;
    Ok((ap_id, incoming))
}

fn parse_revision(
    article: &str,
    rev: &Value,
    title: &str,
    content: &str,
) -> Result<NewRevision, ApiError> {
    let text = |k: &str| rev.get(k).and_then(Value::as_str).map(str::to_string);
    let rev_id = text("id").ok_or_else(|| ApiError::bad_request("revision without id"))?;
    let parent = text("parent");
    let author = text("author").ok_or_else(|| ApiError::bad_request("revision without author"))?;
    if content.len() > MAX_ARTICLE {
        return Err(ApiError::bad_request("the revision is too large"));
    }
    if title.trim().is_empty() || title.chars().count() > objects::MAX_TITLE {
        return Err(ApiError::bad_request("the revision has no valid title"));
    }
    let expected = revision_id(article, parent.as_deref(), &author, title, content);
    if expected != rev_id {
        return Err(ApiError::bad_request(
            "the revision id does not match its content",
        ));
    }
    Ok(NewRevision {
        rev_id,
        parent_rev: parent,
        author,
        message: text("message").unwrap_or_default(),
        title: title.to_string(),
        content: content.to_string(),
        edit_id: text("edit"),
        created_at: objects::parse_time(rev.get("published")).unwrap_or_else(now_ms),
    })
}

async fn apply_replica_revision(
    state: &AppState,
    community: &CommunityView,
    article_ap: &str,
    incoming: NewRevision,
    depth: usize,
) -> Result<(), ApiError> {
    if state.db.revision(&incoming.rev_id).await?.is_some() {
        settle_edit(state, &incoming).await?;
        return Ok(());
    }
    match state.db.article_by_ap_id(article_ap).await? {
        None if incoming.parent_rev.is_none() => {
            let slug = unique_slug(state, &community.ap_id, &incoming.title).await?;
            state
                .db
                .insert_article(
                    NewArticle {
                        ap_id: article_ap.to_string(),
                        community: community.ap_id.clone(),
                        slug,
                        review_interval_days: None,
                        local: false,
                    },
                    incoming.clone(),
                    Vec::new(),
                )
                .await?;
        }
        Some(article) if incoming.parent_rev.as_deref() == Some(article.current_rev.as_str()) => {
            let new_slug = if incoming.title != article.title {
                Some(unique_slug(state, &community.ap_id, &incoming.title).await?)
            } else {
                None
            };
            let head = article.current_rev.clone();
            if !state
                .db
                .append_revision(&article, &head, incoming.clone(), new_slug, Vec::new())
                .await?
            {
                return Err(ApiError::conflict("the replica moved; retry"));
            }
        }
        _ if depth == 0 => {
            // A gap: read the owner's history and apply what is missing, in order.
            sync_history(state, community, article_ap).await?;
            if state.db.revision(&incoming.rev_id).await?.is_none() {
                return Err(ApiError::bad_request(
                    "the revision does not follow the article's history",
                ));
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "the revision does not follow the article's history",
            ))
        }
    }
    settle_edit(state, &incoming).await
}

/// A revision that applied one of our members' proposals settles it.
async fn settle_edit(state: &AppState, revision: &NewRevision) -> Result<(), ApiError> {
    if let Some(edit_id) = &revision.edit_id {
        if state.db.edit_by_edit_id(edit_id).await?.is_some() {
            state
                .db
                .decide_edit(
                    edit_id,
                    "applied",
                    Some(revision.rev_id.clone()),
                    None,
                    None,
                    None,
                )
                .await?;
        }
    }
    Ok(())
}

/// Brings a community's articles to a node that starts replicating it: reads the community's
/// `articles` collection and each article's history. Returns how many articles were new.
pub async fn backfill(state: &AppState, community: &CommunityView) -> Result<usize, ApiError> {
    let url = Url::parse(&format!("{}/articles", community.ap_id))
        .map_err(|_| ApiError::bad_request("bad community id"))?;
    let collection = match state.fetch(&url).await {
        Ok(c) => c,
        // Not a Roundtable community, or no articles collection: nothing to bring.
        Err(_) => return Ok(0),
    };
    // Every page of the collection (older nodes serve it inline, in one piece).
    let items = remote::collection_items(state, &collection, &host_of(&url), 1000, 100)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the articles: {e}")))?;
    let mut stored = 0;
    for id in items.iter().filter_map(Value::as_str) {
        let Ok(article) = Url::parse(id) else {
            continue;
        };
        if host_of(&article) != host_of(&url) || state.db.article_by_ap_id(id).await?.is_some() {
            continue;
        }
        match sync_history(state, community, id).await {
            Ok(()) => stored += 1,
            Err(e) => warn!(article = id, error = %e.message, "an article could not be backfilled"),
        }
    }
    Ok(stored)
}

/// Fetches an article's history collection from its owner and applies the missing revisions.
async fn sync_history(
    state: &AppState,
    community: &CommunityView,
    article_ap: &str,
) -> Result<(), ApiError> {
    let article_url =
        Url::parse(article_ap).map_err(|_| ApiError::bad_request("bad article id"))?;
    let fetch = |url: Url| async move {
        state
            .fetch(&url)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the history: {e}")))
    };
    let doc = fetch(article_url.clone()).await?;
    let history = id_of(doc.get("history"))
        .ok_or_else(|| ApiError::bad_request("the article has no history"))?;
    if host_of(&history) != host_of(&article_url) {
        return Err(ApiError::forbidden("the history is on another host"));
    }
    let collection = fetch(history).await?;
    let mut next = collection
        .get("first")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 1000 {
            break;
        }
        let url = Url::parse(&url).map_err(|_| ApiError::bad_request("bad page URL"))?;
        if host_of(&url) != host_of(&article_url) {
            break;
        }
        let page = fetch(url).await?;
        for item in page
            .get("orderedItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let title = item
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let content = item
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let rev = parse_revision(article_ap, item, title, content)?;
            if state.db.revision(&rev.rev_id).await?.is_none() {
                Box::pin(apply_replica_revision(state, community, article_ap, rev, 1)).await?;
            }
        }
        next = page.get("next").and_then(Value::as_str).map(str::to_string);
    }
    Ok(())
}

/// The editor's node hears the owner refuse or settle a proposal.
pub async fn receive_answer(
    state: &AppState,
    env: &Envelope,
    edit: ArticleEdit,
) -> Result<(), ApiError> {
    if edit.community != env.actor.as_str() {
        return Err(ApiError::forbidden("only the community can answer"));
    }
    let body = &env.body;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match env.type_name.as_str() {
        "Reject" if text("summary").as_deref() == Some("conflict") => {
            state
                .db
                .decide_edit(
                    &edit.edit_id,
                    "conflict",
                    None,
                    text("conflict"),
                    text("latestRevision"),
                    None,
                )
                .await?;
        }
        "Reject" => {
            state
                .db
                .decide_edit(&edit.edit_id, "rejected", None, None, None, text("summary"))
                .await?;
        }
        _ => {
            // Accept: the edit changed nothing; the head it names is the result.
            state
                .db
                .decide_edit(&edit.edit_id, "applied", text("revision"), None, None, None)
                .await?;
        }
    }
    Ok(())
}

/// The history collection of an article this node owns: revisions with texts, oldest first.
pub async fn history_page(
    state: &AppState,
    article: &Article,
    after: Option<i32>,
) -> Result<Value, ApiError> {
    let id = format!("{}/history", article.ap_id);
    let Some(after) = after else {
        let total = state.db.revision_count(article.id).await?;
        return Ok(json!({
            "@context": AS_CONTEXT,
            "id": id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": format!("{id}?after=0"),
        }));
    };
    let revisions = state
        .db
        .revisions_page(article.id, after, HISTORY_PAGE)
        .await?;
    let items: Vec<Value> = revisions
        .iter()
        .map(|r| {
            let mut v = revision_json(r);
            v["title"] = json!(r.title);
            v["content"] = json!(r.content);
            v
        })
        .collect();
    let mut page = json!({
        "@context": AS_CONTEXT,
        "id": format!("{id}?after={after}"),
        "type": "OrderedCollectionPage",
        "partOf": id,
        "orderedItems": items,
    });
    if revisions.len() as u64 == HISTORY_PAGE {
        if let Some(last) = revisions.last() {
            page["next"] = json!(format!("{id}?after={}", last.seq));
        }
    }
    if revisions.is_empty() && after > 0 {
        warn!(article = %article.ap_id, "history page past the end");
    }
    Ok(page)
}
