//! The JSON APIs. The native API under `/api/roundtable/v1/` (this module): what Mastodon's
//! API has no words for; its OpenAPI document is `openapi.json` beside it. The Mastodon client
//! API (`mastodon`) and the OAuth endpoints (`oauth`) at the node's root. Every answer is
//! JSON; every failure is a status and `{"error": "…"}`. Bearer tokens are personal ones
//! (`roundtable token create`, `POST /tokens`) or those the OAuth server gives apps; both are
//! read by the same extractors (`extract`).

mod admin;
mod articles;
pub(crate) mod events;
mod insights;
pub mod mastodon;
pub(crate) mod oauth;
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
    service::discussions::{self as svc, CommunityView, Member, NewCommunity},
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

mod bans;
mod communities;
mod extract;
mod reading;
mod search;
mod sync;
mod threads;
mod views;
use bans::*;
use communities::*;
pub use extract::*;
use reading::*;
pub(crate) use reading::{may_read, may_read_view};
use search::*;
use sync::*;
use threads::*;
use views::*;

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
        .route("/communities/{handle}/sync", get(get_sync).post(start_sync))
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
            "/threads/{id}/answer",
            post(mark_answer).delete(unmark_answer),
        )
        .route("/communities/{handle}/insights", get(insights::get))
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
        .merge(oauth::native_router())
        .merge(events::router())
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
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
