//! Knowledge articles and events as Mastodon statuses, as Mastodon shows a Lemmy post or a
//! Mobilizon event: the title in bold, a summary (an event's time and place), a link to the
//! page, and a `card` (PreviewCard) for apps that draw one.
//!
//! Each has a status id reserved from the posts' sequence when it was stored
//! (`db::status_refs`), so ids stay numeric and ordered by arrival among posts. They are read
//! exactly as their community's threads are (`api::may_read`): one a caller may not read is a
//! 404, like one that does not exist. Nothing can be done to them from an app (favourite,
//! boost, bookmark, edit…): such requests get a 422 that says why.

use super::{accounts::Profiles, filtering::Active, rfc3339, MastodonError};
use crate::{
    api::{may_read, Caller},
    db::{
        discussions::Post,
        status_refs::{Card, CardSource},
    },
    markdown::{escape_html, excerpt, plain_text, render as markdown},
    node::Node,
    service::{
        discussions::{known_many, CommunityView},
        events::summary_line,
        privacy::readable_each,
    },
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The longest summary a status shows of an article's text or an event's description.
const SUMMARY_MAX: usize = 300;

/// A status of a timeline: a thread or reply, or an article's or event's.
pub enum Item {
    Post(Post),
    Card(Card),
}

impl Item {
    pub fn id(&self) -> i64 {
        match self {
            Item::Post(p) => p.id,
            Item::Card(c) => c.status.id,
        }
    }
}

/// Posts and article and event statuses of one paging window (each fetched up to `limit`),
/// merged by id, newest first, keeping `limit`: the newest ones, or with `min_id` (`from_min`)
/// the oldest, as each kind was paged.
pub fn merge(posts: Vec<Post>, cards: Vec<Card>, limit: u64, from_min: bool) -> Vec<Item> {
    let mut items: Vec<Item> = posts
        .into_iter()
        .map(Item::Post)
        .chain(cards.into_iter().map(Item::Card))
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.id()));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        if from_min {
            items.drain(..items.len() - limit);
        } else {
            items.truncate(limit);
        }
    }
    items
}

/// Who a status shows as its account: an article's creator, an event's organizer.
fn author(card: &Card) -> &str {
    match &card.source {
        CardSource::Article { creator, .. } => creator,
        CardSource::Event(e) => &e.organizer,
    }
}

/// The statuses of `cards` the caller may read (the one check, once per community) and whose
/// author and community are not on the caller's blocked domains.
pub async fn readable(
    state: &Node,
    caller: Option<&Caller>,
    blocked: &super::domains::Blocked,
    hidden: &[String],
    cards: Vec<Card>,
) -> Result<Vec<Card>, MastodonError> {
    let mut allowed: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::with_capacity(cards.len());
    for card in cards {
        if blocked.covers(author(&card))
            || blocked.covers(card.community())
            || hidden.iter().any(|h| h == author(&card))
        {
            continue;
        }
        let ok = match allowed.get(card.community()) {
            Some(ok) => *ok,
            None => {
                let ok = may_read(state, caller, card.community()).await.is_ok();
                allowed.insert(card.community().to_string(), ok);
                ok
            }
        };
        if ok {
            out.push(card);
        }
    }
    Ok(out)
}

/// Those of `candidates` (the ids of communities, or of people, as a list names them) that are
/// communities the caller may read, in a fixed number of queries: the communities a page of
/// articles and events is taken from, so that no page is emptied after the fact.
pub async fn readable_communities(
    state: &Node,
    caller: Option<&Caller>,
    candidates: &[String],
) -> Result<Vec<String>, MastodonError> {
    let known = known_many(state, candidates.iter().map(String::as_str)).await?;
    let views: Vec<&CommunityView> = known.values().collect();
    let readable = readable_each(state, caller.map(|c| &c.member), &views).await?;
    Ok(candidates
        .iter()
        .filter(|c| readable.contains(c.as_str()))
        .cloned()
        .collect())
}

/// The article or event status `id` if there is one: `Ok(None)` when the id is none of
/// theirs, a 404 when the caller may not read its community.
pub async fn find(
    state: &Node,
    caller: Option<&Caller>,
    id: &str,
) -> Result<Option<Card>, MastodonError> {
    let Ok(id) = id.trim().parse::<i64>() else {
        return Ok(None);
    };
    let Some(status) = state.db.status_ref(id).await? else {
        return Ok(None);
    };
    may_read(state, caller, &status.community)
        .await
        .map_err(|_| MastodonError::not_found("Record not found"))?;
    Ok(state.db.cards(vec![status]).await?.pop())
}

/// Whether `id` is the status of an article or event the caller may read (a 404 when they
/// may not): such a status stands alone, with no replies, likes or boosts.
pub async fn stands_alone(
    state: &Node,
    caller: Option<&Caller>,
    id: &str,
) -> Result<bool, MastodonError> {
    Ok(find(state, caller, id).await?.is_some())
}

