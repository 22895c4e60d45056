//! A community's ActivityPub collections: `outbox` (announces of its threads, newest first,
//! each page kept as last rendered while its rows are the same: `activitypub::served`),
//! `stream`, `followers`, `moderators`, `featured` and `articles`, paged as Mastodon reads them.

use super::routes::{activity_bytes, activity_json, cursor, empty_collection, readable, PageQuery};
use crate::activitypub::{
    objects::{AS_CONTEXT, PUBLIC},
    served,
};
use crate::{
    error::ApiError,
    node::Node,
    paging::{rows_for, Page, Pair},
    service::{
        discussions::{self, CommunityView},
        privacy,
    },
    web::Q,
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::{header, HeaderMap, Method},
    response::{IntoResponse, Response},
};
use serde_json::{json, Value};

/// Threads per outbox page, and pinned threads per `featured` page.
const OUTBOX_PAGE: u64 = 20;
/// Ids per page of the `moderators` and `articles` collections.
const ID_PAGE: u64 = 50;

/// A community's collections: `outbox` (announces of its threads, newest first), `followers`
/// (a count), `moderators`, `featured` (pinned threads, newest first) and `articles` (those
/// owned here, oldest first). Every list is paged the way Mastodon pages (an
/// `OrderedCollection` whose `first` is an `OrderedCollectionPage` with `next`); `moderators`,
/// `featured` and `articles` also carry their first page as `orderedItems`, because Lemmy
/// reads those inline and never follows pages. Each page costs a fixed number of queries.
pub async fn group_collection(
    State(state): State<Node>,
    Path((name, which)): Path<(String, String)>,
    Q(q): Q<PageQuery>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let community = discussions::local_community(&state, &name).await?;
    let community = readable(&state, &community.ap_id, &method, &uri, &headers).await?;
    let c = community.ap_id.clone();
    let paged = q.page.is_some() || q.before.is_some() || q.after.is_some();
    match which.as_str() {
        "outbox" => outbox(&state, &community, &q, paged).await,
        "stream" => stream(&state, &community, &q).await,
        "followers" => Ok(activity_json(json!({
            "@context": AS_CONTEXT,
            "id": format!("{c}/followers"),
            "type": "Collection",
            "totalItems": state.db.member_count(&c).await?,
        }))),
        "moderators" => moderators(&state, &community, &q, paged).await,
        "featured" => featured(&state, &community, &q, paged).await,
        "articles" => articles_collection(&state, &community, &q, paged).await,
        "events.ics" => {
            let page = state
                .db
                .events_page(
                    &c,
                    false,
                    crate::web::feed_start(),
                    cursor::<Pair<i64, i64>>(&q.after)?.map(|Pair(at, id)| (at, id)),
                    crate::service::calendar::MAX_FEED_EVENTS,
                )
                .await?;
            Ok(crate::web::ics_page(
                &state,
                &uri,
                &community.title,
                &page.items,
                crate::web::feed_next(&page),
            ))
        }
        "feed.atom" => Ok((
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            crate::service::feeds::community_atom(&state, &community, cursor(&q.before)?).await?,
        )
            .into_response()),
        "following" => Ok(empty_collection(format!("{c}/following"))),
        _ => Err(ApiError::not_found("no such collection")),
    }
}

/// The community's `outbox` collection, or one page of it.
async fn outbox(
    state: &Node,
    community: &CommunityView,
    q: &PageQuery,
    paged: bool,
) -> Result<Response, ApiError> {
    let c = &community.ap_id;
    let outbox = format!("{c}/outbox");
    if !paged {
        return Ok(activity_json(json!({
            "@context": AS_CONTEXT,
            "id": outbox,
            "type": "OrderedCollection",
            "totalItems": state.db.thread_count(c).await?,
            "first": format!("{outbox}?page=true"),
        })));
    }
    let before = cursor::<i64>(&q.before)?;
    let rows = state
        .db
        .threads(c, rows_for(OUTBOX_PAGE), before, false)
        .await?;
    let page = Page::from_rows(rows, OUTBOX_PAGE);
    let id = match before {
        Some(b) => format!("{outbox}?page=true&before={b}"),
        None => format!("{outbox}?page=true"),
    };
    let next = page
        .next(|t| t.id)
        .map(|last| format!("{outbox}?page=true&before={last}"));
    // Threads have no parent, and the community's mention is at hand: no query per
    // item. The same rows make the same page (`activitypub::served`).
    let mention = community.mention();
    let fingerprint = served::page_fingerprint(
        &page.items,
        privacy::is_public(community),
        &[&mention, next.as_deref().unwrap_or_default()],
    );
    if let Some(body) = state.served.page(&id, fingerprint).await {
        return Ok(activity_bytes(body));
    }
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            let doc = discussions::post_document_with(t, &mention, None);
            let create = json!({
                "id": format!("{}#create", t.ap_id),
                "type": "Create",
                "actor": t.author,
                "to": [PUBLIC],
                "cc": [c],
                "audience": c,
                "object": doc,
            });
            let mut item = json!({
                "id": format!("{c}/outbox/{}", t.id),
                "type": "Announce",
                "actor": c,
                "to": [PUBLIC],
                "cc": [format!("{c}/followers")],
                "object": create,
            });
            privacy::address(&mut item, community);
            item
        })
        .collect();
    let doc = collection_page(&id, &outbox, items, next);
    let body = Bytes::from(serde_json::to_vec(&doc).map_err(|_| ApiError::internal())?);
    state.served.keep_page(id, fingerprint, body.clone()).await;
    Ok(activity_bytes(body))
}

