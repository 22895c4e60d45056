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

// ----- history -----

/// A revision in the history list.
pub struct RevisionRow {
    pub rev: String,
    pub short: String,
    pub number: i32,
    pub title: String,
    pub message: String,
    pub author: PersonLink,
    pub when: When,
    pub head: bool,
    /// Checked by default in the compare form.
    pub from: bool,
    pub to: bool,
}

#[derive(Template)]
#[template(path = "ui/article_history.html")]
struct HistoryPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    id: i64,
    article_title: String,
    revisions: Vec<RevisionRow>,
    older: Option<String>,
    newest: bool,
    steward: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HistoryQuery {
    before: Option<i32>,
}

/// `GET /articles/{id}/history`: revisions newest first, a compare form, and (for stewards)
/// a revert button beside each older revision.
pub async fn history(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<HistoryQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    let view = readable(&state, member.as_ref(), &article).await?;
    let rows = state
        .db
        .revision_list_page(
            article.id,
            q.before,
            crate::paging::rows_for(REVISIONS_PER_PAGE),
        )
        .await?;
    let page: Page<RevisionMeta> = Page::from_rows(rows, REVISIONS_PER_PAGE);
    let older = page
        .next(|r| r.seq)
        .map(|seq| format!("/articles/{id}/history?before={seq}"));
    let people = People::load(&state, page.items.iter().map(|r| r.author.as_str())).await?;
    let p = powers(&state, member.as_ref(), &view).await?;
    let revisions = page
        .items
        .iter()
        .enumerate()
        .map(|(i, r)| RevisionRow {
            rev: r.rev_id.clone(),
            short: short(&r.rev_id),
            number: r.seq,
            title: r.title.clone(),
            message: r.message.clone(),
            author: people.link(&r.author),
            when: when(r.created_at),
            head: r.rev_id == article.current_rev,
            from: i == 1 || (i == 0 && page.items.len() == 1),
            to: i == 0,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &HistoryPage {
            title: format!("History of {}", article.title),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            id: article.id,
            article_title: article.title.clone(),
            revisions,
            older,
            newest: q.before.is_none(),
            steward: p.steward,
        },
    ))
}

// ----- diff -----

/// One side of a side-by-side row: the line's number in its text, the text, and whether it
/// was removed, added or kept.
pub struct Cell {
    pub number: usize,
    pub text: String,
    pub kind: &'static str,
}

/// A row of the side-by-side view: the old text's line (if any) beside the new one's.
pub struct SideRow {
    pub old: Option<Cell>,
    pub new: Option<Cell>,
}

/// A row of the inline view.
pub struct InlineRow {
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub kind: &'static str,
    pub text: String,
}

/// A hunk as the diff page shows it.
pub struct HunkView {
    pub heading: String,
    pub side: Vec<SideRow>,
    pub inline: Vec<InlineRow>,
}

fn kind_class(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Context => "context",
        LineKind::Delete => "removed",
        LineKind::Insert => "added",
    }
}

/// Lays a hunk out for both views: inline as it is, side by side with each run of removed
/// lines beside the added lines that follow it.
fn lay_out(h: &Hunk) -> HunkView {
    let (mut old_no, mut new_no) = (h.old_start, h.new_start);
    let mut inline = Vec::with_capacity(h.lines.len());
    let mut side = Vec::new();
    let mut removed: Vec<Cell> = Vec::new();
    let mut added: Vec<Cell> = Vec::new();
    let flush = |side: &mut Vec<SideRow>, removed: &mut Vec<Cell>, added: &mut Vec<Cell>| {
        let n = removed.len().max(added.len());
        let mut r = removed.drain(..);
        let mut a = added.drain(..);
        for _ in 0..n {
            side.push(SideRow {
                old: r.next(),
                new: a.next(),
            });
        }
    };
    for line in &h.lines {
        let class = kind_class(line.kind);
        match line.kind {
            LineKind::Context => {
                flush(&mut side, &mut removed, &mut added);
                side.push(SideRow {
                    old: Some(Cell {
                        number: old_no,
                        text: line.text.clone(),
                        kind: class,
                    }),
                    new: Some(Cell {
                        number: new_no,
                        text: line.text.clone(),
                        kind: class,
                    }),
                });
                inline.push(InlineRow {
                    old: Some(old_no),
                    new: Some(new_no),
                    kind: class,
                    text: line.text.clone(),
                });
                old_no += 1;
                new_no += 1;
            }
            LineKind::Delete => {
                if !added.is_empty() {
                    flush(&mut side, &mut removed, &mut added);
                }
                removed.push(Cell {
                    number: old_no,
                    text: line.text.clone(),
                    kind: class,
                });
                inline.push(InlineRow {
                    old: Some(old_no),
                    new: None,
                    kind: class,
                    text: line.text.clone(),
                });
                old_no += 1;
            }
            LineKind::Insert => {
                added.push(Cell {
                    number: new_no,
                    text: line.text.clone(),
                    kind: class,
                });
                inline.push(InlineRow {
                    old: None,
                    new: Some(new_no),
                    kind: class,
                    text: line.text.clone(),
                });
                new_no += 1;
            }
        }
    }
    flush(&mut side, &mut removed, &mut added);
    let span = |start: usize, len: usize| match len {
        0 => format!("after line {start}"),
        1 => format!("line {start}"),
        n => format!("lines {start}–{}", start + n - 1),
    };
    HunkView {
        heading: format!(
            "Old {}, new {}",
            span(h.old_start, h.old_lines),
            span(h.new_start, h.new_lines)
        ),
        side,
        inline,
    }
}

