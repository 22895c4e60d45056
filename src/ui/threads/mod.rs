//! A thread's page: the thread, its replies nested under what they answer, the reply
//! composer (under the thread and under each reply), likes and the composer's preview.
//! Editing and deleting one's own posts, moderators' actions and reports are in `actions`.
//! Every page and action reads the community through `service::privacy::may_read` first;
//! the changes themselves are the same `service::discussions` use cases the APIs and the
//! inbox call.

use super::{
    accounts::to_sign_in,
    communities::member_of,
    pages::render,
    views::{community_href, post_html, readable_in, when, People, PersonLink, When},
    Browser, PageError, Posted,
};
use crate::{
    db::discussions::Post,
    domain::{MemberState, Role},
    node::Node,
    service::{
        discussions::{self as svc, CommunityView, Member},
        error::Error,
    },
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

mod actions;
pub use actions::*;

type PageResult = Result<Response, PageError>;

/// Replies a thread page shows; longer threads go on with "later replies".
const REPLIES_PER_PAGE: u64 = 300;
/// Nesting shown; deeper replies sit at this depth and name what they answer.
const MAX_DEPTH: usize = 6;

/// A post as the thread page shows it.
pub struct PostView {
    pub id: i64,
    pub author: PersonLink,
    pub when: When,
    pub edited: Option<When>,
    pub html: String,
    /// Why it is gone: "deleted by its author" or the moderator's reason.
    pub gone: Option<String>,
    pub likes: i32,
    pub liked: bool,
    pub mine: bool,
    pub depth: usize,
    /// The post it answers, when that is not the one above it in the list.
    pub answers: Option<(i64, String)>,
    /// Where it came from, for posts written on another node.
    pub origin: Option<String>,
    /// Its images.
    pub images: Vec<ImageView>,
}

/// An image of a post: its preview, linking to the full image, with its alt text.
pub struct ImageView {
    pub href: String,
    pub src: String,
    pub alt: String,
}

#[derive(Template)]
#[template(path = "ui/thread.html")]
struct ThreadPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    community_href: String,
    community_title: String,
    thread: PostView,
    locked: bool,
    pinned: bool,
    /// The reply marked as the answer.
    answer: Option<i64>,
    /// The reader wrote the thread or moderates: they may mark its answer.
    may_mark: bool,
    replies: Vec<PostView>,
    later: Option<String>,
    can_reply: bool,
    is_moderator: bool,
    reply: ReplyDraft,
}

impl ThreadPage {
    /// Whether the post `id` is the thread's marked answer.
    fn is_answer(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.answer == Some(*id.borrow())
    }
}

/// What was typed into a refused reply, and why it was refused.
#[derive(Default)]
pub struct ReplyDraft {
    pub parent: Option<i64>,
    pub content: String,
    pub error: Option<String>,
}

