//! Knowledge articles' pages: a community's articles with their freshness, an article, its
//! history with a compare form, the diff of two revisions (side by side and inline), writing
//! and editing (with the conflict screen when an edit clashes with one saved since its base
//! revision), and the stewards' protect, revert and review buttons.
//!
//! Every page reads the article's community through `service::privacy::may_read` first (an
//! article the viewer may not read is "not found"), and every change is the same
//! `service::articles` use case the API calls.

use super::{
    accounts::to_sign_in,
    communities::member_of,
    pages::{message, render},
    views::{community_href, encode, when, People, PersonLink, When},
    Browser, PageError, Posted,
};
use crate::{
    db::{
        articles::{Article, Revision, RevisionMeta},
        now_ms,
    },
    domain::{MemberState, Role},
    markdown,
    node::Node,
    paging::{Page, Pair},
    service::{
        articles::{self as svc, EditInput, Hunk, LineKind, NewArticleInput, Outcome},
        discussions::{self as communities, CommunityView, Member},
        error::Error,
        privacy,
    },
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// Articles per page of a community's list.
const ARTICLES_PER_PAGE: u64 = 50;
/// Articles the community page lists (the rest are a link away).
pub(super) const ARTICLES_ON_COMMUNITY: u64 = 5;
/// Revisions per page of an article's history.
const REVISIONS_PER_PAGE: u64 = 50;

const DAY_MS: i64 = 86_400_000;

/// How fresh an article is: when it was last confirmed correct, and whether a review is due.
pub struct Freshness {
    pub label: String,
    pub overdue: bool,
}

pub fn freshness(article: &Article, now: i64) -> Freshness {
    let days = |t: i64| (now - t).max(0) / DAY_MS;
    let ago = |t: i64| match days(t) {
        0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        n => format!("{n} days ago"),
    };
    if svc::overdue(article, now) {
        return Freshness {
            label: match article.last_reviewed_at {
                Some(t) => format!("Review overdue (last reviewed {})", ago(t)),
                None => "Review overdue (never reviewed)".into(),
            },
            overdue: true,
        };
    }
    Freshness {
        label: match article.last_reviewed_at {
            Some(t) => format!("Reviewed {}", ago(t)),
            None => "Not reviewed yet".into(),
        },
        overdue: false,
    }
}

/// An article in a list.
pub struct ArticleRow {
    pub href: String,
    pub title: String,
    pub fresh: Freshness,
    pub updated: When,
}

fn row(a: &Article, now: i64) -> ArticleRow {
    ArticleRow {
        href: format!("/articles/{}", a.id),
        title: a.title.clone(),
        fresh: freshness(a, now),
        updated: when(a.updated_at),
    }
}

/// The first `limit` articles of a community by title, and whether it has more (for the
/// community page; the caller has already checked the reader may read it).
pub(super) async fn article_rows(
    state: &Node,
    community: &str,
    limit: u64,
) -> Result<(Vec<ArticleRow>, bool), Error> {
    let page = state.db.articles_page(community, None, None, limit).await?;
    let now = now_ms();
    let more = page.next(|a| a.id).is_some();
    Ok((page.items.iter().map(|a| row(a, now)).collect(), more))
}

/// A stored article, 404 when there is none.
async fn load(state: &Node, id: i64) -> Result<Article, PageError> {
    state
        .db
        .article(id)
        .await?
        .ok_or_else(|| not_found().into())
}

fn not_found() -> Error {
    Error::not_found("There is no such article on this node.")
}

/// The article's community, after the one read check: an article the reader may not read is
/// "not found", exactly as if it did not exist.
async fn readable(
    state: &Node,
    member: Option<&Member>,
    article: &Article,
) -> Result<CommunityView, PageError> {
    super::views::readable_in(
        state,
        member,
        &article.community,
        "There is no such article on this node.",
    )
    .await
}

/// A revision of `article`, 404 when it is not one.
async fn revision_of(state: &Node, article: &Article, rev: &str) -> Result<Revision, PageError> {
    state
        .db
        .revision(rev)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| Error::not_found("There is no such revision of this article.").into())
}

/// What the viewer may do with a community's articles.
#[derive(Default)]
struct Powers {
    /// An accepted member: edits and reviews.
    member: bool,
    /// A moderator or owner of a community hosted here: protects and reverts.
    steward: bool,
}

async fn powers(
    state: &Node,
    member: Option<&Member>,
    view: &CommunityView,
) -> Result<Powers, Error> {
    let Some(member) = member else {
        return Ok(Powers::default());
    };
    let membership = state
        .db
        .membership(&view.ap_id, &member.ap_id(state))
        .await?;
    let accepted = membership
        .as_ref()
        .is_some_and(|m| m.state == MemberState::Accepted);
    let moderator = membership
        .as_ref()
        .is_some_and(|m| matches!(m.role, Role::Owner | Role::Moderator));
    Ok(Powers {
        member: accepted,
        steward: accepted && moderator && view.local().is_some(),
    })
}

fn short(rev: &str) -> String {
    rev.chars().take(10).collect()
}

// ----- a community's articles -----

#[derive(Template)]
#[template(path = "ui/articles.html")]
struct ListPage {
    title: String,
    signed_in: Option<String>,
    community_href: String,
    articles: Vec<ArticleRow>,
    next: Option<String>,
    new_href: Option<String>,
    overdue_only: bool,
    href: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    after: Option<Pair<i64, String>>,
    overdue: bool,
}

