//! Public ActivityPub GET endpoints: actors (with content negotiation) and their collections.

use crate::activitypub::{
    actors::{actor_urls, local_actor_json},
    client::AP_CONTENT_TYPE,
    objects::{AS_CONTEXT, PUBLIC},
    served,
};
use crate::{
    db::LocalActor,
    domain::ActorKind,
    error::ApiError,
    markdown,
    node::Node,
    paging::{rows_for, Page, Pair},
    service::{
        articles,
        discussions::{self, CommunityView},
        privacy,
    },
    web::Q,
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

/// True when the `Accept` header prefers an ActivityStreams document over HTML.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()) else {
        return false;
    };
    let mut ap_q: f32 = 0.0;
    let mut html_q: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut profile_ok = true;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse().unwrap_or(0.0),
                    "profile" => {
                        profile_ok = v
                            .split_whitespace()
                            .any(|p| p == "https://www.w3.org/ns/activitystreams")
                    }
                    _ => {}
                }
            }
        }
        match media.as_str() {
            "application/activity+json" => ap_q = ap_q.max(q),
            "application/ld+json" if profile_ok => ap_q = ap_q.max(q),
            "text/html" => html_q = html_q.max(q),
            _ => {}
        }
    }
    ap_q > 0.0 && ap_q >= html_q
}

/// An ActivityStreams response with the right content type.
pub fn activity_json(value: Value) -> Response {
    activity_headers(Json(value).into_response())
}

/// An ActivityPub document already serialized.
fn activity_bytes(body: Bytes) -> Response {
    activity_headers(body.into_response())
}

fn activity_headers(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AP_CONTENT_TYPE),
    );
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

async fn find(state: &Node, name: &str, kind: ActorKind) -> Result<LocalActor, ApiError> {
    let actor = state.db.local_actor_by_name(&name.to_lowercase()).await?;
    if actor.as_ref().is_some_and(|a| a.kind == "deleted") {
        return Err(ApiError::gone(format!("{name:?} was deleted")));
    }
    let actor = actor
        .filter(|a| a.kind == kind.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no {} named {name:?}", kind.as_str())))?;
    Ok(actor)
}

/// An actor's document. A `GET` that does not ask for ActivityPub JSON gets the actor's page
/// before it reaches this (`app`'s content negotiation).
async fn serve_actor(state: &Node, actor: LocalActor, kind: ActorKind) -> Response {
    let base = state.settings.base_url();
    let mut doc = local_actor_json(&base, &state.settings.instance.domain, &actor, kind);
    if kind == ActorKind::Group {
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        doc["attributedTo"] = json!(format!("{id}/moderators"));
        doc["moderators"] = json!(format!("{id}/moderators"));
        doc["featured"] = json!(format!("{id}/featured"));
        doc["articles"] = json!(format!("{id}/articles"));
        doc["postingRestrictedToMods"] = json!(false);
        if let Ok(Some((_, community))) = state.db.local_community(&actor.name).await {
            doc["manuallyApprovesFollowers"] = json!(community.visibility == "members");
            doc["roundtableVisibility"] = json!(community.visibility);
            if !community.charter.is_empty() {
                doc["content"] = json!(markdown::render(&community.charter));
                doc["source"] = json!({"content": community.charter, "mediaType": "text/markdown"});
            }
            if let Some(banner) = &community.banner_url {
                doc["image"] = json!({"type": "Image", "url": banner});
            }
        }
    }
    activity_json(doc)
}

pub async fn person(
    State(state): State<Node>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let actor = find(&state, &name, ActorKind::Person).await?;
    Ok(serve_actor(&state, actor, ActorKind::Person).await)
}

pub async fn group(
    State(state): State<Node>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let actor = find(&state, &name, ActorKind::Group).await?;
    Ok(serve_actor(&state, actor, ActorKind::Group).await)
}

pub async fn instance_actor(State(state): State<Node>) -> Result<Response, ApiError> {
    let actor = state
        .db
        .instance_actor()
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(serve_actor(&state, actor, ActorKind::Application).await)
}

/// An empty ordered collection; the capabilities that fill each collection replace these.
fn empty_collection(id: String) -> Response {
    activity_json(json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }))
}

async fn collection(
    state: &Node,
    name: &str,
    kind: ActorKind,
    which: &str,
) -> Result<Response, ApiError> {
    let actor = find(state, name, kind).await?;
    let urls = actor_urls(&state.settings.base_url(), kind, &actor.name);
    let id = match which {
        "outbox" => urls.outbox,
        "followers" => urls.followers,
        "following" => urls.following,
        _ => return Err(ApiError::not_found("no such collection")),
    };
    Ok(empty_collection(id))
}

pub async fn person_collection(
    State(state): State<Node>,
    Path((name, which)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    collection(&state, &name, ActorKind::Person, &which).await
}

/// The query of a community's collections and feeds. Cursors are parsed by the collection
/// they belong to (a thread id, a membership id, an event's `starts_at,id`…).
#[derive(serde::Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

/// A cursor of a collection's query, parsed: a bad one is a 400 with a JSON error.
fn cursor<T: std::str::FromStr>(raw: &Option<String>) -> Result<Option<T>, ApiError> {
    raw.as_deref()
        .map(|s| {
            s.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "bad cursor {s:?}: take cursors from a page's `next`"
                ))
            })
        })
        .transpose()
}

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

