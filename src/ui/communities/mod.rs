//! Community pages: the home page's lists, the directory (this node's communities and the
//! other nodes' ones its users joined, with search and "open a community by its handle"), a
//! community's page (charter, members by organization, threads with pinned ones first, the
//! composer), joining, leaving and creating communities.
//!
//! A confidential community shows a visitor or non-member its name, summary and a join (or
//! request) button only: its threads and members go through `service::privacy::may_read`,
//! the one read check the APIs use too.

use super::{
    accounts::to_sign_in,
    pages::{render, Field, FormPage},
    views::{community_href, encode, when, People, PersonLink, When},
    Browser, PageError, Posted,
};
use crate::{
    db::discussions::Post,
    domain::MemberState,
    markdown,
    node::Node,
    paging::ThreadCursor,
    service::{
        discussions::{self as svc, CommunityView, Member, NewCommunity},
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
use std::collections::{BTreeMap, HashMap};

type PageResult = Result<Response, PageError>;

/// Threads per page of a community.
const THREADS_PER_PAGE: u64 = 30;
/// Members a community page lists (the API pages through all of them).
const MEMBERS_SHOWN: u64 = 200;

/// The signed-in member, if any.
pub(super) fn member_of(browser: &Browser) -> Option<Member> {
    browser.account.as_ref().map(|a| Member {
        actor: a.actor.clone(),
        user: a.user.clone(),
    })
}

/// One community in a list.
pub struct CommunityRow {
    pub href: String,
    pub handle: String,
    pub title: String,
    pub summary: String,
    pub visibility: String,
    pub local: bool,
    pub members: u64,
    /// The viewer's membership: "accepted", "pending", or empty.
    pub membership: String,
}

/// Rows for `views` (in their order), with member counts and the viewer's memberships looked
/// up once for all.
pub(super) async fn community_rows(
    state: &Node,
    viewer: Option<&Member>,
    views: &[CommunityView],
) -> Result<Vec<CommunityRow>, Error> {
    let ids: Vec<String> = views.iter().map(|v| v.ap_id.clone()).collect();
    let counts = state.db.member_counts(&ids).await?;
    let mine = match viewer {
        Some(m) => state.db.memberships_of(&m.ap_id(state), &ids).await?,
        None => HashMap::new(),
    };
    Ok(views
        .iter()
        .map(|v| CommunityRow {
            href: community_href(v),
            handle: v.handle(),
            title: v.title.clone(),
            summary: markdown::excerpt(&markdown::plain_text(&v.summary), 200),
            visibility: v.visibility.clone(),
            local: v.local().is_some(),
            members: counts.get(&v.ap_id).copied().unwrap_or(0),
            membership: mine
                .get(&v.ap_id)
                .map(|m| m.state.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect())
}

/// A thread in a list.
pub struct ThreadRow {
    pub href: String,
    pub title: String,
    pub author: PersonLink,
    pub when: When,
    pub replies: u64,
    pub likes: i32,
    pub pinned: bool,
    pub locked: bool,
    /// A reply is marked as its answer.
    pub solved: bool,
    /// The community, on lists that span communities.
    pub community: Option<(String, String)>,
}

/// Rows for `threads`, with authors and reply counts looked up once for all.
pub(super) async fn thread_rows(
    state: &Node,
    threads: &[Post],
    communities: Option<&HashMap<String, CommunityView>>,
) -> Result<Vec<ThreadRow>, Error> {
    let people = People::load(state, threads.iter().map(|t| t.author.as_str())).await?;
    let ids: Vec<i64> = threads.iter().map(|t| t.id).collect();
    let replies = state.db.reply_counts(&ids).await?;
    Ok(threads
        .iter()
        .map(|t| ThreadRow {
            href: format!("/threads/{}", t.id),
            title: t.title.clone().unwrap_or_else(|| "(untitled)".into()),
            author: people.link(&t.author),
            when: when(t.published),
            replies: replies.get(&t.id).copied().unwrap_or(0),
            likes: t.like_count,
            pinned: t.pinned,
            locked: t.locked,
            solved: t.answer_id.is_some(),
            community: communities
                .and_then(|c| c.get(&t.community))
                .map(|v| (community_href(v), v.title.clone())),
        })
        .collect())
}

// ----- home -----

#[derive(Template)]
#[template(path = "ui/home.html")]
struct HomePage {
    title: String,
    signed_in: Option<String>,
    node: String,
    description: String,
    display_name: String,
    can_sign_up: bool,
    communities: Vec<CommunityRow>,
    threads: Vec<ThreadRow>,
    events: Vec<super::events::EventRow>,
    /// Articles due for review: (link, title, community).
    due: Vec<(String, String, String)>,
}

/// `GET /`: for visitors, what the node is and its communities; for members, the latest
/// threads of their communities and the communities themselves.
pub async fn home(State(state): State<Node>, browser: Browser) -> PageResult {
    let member = member_of(&browser);
    let registration = crate::service::accounts::signup::registration(&state).await?;
    let base = state.settings.base_url();
    let (communities, threads, events, due) = match &member {
        Some(m) => {
            let mine = state.db.accepted_communities(&m.ap_id(&state)).await?;
            let known = svc::known_many(&state, mine.iter().map(String::as_str)).await?;
            let mut views: Vec<CommunityView> = known.values().cloned().collect();
            views.sort_by_key(|a| a.title.to_lowercase());
            let refs: Vec<&CommunityView> = views.iter().collect();
            let readable = privacy::readable_each(&state, Some(m), &refs).await?;
            let readable: Vec<String> = readable.into_iter().collect();
            let recent = state.db.recent_threads(&readable, THREADS_PER_PAGE).await?;
            let threads = thread_rows(&state, &recent, Some(&known)).await?;
            let upcoming = state
                .db
                .upcoming_events(&readable, crate::db::now_ms(), 10)
                .await?;
            let due = state
                .db
                .articles_due(&readable, crate::db::now_ms(), 10)
                .await?
                .into_iter()
                .map(|a| {
                    let community = known
                        .get(&a.community)
                        .map(|v| v.title.clone())
                        .unwrap_or_default();
                    (format!("/articles/{}", a.id), a.title, community)
                })
                .collect();
            (
                community_rows(&state, Some(m), &views).await?,
                threads,
                super::events::rows(&upcoming, &m.user.time_zone),
                due,
            )
        }
        None => {
            let (local, _) = state.db.community_directory(&base, None).await?;
            let known = svc::known_many(&state, local.iter().map(String::as_str)).await?;
            let views: Vec<CommunityView> = local
                .iter()
                .filter_map(|id| known.get(id).cloned())
                .collect();
            (
                community_rows(&state, None, &views).await?,
                Vec::new(),
                Vec::new(),
                Vec::new(),
            )
        }
    };
    Ok(render(
        StatusCode::OK,
        &HomePage {
            title: state.settings.instance.name.clone(),
            node: state.settings.instance.name.clone(),
            description: state.settings.instance.description.clone(),
            display_name: member
                .as_ref()
                .map(|m| m.actor.display_name.clone())
                .unwrap_or_default(),
            signed_in: member.map(|m| m.actor.name),
            can_sign_up: matches!(
                registration,
                crate::config::Registration::Open | crate::config::Registration::Approval
            ),
            communities,
            threads,
            events,
            due,
        },
    ))
}

// ----- the directory -----

#[derive(Template)]
#[template(path = "ui/communities.html")]
struct DirectoryPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    query: String,
    local: Vec<CommunityRow>,
    remote: Vec<CommunityRow>,
    open_error: Option<String>,
    open_value: String,
    partners: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DirectoryQuery {
    q: String,
}

async fn directory_page(
    state: &Node,
    browser: &Browser,
    query: &str,
    open: Option<(String, Error)>,
) -> PageResult {
    let member = member_of(browser);
    let base = state.settings.base_url();
    let (local, remote) = state.db.community_directory(&base, Some(query)).await?;
    let known =
        svc::known_many(state, local.iter().chain(remote.iter()).map(String::as_str)).await?;
    let pick = |ids: &[String]| -> Vec<CommunityView> {
        ids.iter().filter_map(|id| known.get(id).cloned()).collect()
    };
    let partners = state
        .db
        .instances()
        .await?
        .into_iter()
        .filter(|i| i.state == "partner")
        .map(|i| i.domain)
        .collect();
    let (open_value, open_error) = match open {
        Some((value, e)) => (value, Some(e.message)),
        None => (String::new(), None),
    };
    let status = if open_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &DirectoryPage {
            title: "Communities".into(),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            query: query.to_string(),
            local: community_rows(state, member.as_ref(), &pick(&local)).await?,
            remote: community_rows(state, member.as_ref(), &pick(&remote)).await?,
            open_error,
            open_value,
            partners,
        },
    ))
}

/// `GET /communities`: the directory, narrowed by `?q=`.
pub async fn directory(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<DirectoryQuery>,
) -> PageResult {
    directory_page(&state, &browser, &q.q, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OpenForm {
    handle: String,
}

/// `POST /communities/open`: finds a community by its handle (`slug@node`) or URL — through
/// WebFinger for other nodes' — and opens its page.
pub async fn open(
    State(state): State<Node>,
    Posted { browser, form }: Posted<OpenForm>,
) -> PageResult {
    let handle = form.handle.trim().trim_start_matches('@');
    let found = if handle.is_empty() {
        Err(Error::invalid("Enter a community's handle, such as rust@example.org.").on("handle"))
    } else {
        svc::resolve(&state, handle).await
    };
    match found {
        Ok(view) => Ok(Redirect::to(&community_href(&view)).into_response()),
        Err(e) => directory_page(&state, &browser, "", Some((form.handle, e))).await,
    }
}

// ----- a community's page -----

/// A member in the list on a community's page.
pub struct MemberRow {
    pub person: PersonLink,
    pub role: String,
    pub title: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/community.html")]
struct CommunityPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    href: String,
    handle: String,
    summary_html: String,
    charter_html: String,
    visibility: String,
    origin: Option<String>,
    members: u64,
    membership: String,
    can_read: bool,
    threads: Vec<ThreadRow>,
    next: Option<String>,
    by_node: Vec<(String, Vec<MemberRow>)>,
    events: Vec<super::events::EventRow>,
    is_moderator: bool,
    /// Hosted on this node (managed here).
    local: bool,
    /// Requests to join, for the moderators of a community hosted here: (membership id, who).
    requests: Vec<(i64, PersonLink)>,
    atom: Option<String>,
    calendar: String,
    compose: Compose,
    articles: Vec<super::articles::ArticleRow>,
    more_articles: bool,
}

/// The new-thread form, with what was typed and the errors beside the fields.
#[derive(Default)]
pub struct Compose {
    pub title: String,
    pub content: String,
    pub title_error: Option<String>,
    pub content_error: Option<String>,
    pub error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CommunityQuery {
    before: Option<ThreadCursor>,
}

/// `GET /communities/{handle}` (and `/c/{slug}` asked for HTML).
pub async fn community(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
    Query(q): Query<CommunityQuery>,
) -> PageResult {
    let view = svc::resolve(&state, &handle).await?;
    community_page(
        &state,
        &browser,
        &view,
        q.before,
        Compose::default(),
        StatusCode::OK,
    )
    .await
}

async fn community_page(
    state: &Node,
    browser: &Browser,
    view: &CommunityView,
    before: Option<ThreadCursor>,
    compose: Compose,
    status: StatusCode,
) -> PageResult {
    let member = member_of(browser);
    let me = member.as_ref().map(|m| m.ap_id(state));
    let membership = match &me {
        Some(me) => state.db.membership(&view.ap_id, me).await?,
        None => None,
    };
    let can_read = privacy::may_read(state, member.as_ref(), view)
        .await
        .is_ok();
    let href = community_href(view);
    let events = if can_read {
        let zone = member
            .as_ref()
            .map(|m| m.user.time_zone.clone())
            .unwrap_or_default();
        super::events::upcoming(state, view, &zone, 5).await?
    } else {
        Vec::new()
    };
    let is_moderator = membership.as_ref().is_some_and(|m| {
        m.state == MemberState::Accepted
            && matches!(
                m.role,
                crate::domain::Role::Owner | crate::domain::Role::Moderator
            )
    });
    let (articles, more_articles) = if can_read {
        super::articles::article_rows(state, &view.ap_id, super::articles::ARTICLES_ON_COMMUNITY)
            .await?
    } else {
        (Vec::new(), false)
    };
    let requests = if is_moderator && view.local().is_some() {
        let page = state
            .db
            .members_page(&view.ap_id, Some(MemberState::Pending), None, MEMBERS_SHOWN)
            .await?;
        let people = People::load(state, page.items.iter().map(|m| m.actor.as_str())).await?;
        page.items
            .iter()
            .map(|m| (m.id, people.link(&m.actor)))
            .collect()
    } else {
        Vec::new()
    };
    let (threads, next, by_node) = if can_read {
        let page = state
            .db
            .threads_page(&view.ap_id, before, THREADS_PER_PAGE)
            .await?;
        let next = page.next(|t| ThreadCursor {
            pinned: t.pinned,
            id: t.id,
        });
        let threads = thread_rows(state, &page.items, None).await?;
        let next = next.map(|c| format!("{href}?before={}", encode(&c.to_string())));
        // Members are for signed-in readers, as in the API.
        let by_node = if member.is_some() {
            members_by_node(state, view).await?
        } else {
            Vec::new()
        };
        (threads, next, by_node)
    } else {
        (Vec::new(), None, Vec::new())
    };
    let summary_html = match view.local() {
        Some(_) => markdown::render(&view.summary),
        None => markdown::sanitize(&view.summary),
    };
    let charter_html = match view.local() {
        Some(_) => markdown::render(&view.charter),
        None => markdown::sanitize(&view.charter),
    };
    let local_slug = view.local().map(|_| view.slug.clone());
    Ok(render(
        status,
        &CommunityPage {
            title: view.title.clone(),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            handle: view.handle(),
            summary_html,
            charter_html,
            visibility: view.visibility.clone(),
            origin: view.remote().map(|r| r.ap_id.clone()),
            members: state.db.member_count(&view.ap_id).await?,
            membership: membership
                .map(|m| m.state.as_str().to_string())
                .unwrap_or_default(),
            can_read,
            threads,
            next,
            by_node,
            events,
            is_moderator,
            local: view.local().is_some(),
            requests,
            atom: local_slug
                .as_ref()
                .filter(|_| privacy::is_public(view))
                .map(|s| format!("/c/{s}/feed.atom")),
            calendar: format!(
                "/api/roundtable/v1/communities/{}/events.ics",
                encode(&view.handle())
            ),
            href,
            compose,
            articles,
            more_articles,
        },
    ))
}

/// The community's accepted members grouped by the node (organization) they are on, this
/// node first.
async fn members_by_node(
    state: &Node,
    view: &CommunityView,
) -> Result<Vec<(String, Vec<MemberRow>)>, Error> {
    let page = state
        .db
        .members_page(
            &view.ap_id,
            Some(MemberState::Accepted),
            None,
            MEMBERS_SHOWN,
        )
        .await?;
    let people = People::load(state, page.items.iter().map(|m| m.actor.as_str())).await?;
    let mut groups: BTreeMap<String, Vec<MemberRow>> = BTreeMap::new();
    for m in &page.items {
        let person = people.link(&m.actor);
        let host = person
            .handle
            .rsplit_once('@')
            .map(|(_, h)| h.to_string())
            .unwrap_or_default();
        groups.entry(host).or_default().push(MemberRow {
            person,
            role: m.role.as_str().to_string(),
            title: m.title.clone(),
        });
    }
    let here = state.settings.instance.domain.clone();
    let mut out: Vec<(String, Vec<MemberRow>)> = Vec::new();
    if let Some(mine) = groups.remove(&here) {
        out.push((here, mine));
    }
    out.extend(groups);
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ThreadForm {
    title: String,
    content: String,
}

/// `POST /communities/{handle}/threads`: starts a thread; a refused one shows the page again
/// with the message beside the field.
pub async fn start_thread(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<ThreadForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/communities/{}", encode(&handle))));
    };
    let view = svc::resolve(&state, &handle).await?;
    let mut compose = Compose {
        title: form.title.clone(),
        content: form.content.clone(),
        ..Compose::default()
    };
    let problem = if form.title.trim().is_empty() {
        Some(Error::invalid("Give the thread a title.").on("title"))
    } else if form.content.trim().is_empty() {
        Some(Error::invalid("Write what the thread is about.").on("content"))
    } else {
        None
    };
    let result = match problem {
        Some(e) => Err(e),
        None => svc::create_thread(&state, &member, &view, &form.title, &form.content).await,
    };
    match result {
        Ok(post) => Ok(Redirect::to(&format!("/threads/{}", post.id)).into_response()),
        Err(e) => {
            let status = super::status_of(e.kind);
            match e.field {
                Some("title") => compose.title_error = Some(e.message),
                Some("content") => compose.content_error = Some(e.message),
                _ => compose.error = Some(e.message),
            }
            community_page(&state, &browser, &view, None, compose, status).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct Empty {}

/// `POST /communities/{handle}/join`: joins (or asks to join) and shows the community again.
pub async fn join(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/communities/{}", encode(&handle))));
    };
    let view = svc::resolve(&state, &handle).await?;
    svc::join(&state, &member, &view).await?;
    Ok(Redirect::to(&community_href(&view)).into_response())
}

/// `POST /communities/{handle}/leave`.
pub async fn leave(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/communities/{}", encode(&handle))));
    };
    let view = svc::resolve(&state, &handle).await?;
    svc::leave(&state, &member, &view).await?;
    Ok(Redirect::to(&community_href(&view)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    membership: i64,
    approve: bool,
}

/// `POST /communities/{handle}/requests`: a moderator approves or declines a request to join.
pub async fn decide(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<DecideForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/communities/{}", encode(&handle))));
    };
    let view = svc::resolve(&state, &handle).await?;
    svc::decide_membership(&state, &member, &view, form.membership, form.approve).await?;
    Ok(Redirect::to(&format!("{}#requests", community_href(&view))).into_response())
}

mod manage;
pub use manage::{create_community, new_community_page, save_settings, set_role, settings};
