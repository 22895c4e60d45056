//! Node administration in the native API: the federation policy.

use super::{next_link, parse_body, Admin, AdminRead, Auth, PAGE_DEFAULT, PAGE_MAX, Q};
use crate::{
    activitypub::objects::rfc3339,
    error::ApiError,
    node::Node,
    paging::{self, Page, Pair},
    service::{
        partnership,
        policy::{self, PolicyError},
    },
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<Node> {
    Router::new()
        .route("/admin/federation", get(show).put(set_mode))
        .route("/admin/instances", get(instances).post(add))
        .route("/admin/instances/{domain}", delete(remove))
        .route("/admin/audit", get(audit))
        .route("/admin/partnerships", get(partnerships).post(propose))
        .route(
            "/admin/suspensions",
            get(suspensions).post(suspend).delete(unsuspend),
        )
        .route("/admin/partnerships/{domain}/accept", post(accept))
        .route("/admin/partnerships/{domain}/reject", post(reject))
}

fn api_error(e: PolicyError) -> ApiError {
    match e {
        PolicyError::Invalid(m) => ApiError::unprocessable(m),
        PolicyError::NotFound(m) => ApiError::not_found(m),
        PolicyError::Db(e) => e.into(),
    }
}

async fn show(State(state): State<Node>, _auth: Auth<AdminRead>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"mode": state.db.federation_mode().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

async fn set_mode(
    State(state): State<Node>,
    auth: Auth<Admin>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ModeBody = parse_body(&body)?;
    policy::set_mode(&state.db, &req.mode, &auth.member.ap_id(&state))
        .await
        .map_err(api_error)?;
    Ok(Json(json!({"mode": req.mode})))
}

#[derive(Deserialize)]
struct DomainPageQuery {
    after: Option<String>,
    limit: Option<u64>,
}

/// Partners and blocks by domain, one page at a time (`?after=DOMAIN&limit=N`).
async fn instances(
    State(state): State<Node>,
    _auth: Auth<AdminRead>,
    Q(q): Q<DomainPageQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .db
        .instances_page(
            &["partner", "blocked", "proposed", "requested"],
            q.after.as_deref(),
            paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX),
        )
        .await?;
    Ok(Json(instances_json(&state, &uri, "instances", &page)))
}

fn instances_json(
    state: &Node,
    uri: &axum::http::Uri,
    key: &str,
    page: &Page<crate::db::policy::Instance>,
) -> Value {
    let list: Vec<Value> = page.items.iter().map(instance_json).collect();
    json!({
        key: list,
        "next": next_link(state, uri, "after", page.next(|i| i.domain.clone())),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceBody {
    domain: String,
    /// `partner` or `blocked`.
    state: String,
    reason: Option<String>,
}

async fn add(
    State(state): State<Node>,
    auth: Auth<Admin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: InstanceBody = parse_body(&body)?;
    if !matches!(req.state.as_str(), "partner" | "blocked") {
        return Err(ApiError::unprocessable("state must be partner or blocked"));
    }
    // Listing a node that asked for a partnership answers its request.
    if req.state == "partner" {
        let domain = policy::normalize_domain(&req.domain).map_err(api_error)?;
        if state
            .db
            .instance(&domain)
            .await?
            .is_some_and(|i| i.state == "requested")
        {
            partnership::answer(&state, &domain, true, &auth.member.ap_id(&state))
                .await
                .map_err(api_error)?;
            return Ok((
                StatusCode::CREATED,
                Json(json!({"domain": domain, "state": "partner", "reason": req.reason})),
            )
                .into_response());
        }
    }
    let domain = policy::add(
        &state.db,
        &req.domain,
        &req.state,
        req.reason.as_deref(),
        &auth.member.ap_id(&state),
    )
    .await
    .map_err(api_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"domain": domain, "state": req.state, "reason": req.reason})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct RemoveQuery {
    purge: Option<bool>,
}

async fn remove(
    State(state): State<Node>,
    auth: Auth<Admin>,
    Path(domain): Path<String>,
    Q(q): Q<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let domain = policy::normalize_domain(&domain).map_err(api_error)?;
    let me = auth.member.ap_id(&state);
    // Partnerships made by handshake tell the other node they are over.
    let mut listed = match partnership::remove(&state, &domain, &me).await {
        Ok(_) => true,
        Err(PolicyError::NotFound(_)) => false,
        Err(e) => return Err(api_error(e)),
    };
    match policy::remove(&state.db, &domain, "blocked", &me).await {
        Ok(_) => listed = true,
        Err(PolicyError::NotFound(_)) => {}
        Err(e) => return Err(api_error(e)),
    }
    if !listed {
        return Err(ApiError::not_found(format!("{domain} is not listed")));
    }
    if q.purge.unwrap_or(false) {
        let n = policy::purge(&state.db, &domain, &me)
            .await
            .map_err(api_error)?;
        tracing::info!(%domain, records = n, "purged a former partner's content");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<u64>,
}

/// The audit log, newest first (`?before=ID&limit=N`).
async fn audit(
    State(state): State<Node>,
    _auth: Auth<AdminRead>,
    Q(q): Q<AuditQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let limit = paging::limit(q.limit, 50, 500);
    let rows = state
        .db
        .audit_log(q.before, paging::rows_for(limit))
        .await?;
    let page = Page::from_rows(rows, limit);
    let entries: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            json!({"id": e.id, "actor": e.actor, "action": e.action, "target": e.target,
                   "detail": e.detail, "at": rfc3339(e.created_at)})
        })
        .collect();
    Ok(Json(json!({
        "entries": entries,
        "next": next_link(&state, &uri, "before", page.next(|e| e.id)),
    })))
}

fn instance_json(i: &crate::db::policy::Instance) -> Value {
    json!({"domain": i.domain, "state": i.state, "reason": i.reason, "since": rfc3339(i.created_at)})
}

/// Handshakes waiting for an answer, by domain, one page at a time.
async fn partnerships(
    State(state): State<Node>,
    _auth: Auth<AdminRead>,
    Q(q): Q<DomainPageQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let page = partnership::pending(
        &state,
        q.after.as_deref(),
        paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX),
    )
    .await
    .map_err(api_error)?;
    Ok(Json(instances_json(&state, &uri, "partnerships", &page)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeBody {
    domain: String,
}

async fn propose(
    State(state): State<Node>,
    auth: Auth<Admin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ProposeBody = parse_body(&body)?;
    let domain = partnership::propose(&state, &req.domain, &auth.member.ap_id(&state))
        .await
        .map_err(api_error)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"domain": domain, "state": "proposed"})),
    )
        .into_response())
}

