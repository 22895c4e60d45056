//! Public ActivityPub GET endpoints: actors (with content negotiation) and their collections.

use crate::activitypub::{
    actors::{actor_urls, local_actor_json},
    client::AP_CONTENT_TYPE,
    objects::AS_CONTEXT,
    served,
};
use crate::{
    db::LocalActor,
    domain::ActorKind,
    error::ApiError,
    markdown,
    node::Node,
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
pub(super) fn activity_bytes(body: Bytes) -> Response {
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
pub(super) fn empty_collection(id: String) -> Response {
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
    pub(super) page: Option<String>,
    pub(super) before: Option<String>,
    pub(super) after: Option<String>,
}

/// A cursor of a collection's query, parsed: a bad one is a 400 with a JSON error.
pub(super) fn cursor<T: std::str::FromStr>(raw: &Option<String>) -> Result<Option<T>, ApiError> {
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

#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    after: Option<i32>,
}

/// The community `community` as this node knows it, once the requester may read its content
/// (always for public communities; see [`super::fetch_guard::authorize_read`] for the others).
pub(super) async fn readable(
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