/// A 422 for a change an app asks of an article's or event's status (a favourite, a boost, a
/// bookmark, an edit…) that the caller may read; nothing otherwise.
pub async fn refuse_changes(
    state: &Node,
    caller: Option<&Caller>,
    id: &str,
) -> Result<(), MastodonError> {
    match find(state, caller, id).await {
        Ok(Some(card)) => Err(MastodonError::unprocessable(match card.source {
            CardSource::Article { .. } => {
                "this status shows a knowledge article: open its link to read or edit it"
            }
            CardSource::Event(_) => "this status shows an event: open its link to RSVP",
        })),
        _ => Ok(()),
    }
}

/// Plain text of markdown, on one line, cut to [`SUMMARY_MAX`].
fn summary(markdown_text: &str) -> String {
    let text = plain_text(&markdown(markdown_text));
    excerpt(
        &text.split_whitespace().collect::<Vec<_>>().join(" "),
        SUMMARY_MAX,
    )
}

/// What a status shows of its article or event: title, summary lines (plain text), link, and
/// when it was last changed, if ever.
fn parts(card: &Card) -> (&str, Vec<String>, &str, Option<i64>) {
    match &card.source {
        CardSource::Article {
            article, current, ..
        } => {
            let text = current
                .as_ref()
                .map(|r| summary(&r.content))
                .unwrap_or_default();
            let edited = current.as_ref().filter(|r| r.seq > 1).map(|r| r.created_at);
            (&article.title, vec![text], &article.ap_id, edited)
        }
        CardSource::Event(e) => {
            let text = summary(&e.description);
            let edited = (e.sequence > 0).then_some(e.updated_at);
            (&e.title, vec![summary_line(e), text], &e.ap_id, edited)
        }
    }
}

/// The Status entities of `cards` (already checked readable), in a fixed number of queries.
pub async fn render(state: &Node, cards: &[Card]) -> Result<Vec<Value>, MastodonError> {
    let actors: Vec<String> = cards
        .iter()
        .flat_map(|c| [author(c).to_string(), c.community().to_string()])
        .collect();
    let profiles = Profiles::load(state, &actors).await?;
    let base = state.settings.base_url();
    Ok(cards
        .iter()
        .map(|card| {
            let community = profiles.get(card.community());
            let (title, lines, url, edited) = parts(card);
            let lines: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
            let mut content = format!("<p><strong>{}</strong></p>", escape_html(title));
            for line in &lines {
                content.push_str(&format!("<p>{}</p>", escape_html(line)));
            }
            let link = escape_html(url);
            content.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>"));
            let description = lines
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(" — ");
            let confidential = community["locked"].as_bool().unwrap_or(false);
            let created = rfc3339(card.status.created_at);
            json!({
                "id": card.status.id.to_string(),
                "uri": url,
                "url": url,
                "created_at": created,
                "edited_at": edited.map(rfc3339),
                "account": profiles.get(author(card)),
                "content": content,
                "visibility": if confidential { "private" } else { "public" },
                "sensitive": false,
                "spoiler_text": "",
                "media_attachments": [],
                "application": null,
                "mentions": [{
                    "id": community["id"],
                    "username": community["username"],
                    "acct": community["acct"],
                    "url": community["url"],
                }],
                "tags": [],
                "emojis": [],
                "reblogs_count": 0,
                "favourites_count": 0,
                "replies_count": 0,
                "in_reply_to_id": null,
                "in_reply_to_account_id": null,
                "reblog": null,
                "poll": null,
                "card": {
                    "url": url,
                    "title": title,
                    "description": description,
                    "type": "link",
                    "authors": [],
                    "author_name": "",
                    "author_url": "",
                    "provider_name": state.settings.instance.domain,
                    "provider_url": base,
                    "html": "",
                    "width": 0,
                    "height": 0,
                    "image": null,
                    "image_description": "",
                    "embed_url": "",
                    "blurhash": null,
                    "published_at": created,
                },
                "language": null,
                "text": null,
                "favourited": false,
                "reblogged": false,
                "muted": false,
                "bookmarked": false,
                "pinned": false,
                "filtered": [],
            })
        })
        .collect())
}

/// `statuses` (rendered from readable cards) under the caller's filters: those a `hide`
/// filter matches are left out, the others carry their `filtered` results. Matched on the
/// title and summary the status shows.
pub fn filtered(filters: &Active, statuses: Vec<Value>) -> Vec<Value> {
    if filters.is_empty() {
        return statuses;
    }
    statuses
        .into_iter()
        .filter_map(|mut status| {
            let id = status["id"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            let verdict = filters.judge_text(id, None, status["content"].as_str().unwrap_or(""));
            if verdict.hide {
                return None;
            }
            status["filtered"] = Value::Array(verdict.results);
            Some(status)
        })
        .collect()
}
