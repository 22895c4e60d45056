//! Knowledge articles in the native API.

use super::{
    author_from, author_json, handles, may_read, may_read_view, next_link, parse_body, parse_id,
    Auth, MaybeAuth, Write, PAGE_DEFAULT, PAGE_MAX, Q,
};
use crate::{
    activitypub::objects::rfc3339,
    db::{articles::Article, now_ms},
    error::ApiError,
    markdown,
    node::Node,
    paging::{self, Page, Pair},
    service::{
        articles::{self as svc, EditInput, NewArticleInput, Outcome},
        discussions as communities,
    },
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<Node> {
    Router::new()
        .route("/communities/{handle}/articles", get(list).post(create))
        .route("/communities/{handle}/articles/{slug}", get(by_slug))
        .route("/articles/{id}", get(get_article).put(edit))
        .route("/articles/{id}/revisions", get(revisions))
        .route("/articles/{id}/revisions/{rev}", get(revision))
        .route("/articles/{id}/diff", get(diff))
        .route("/articles/{id}/protect", post(protect))
        .route("/articles/{id}/revert", post(revert))
        .route("/articles/{id}/review", post(review))
        .route("/edits/{id}", get(get_edit))
}

async fn load(state: &Node, raw: &str) -> Result<Article, ApiError> {
    state
        .db
        .article(parse_id(raw)?)
        .await?
        .ok_or_else(|| ApiError::not_found("no such article"))
}

async fn article_json(state: &Node, a: &Article) -> Result<Value, ApiError> {
    let rev = state
        .db
        .revision(&a.current_rev)
        .await?
        .ok_or_else(ApiError::internal)?;
    let ids = state.db.article_authors(a.id).await?;
    // One lookup for every author, however many wrote the article.
    let handles = handles(state, ids.iter().map(String::as_str)).await?;
    let authors: Vec<Value> = ids.iter().map(|id| author_from(&handles, id)).collect();
    let community = communities::known(state, &a.community).await?;
    Ok(json!({
        "id": a.id,
        "ap_id": a.ap_id,
        "community": community.map(|c| c.handle()),
        "title": rev.title,
        "slug": a.slug,
        "revision": rev.rev_id,
        "content": rev.content,
        "html": markdown::render(&rev.content),
        "summary": svc::summary_of(&rev.content),
        "authors": authors,
        "protected": a.protected,
        "review_interval_days": a.review_interval_days,
        "last_reviewed_at": a.last_reviewed_at.map(rfc3339),
        "last_reviewed_by": a.last_reviewed_by,
        "overdue": svc::overdue(a, now_ms()),
        "local": a.local,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
    }))
}

async fn outcome_response(
    state: &Node,
    outcome: Outcome,
    created: bool,
) -> Result<Response, ApiError> {
    Ok(match outcome {
        Outcome::Applied { article, .. } => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(article_json(state, &article).await?)).into_response()
        }
        Outcome::Conflict { conflict, latest } => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "the edit conflicts with changes made since its base revision",
                "conflict": conflict,
                "latest_revision": latest,
            })),
        )
            .into_response(),
        Outcome::Rejected { reason } => ApiError::forbidden(reason).into_response(),
        Outcome::Pending { edit } => (
            StatusCode::ACCEPTED,
            Json(json!({
                "state": "pending",
                "edit": edit.id,
                "message": "the community's node has not answered yet; GET /edits/{edit} later",
            })),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
struct ListQuery {
    overdue: Option<bool>,
    /// `id,title` of the last article seen (the list is by title).
    after: Option<Pair<i64, String>>,
    limit: Option<u64>,
}

/// A community's articles by title, one page at a time (`?after=CURSOR&limit=N`).
async fn list(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let community = communities::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &community).await?;
    let now = now_ms();
    let page = state
        .db
        .articles_page(
            &community.ap_id,
            q.overdue.unwrap_or(false).then_some(now),
            q.after
                .as_ref()
                .map(|Pair(id, title)| (title.as_str(), *id)),
            paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX),
        )
        .await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "ap_id": a.ap_id,
                "title": a.title,
                "slug": a.slug,
                "revision": a.current_rev,
                "overdue": svc::overdue(a, now),
                "updated_at": rfc3339(a.updated_at),
            })
        })
        .collect();
    let next = page.next(|a| Pair(a.id, a.title.clone()));
    Ok(Json(
        json!({"articles": out, "next": next_link(&state, &uri, "after", next)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    content: String,
    message: Option<String>,
    review_interval_days: Option<i32>,
}

async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateBody = parse_body(&body)?;
    let community = communities::resolve(&state, &handle).await?;
    let outcome = svc::create(
        &state,
        &auth.member,
        &community,
        NewArticleInput {
            title: req.title,
            content: req.content,
            message: req.message,
            review_interval_days: req.review_interval_days,
        },
    )
    .await?;
    outcome_response(&state, outcome, true).await
}

async fn by_slug(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path((handle, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let community = communities::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &community).await?;
    let article = state
        .db
        .article_by_slug(&community.ap_id, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("no article with that name"))?;
    if article.slug != slug {
        // A header value built from input: refused, not sent, when it is not one.
        let location = HeaderValue::try_from(format!(
            "/api/roundtable/v1/communities/{handle}/articles/{}",
            article.slug
        ))
        .map_err(|_| ApiError::bad_request("the handle cannot be part of a URL"))?;
        return Ok((
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
            Json(json!({"moved_to": article.slug})),
        )
            .into_response());
    }
    Ok(Json(article_json(&state, &article).await?).into_response())
}

async fn get_article(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let article = load(&state, &id).await?;
    may_read(&state, auth.as_deref(), &article.community).await?;
    Ok(Json(article_json(&state, &article).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    content: String,
    base_revision: String,
    title: Option<String>,
    message: Option<String>,
}

async fn edit(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: EditBody = parse_body(&body)?;
    let article = load(&state, &id).await?;
    let outcome = svc::edit(
        &state,
        &auth.member,
        &article,
        EditInput {
            content: req.content,
            base_revision: req.base_revision,
            title: req.title,
            message: req.message,
        },
    )
    .await?;
    outcome_response(&state, outcome, false).await
}

#[derive(Deserialize)]
struct RevisionsQuery {
    before: Option<i32>,
    limit: Option<u64>,
}

async fn revisions(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<RevisionsQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let article = load(&state, &id).await?;
    may_read(&state, auth.as_deref(), &article.community).await?;
    let limit = paging::limit(
        q.limit,
        svc::MAX_REVISIONS_LISTED,
        svc::MAX_REVISIONS_LISTED,
    );
    let rows = state
        .db
        .revision_list_page(article.id, q.before, paging::rows_for(limit))
        .await?;
    let page = Page::from_rows(rows, limit);
    let authors = handles(&state, page.items.iter().map(|r| r.author.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            json!({
                "id": r.rev_id,
                "parent": r.parent_rev,
                "author": author_from(&authors, &r.author),
                "message": r.message,
                "title": r.title,
                "number": r.seq,
                "created_at": rfc3339(r.created_at),
            })
        })
        .collect();
    // The cursor for the next (older) page, while there is one.
    let next = page.next(|r| r.seq);
    Ok(Json(json!({
        "revisions": out,
        "next_before": next,
        "next": next_link(&state, &uri, "before", next),
    })))
}

async fn load_revision(
    state: &Node,
    article: &Article,
    rev: &str,
) -> Result<crate::db::articles::Revision, ApiError> {
    state
        .db
        .revision(rev)
        .await?
        .filter(|r| r.article_id == article.id)
        .ok_or_else(|| ApiError::not_found("no such revision of this article"))
}

async fn revision(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path((id, rev)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let article = load(&state, &id).await?;
    may_read(&state, auth.as_deref(), &article.community).await?;
    let r = load_revision(&state, &article, &rev).await?;
    Ok(Json(json!({
        "id": r.rev_id,
        "parent": r.parent_rev,
        "author": author_json(&state, &r.author).await?,
        "message": r.message,
        "title": r.title,
        "number": r.seq,
        "content": r.content,
        "html": markdown::render(&r.content),
        "created_at": rfc3339(r.created_at),
    })))
}

#[derive(Deserialize)]
struct DiffQuery {
    from: String,
    to: String,
}

async fn diff(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<DiffQuery>,
) -> Result<Json<Value>, ApiError> {
    let article = load(&state, &id).await?;
    may_read(&state, auth.as_deref(), &article.community).await?;
    let from = load_revision(&state, &article, &q.from).await?;
    let to = load_revision(&state, &article, &q.to).await?;
    let (unified, hunks) = svc::line_diff(&from.content, &to.content).await?;
    let hunks: Vec<Value> = hunks
        .iter()
        .map(|h| {
            let lines: Vec<Value> = h
                .lines
                .iter()
                .map(|l| json!({"kind": l.kind.as_str(), "text": l.text}))
                .collect();
            json!({
                "old_start": h.old_start,
                "old_lines": h.old_lines,
                "new_start": h.new_start,
                "new_lines": h.new_lines,
                "lines": lines,
            })
        })
        .collect();
    Ok(Json(json!({
        "from": from.rev_id,
        "to": to.rev_id,
        "title_changed": from.title != to.title,
        "unified": unified,
        "hunks": hunks,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectBody {
    protected: Option<bool>,
}

async fn protect(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ProtectBody = parse_body(&body)?;
    let article = load(&state, &id).await?;
    svc::protect(
        &state,
        &auth.member,
        &article,
        req.protected.unwrap_or(true),
    )
    .await?;
    let article = load(&state, &id).await?;
    Ok(Json(article_json(&state, &article).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevertBody {
    revision: String,
}

async fn revert(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: RevertBody = parse_body(&body)?;
    let article = load(&state, &id).await?;
    let outcome = svc::revert(&state, &auth.member, &article, &req.revision).await?;
    outcome_response(&state, outcome, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    interval_days: Option<i32>,
}

async fn review(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ReviewBody = parse_body(&body)?;
    let article = load(&state, &id).await?;
    svc::review(&state, &auth.member, &article, req.interval_days).await?;
    let article = load(&state, &id).await?;
    Ok(Json(article_json(&state, &article).await?))
}

async fn get_edit(
    State(state): State<Node>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let edit = state
        .db
        .edit(parse_id(&id)?)
        .await?
        .filter(|e| e.user_id == auth.member.user.id)
        .ok_or_else(|| ApiError::not_found("no such edit of yours"))?;
    let outcome = svc::outcome_of(&state, edit).await?;
    outcome_response(&state, outcome, false).await
}
