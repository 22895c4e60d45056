//! The search page: full-text search over threads, replies, articles and events this node
//! holds, with the matches highlighted — only hits in communities the viewer may read
//! (`service::privacy::readable_each`, once for the whole page).

use super::{communities::member_of, pages::render, views::encode, Browser, PageError};
use crate::{
    markdown::escape_html,
    node::Node,
    paging::{Pair, SearchCursor},
    service::{discussions as svc, privacy},
};
use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

/// Results a page shows.
const PER_PAGE: u64 = 20;

pub struct Hit {
    pub href: String,
    pub kind: &'static str,
    /// Safe HTML: the text escaped, the matches in `<mark>`.
    pub title: String,
    pub snippet: String,
    pub community: String,
}

#[derive(Template)]
#[template(path = "ui/search.html")]
struct SearchPage {
    title: String,
    signed_in: Option<String>,
    query: String,
    error: Option<String>,
    hits: Vec<Hit>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    after: Option<SearchCursor>,
}

fn marked(text: &str) -> String {
    escape_html(text)
        .replace(crate::db::search::MARK_START, "<mark>")
        .replace(crate::db::search::MARK_END, "</mark>")
}

/// `GET /search?q=…`.
pub async fn search(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let member = member_of(&browser);
    let query = q.q.trim().to_string();
    let mut page = SearchPage {
        title: if query.is_empty() {
            "Search".into()
        } else {
            format!("Search: {query}")
        },
        signed_in: member.as_ref().map(|m| m.actor.name.clone()),
        query: query.clone(),
        error: None,
        hits: Vec::new(),
        next: None,
    };
    if query.chars().count() > 200 {
        page.error = Some("A search is at most 200 characters.".into());
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    if query.is_empty() {
        return Ok(render(StatusCode::OK, &page));
    }
    let after = q
        .after
        .as_ref()
        .filter(|Pair(score, _)| score.is_finite())
        .map(|Pair(score, Pair(id, kind))| (*score, *id, kind.as_str()));
    let found = state.db.search(&query, None, after, PER_PAGE).await?;
    let views = svc::known_many(&state, found.items.iter().map(|h| h.community.as_str())).await?;
    let readable =
        privacy::readable_each(&state, member.as_ref(), &views.values().collect::<Vec<_>>())
            .await?;
    // Only hits in communities this node knows and the viewer may read.
    let visible: Vec<_> = found
        .items
        .iter()
        .filter(|h| readable.contains(&h.community))
        .collect();
    let article_ids: Vec<i64> = visible
        .iter()
        .filter(|h| h.kind == "article")
        .map(|h| h.ref_id)
        .collect();
    let articles = state.db.article_ap_ids(&article_ids).await?;
    page.hits = visible
        .iter()
        .filter_map(|h| {
            let (kind, href) = match h.kind.as_str() {
                "thread" => ("Thread", format!("/threads/{}", h.ref_id)),
                "reply" => ("Reply", format!("/threads/{}", h.ref_id)),
                "article" => ("Article", articles.get(&h.ref_id)?.clone()),
                "event" => ("Event", format!("/events/{}", h.ref_id)),
                _ => return None,
            };
            Some(Hit {
                href,
                kind,
                title: marked(&h.title),
                snippet: marked(&h.snippet),
                community: views
                    .get(&h.community)
                    .map(|v| v.title.clone())
                    .unwrap_or_default(),
            })
        })
        .collect();
    page.next = found
        .next(|h| Pair(h.score, Pair(h.ref_id, h.kind.clone())))
        .map(|c| {
            format!(
                "/search?q={}&after={}",
                encode(&query),
                encode(&c.to_string())
            )
        });
    Ok(render(StatusCode::OK, &page))
}