#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    after: Option<i32>,
}

/// The community `community` as this node knows it, once the requester may read its content
/// (always for public communities; see [`super::fetch_guard::authorize_read`] for the others).
async fn readable(
    state: &Node,
    community: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<CommunityView, ApiError> {
    let view = privacy::community_of(state, community).await?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    super::fetch_guard::authorize_read(
        state,
        &view,
        &super::fetch_guard::ReadRequest {
            method,
            path,
            headers,
        },
    )
    .await?;
    Ok(view)
}

/// `GET /a/{key}`: an article owned here, as `Article` JSON (browsers get its page from `ui`).
pub async fn article_object(
    State(state): State<Node>,
    Path(key): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (article, rev, authors) = owned_article(&state, &key).await?;
    let community = readable(&state, &article.community, &method, &uri, &headers).await?;
    let mut doc = articles::article_json(&article, &rev, &authors, &community.mention());
    privacy::address(&mut doc, &community);
    Ok(activity_json(doc))
}

/// `GET /a/{key}/history[?after=N]`: every revision with its text, oldest first, paged.
pub async fn article_history(
    State(state): State<Node>,
    Path(key): Path<String>,
    Q(q): Q<HistoryQuery>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (article, _, _) = owned_article(&state, &key).await?;
    let community = readable(&state, &article.community, &method, &uri, &headers).await?;
    let mut page = articles::history_page(&state, &article, q.after).await?;
    privacy::address(&mut page, &community);
    Ok(activity_json(page))
}

async fn owned_article(
    state: &Node,
    key: &str,
) -> Result<
    (
        crate::db::articles::Article,
        crate::db::articles::Revision,
        Vec<String>,
    ),
    ApiError,
> {
    let ap_id = format!("{}/a/{key}", state.settings.base_url());
    let article = state
        .db
        .article_by_ap_id(&ap_id)
        .await?
        .filter(|a| a.local)
        .ok_or_else(|| ApiError::not_found("no such article"))?;
    let rev = state
        .db
        .revision(&article.current_rev)
        .await?
        .ok_or_else(ApiError::internal)?;
    let authors = state.db.article_authors(article.id).await?;
    Ok((article, rev, authors))
}

/// `GET /e/{key}`: an event owned here, as `Event` JSON (browsers get its page from `ui`).
pub async fn event_object(
    State(state): State<Node>,
    Path(key): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ap_id = format!("{}/e/{key}", state.settings.base_url());
    let event = state
        .db
        .event_by_ap_id(&ap_id)
        .await?
        .filter(|e| e.local)
        .ok_or_else(|| ApiError::not_found("no such event"))?;
    let community = readable(&state, &event.community, &method, &uri, &headers).await?;
    let mut doc = crate::service::events::event_json(&event);
    privacy::address(&mut doc, &community);
    Ok(activity_json(doc))
}

/// `GET /p/{key}`: a thread (`Page`) or reply (`Note`) authored here; a `Tombstone` with 410
/// once deleted or removed.
pub async fn post_object(
    State(state): State<Node>,
    Path(key): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ap_id = format!("{}/p/{key}", state.settings.base_url());
    let post = state
        .db
        .post_by_ap_id(&ap_id)
        .await?
        .filter(|p| p.local)
        .ok_or_else(|| ApiError::not_found("no such post"))?;
    let community = readable(&state, &post.community, &method, &uri, &headers).await?;
    let gone = post.deleted || post.removed_reason.is_some();
    if gone {
        let mut response = activity_json(json!({
            "@context": AS_CONTEXT,
            "id": post.ap_id,
            "type": "Tombstone",
        }));
        *response.status_mut() = StatusCode::GONE;
        return Ok(response);
    }
    // The bytes last sent for this very row and audience, if they are kept
    // (`activitypub::served`): access was checked above, as for every request.
    let fingerprint = served::post_fingerprint(&post, privacy::is_public(&community));
    if let Some(body) = state.served.post(post.id, fingerprint).await {
        return Ok(activity_bytes(body));
    }
    let mut doc = discussions::post_document(&state, &post).await?;
    privacy::address(&mut doc, &community);
    let body = Bytes::from(serde_json::to_vec(&doc).map_err(|_| ApiError::internal())?);
    state
        .served
        .keep_post(post.id, fingerprint, body.clone())
        .await;
    Ok(activity_bytes(body))
}

pub async fn instance_collection(
    State(state): State<Node>,
    Path(which): Path<String>,
) -> Result<Response, ApiError> {
    let base = state.settings.base_url();
    match which.as_str() {
        "outbox" | "followers" | "following" => {
            Ok(empty_collection(format!("{base}/actor/{which}")))
        }
        _ => Err(ApiError::not_found("no such collection")),
    }
}

pub async fn not_found() -> (StatusCode, Json<Value>) {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn negotiation() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        )));
        assert!(wants_activity_json(&accept(
            "text/html;q=0.5, application/activity+json"
        )));
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(&accept(
            "application/ld+json; profile=\"https://example.org\""
        )));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
