//! The native JSON API under `/api/roundtable/v1/`: what Mastodon's API has no words for.
//! Every answer is JSON; every failure is a status and `{"error": "…"}`. Bearer tokens come
//! from `roundtable token create`. Its OpenAPI document is `openapi.json` beside it.

mod admin;
mod articles;
pub(crate) mod events;
mod openapi;
mod reports;
mod tokens;

use crate::{
    activitypub::objects::rfc3339,
    db::discussions::{Membership, Post},
    domain::Scopes,
    error::ApiError,
    node::Node,
    paging::{self, Pair, SearchCursor, ThreadCursor},
    service::{
        accounts::token_hash,
        discussions::{self as svc, CommunityView, Member, NewCommunity},
    },
};
use axum::{
    body::Bytes,
    extract::{FromRequestParts, OriginalUri, Path, State},
    http::{header, request::Parts, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router() -> Router<Node> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/communities", post(create_community))
        .route(
            "/communities/{handle}",
            get(get_community).patch(update_community),
        )
        .route("/communities/{handle}/join", post(join))
        .route("/communities/{handle}/leave", post(leave))
        .route("/communities/{handle}/members", get(members))
        .route(
            "/communities/{handle}/members/{member_id}/approve",
            post(approve_member),
        )
        .route(
            "/communities/{handle}/members/{member_id}/reject",
            post(reject_member),
        )
        .route(
            "/communities/{handle}/members/{member_id}/role",
            post(set_member_role),
        )
        .route(
            "/communities/{handle}/threads",
            get(list_threads).post(create_thread),
        )
        .route(
            "/communities/{handle}/bans",
            get(list_bans).post(create_ban).delete(remove_ban),
        )
        .route(
            "/threads/{id}",
            get(get_thread).patch(edit_post).delete(delete_post),
        )
        .route(
            "/threads/{id}/replies",
            get(list_replies).post(create_reply),
        )
        .route("/threads/{id}/like", post(like))
        .route("/threads/{id}/remove", post(remove))
        .route("/threads/{id}/lock", post(lock))
        .route("/threads/{id}/pin", post(pin))
        .route(
            "/replies/{id}",
            get(get_reply).patch(edit_post).delete(delete_post),
        )
        .route("/replies/{id}/like", post(like))
        .route("/replies/{id}/remove", post(remove))
        .route("/search", get(search))
        .merge(articles::router())
        .merge(admin::router())
        .merge(reports::router())
        .merge(tokens::router())
        .merge(events::router())
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}

// ----- authentication -----

/// The scope a route needs, named by the route's extractor (`Auth<Write>`, `MaybeAuth<Read>`…):
/// the one place where token scopes are enforced. `calendar` is not among them: a calendar
/// token only opens the personal feed it was made for (`/calendar/{token}.ics`), never the API.
pub trait Scope: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether the holder must also be an administrator.
    const ADMIN_ONLY: bool = false;
}

/// Reads (every `GET`).
pub struct Read;
/// Changes.
pub struct Write;
/// The admin API; only for administrators.
pub struct Admin;

impl Scope for Read {
    const NAME: &'static str = "read";
}
impl Scope for Write {
    const NAME: &'static str = "write";
}
impl Scope for Admin {
    const NAME: &'static str = "admin";
    const ADMIN_ONLY: bool = true;
}

/// The local user behind a bearer token, with the token's scopes.
pub struct Caller {
    pub member: Member,
    pub scopes: Scopes,
}

/// A caller whose token holds scope `S`; anything else is refused before the handler runs.
pub struct Auth<S: Scope = Read> {
    caller: Caller,
    scope: std::marker::PhantomData<S>,
}

