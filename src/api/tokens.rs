//! The caller's own API tokens: list, create (never with more scopes than the caller's token
//! holds) and revoke.

use super::{next_link, parse_body, parse_id, Auth, Read, Write, PAGE_DEFAULT, PAGE_MAX, Q};
use crate::{
    domain::Scopes,
    error::ApiError,
    node::Node,
    paging,
    service::accounts::{self, AccountError},
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<Node> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
}

fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::Invalid(m) => ApiError::unprocessable(m),
        AccountError::NotFound(m) => ApiError::not_found(m),
        AccountError::Db(e) => e.into(),
        other => {
            tracing::error!(error = %other, "token operation failed");
            ApiError::internal()
        }
    }
}

fn millis(ms: Option<i64>) -> Value {
    ms.map(|ms| json!(crate::activitypub::objects::rfc3339(ms)))
        .unwrap_or(Value::Null)
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<i64>,
    limit: Option<u64>,
}

/// The caller's tokens, oldest first, one page at a time (`?after=ID&limit=N`).
async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .db
        .tokens_page(
            auth.member.user.id,
            q.after,
            paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX),
        )
        .await?;
    let tokens: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "scopes": t.scopes,
                "created_at": millis(Some(t.created_at)),
                "expires_at": millis(t.expires_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "tokens": tokens,
        "next": next_link(&state, &uri, "after", page.next(|t| t.id)),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    scopes: String,
    expires_days: Option<u32>,
}

async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: NewToken = parse_body(&body)?;
    let wanted = Scopes::parse(&req.scopes).map_err(ApiError::unprocessable)?;
    // A token never grants more than the one that made it; a calendar token needs `read`.
    for scope in wanted.iter() {
        let held = match scope {
            "calendar" => auth.scopes.allows("read") || auth.scopes.allows("calendar"),
            other => auth.scopes.allows(other),
        };
        if !held {
            return Err(ApiError::forbidden(format!(
                "this token cannot grant the {scope} scope it does not hold"
            )));
        }
    }
    let (id, token) = accounts::issue_token(
        &state.db,
        &auth.member.actor.name,
        &wanted.as_string(),
        req.expires_days,
    )
    .await
    .map_err(account_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "token": token, "scopes": wanted.as_string()})),
    )
        .into_response())
}

async fn revoke(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    accounts::revoke_token(&state.db, &auth.member.actor.name, id)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}