async fn answer(
    state: &Node,
    auth: &Auth<Admin>,
    domain: &str,
    accept: bool,
) -> Result<Json<Value>, ApiError> {
    let domain = partnership::answer(state, domain, accept, &auth.member.ap_id(state))
        .await
        .map_err(api_error)?;
    let listing = state.db.instance(&domain).await?;
    Ok(Json(json!({
        "domain": domain,
        "state": listing.map(|i| i.state).unwrap_or_else(|| "declined".into()),
    })))
}

async fn accept(
    State(state): State<Node>,
    auth: Auth<Admin>,
    Path(domain): Path<String>,
) -> Result<Json<Value>, ApiError> {
    answer(&state, &auth, &domain, true).await
}

async fn reject(
    State(state): State<Node>,
    auth: Auth<Admin>,
    Path(domain): Path<String>,
) -> Result<Json<Value>, ApiError> {
    answer(&state, &auth, &domain, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuspendBody {
    /// An actor id or `user@domain`.
    actor: String,
    reason: Option<String>,
}

async fn suspend(
    State(state): State<Node>,
    auth: Auth<Admin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: SuspendBody = parse_body(&body)?;
    let actor = crate::service::reports::suspend(
        &state,
        &req.actor,
        req.reason.as_deref(),
        &auth.member.ap_id(&state),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"actor": actor, "reason": req.reason})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct UnsuspendQuery {
    actor: String,
}

async fn unsuspend(
    State(state): State<Node>,
    auth: Auth<Admin>,
    Q(q): Q<UnsuspendQuery>,
) -> Result<StatusCode, ApiError> {
    crate::service::reports::unsuspend(&state, &q.actor, &auth.member.ap_id(&state)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SuspensionsQuery {
    /// `created_at,actor` of the last suspension seen (newest first).
    before: Option<Pair<i64, String>>,
    limit: Option<u64>,
}

/// Suspensions, newest first, one page at a time (`?before=CURSOR&limit=N`).
async fn suspensions(
    State(state): State<Node>,
    _auth: Auth<AdminRead>,
    Q(q): Q<SuspensionsQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .db
        .suspensions_page(
            q.before
                .as_ref()
                .map(|Pair(at, actor)| (*at, actor.as_str())),
            paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX),
        )
        .await?;
    let list: Vec<Value> = page
        .items
        .iter()
        .map(|s| {
            json!({"actor": s.actor, "reason": s.reason, "by": s.suspended_by,
                   "since": rfc3339(s.created_at)})
        })
        .collect();
    let next = page.next(|s| Pair(s.created_at, s.actor.clone()));
    Ok(Json(json!({
        "suspensions": list,
        "next": next_link(&state, &uri, "before", next),
    })))
}