impl<S: Scope> std::ops::Deref for Auth<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// The user behind a request's bearer token, whatever its scopes.
async fn caller(parts: &Parts, state: &Node) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("this needs an Authorization: Bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer TOKEN"))?;
    let (user, scopes) = state
        .db
        .token_owner(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown, expired or revoked token"))?;
    let actor = state
        .db
        .local_actor(user.actor_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token's user no longer exists"))?;
    let scopes = Scopes::parse(&scopes).map_err(ApiError::unauthorized)?;
    let me = crate::service::discussions::user_ap_id(state, &actor.name);
    if let Some(s) = state.db.suspension(&me).await? {
        let why = s.reason.map(|r| format!(": {r}")).unwrap_or_default();
        return Err(ApiError::forbidden(format!(
            "this account is suspended{why}"
        )));
    }
    Ok(Caller {
        member: Member { actor, user },
        scopes,
    })
}

impl<S: Scope> FromRequestParts<Node> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        let caller = caller(parts, state).await?;
        if !caller.scopes.allows(S::NAME) {
            return Err(ApiError::forbidden(format!(
                "this token lacks the {} scope",
                S::NAME
            )));
        }
        if S::ADMIN_ONLY && !caller.member.user.is_admin {
            return Err(ApiError::forbidden(
                "this needs an administrator's token with the admin scope",
            ));
        }
        Ok(Auth {
            caller,
            scope: std::marker::PhantomData,
        })
    }
}

/// Like [`Auth`], for endpoints that also answer anonymous readers. A token that is sent must
/// still hold the scope.
pub struct MaybeAuth<S: Scope = Read>(pub Option<Auth<S>>);

impl<S: Scope> FromRequestParts<Node> for MaybeAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Ok(MaybeAuth(Some(
                Auth::from_request_parts(parts, state).await?,
            )))
        } else {
            Ok(MaybeAuth(None))
        }
    }
}

// ----- helpers -----

/// Confidential communities (`partners`, `members`) show their content through the API only to
/// their accepted members; public ones to everyone.
pub(crate) async fn may_read(
    state: &Node,
    auth: Option<&Caller>,
    community: &str,
) -> Result<(), ApiError> {
    match svc::known(state, community).await? {
        Some(view) => may_read_view(state, auth, &view).await,
        None => Ok(()),
    }
}

/// [`may_read`] for a community already at hand. A banned reader sees nothing of a
/// confidential community, on its node and on every replica.
pub(crate) async fn may_read_view(
    state: &Node,
    auth: Option<&Caller>,
    view: &svc::CommunityView,
) -> Result<(), ApiError> {
    let reader = match auth {
        Some(auth) if !crate::service::privacy::is_public(view) => {
            let me = auth.member.ap_id(state);
            let banned = state
                .db
                .active_ban(&view.ap_id, &me, crate::db::now_ms())
                .await?
                .is_some();
            // Membership decides only when neither a ban nor the node's own readers do.
            let member = !banned
                && !opens_to_local_readers(view)
                && state
                    .db
                    .membership(&view.ap_id, &me)
                    .await?
                    .is_some_and(|m| m.state == "accepted");
            Some(Reader { banned, member })
        }
        Some(_) => Some(Reader {
            banned: false,
            member: false,
        }),
        None => None,
    };
    if read_rule(view, reader) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this community is confidential: only its members see its content",
        ))
    }
}

/// [`may_read_view`] for each of `views`, in at most two queries (for lists, such as search
/// results, that span communities): the ids of those the caller may read.
pub(crate) async fn readable_each(
    state: &Node,
    auth: Option<&Caller>,
    views: &[&svc::CommunityView],
) -> Result<std::collections::HashSet<String>, ApiError> {
    let confidential: Vec<String> = views
        .iter()
        .filter(|v| !crate::service::privacy::is_public(v))
        .map(|v| v.ap_id.clone())
        .collect();
    let (bans, memberships) = match auth {
        Some(auth) if !confidential.is_empty() => {
            let me = auth.member.ap_id(state);
            (
                state
                    .db
                    .active_bans_of(&me, &confidential, crate::db::now_ms())
                    .await?,
                state.db.memberships_of(&me, &confidential).await?,
            )
        }
        _ => Default::default(),
    };
    Ok(views
        .iter()
        .filter(|v| {
            let reader = auth.map(|_| Reader {
                banned: bans.contains_key(&v.ap_id),
                member: memberships
                    .get(&v.ap_id)
                    .is_some_and(|m| m.state == "accepted"),
            });
            read_rule(v, reader)
        })
        .map(|v| v.ap_id.clone())
        .collect())
}

/// What the read rule knows of a signed-in reader of a confidential community.
#[derive(Clone, Copy)]
struct Reader {
    banned: bool,
    member: bool,
}

