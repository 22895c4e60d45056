//! People's pages: a local member's or a remote person's name, their communities and their
//! recent contributions — only those in communities the viewer may read (one
//! `service::privacy::readable_each` for the whole page).

use super::{
    communities::{community_rows, member_of, CommunityRow},
    pages::render,
    views::{when, When},
    Browser, PageError,
};
use crate::{
    db::mastodon::{Whose, Window},
    markdown,
    node::Node,
    service::{
        discussions::{self as svc, CommunityView},
        error::Error,
        privacy,
    },
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

/// Recent contributions a profile lists.
const RECENT: u64 = 20;

/// A contribution in a profile's list.
pub struct Contribution {
    pub href: String,
    pub title: String,
    pub excerpt: String,
    pub when: When,
    pub community: String,
}

#[derive(Template)]
#[template(path = "ui/person.html")]
struct PersonPage {
    title: String,
    signed_in: Option<String>,
    handle: String,
    summary_html: String,
    origin: Option<String>,
    communities: Vec<CommunityRow>,
    posts: Vec<Contribution>,
}

/// `GET /people/{handle}`: `name` for people here, `name@host` for others this node knows.
pub async fn person(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
) -> Result<Response, PageError> {
    let domain = state.settings.instance.domain.clone();
    let local_name = match handle.split_once('@') {
        None => Some(handle.to_lowercase()),
        Some((name, host)) if host.eq_ignore_ascii_case(&domain) => Some(name.to_lowercase()),
        Some(_) => None,
    };
    let (ap_id, name, summary_html, origin, full) = match local_name {
        Some(name) => {
            let actor = state.db.local_actor_by_name(&name).await?;
            if actor.as_ref().is_some_and(|a| a.kind == "deleted") {
                return Err(Error::gone("This account was deleted.").into());
            }
            let actor = actor
                .filter(|a| a.kind == "person")
                .ok_or_else(|| PageError::from(Error::not_found("Nobody here has that name.")))?;
            (
                svc::user_ap_id(&state, &actor.name),
                actor.display_name.clone(),
                markdown::render(&actor.summary),
                None,
                format!("{}@{domain}", actor.name),
            )
        }
        None => {
            let (name, host) = handle.split_once('@').unwrap_or((handle.as_str(), ""));
            let actor = state
                .db
                .remote_actor_by_handle(name, host)
                .await?
                .filter(|a| a.kind != "Group")
                .ok_or_else(|| {
                    PageError::from(Error::not_found(
                        "This node knows nobody by that handle yet.",
                    ))
                })?;
            (
                actor.ap_id.clone(),
                actor
                    .name
                    .clone()
                    .unwrap_or_else(|| actor.preferred_username.clone()),
                markdown::sanitize(actor.summary.as_deref().unwrap_or("")),
                Some(actor.ap_id.clone()),
                format!("{}@{}", actor.preferred_username, actor.host),
            )
        }
    };
    let member = member_of(&browser);
    let joined = state.db.accepted_communities(&ap_id).await?;
    let theirs = state
        .db
        .communities_of_authors(std::slice::from_ref(&ap_id))
        .await?;
    let known = svc::known_many(&state, joined.iter().chain(&theirs).map(String::as_str)).await?;
    let refs: Vec<&CommunityView> = known.values().collect();
    let readable = privacy::readable_each(&state, member.as_ref(), &refs).await?;
    // Their recent posts where the viewer may read them, chosen before the limit applies.
    let within: Vec<String> = theirs
        .into_iter()
        .filter(|c| readable.contains(c))
        .collect();
    let whose = Whose::Author {
        author: &ap_id,
        within: &within,
    };
    let posts = state
        .db
        .posts_of(whose, Window::default(), RECENT, false, false)
        .await?;
    let mut views: Vec<CommunityView> = joined
        .iter()
        .filter(|id| readable.contains(*id))
        .filter_map(|id| known.get(id).cloned())
        .collect();
    views.sort_by_key(|a| a.title.to_lowercase());
    let posts = posts
        .iter()
        .map(|p| Contribution {
            href: match p.thread_id {
                Some(t) => format!("/threads/{t}#r{}", p.id),
                None => format!("/threads/{}", p.id),
            },
            title: p.title.clone().unwrap_or_else(|| "Reply".into()),
            excerpt: markdown::excerpt(&markdown::plain_text(&p.content), 200),
            when: when(p.published),
            community: known
                .get(&p.community)
                .map(|v| v.title.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &PersonPage {
            title: name,
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            handle: full,
            summary_html,
            origin,
            communities: community_rows(&state, member.as_ref(), &views).await?,
            posts,
        },
    ))
}