/// Entries per page of a community's stream.
const STREAM_PAGE: u64 = 50;

/// The community's stream (`db::stream`): every activity it sent, oldest first, each with its
/// `roundtable:position`; `?after=N` is the page after position N. The collection itself
/// carries the head position and the digest of the community's content, which a replica
/// compares with its own. Served under the same rule as the outbox (`readable`).
async fn stream(
    state: &Node,
    community: &CommunityView,
    q: &PageQuery,
) -> Result<Response, ApiError> {
    let c = &community.ap_id;
    let id = format!("{c}/stream");
    let head = state.db.stream_head(c).await?;
    let Some(after) = cursor::<i64>(&q.after)? else {
        let (digest, contents) = state.db.content_digest(c).await?;
        return Ok(activity_json(json!({
            "@context": AS_CONTEXT,
            "id": id,
            "type": "OrderedCollection",
            "totalItems": head,
            "first": format!("{id}?after=0"),
            "roundtable:position": head,
            "roundtable:complete": state.db.stream_is_complete(c).await?,
            "roundtable:digest": digest,
            "roundtable:contents": contents,
        })));
    };
    let rows = state.db.stream_page(c, after.max(0), STREAM_PAGE).await?;
    let last = rows.last().map(|(position, _)| *position);
    let items = rows
        .into_iter()
        .filter_map(|(position, text)| {
            let mut item: Value = serde_json::from_str(&text).ok()?;
            item["roundtable:position"] = json!(position);
            Some(item)
        })
        .collect();
    let next = last
        .filter(|l| *l < head)
        .map(|l| format!("{id}?after={l}"));
    let mut page = collection_page(&format!("{id}?after={after}"), &id, items, next);
    page["roundtable:position"] = json!(head);
    Ok(activity_json(page))
}

/// The community's `moderators` collection, or one page of it.
async fn moderators(
    state: &Node,
    community: &CommunityView,
    q: &PageQuery,
    paged: bool,
) -> Result<Response, ApiError> {
    let c = &community.ap_id;
    let after = cursor::<i64>(&q.after)?;
    let page = state.db.moderators_page(c, after, ID_PAGE).await?;
    let next = page.next(|m| m.id);
    let items = page.items.into_iter().map(|m| json!(m.actor)).collect();
    let shape = Shape {
        id: format!("{c}/moderators"),
        key: "after",
        at: after,
        next,
    };
    shape
        .answer(paged, items, state.db.moderator_count(c))
        .await
}

/// The community's `featured` collection, or one page of it.
async fn featured(
    state: &Node,
    community: &CommunityView,
    q: &PageQuery,
    paged: bool,
) -> Result<Response, ApiError> {
    let c = &community.ap_id;
    let before = cursor::<i64>(&q.before)?;
    let page = state.db.pinned_page(c, before, OUTBOX_PAGE).await?;
    let mention = community.mention();
    let next = page.next(|t| t.id);
    let items = page
        .items
        .iter()
        .map(|t| {
            let mut doc = discussions::post_document_with(t, &mention, None);
            privacy::address(&mut doc, community);
            doc
        })
        .collect();
    let shape = Shape {
        id: format!("{c}/featured"),
        key: "before",
        at: before,
        next,
    };
    shape.answer(paged, items, state.db.pinned_count(c)).await
}

/// The community's `articles` collection, or one page of it.
async fn articles_collection(
    state: &Node,
    community: &CommunityView,
    q: &PageQuery,
    paged: bool,
) -> Result<Response, ApiError> {
    let c = &community.ap_id;
    let after = cursor::<i64>(&q.after)?;
    let page = state.db.owned_article_ids(c, after, ID_PAGE).await?;
    let next = page.next(|(n, _)| *n);
    let items = page.items.into_iter().map(|(_, ap)| json!(ap)).collect();
    let shape = Shape {
        id: format!("{c}/articles"),
        key: "after",
        at: after,
        next,
    };
    shape
        .answer(paged, items, state.db.owned_article_count(c))
        .await
}

/// Where a page of a collection that also carries its first page inline stands: the
/// collection's id, the cursor's name and value, and the next page's cursor.
struct Shape {
    id: String,
    key: &'static str,
    at: Option<i64>,
    next: Option<i64>,
}

impl Shape {
    fn url(&self, at: Option<i64>) -> String {
        match at {
            Some(at) => format!("{}?page=true&{}={at}", self.id, self.key),
            None => format!("{}?page=true", self.id),
        }
    }

    /// The page asked for, or (unpaged) the collection with its total and first page inline.
    async fn answer(
        self,
        paged: bool,
        items: Vec<Value>,
        total: impl std::future::Future<Output = Result<u64, crate::db::DbErr>>,
    ) -> Result<Response, ApiError> {
        if paged {
            let next = self.next.map(|n| self.url(Some(n)));
            let here = self.url(self.at);
            return Ok(activity_json(collection_page(&here, &self.id, items, next)));
        }
        let total = total.await?;
        Ok(activity_json(collection_with_first(&self.id, total, items)))
    }
}

/// An `OrderedCollectionPage` of the collection `part_of`.
fn collection_page(id: &str, part_of: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut page = json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    });
    if let Some(next) = next {
        page["next"] = json!(next);
    }
    page
}

/// An `OrderedCollection` whose pages start at `first`, carrying its first page's `items`
/// inline as well, for readers (Lemmy) that do not follow pages.
fn collection_with_first(id: &str, total: u64, items: Vec<Value>) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": format!("{id}?page=true"),
        "orderedItems": items,
    })
}