/// The rule behind [`may_read_view`]: public communities are read by everyone; confidential
/// ones by signed-in readers who are not banned and are accepted members — or, for a
/// `partners` community open to its node's users, by every local user.
fn read_rule(view: &svc::CommunityView, reader: Option<Reader>) -> bool {
    if crate::service::privacy::is_public(view) {
        return true;
    }
    match reader {
        None => false,
        Some(r) if r.banned => false,
        Some(r) => opens_to_local_readers(view) || r.member,
    }
}

/// A partners community may open itself to every user of its own node.
fn opens_to_local_readers(view: &svc::CommunityView) -> bool {
    view.visibility == "partners"
        && view
            .local
            .as_ref()
            .is_some_and(|(_, row)| row.local_readers)
}

pub use crate::web::Q;

/// A JSON body, with a JSON error when it does not parse.
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return serde_json::from_slice(b"{}")
            .map_err(|e| ApiError::bad_request(format!("a JSON body is required: {e}")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Default and largest `limit` of the lists that had none before paging.
pub(crate) const PAGE_DEFAULT: u64 = 100;
pub(crate) const PAGE_MAX: u64 = 200;

/// The `next` of a list answer: the absolute URL of this request with `param` set to the
/// cursor (other parameters kept), or null on the last page.
pub(crate) fn next_link(
    state: &Node,
    uri: &Uri,
    param: &str,
    cursor: Option<impl std::fmt::Display>,
) -> Value {
    match cursor {
        Some(c) => json!(paging::next_url(
            &state.settings.base_url(),
            uri.path(),
            uri.query(),
            param,
            &c.to_string()
        )),
        None => Value::Null,
    }
}

fn created(value: Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

pub(crate) fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("no such id {raw:?}")))
}

async fn load_post(state: &Node, raw: &str) -> Result<Post, ApiError> {
    state
        .db
        .post(parse_id(raw)?)
        .await?
        .ok_or_else(|| ApiError::not_found("no such thread or reply"))
}

async fn load_thread(state: &Node, raw: &str) -> Result<Post, ApiError> {
    let post = load_post(state, raw).await?;
    if post.thread_id.is_some() {
        return Err(ApiError::not_found("that id is a reply, not a thread"));
    }
    Ok(post)
}

fn membership_json(m: &Membership) -> Value {
    json!({
        "state": m.state,
        "role": m.role,
        "title": m.title,
    })
}

async fn community_json(
    state: &Node,
    c: &CommunityView,
    viewer: Option<&Member>,
) -> Result<Value, ApiError> {
    let membership = match viewer {
        Some(m) => state
            .db
            .membership(&c.ap_id, &m.ap_id(state))
            .await?
            .map(|m| membership_json(&m)),
        None => None,
    };
    Ok(json!({
        "ap_id": c.ap_id,
        "handle": c.handle(),
        "slug": c.slug,
        "domain": c.domain,
        "title": c.title,
        "summary": c.summary,
        "charter": c.charter,
        "visibility": c.visibility,
        "icon_url": c.icon_url,
        "banner_url": c.banner_url,
        "local": c.local.is_some(),
        "local_readers": c.local.as_ref().map(|(_, row)| row.local_readers),
        "member_count": state.db.member_count(&c.ap_id).await?,
        "thread_count": state.db.thread_count(&c.ap_id).await?,
        "membership": membership,
    }))
}

pub(crate) async fn author_json(state: &Node, ap_id: &str) -> Result<Value, ApiError> {
    Ok(json!({"ap_id": ap_id, "handle": svc::actor_handle(state, ap_id).await?}))
}

/// `name@domain` of each of `ids`, with one query for all the remote ones
/// ([`svc::actor_handles`]): list presenters call this once per list, never once per item.
pub(crate) async fn handles<'a>(
    state: &Node,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, ApiError> {
    Ok(svc::actor_handles(state, ids).await?)
}

/// [`author_json`] from handles looked up with [`handles`].
pub(crate) fn author_from(handles: &HashMap<String, String>, ap_id: &str) -> Value {
    json!({"ap_id": ap_id, "handle": handles.get(ap_id).cloned().unwrap_or_else(|| ap_id.to_string())})
}

fn removed(post: &Post) -> bool {
    post.deleted || post.removed_reason.is_some()
}

async fn reply_json(
    state: &Node,
    post: &Post,
    by_id: &HashMap<i64, String>,
) -> Result<Value, ApiError> {
    let authors = handles(state, [post.author.as_str()]).await?;
    Ok(reply_value(post, by_id, &authors))
}