#[derive(Template)]
#[template(path = "ui/article_diff.html")]
struct DiffPage {
    title: String,
    signed_in: Option<String>,
    id: i64,
    from: RevisionLabel,
    to: RevisionLabel,
    hunks: Vec<HunkView>,
    added: usize,
    removed: usize,
}

pub struct RevisionLabel {
    pub short: String,
    pub number: i32,
    pub title: String,
    pub author: PersonLink,
    pub when: When,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /articles/{id}/diff?from=REV&to=REV` (by default: the newest revision against its
/// parent).
pub async fn diff(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let to_rev =
        q.to.filter(|s| !s.is_empty())
            .unwrap_or_else(|| article.current_rev.clone());
    let to = revision_of(&state, &article, &to_rev).await?;
    let from_rev = q
        .from
        .filter(|s| !s.is_empty())
        .or_else(|| to.parent_rev.clone())
        .unwrap_or_else(|| to.rev_id.clone());
    let from = revision_of(&state, &article, &from_rev).await?;
    let (_, hunks) = svc::line_diff(&from.content, &to.content).await?;
    let count = |kind: LineKind| {
        hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| l.kind == kind)
            .count()
    };
    let (added, removed) = (count(LineKind::Insert), count(LineKind::Delete));
    let people = People::load(&state, [from.author.as_str(), to.author.as_str()]).await?;
    let label = |r: &Revision| RevisionLabel {
        short: short(&r.rev_id),
        number: r.seq,
        title: r.title.clone(),
        author: people.link(&r.author),
        when: when(r.created_at),
    };
    Ok(render(
        StatusCode::OK,
        &DiffPage {
            title: format!("Changes to {}", to.title),
            signed_in: member.map(|m| m.actor.name),
            id: article.id,
            from: label(&from),
            to: label(&to),
            hunks: hunks.iter().map(lay_out).collect(),
            added,
            removed,
        },
    ))
}

// ----- writing and editing -----

/// The other side of a conflict: the newest revision, beside what was submitted.
pub struct ConflictView {
    pub theirs: String,
    pub theirs_by: PersonLink,
    pub theirs_when: When,
    pub yours: String,
}

#[derive(Template)]
#[template(path = "ui/article_edit.html")]
struct EditPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    action: String,
    cancel: String,
    submit: &'static str,
    base: Option<String>,
    title_value: String,
    content: String,
    message_value: String,
    title_error: Option<String>,
    content_error: Option<String>,
    error: Option<String>,
    conflict: Option<ConflictView>,
}

impl EditPage {
    /// Puts `e` beside its field (the service names none, so its message tells which), or
    /// above the form.
    fn with_error(mut self, e: &Error) -> EditPage {
        let field = e.field.or_else(|| {
            let m = e.message.to_lowercase();
            if m.contains("title") {
                Some("title")
            } else if m.contains("article is") || m.contains("text") || m.contains("lines") {
                Some("content")
            } else {
                None
            }
        });
        match field {
            Some("title") => self.title_error = Some(e.message.clone()),
            Some("content") => self.content_error = Some(e.message.clone()),
            _ => self.error = Some(e.message.clone()),
        }
        self
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArticleForm {
    title: String,
    content: String,
    message: String,
    base: String,
}

impl ArticleForm {
    /// Browsers send a text area's lines ended by CRLF; revisions keep LF, so an edit
    /// changes only the lines it changes.
    fn normalized(mut self) -> ArticleForm {
        if self.content.contains('\r') {
            self.content = self.content.replace("\r\n", "\n").replace('\r', "\n");
        }
        self
    }
}

/// What the pages refuse before asking the service: an empty title or text, and a text
/// that still holds a conflict's markers.
fn check_form(form: &ArticleForm) -> Result<(), Error> {
    if form.title.trim().is_empty() {
        return Err(Error::invalid("Give the article a title.").on("title"));
    }
    if form.content.trim().is_empty() {
        return Err(Error::invalid("Write the article's text.").on("content"));
    }
    let marker = |m: &str| form.content.lines().any(|l| l.starts_with(m));
    if marker("<<<<<<<") && marker(">>>>>>>") {
        return Err(Error::invalid(
            "The text still holds conflict markers (<<<<<<<, =======, >>>>>>>): keep the lines you want and remove the markers.",
        )
        .on("content"));
    }
    Ok(())
}

/// A message page for an edit the community's node has not decided yet, or refused.
fn sent_on(status: StatusCode, title: &str, text: &str, back: &str) -> Response {
    message(status, title, text, Some((back, "Back to the article")))
}

const PENDING: &str = "Your edit was sent to the community's node, which has not answered yet. It shows here once that node accepts it.";

/// `GET /communities/{handle}/articles/new`.
pub async fn new_page(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
) -> PageResult {
    let member = member_of(&browser);
    let view = communities::resolve(&state, &handle).await?;
    if privacy::may_read(&state, member.as_ref(), &view)
        .await
        .is_err()
    {
        return Err(Error::not_found("There is no such community here.").into());
    }
    let Some(member) = member else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/articles/new",
            encode(&handle)
        )));
    };
    let page = new_form(
        &view,
        &member,
        browser.csrf().await?,
        &ArticleForm::default(),
    );
    Ok(render(StatusCode::OK, &page))
}

fn new_form(view: &CommunityView, member: &Member, csrf: String, form: &ArticleForm) -> EditPage {
    let href = community_href(view);
    EditPage {
        title: format!("New article in {}", view.title),
        signed_in: Some(member.actor.name.clone()),
        csrf,
        action: format!("{href}/articles/new"),
        cancel: format!("{href}/articles"),
        submit: "Create the article",
        base: None,
        title_value: form.title.clone(),
        content: form.content.clone(),
        message_value: form.message.clone(),
        title_error: None,
        content_error: None,
        error: None,
        conflict: None,
    }
}

/// `POST /communities/{handle}/articles/new`.
pub async fn create(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<ArticleForm>,
) -> PageResult {
    let form = form.normalized();
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/articles/new",
            encode(&handle)
        )));
    };
    let view = communities::resolve(&state, &handle).await?;
    if privacy::may_read(&state, Some(&member), &view)
        .await
        .is_err()
    {
        return Err(Error::not_found("There is no such community here.").into());
    }
    let result = match check_form(&form) {
        Err(e) => Err(e),
        Ok(()) => {
            svc::create(
                &state,
                &member,
                &view,
                NewArticleInput {
                    title: form.title.clone(),
                    content: form.content.clone(),
                    message: Some(form.message.trim().to_string()).filter(|m| !m.is_empty()),
                    review_interval_days: None,
                },
            )
            .await
        }
    };
    let back = format!("{}/articles", community_href(&view));
    let refused = |e: Error, csrf: String| {
        let status = super::status_of(e.kind);
        render(
            status,
            &new_form(&view, &member, csrf, &form).with_error(&e),
        )
    };
    Ok(match result {
        Ok(Outcome::Applied { article, .. }) => {
            Redirect::to(&format!("/articles/{}", article.id)).into_response()
        }
        Ok(Outcome::Pending { .. }) => sent_on(
            StatusCode::ACCEPTED,
            "Sent to the community's node",
            PENDING,
            &back,
        ),
        Ok(Outcome::Rejected { reason }) => {
            refused(Error::forbidden(reason), browser.csrf().await?)
        }
        Ok(Outcome::Conflict { .. }) => refused(
            Error::conflict("The community's node could not take the article."),
            browser.csrf().await?,
        ),
        Err(e) => refused(e, browser.csrf().await?),
    })
}

/// The edit form of `article`, based on its newest revision `head`.
fn edit_form(article: &Article, head: &Revision, member: &Member, csrf: String) -> EditPage {
    EditPage {
        title: format!("Edit {}", head.title),
        signed_in: Some(member.actor.name.clone()),
        csrf,
        action: format!("/articles/{}/edit", article.id),
        cancel: format!("/articles/{}", article.id),
        submit: "Save",
        base: Some(head.rev_id.clone()),
        title_value: head.title.clone(),
        content: head.content.clone(),
        message_value: String::new(),
        title_error: None,
        content_error: None,
        error: None,
        conflict: None,
    }
}

/// `GET /articles/{id}/edit`.
pub async fn edit_page(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}/edit")));
    };
    let head = revision_of(&state, &article, &article.current_rev).await?;
    Ok(render(
        StatusCode::OK,
        &edit_form(&article, &head, &member, browser.csrf().await?),
    ))
}

/// `POST /articles/{id}/edit`: saves an edit based on the form's `base` revision. A
/// fast-forward or a clean merge opens the article; a conflict shows both texts and a text
/// area to resolve it in (its base is then the newest revision, so saving it resolves it).
pub async fn edit(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<ArticleForm>,
) -> PageResult {
    let form = form.normalized();
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}/edit")));
    };
    let result = match check_form(&form) {
        Err(e) => Err(e),
        Ok(()) => {
            svc::edit(
                &state,
                &member,
                &article,
                EditInput {
                    content: form.content.clone(),
                    base_revision: form.base.clone(),
                    title: Some(form.title.clone()),
                    message: Some(form.message.trim().to_string()).filter(|m| !m.is_empty()),
                },
            )
            .await
        }
    };
    let back = format!("/articles/{id}");
    let refill = |mut page: EditPage| {
        page.title_value = form.title.clone();
        page.content = form.content.clone();
        page.message_value = form.message.clone();
        page.base = Some(form.base.clone());
        page
    };
    let head = revision_of(&state, &article, &article.current_rev).await?;
    Ok(match result {
        Ok(Outcome::Applied { article, .. }) => {
            Redirect::to(&format!("/articles/{}", article.id)).into_response()
        }
        Ok(Outcome::Pending { .. }) => sent_on(
            StatusCode::ACCEPTED,
            "Sent to the community's node",
            PENDING,
            &back,
        ),
        Ok(Outcome::Conflict { conflict, latest }) => {
            let theirs = match state.db.revision(&latest).await? {
                Some(r) if r.article_id == article.id => r,
                _ => head,
            };
            let people = People::load(&state, [theirs.author.as_str()]).await?;
            let mut page = refill(edit_form(&article, &theirs, &member, browser.csrf().await?));
            page.title = format!("Your edit of {} conflicts", theirs.title);
            page.submit = "Save the resolved text";
            page.base = Some(theirs.rev_id.clone());
            page.content = if conflict.is_empty() {
                form.content.clone()
            } else {
                conflict
            };
            page.conflict = Some(ConflictView {
                theirs: theirs.content.clone(),
                theirs_by: people.link(&theirs.author),
                theirs_when: when(theirs.created_at),
                yours: form.content.clone(),
            });
            render(StatusCode::CONFLICT, &page)
        }
        Ok(Outcome::Rejected { reason }) => render(
            StatusCode::FORBIDDEN,
            &refill(edit_form(&article, &head, &member, browser.csrf().await?))
                .with_error(&Error::forbidden(reason)),
        ),
        Err(e) => render(
            super::status_of(e.kind),
            &refill(edit_form(&article, &head, &member, browser.csrf().await?)).with_error(&e),
        ),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::articles::DiffLine;

    fn line(kind: LineKind, text: &str) -> DiffLine {
        DiffLine {
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn removed_lines_sit_beside_the_added_ones_that_replace_them() {
        let hunk = Hunk {
            old_start: 1,
            old_lines: 3,
            new_start: 1,
            new_lines: 4,
            lines: vec![
                line(LineKind::Context, "one"),
                line(LineKind::Delete, "two"),
                line(LineKind::Insert, "2"),
                line(LineKind::Insert, "2b"),
                line(LineKind::Context, "three"),
            ],
        };
        let view = lay_out(&hunk);
        assert_eq!(view.inline.len(), 5);
        assert_eq!(view.side.len(), 4);
        let second = &view.side[1];
        assert_eq!(second.old.as_ref().map(|c| c.text.as_str()), Some("two"));
        assert_eq!(second.new.as_ref().map(|c| c.text.as_str()), Some("2"));
        let third = &view.side[2];
        assert!(third.old.is_none());
        assert_eq!(
            third.new.as_ref().map(|c| (c.number, c.kind)),
            Some((3, "added"))
        );
        let last = &view.side[3];
        assert_eq!(last.old.as_ref().map(|c| c.number), Some(3));
        assert_eq!(last.new.as_ref().map(|c| c.number), Some(4));
        assert_eq!(view.heading, "Old lines 1–3, new lines 1–4");
    }
}
