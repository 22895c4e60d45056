//! Reports and the moderation queue in the native API.

use super::{next_link, parse_body, parse_id, Auth, Write, Q};
use crate::{
    activitypub::objects::rfc3339, db::reports::Report, domain::ReportState, error::ApiError,
    node::Node, paging, service::reports as svc,
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<Node> {
    Router::new()
        .route("/reports", get(list).post(create))
        .route("/reports/{id}/resolve", post(resolve))
        .route("/reports/{id}/dismiss", post(dismiss))
}

fn report_json(r: &Report) -> Value {
    json!({
        "id": r.id,
        "ap_id": r.ap_id,
        "reporter": r.reporter,
        "object": r.object,
        "object_kind": r.object_kind,
        "community": r.community,
        "target_actor": r.target_actor,
        "reason": r.reason,
        "state": r.state,
        "origin": if r.local { "local" } else { "remote" },
        "resolved_by": r.resolved_by,
        "resolution": r.resolution,
        "resolved_at": r.resolved_at.map(rfc3339),
        "created_at": rfc3339(r.created_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    /// The ActivityPub id of a thread, reply, article, event or person; or a `user@domain`.
    object: String,
    reason: String,
}

async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ReportBody = parse_body(&body)?;
    let report = svc::file(&state, &auth.member, &req.object, &req.reason).await?;
    Ok((StatusCode::CREATED, Json(report_json(&report))).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    /// `open` (the default), `resolved`, `dismissed` or `all`.
    state: Option<String>,
    before: Option<i64>,
    limit: Option<u64>,
}

/// The moderation queue, newest first, one page at a time (`?before=ID&limit=N`).
async fn list(
    State(state): State<Node>,
    auth: Auth,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let filter = match q.state.as_deref().unwrap_or("open") {
        "all" => None,
        "open" => Some(ReportState::Open),
        "resolved" => Some(ReportState::Resolved),
        "dismissed" => Some(ReportState::Dismissed),
        other => {
            return Err(ApiError::unprocessable(format!(
                "unknown state {other:?} (open, resolved, dismissed or all)"
            )))
        }
    };
    let moderates_something = auth.member.user.is_admin
        || state
            .db
            .moderated_communities(&auth.member.ap_id(&state))
            .await?
            > 0;
    if !moderates_something {
        return Err(ApiError::forbidden(
            "the moderation queue is for moderators and admins",
        ));
    }
    let page = svc::queue(
        &state,
        &auth.member,
        filter,
        q.before,
        paging::limit(q.limit, 100, 500),
    )
    .await?;
    Ok(Json(json!({
        "reports": page.items.iter().map(report_json).collect::<Vec<_>>(),
        "next": next_link(&state, &uri, "before", page.next(|r| r.id)),
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    note: Option<String>,
}

async fn close(
    state: &Node,
    auth: &Auth<Write>,
    id: &str,
    body: &Bytes,
    outcome: ReportState,
) -> Result<Json<Value>, ApiError> {
    let req: CloseBody = parse_body(body)?;
    let report = svc::close(
        state,
        &auth.member,
        parse_id(id)?,
        outcome,
        req.note.as_deref(),
    )
    .await?;
    Ok(Json(report_json(&report)))
}

async fn resolve(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    close(&state, &auth, &id, &body, ReportState::Resolved).await
}

async fn dismiss(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    close(&state, &auth, &id, &body, ReportState::Dismissed).await
}