fn reply_value(
    post: &Post,
    by_id: &HashMap<i64, String>,
    authors: &HashMap<String, String>,
) -> Value {
    let gone = removed(post);
    json!({
        "id": post.id,
        "ap_id": post.ap_id,
        "thread_id": post.thread_id,
        "parent_id": post.parent_id,
        "parent_ap_id": post.parent_id.and_then(|p| by_id.get(&p).cloned()),
        "author": author_from(authors, &post.author),
        "content": if gone { String::new() } else { post.content.clone() },
        "source": if gone { None } else { post.source.clone() },
        "published": rfc3339(post.published),
        "updated": post.updated.map(rfc3339),
        "like_count": post.like_count,
        "deleted": post.deleted,
        "removed_reason": post.removed_reason,
    })
}

/// What the thread presenter needs beyond the posts, looked up once for a whole list.
struct ThreadLookups {
    communities: HashMap<String, Option<String>>,
    authors: HashMap<String, String>,
    reply_counts: HashMap<i64, u64>,
}

impl ThreadLookups {
    /// Lookups for `posts` (and, for authors, `extra` posts such as a thread's replies). A
    /// community already resolved by the caller is passed as `known`.
    async fn load(
        state: &Node,
        posts: &[Post],
        extra: &[Post],
        known: Option<&svc::CommunityView>,
    ) -> Result<ThreadLookups, ApiError> {
        let mut communities = HashMap::new();
        if let Some(view) = known {
            communities.insert(view.ap_id.clone(), Some(view.handle()));
        }
        for p in posts {
            if !communities.contains_key(&p.community) {
                let handle = svc::known(state, &p.community).await?.map(|c| c.handle());
                communities.insert(p.community.clone(), handle);
            }
        }
        let authors = handles(state, posts.iter().chain(extra).map(|p| p.author.as_str())).await?;
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let reply_counts = state.db.reply_counts(&ids).await?;
        Ok(ThreadLookups {
            communities,
            authors,
            reply_counts,
        })
    }
}

fn thread_value(post: &Post, lookups: &ThreadLookups) -> Value {
    json!({
        "id": post.id,
        "ap_id": post.ap_id,
        "community": lookups.communities.get(&post.community).cloned().flatten(),
        "community_ap_id": post.community,
        "author": author_from(&lookups.authors, &post.author),
        "title": post.title,
        "content": post.content,
        "source": post.source,
        "summary": post.summary,
        "published": rfc3339(post.published),
        "updated": post.updated.map(rfc3339),
        "locked": post.locked,
        "pinned": post.pinned,
        "like_count": post.like_count,
        "reply_count": lookups.reply_counts.get(&post.id).copied().unwrap_or(0),
        "deleted": post.deleted,
        "removed_reason": post.removed_reason,
    })
}

async fn thread_json(state: &Node, post: &Post) -> Result<Value, ApiError> {
    let lookups = ThreadLookups::load(state, std::slice::from_ref(post), &[], None).await?;
    Ok(thread_value(post, &lookups))
}

/// A page of a thread's replies as the API shows them, and the cursor of the next page: a
/// fixed number of queries whatever the page holds (authors and the parents on earlier pages
/// are looked up once for the page).
async fn replies_values(
    state: &Node,
    thread: &Post,
    after: Option<Pair<i64, i64>>,
    limit: u64,
) -> Result<(Vec<Value>, Option<Pair<i64, i64>>), ApiError> {
    let page = state
        .db
        .replies_page(thread.id, after.map(|Pair(at, id)| (at, id)), limit)
        .await?;
    let mut by_id: HashMap<i64, String> =
        page.items.iter().map(|r| (r.id, r.ap_id.clone())).collect();
    by_id.insert(thread.id, thread.ap_id.clone());
    let mut earlier: Vec<i64> = page
        .items
        .iter()
        .filter_map(|r| r.parent_id)
        .filter(|p| !by_id.contains_key(p))
        .collect();
    earlier.sort_unstable();
    earlier.dedup();
    by_id.extend(state.db.post_ap_ids(&earlier).await?);
    let authors = handles(state, page.items.iter().map(|r| r.author.as_str())).await?;
    let values = page
        .items
        .iter()
        .map(|r| reply_value(r, &by_id, &authors))
        .collect();
    Ok((values, page.next(|r| Pair(r.published, r.id))))
}

