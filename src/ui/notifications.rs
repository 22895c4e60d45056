//! `/notifications`: what happened to the member's posts, events and edit proposals, newest
//! first — replies, likes, mentions, answers to events they organize, answers to their own
//! RSVPs, and another node's answers to their article edits — plus what waits for their
//! decision as a moderator or organizer. Read through `service::notifications`, the same
//! source as the Mastodon API, with the same read marker.

use super::{
    accounts::{signed_in, to_sign_in},
    communities::member_of,
    pages::render,
    views::{encode, when, People, PersonLink, When},
    Browser, PageError,
};
use crate::{
    db::discussions::Post,
    domain::RsvpState,
    markdown,
    node::Node,
    service::notifications::{self as notes, About, Kind, Notification, Window},
};
use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use std::collections::HashMap;

type PageResult = Result<Response, PageError>;

/// Notifications a page shows.
const PAGE: u64 = 30;

/// One notification as the page lists it.
pub struct NoteRow {
    pub who: PersonLink,
    /// "replied in", "mentioned you in", "is going to", …
    pub what: &'static str,
    pub title: String,
    pub href: String,
    pub excerpt: String,
    pub when: When,
}

#[derive(Template)]
#[template(path = "ui/notifications.html")]
struct NotificationsPage {
    title: String,
    signed_in: Option<String>,
    unread: u64,
    /// What waits for the member as a moderator: (link, what).
    waiting: Vec<(String, String)>,
    notes: Vec<NoteRow>,
    /// The next (older) page.
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NotesQuery {
    before: Option<i64>,
}

/// `GET /notifications` (`?before=ID` for older ones): newest first; opening the first page
/// marks everything on it seen.
pub async fn notifications(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<NotesQuery>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in("/notifications"));
    };
    let (found, posts) =
        notes::gather(&state, &member, &Window::all(q.before, None, PAGE + 1)).await?;
    let more = found.len() > usize::try_from(PAGE).unwrap_or(30);
    let found: Vec<_> = found
        .into_iter()
        .take(usize::try_from(PAGE).unwrap_or(30))
        .collect();
    if q.before.is_none() {
        if let Some(newest) = found.first() {
            notes::mark_read(&state, &member, newest.id).await?;
        }
    }
    // The titles of the threads replies belong to, and the local pages of edited articles,
    // looked up at once.
    let thread_ids: Vec<i64> = posts.values().filter_map(|p| p.thread_id).collect();
    let threads: HashMap<i64, String> = state
        .db
        .posts_by_ids(&thread_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.title.unwrap_or_default()))
        .collect();
    let mut articles: HashMap<String, (i64, String)> = HashMap::new();
    for n in &found {
        if let About::Edit {
            article: Some(ap_id),
            ..
        } = &n.about
        {
            if let Some(a) = state.db.article_by_ap_id(ap_id).await? {
                articles.insert(ap_id.clone(), (a.id, a.title));
            }
        }
    }
    let people = People::load(&state, found.iter().map(|n| n.account.as_str())).await?;
    let rows = found
        .iter()
        .filter_map(|n| row(n, &posts, &threads, &articles, &people))
        .collect();
    let page = NotificationsPage {
        title: "Notifications".into(),
        signed_in: signed_in(&browser),
        unread: notes::unread_count(&state, &member).await?,
        waiting: waiting(&state, &member.ap_id(&state)).await?,
        notes: rows,
        next: if more {
            found
                .last()
                .map(|n| format!("/notifications?before={}", n.id))
        } else {
            None
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// How the page shows one notification.
fn row(
    n: &Notification,
    posts: &HashMap<i64, Post>,
    threads: &HashMap<i64, String>,
    articles: &HashMap<String, (i64, String)>,
    people: &People,
) -> Option<NoteRow> {
    let who = people.link(&n.account);
    let when = when(n.at);
    Some(match &n.about {
        About::Post(id) => {
            let post = posts.get(id)?;
            let title = match post.thread_id {
                Some(t) => threads.get(&t).cloned().unwrap_or_default(),
                None => post.title.clone().unwrap_or_default(),
            };
            NoteRow {
                who,
                what: match n.kind {
                    Kind::Like => "liked your post in",
                    Kind::Boost => "boosted your post in",
                    Kind::Mention => "mentioned you in",
                    _ => "replied in",
                },
                title: if title.is_empty() {
                    "a thread".into()
                } else {
                    title
                },
                href: match post.thread_id {
                    Some(t) => format!("/threads/{t}#r{}", post.id),
                    None => format!("/threads/{}", post.id),
                },
                excerpt: markdown::excerpt(&markdown::plain_text(&post.content), 200),
                when,
            }
        }
        About::Event {
            id, title, state, ..
        } => NoteRow {
            who,
            what: match (n.kind, state) {
                (Kind::Rsvp, RsvpState::Going) => "is going to",
                (Kind::Rsvp, RsvpState::Pending) => "asks to take part in",
                (Kind::Rsvp, RsvpState::Waitlisted) => "is on the waitlist of",
                (Kind::Rsvp, RsvpState::Ignored) => "is not going to",
                (Kind::Rsvp, _) => "answered the invitation to",
                (_, RsvpState::Going) => "confirmed your place at",
                (_, RsvpState::Waitlisted) => "put you on the waitlist of",
                (_, RsvpState::Rejected) => "declined your request to take part in",
                _ => "answered your request to take part in",
            },
            title: title.clone(),
            href: format!("/events/{id}"),
            excerpt: String::new(),
            when,
        },
        About::Join { community } => {
            let slug = community.rsplit("/c/").next().unwrap_or(community);
            NoteRow {
                who,
                what: "asks to join",
                title: slug.to_string(),
                href: format!("/communities/{}#requests", encode(slug)),
                excerpt: String::new(),
                when,
            }
        }
        About::Edit {
            article,
            title,
            state,
            reason,
            ..
        } => {
            let here = article.as_ref().and_then(|a| articles.get(a));
            NoteRow {
                href: match here {
                    Some((id, _)) => format!("/articles/{id}"),
                    None => format!("/communities/{}/articles", encode(&who.handle)),
                },
                who: PersonLink {
                    href: format!("/communities/{}", encode(&who.handle)),
                    handle: who.handle,
                },
                what: match state.as_str() {
                    "applied" => "applied your edit of",
                    "conflict" => "found a conflict in your edit of",
                    _ => "refused your edit of",
                },
                title: match (title.is_empty(), here) {
                    (false, _) => title.clone(),
                    (true, Some((_, current))) => current.clone(),
                    (true, None) => "an article".into(),
                },
                excerpt: match state.as_str() {
                    "conflict" => {
                        "Someone changed the same lines first: open the article and edit it again."
                            .into()
                    }
                    "rejected" => reason.clone().unwrap_or_default(),
                    _ => String::new(),
                },
                when,
            }
        }
    })
}

/// Requests waiting for the member's decision, as a moderator or an event's organizer.
async fn waiting(state: &Node, me: &str) -> Result<Vec<(String, String)>, PageError> {
    let (joins, answers) = state
        .db
        .waiting_for_moderator(&state.settings.base_url(), me)
        .await
        .map_err(crate::service::error::Error::from)?;
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    Ok(joins
        .iter()
        .filter_map(|(c, n)| {
            let slug = c.rsplit("/c/").next()?;
            Some((
                format!("/communities/{slug}#requests"),
                format!("{n} request{} to join {slug}", plural(*n)),
            ))
        })
        .chain(answers.iter().map(|(id, title, n)| {
            (
                format!("/events/{id}#people"),
                format!("{n} request{} to take part in {title}", plural(*n)),
            )
        }))
        .collect())
}

/// `GET /notifications/unread`: `{"count": N}` for the header's count (fetched by
/// `static/app.js`); 401 for visitors.
pub async fn unread(State(state): State<Node>, browser: Browser) -> Result<Response, PageError> {
    let Some(member) = member_of(&browser) else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "sign in first"})),
        )
            .into_response());
    };
    let count = notes::unread_count(&state, &member).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "count": count })),
    )
        .into_response())
}