impl ReplyDraft {
    /// Whether this draft belongs under the post `id`.
    pub fn on(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.parent == Some(*id.borrow())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ThreadQuery {
    after: Option<crate::paging::Pair<i64, i64>>,
}

/// A stored post, 404 when there is none.
async fn load(state: &Node, id: i64) -> Result<Post, PageError> {
    state
        .db
        .post(id)
        .await?
        .ok_or_else(|| Error::not_found("There is no such post on this node.").into())
}

/// The post's community, after the one read check: a confidential community's post is "not
/// found" for those who may not read it, exactly as if it did not exist.
async fn readable_community(
    state: &Node,
    member: Option<&Member>,
    post: &Post,
) -> Result<CommunityView, PageError> {
    readable_in(
        state,
        member,
        &post.community,
        "There is no such post on this node.",
    )
    .await
}

/// `GET /threads/{id}` (a reply's id opens its thread at the reply).
pub async fn thread(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<ThreadQuery>,
) -> PageResult {
    let post = load(&state, id).await?;
    if let Some(thread) = post.thread_id {
        return Ok(Redirect::to(&format!("/threads/{thread}#r{}", post.id)).into_response());
    }
    thread_page(
        &state,
        &browser,
        &post,
        q.after.map(|p| (p.0, p.1)),
        ReplyDraft::default(),
        StatusCode::OK,
    )
    .await
}

/// Opens the page of the post with ActivityPub id `ap_id` (a browser following a post's id);
/// a post the browser may not read is "not found", as on its page.
pub async fn post_by_ap_id(state: &Node, browser: &Browser, ap_id: &str) -> PageResult {
    let post =
        state.db.post_by_ap_id(ap_id).await?.ok_or_else(|| {
            PageError::from(Error::not_found("There is no such post on this node."))
        })?;
    readable_community(state, member_of(browser).as_ref(), &post).await?;
    match post.thread_id {
        // A thread's id is its page; a reply's opens its thread at the reply.
        None => {
            thread_page(
                state,
                browser,
                &post,
                None,
                ReplyDraft::default(),
                StatusCode::OK,
            )
            .await
        }
        Some(thread) => {
            Ok(Redirect::to(&format!("/threads/{thread}#r{}", post.id)).into_response())
        }
    }
}

async fn thread_page(
    state: &Node,
    browser: &Browser,
    thread: &Post,
    after: Option<(i64, i64)>,
    reply: ReplyDraft,
    status: StatusCode,
) -> PageResult {
    let member = member_of(browser);
    let view = readable_community(state, member.as_ref(), thread).await?;
    if thread.deleted || thread.removed_reason.is_some() {
        return Err(PageError::from(Error::gone(match &thread.removed_reason {
            Some(reason) => format!("A moderator removed this thread: {reason}"),
            None => "Its author deleted this thread.".to_string(),
        })));
    }
    let page = state
        .db
        .replies_page(thread.id, after, REPLIES_PER_PAGE)
        .await?;
    let later = page
        .next(|r| crate::paging::Pair(r.published, r.id))
        .map(|c| {
            format!(
                "/threads/{}?after={}",
                thread.id,
                super::views::encode(&c.to_string())
            )
        });
    let me = member.as_ref().map(|m| m.ap_id(state));
    let ids: Vec<i64> = std::iter::once(thread.id)
        .chain(page.items.iter().map(|r| r.id))
        .collect();
    let liked = match &me {
        Some(me) => state.db.liked_among(me, &ids).await?,
        None => HashSet::new(),
    };
    let people = People::load(
        state,
        std::iter::once(thread.author.as_str()).chain(page.items.iter().map(|r| r.author.as_str())),
    )
    .await?;
    let membership = match &me {
        Some(me) => state.db.membership(&view.ap_id, me).await?,
        None => None,
    };
    let accepted = membership
        .as_ref()
        .is_some_and(|m| m.state == MemberState::Accepted);
    let is_moderator = accepted
        && membership
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Owner | Role::Moderator));
    let base = state.settings.base_url();
    let mut images = state.db.media_of_posts(&ids).await?;
    let mut show = |p: &Post, depth: usize, answers: Option<(i64, String)>| PostView {
        id: p.id,
        author: people.link(&p.author),
        when: when(p.published),
        edited: p.updated.filter(|u| *u > p.published).map(when),
        html: post_html(p),
        gone: if p.deleted {
            Some("Deleted by its author.".into())
        } else {
            p.removed_reason
                .as_ref()
                .map(|r| format!("Removed by a moderator: {r}"))
        },
        likes: p.like_count,
        liked: liked.contains(&p.id),
        mine: me.as_deref() == Some(p.author.as_str()),
        depth,
        answers,
        origin: (!p.ap_id.starts_with(&format!("{base}/"))).then(|| p.ap_id.clone()),
        images: images
            .remove(&p.id)
            .unwrap_or_default()
            .iter()
            .map(|m| ImageView {
                href: crate::service::media::url(state, m),
                src: crate::service::media::preview_url(state, m),
                alt: m
                    .description
                    .clone()
                    .unwrap_or_else(|| "An image without a description".into()),
            })
            .collect(),
    };
    let replies = nest(thread.id, &page.items, &people)
        .into_iter()
        .map(|(p, depth, answers)| show(p, depth, answers))
        .collect();
    Ok(render(
        status,
        &ThreadPage {
            title: thread.title.clone().unwrap_or_else(|| "Thread".into()),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            community_href: community_href(&view),
            community_title: view.title.clone(),
            thread: show(thread, 0, None),
            locked: thread.locked,
            pinned: thread.pinned,
            answer: thread.answer_id,
            may_mark: accepted && (is_moderator || me.as_deref() == Some(thread.author.as_str())),
            replies,
            later,
            can_reply: accepted && !thread.locked,
            is_moderator,
            reply,
        },
    ))
}