// ----- communities -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCommunity {
    slug: String,
    title: Option<String>,
    summary: Option<String>,
    charter: Option<String>,
    visibility: Option<String>,
}

async fn create_community(
    State(state): State<Node>,
    auth: Auth<Write>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateCommunity = parse_body(&body)?;
    let view = svc::create_community(
        &state,
        &auth.member,
        NewCommunity {
            slug: req.slug,
            title: req.title,
            summary: req.summary,
            charter: req.charter,
            visibility: req.visibility,
        },
    )
    .await?;
    Ok(created(
        community_json(&state, &view, Some(&auth.member)).await?,
    ))
}

async fn get_community(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    Ok(Json(
        community_json(&state, &view, auth.as_ref().map(|a| &a.member)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateCommunity {
    title: Option<String>,
    summary: Option<String>,
    charter: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    icon_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    banner_url: Option<Option<String>>,
    local_readers: Option<bool>,
}

/// Tells "absent" (None) from "null" (Some(None)).
pub(crate) fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn update_community(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: UpdateCommunity = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let updated = svc::update_community(
        &state,
        &auth.member,
        &view,
        svc::ProfileChange {
            title: req.title,
            summary: req.summary,
            charter: req.charter,
            icon_url: req.icon_url,
            banner_url: req.banner_url,
            local_readers: req.local_readers,
        },
    )
    .await?;
    Ok(Json(
        community_json(&state, &updated, Some(&auth.member)).await?,
    ))
}

async fn join(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let membership = svc::join(&state, &auth.member, &view).await?;
    let status = if membership.state == "accepted" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(membership_json(&membership))).into_response())
}

async fn leave(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    svc::leave(&state, &auth.member, &view).await?;
    Ok(Json(json!({"state": "left"})))
}

#[derive(Deserialize)]
struct MembersQuery {
    state: Option<String>,
    after: Option<i64>,
    limit: Option<u64>,
}

/// Members are shown to signed-in users only: accepted ones to members (or to anyone signed
/// in, for public communities), pending requests to moderators. Oldest first, one page at a
/// time (`?after=ID&limit=N`, `next` names the following page).
async fn members(
    State(state): State<Node>,
    auth: Auth,
    Path(handle): Path<String>,
    Q(q): Q<MembersQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let me = auth.member.ap_id(&state);
    let mine = state.db.membership(&view.ap_id, &me).await?;
    let moderator = mine
        .as_ref()
        .is_some_and(|m| m.state == "accepted" && matches!(m.role.as_str(), "owner" | "moderator"));
    let member = mine.as_ref().is_some_and(|m| m.state == "accepted");
    if q.state.as_deref().is_some_and(|s| s != "accepted") && !moderator {
        return Err(ApiError::forbidden("only moderators see join requests"));
    }
    if view.visibility != "public" && !member {
        return Err(ApiError::forbidden(
            "only members see who belongs to this community",
        ));
    }
    let state_filter = q
        .state
        .as_deref()
        .or(if moderator { None } else { Some("accepted") });
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let page = state
        .db
        .members_page(&view.ap_id, state_filter, q.after, limit)
        .await?;
    let actors = handles(&state, page.items.iter().map(|m| m.actor.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|m| member_json(m, author_from(&actors, &m.actor)))
        .collect();
    Ok(Json(json!({
        "members": out,
        "next": next_link(&state, &uri, "after", page.next(|m| m.id)),
    })))
}

fn member_json(m: &Membership, actor: Value) -> Value {
    json!({
        "id": m.id,
        "actor": actor,
        "role": m.role,
        "title": m.title,
        "state": m.state,
        "since": rfc3339(m.created_at),
    })
}

async fn decide(
    state: &Node,
    auth: &Auth<Write>,
    handle: &str,
    member_id: &str,
    approve: bool,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(state, handle).await?;
    let id = parse_id(member_id)?;
    let decided = svc::decide_membership(state, &auth.member, &view, id, approve).await?;
    Ok(Json(match decided {
        Some(m) => member_json(&m, author_json(state, &m.actor).await?),
        None => json!({"id": id, "state": "rejected"}),
    }))
}

async fn approve_member(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &handle, &member_id, true).await
}

async fn reject_member(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &handle, &member_id, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
    title: Option<String>,
}

async fn set_member_role(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((handle, member_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RoleBody = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let m = svc::set_role(
        &state,
        &auth.member,
        &view,
        parse_id(&member_id)?,
        &req.role,
        req.title.as_deref(),
    )
    .await?;
    Ok(Json(member_json(&m, author_json(&state, &m.actor).await?)))
}

#[derive(Deserialize)]
struct ListQuery {
    before: Option<ThreadCursor>,
    limit: Option<u64>,
}

async fn list_threads(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &view).await?;
    let limit = paging::limit(q.limit, 50, 200);
    let page = state.db.threads_page(&view.ap_id, q.before, limit).await?;
    // One lookup per kind for the whole page, not per thread.
    let lookups = ThreadLookups::load(&state, &page.items, &[], Some(&view)).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|t| thread_value(t, &lookups))
        .collect();
    let next = page.next(|t| ThreadCursor {
        pinned: t.pinned,
        id: t.id,
    });
    Ok(Json(
        json!({"threads": out, "next": next_link(&state, &uri, "before", next)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    title: String,
    content: String,
}

async fn create_thread(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateThread = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let post = svc::create_thread(&state, &auth.member, &view, &req.title, &req.content).await?;
    Ok(created(thread_json(&state, &post).await?))
}

// ----- bans -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBan {
    actor: String,
    reason: Option<String>,
    /// RFC 3339 end of the ban; none for a permanent one.
    expires_at: Option<String>,
}

#[derive(Deserialize)]
struct BansQuery {
    after: Option<i64>,
    limit: Option<u64>,
}

/// Bans are moderation data: moderators see them all; anyone else signed in sees only their
/// own ban, if any. Oldest first, one page at a time (`?after=ID&limit=N`).
async fn list_bans(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(handle): Path<String>,
    Q(q): Q<BansQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let me = auth.member.ap_id(&state);
    let moderator = crate::service::access::is_moderator(&state, &view.ap_id, &me).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let page = state
        .db
        .bans_page(
            &view.ap_id,
            (!moderator).then_some(me.as_str()),
            q.after,
            limit,
        )
        .await?;
    let actors = handles(&state, page.items.iter().map(|b| b.actor.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|b| {
            json!({
                "id": b.id,
                "actor": author_from(&actors, &b.actor),
                "reason": b.reason,
                "expires_at": b.expires_at.map(rfc3339),
                "since": rfc3339(b.created_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "bans": out,
        "next": next_link(&state, &uri, "after", page.next(|b| b.id)),
    })))
}

async fn create_ban(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateBan = parse_body(&body)?;
    let view = svc::resolve(&state, &handle).await?;
    let target = svc::resolve_actor(&state, &req.actor).await?;
    let expires_at = match req.expires_at.as_deref() {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::unprocessable("expires_at must be an RFC 3339 time"))?
                .timestamp_millis(),
        ),
        None => None,
    };
    svc::ban(
        &state,
        &auth.member,
        &view,
        &target,
        req.reason.clone(),
        expires_at,
    )
    .await?;
    Ok(created(json!({
        "actor": author_json(&state, &target).await?,
        "reason": req.reason,
        "expires_at": expires_at.map(rfc3339),
    })))
}

#[derive(Deserialize)]
struct UnbanQuery {
    actor: String,
}

async fn remove_ban(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    Q(q): Q<UnbanQuery>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    let target = svc::resolve_actor(&state, &q.actor).await?;
    svc::unban(&state, &auth.member, &view, &target).await?;
    Ok(Json(json!({"state": "unbanned"})))
}

// ----- threads and replies -----

#[derive(Deserialize)]
struct ThreadQuery {
    /// How many replies the thread embeds (the first page of `/threads/{id}/replies`).
    limit: Option<u64>,
}

/// A thread with the first page of its replies; `replies_next` names the page after it.
async fn get_thread(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<ThreadQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let post = readable_thread(&state, auth.as_deref(), &id).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let (replies, next) = replies_values(&state, &post, None, limit).await?;
    let mut value = thread_json(&state, &post).await?;
    value["replies"] = Value::Array(replies);
    value["replies_next"] = match next {
        Some(cursor) => json!(paging::next_url(
            &state.settings.base_url(),
            &format!("{}/replies", uri.path().trim_end_matches('/')),
            uri.query(),
            "after",
            &cursor.to_string(),
        )),
        None => Value::Null,
    };
    Ok(Json(value))
}

/// A thread the caller may read that is still there.
async fn readable_thread(state: &Node, auth: Option<&Caller>, id: &str) -> Result<Post, ApiError> {
    let post = load_thread(state, id).await?;
    may_read(state, auth, &post.community).await?;
    if removed(&post) {
        return Err(ApiError::gone(match &post.removed_reason {
            Some(reason) => format!("the thread was removed: {reason}"),
            None => "the thread was deleted".into(),
        }));
    }
    Ok(post)
}

#[derive(Deserialize)]
struct RepliesQuery {
    after: Option<Pair<i64, i64>>,
    limit: Option<u64>,
}

/// A thread's replies, oldest first, one page at a time (`?after=CURSOR&limit=N`).
async fn list_replies(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
    Q(q): Q<RepliesQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let thread = readable_thread(&state, auth.as_deref(), &id).await?;
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let (replies, next) = replies_values(&state, &thread, q.after, limit).await?;
    Ok(Json(json!({
        "replies": replies,
        "next": next_link(&state, &uri, "after", next),
    })))
}

async fn get_reply(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let post = load_post(&state, &id).await?;
    may_read(&state, auth.as_deref(), &post.community).await?;
    if post.thread_id.is_none() {
        return Err(ApiError::not_found("that id is a thread, not a reply"));
    }
    let mut by_id = HashMap::new();
    if let Some(parent) = post.parent_id {
        if let Some(p) = state.db.post(parent).await? {
            by_id.insert(p.id, p.ap_id);
        }
    }
    Ok(Json(reply_json(&state, &post, &by_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateReply {
    content: String,
    /// The reply this one answers (its local id or ActivityPub id); the thread when absent.
    in_reply_to: Option<Value>,
    /// The same as a local id only.
    parent_id: Option<i64>,
}

async fn create_reply(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateReply = parse_body(&body)?;
    let thread = load_thread(&state, &id).await?;
    let parent = match (req.in_reply_to, req.parent_id) {
        (Some(Value::Number(n)), _) => Some(
            n.as_i64()
                .ok_or_else(|| ApiError::unprocessable("in_reply_to must be an id"))?,
        ),
        (Some(Value::String(ap_id)), _) => Some(
            state
                .db
                .post_by_ap_id(&ap_id)
                .await?
                .ok_or_else(|| ApiError::unprocessable("no such post to reply to"))?
                .id,
        ),
        (Some(Value::Null) | None, pid) => pid,
        (Some(_), _) => {
            return Err(ApiError::unprocessable(
                "in_reply_to must be an id or a URL",
            ))
        }
    };
    let parent = match parent {
        Some(pid) => Some(
            state
                .db
                .post(pid)
                .await?
                .ok_or_else(|| ApiError::unprocessable("no such post to reply to"))?,
        ),
        None => None,
    };
    let reply =
        svc::create_reply(&state, &auth.member, &thread, parent.as_ref(), &req.content).await?;
    let mut by_id = HashMap::new();
    if let Some(p) = &parent {
        by_id.insert(p.id, p.ap_id.clone());
    }
    Ok(created(reply_json(&state, &reply, &by_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditPost {
    title: Option<String>,
    content: Option<String>,
}

async fn edit_post(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: EditPost = parse_body(&body)?;
    if req.title.is_none() && req.content.is_none() {
        return Err(ApiError::unprocessable(
            "nothing to change: give title or content",
        ));
    }
    let post = load_post(&state, &id).await?;
    let updated = svc::edit_post(
        &state,
        &auth.member,
        &post,
        req.title.as_deref(),
        req.content.as_deref(),
    )
    .await?;
    if updated.thread_id.is_none() {
        Ok(Json(thread_json(&state, &updated).await?))
    } else {
        Ok(Json(reply_json(&state, &updated, &HashMap::new()).await?))
    }
}

async fn delete_post(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("already removed"));
    }
    svc::delete_post(&state, &auth.member, &post, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LikeBody {
    liked: Option<bool>,
}

async fn like(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: LikeBody = parse_body(&body)?;
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("this was removed"));
    }
    let liked = req.liked.unwrap_or(true);
    svc::like(&state, &auth.member, &post, liked).await?;
    let post = load_post(&state, &id).await?;
    Ok(Json(json!({"liked": liked, "like_count": post.like_count})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    reason: Option<String>,
}

async fn remove(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: RemoveBody = parse_body(&body)?;
    let post = load_post(&state, &id).await?;
    if removed(&post) {
        return Err(ApiError::gone("already removed"));
    }
    if post.author == auth.member.ap_id(&state) {
        return Err(ApiError::unprocessable(
            "remove is for moderators; delete your own post instead",
        ));
    }
    svc::delete_post(&state, &auth.member, &post, req.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Locks or pins a thread and answers with it.
async fn set_flags(
    state: &Node,
    auth: &Caller,
    id: &str,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<Json<Value>, ApiError> {
    let thread = load_thread(state, id).await?;
    let post = svc::set_thread_flags(state, &auth.member, &thread, locked, pinned).await?;
    Ok(Json(thread_json(state, &post).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockBody {
    locked: Option<bool>,
}

async fn lock(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: LockBody = parse_body(&body)?;
    set_flags(&state, &auth, &id, Some(req.locked.unwrap_or(true)), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    pinned: Option<bool>,
}

async fn pin(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: PinBody = parse_body(&body)?;
    set_flags(&state, &auth, &id, None, Some(req.pinned.unwrap_or(true))).await
}

// ----- search -----

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    community: Option<String>,
    after: Option<SearchCursor>,
    limit: Option<u64>,
}

/// Text as safe HTML, with the index's match markers as `<mark>`.
fn marked(text: &str) -> String {
    crate::markdown::escape_html(text)
        .replace(crate::db::search::MARK_START, "<mark>")
        .replace(crate::db::search::MARK_END, "</mark>")
}

/// Full-text search, best first, one page at a time (`?after=CURSOR&limit=N`). Hits in
/// communities the caller may not read are left out, so a page may hold fewer than `limit`
/// results while `next` still names the following one.
async fn search(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Q(q): Q<SearchQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    if q.q.chars().count() > 200 {
        return Err(ApiError::unprocessable("a query is at most 200 characters"));
    }
    if q.after
        .as_ref()
        .is_some_and(|Pair(score, _)| !score.is_finite())
    {
        return Err(ApiError::bad_request(
            "bad cursor: take cursors from a page's `next`",
        ));
    }
    let community = match q.community.as_deref() {
        Some(handle) => Some(svc::resolve(&state, handle).await?.ap_id),
        None => None,
    };
    let page = state
        .db
        .search(
            &q.q,
            community.as_deref(),
            q.after
                .as_ref()
                .map(|Pair(score, Pair(id, kind))| (*score, *id, kind.as_str())),
            paging::limit(q.limit, 20, 50),
        )
        .await?;
    // One lookup per kind for the whole page: communities, what the caller may read, and
    // the ActivityPub ids of the hits.
    let views = svc::known_many(&state, page.items.iter().map(|h| h.community.as_str())).await?;
    let readable =
        readable_each(&state, auth.as_deref(), &views.values().collect::<Vec<_>>()).await?;
    let visible: Vec<_> = page
        .items
        .iter()
        .filter(|hit| {
            // A community this node does not know is public to it, as `may_read` has it.
            !views.contains_key(&hit.community) || readable.contains(&hit.community)
        })
        .collect();
    let ids_of = |kind: bool| -> Vec<i64> {
        visible
            .iter()
            .filter(|h| (h.kind == "article") == kind)
            .map(|h| h.ref_id)
            .collect()
    };
    let articles = state.db.article_ap_ids(&ids_of(true)).await?;
    let posts = state.db.post_ap_ids(&ids_of(false)).await?;
    let results: Vec<Value> = visible
        .iter()
        .map(|hit| {
            let ap_id = match hit.kind.as_str() {
                "article" => articles.get(&hit.ref_id),
                _ => posts.get(&hit.ref_id),
            };
            json!({
                "kind": hit.kind,
                "id": hit.ref_id,
                "ap_id": ap_id,
                "community": views.get(&hit.community).map(|c| c.handle()),
                "title": marked(&hit.title),
                "snippet": marked(&hit.snippet),
            })
        })
        .collect();
    let next = page.next(|h| Pair(h.score, Pair(h.ref_id, h.kind.clone())));
    Ok(Json(json!({
        "results": results,
        "next": next_link(&state, &uri, "after", next),
    })))
}