/// `GET /communities/{handle}/articles`: the community's articles by title (`?overdue=true`:
/// only those due for review).
pub async fn list(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let view = communities::resolve(&state, &handle).await?;
    if privacy::may_read(&state, member.as_ref(), &view)
        .await
        .is_err()
    {
        return Err(Error::not_found("There is no such community here.").into());
    }
    let now = now_ms();
    let page = state
        .db
        .articles_page(
            &view.ap_id,
            q.overdue.then_some(now),
            q.after.as_ref().map(|Pair(id, t)| (t.as_str(), *id)),
            ARTICLES_PER_PAGE,
        )
        .await?;
    let c_href = community_href(&view);
    let href = format!("{c_href}/articles");
    let next = page.next(|a| Pair(a.id, a.title.clone())).map(|c| {
        format!(
            "{href}?after={}{}",
            encode(&c.to_string()),
            if q.overdue { "&overdue=true" } else { "" }
        )
    });
    let p = powers(&state, member.as_ref(), &view).await?;
    Ok(render(
        StatusCode::OK,
        &ListPage {
            title: format!("Articles of {}", view.title),
            signed_in: member.map(|m| m.actor.name),
            articles: page.items.iter().map(|a| row(a, now)).collect(),
            next,
            new_href: p.member.then(|| format!("{href}/new")),
            overdue_only: q.overdue,
            community_href: c_href,
            href,
        },
    ))
}

// ----- an article -----

#[derive(Template)]
#[template(path = "ui/article.html")]
struct ArticlePage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    id: i64,
    community_href: String,
    community_title: String,
    html: String,
    editor: PersonLink,
    edited: When,
    revisions: u64,
    fresh: Freshness,
    protected: bool,
    origin: Option<String>,
    can_edit: bool,
    can_review: bool,
    steward: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArticleQuery {
    done: String,
}

/// `GET /articles/{id}`.
pub async fn article(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<ArticleQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    let view = readable(&state, member.as_ref(), &article).await?;
    let head = revision_of(&state, &article, &article.current_rev).await?;
    let people = People::load(&state, [head.author.as_str()]).await?;
    let p = powers(&state, member.as_ref(), &view).await?;
    let notice = match q.done.as_str() {
        "reviewed" => Some("Marked as reviewed: the article is confirmed correct as of now."),
        "protected" => Some("Protected: only moderators can edit it now."),
        "unprotected" => Some("No longer protected: every member can edit it."),
        "reverted" => Some("Reverted: the old text is the newest revision now."),
        _ => None,
    };
    Ok(render(
        StatusCode::OK,
        &ArticlePage {
            title: head.title.clone(),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            id: article.id,
            community_href: community_href(&view),
            community_title: view.title.clone(),
            html: markdown::render(&head.content),
            editor: people.link(&head.author),
            edited: when(head.created_at),
            revisions: state.db.revision_count(article.id).await?,
            fresh: freshness(&article, now_ms()),
            protected: article.protected,
            origin: (!article.local).then(|| article.ap_id.clone()),
            can_edit: p.member && (!article.protected || p.steward),
            can_review: p.member,
            steward: p.steward,
            notice: notice.map(str::to_string),
        },
    ))
}

// ----- stewards: protect, revert, review -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProtectForm {
    protected: bool,
}

/// `POST /articles/{id}/protect` (`protected=true` or `false`).
pub async fn protect(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<ProtectForm>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}")));
    };
    svc::protect(&state, &member, &article, form.protected).await?;
    let done = if form.protected {
        "protected"
    } else {
        "unprotected"
    };
    Ok(Redirect::to(&format!("/articles/{id}?done={done}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevertForm {
    revision: String,
}

/// `POST /articles/{id}/revert`: a steward makes an older revision's text the newest one.
pub async fn revert(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<RevertForm>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}/history")));
    };
    let back = format!("/articles/{id}");
    Ok(
        match svc::revert(&state, &member, &article, &form.revision).await? {
            Outcome::Applied { .. } => {
                Redirect::to(&format!("/articles/{id}?done=reverted")).into_response()
            }
            Outcome::Pending { .. } => sent_on(
                StatusCode::ACCEPTED,
                "Sent to the community's node",
                PENDING,
                &back,
            ),
            Outcome::Conflict { .. } => sent_on(
                StatusCode::CONFLICT,
                "The article changed meanwhile",
                "Someone saved a revision while the revert was made. Look at the history again and revert once more.",
                &back,
            ),
            Outcome::Rejected { reason } => {
                sent_on(StatusCode::FORBIDDEN, "The revert was refused", &reason, &back)
            }
        },
    )
}

/// `POST /articles/{id}/review`: a member confirms the article is still correct.
pub async fn review(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, .. }: Posted<super::communities::Empty>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}")));
    };
    svc::review(&state, &member, &article, None).await?;
    Ok(Redirect::to(&format!("/articles/{id}?done=reviewed")).into_response())
}

/// A message page for an edit the community's node has not decided yet, or refused.
fn sent_on(status: StatusCode, title: &str, text: &str, back: &str) -> Response {
    message(status, title, text, Some((back, "Back to the article")))
}

const PENDING: &str = "Your edit was sent to the community's node, which has not answered yet. It shows here once that node accepts it.";

mod compare;
mod write;
pub use compare::{diff, history};
pub use write::{create, edit, edit_page, new_page};