/// A reply in reading order: the post, its depth, and what it answers when that is not above it.
type Nested<'a> = (&'a Post, usize, Option<(i64, String)>);

/// The replies in reading order: each after what it answers, depth-first, oldest first among
/// siblings; a reply whose parent is not on this page sits at the top level and names it.
fn nest<'a>(thread_id: i64, replies: &'a [Post], people: &People) -> Vec<Nested<'a>> {
    let on_page: HashSet<i64> = replies.iter().map(|r| r.id).collect();
    let mut children: HashMap<i64, Vec<&Post>> = HashMap::new();
    let mut tops: Vec<&Post> = Vec::new();
    for r in replies {
        match r.parent_id {
            Some(p) if p != thread_id && on_page.contains(&p) => {
                children.entry(p).or_default().push(r)
            }
            _ => tops.push(r),
        }
    }
    let by_id: HashMap<i64, &Post> = replies.iter().map(|r| (r.id, r)).collect();
    let mut out = Vec::with_capacity(replies.len());
    // An explicit stack: (post, depth), children pushed in reverse to come out oldest first.
    let mut stack: Vec<(&Post, usize)> = tops.into_iter().rev().map(|p| (p, 1)).collect();
    while let Some((post, depth)) = stack.pop() {
        let answers = match post.parent_id {
            Some(p) if p != thread_id && (depth > MAX_DEPTH - 1 || !on_page.contains(&p)) => {
                let who = by_id
                    .get(&p)
                    .map(|parent| people.link(&parent.author).handle)
                    .unwrap_or_else(|| "an earlier reply".into());
                Some((p, who))
            }
            _ => None,
        };
        out.push((post, depth.min(MAX_DEPTH), answers));
        if let Some(kids) = children.get(&post.id) {
            for kid in kids.iter().rev() {
                stack.push((kid, depth + 1));
            }
        }
    }
    out
}

// ----- replying -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    content: String,
    parent: Option<i64>,
}

/// `POST /threads/{id}/reply`: replies to the thread, or to the reply named by `parent`.
pub async fn reply(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<ReplyForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let thread = load(&state, id).await?;
    readable_community(&state, Some(&member), &thread).await?;
    let parent = match form.parent.filter(|p| *p != thread.id) {
        Some(p) => {
            let parent = load(&state, p).await?;
            if parent.thread_id != Some(thread.id) {
                return Err(Error::invalid("That reply belongs to another thread.").into());
            }
            Some(parent)
        }
        None => None,
    };
    let result = if form.content.trim().is_empty() {
        Err(Error::invalid("Write something before sending the reply.").on("content"))
    } else {
        svc::create_reply(&state, &member, &thread, parent.as_ref(), &form.content).await
    };
    match result {
        Ok(post) => {
            Ok(Redirect::to(&format!("/threads/{}#r{}", thread.id, post.id)).into_response())
        }
        Err(e) => {
            let status = super::status_of(e.kind);
            let draft = ReplyDraft {
                parent: form.parent.or(Some(thread.id)),
                content: form.content,
                error: Some(e.message),
            };
            thread_page(&state, &browser, &thread, None, draft, status).await
        }
    }
}

// ----- likes -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LikeForm {
    liked: bool,
}

/// `POST /posts/{id}/like` (`liked=true` or `false`).
pub async fn like(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<LikeForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let post = load(&state, id).await?;
    readable_community(&state, Some(&member), &post).await?;
    if post.deleted || post.removed_reason.is_some() {
        return Err(Error::gone("This post was removed.").into());
    }
    svc::like(&state, &member, &post, form.liked).await?;
    Ok(Redirect::to(&anchor(&post)).into_response())
}

/// Where a post is shown.
fn anchor(post: &Post) -> String {
    match post.thread_id {
        Some(t) => format!("/threads/{t}#r{}", post.id),
        None => format!("/threads/{}", post.id),
    }
}

// ----- preview -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PreviewForm {
    text: String,
}

/// `POST /preview`: the text as the node renders it (sanitized HTML), for the composer's
/// preview button.
pub async fn preview(Posted { form, .. }: Posted<PreviewForm>) -> Response {
    let text: String = form.text.chars().take(100_000).collect();
    // A fragment for the script to insert; opened on its own, it runs and loads nothing.
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        crate::markdown::render(&text),
    )
        .into_response()
}
