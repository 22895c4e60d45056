//! Editing statuses: `PUT /api/v1/statuses/{id}` (through `service::discussions::edit_post`,
//! the use case the native API and the pages call, so the edit federates as `Update`),
//! `GET /api/v1/statuses/{id}/history` (the versions edits replaced, then the current one) and
//! `GET /api/v1/statuses/{id}/source` (the markdown, and a thread's title as its
//! `spoiler_text`, which is how an app's edit screen sends it back).
//!
//! A thread's edit reads like a new status: the `spoiler_text`, when given, is the title and
//! the whole text the body; otherwise the first line (without leading mentions) is the title
//! and the rest the body. Images do not change with an edit.

use super::{
    rfc3339,
    statuses::{one, readable, render},
    MastodonError,
};
use crate::{
    api::{Auth, MaybeAuth, Read, Write},
    markdown::{escape_html, plain_text},
    node::Node,
    service::discussions as svc,
    web::form_or_json,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Versions a history shows at most (the latest ones).
const HISTORY_MAX: u64 = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Edit {
    status: Option<String>,
    spoiler_text: Option<String>,
    media_ids: Option<Vec<Value>>,
    poll: Option<Value>,
}

/// A thread's title and body from an edited status.
fn title_and_body(text: &str, spoiler: Option<&str>) -> (String, String) {
    let text = text.trim();
    if let Some(title) = spoiler.map(str::trim).filter(|s| !s.is_empty()) {
        return (title.to_string(), text.to_string());
    }
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let title = first
        .split_whitespace()
        .skip_while(|w| w.starts_with('@'))
        .collect::<Vec<_>>()
        .join(" ");
    let body = if rest.trim().is_empty() {
        text
    } else {
        rest.trim()
    };
    (title, body.to_string())
}

/// `PUT /api/v1/statuses/{id}`: the author's edit.
pub async fn update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(&state, Some(&auth), &id).await?;
    let req: Edit = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    if req.poll.is_some() {
        return Err(MastodonError::unprocessable("this node has no polls"));
    }
    if let Some(wanted) = &req.media_ids {
        let now: Vec<String> = state
            .db
            .media_of_posts(&[post.id])
            .await?
            .remove(&post.id)
            .unwrap_or_default()
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        let wanted: Vec<String> = wanted
            .iter()
            .map(|v| match v {
                Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            })
            .collect();
        if wanted != now {
            return Err(MastodonError::unprocessable(
                "an edit cannot change a status's images on this node yet",
            ));
        }
    }
    let text = req.status.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(MastodonError::unprocessable(
            "Validation failed: Text can't be blank",
        ));
    }
    let edited = if post.thread_id.is_none() {
        let (title, body) = title_and_body(&text, req.spoiler_text.as_deref());
        svc::edit_post(&state, &auth.member, &post, Some(&title), Some(&body)).await?
    } else {
        svc::edit_post(&state, &auth.member, &post, None, Some(text.trim())).await?
    };
    Ok(Json(one(&state, Some(&auth.member), &edited).await?))
}

/// `GET /api/v1/statuses/{id}/history`: every version, oldest first, the current one last.
pub async fn history(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(&state, auth.as_deref(), &id).await?;
    let viewer = auth.as_deref().map(|c| &c.member);
    let current = render(&state, viewer, std::slice::from_ref(&post))
        .await?
        .pop()
        .ok_or_else(MastodonError::internal)?;
    let version = |title: Option<&str>, content: &str, at: i64| {
        let content = match title {
            Some(t) if post.thread_id.is_none() => {
                format!("<p><strong>{}</strong></p>{content}", escape_html(t))
            }
            _ => content.to_string(),
        };
        json!({
            "content": content,
            "spoiler_text": "",
            "sensitive": false,
            "created_at": rfc3339(at),
            "account": current["account"],
            "poll": null,
            "media_attachments": current["media_attachments"],
            "emojis": [],
        })
    };
    let mut versions: Vec<Value> = state
        .db
        .post_revisions(post.id, HISTORY_MAX)
        .await?
        .iter()
        .map(|r| version(r.title.as_deref(), &r.content, r.created_at))
        .collect();
    versions.push(version(
        post.title.as_deref(),
        &post.content,
        post.updated.unwrap_or(post.published),
    ));
    Ok(Json(Value::Array(versions)))
}

/// `GET /api/v1/statuses/{id}/source`: what the author wrote, to edit it.
pub async fn source(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let post = readable(&state, Some(&auth), &id).await?;
    let text = post
        .source
        .clone()
        .unwrap_or_else(|| plain_text(&post.content));
    let spoiler = match (&post.title, post.thread_id) {
        (Some(title), None) => title.clone(),
        _ => String::new(),
    };
    Ok(Json(json!({
        "id": post.id.to_string(),
        "text": text,
        "spoiler_text": spoiler,
    })))
}

#[cfg(test)]
mod tests {
    use super::title_and_body;

    #[test]
    fn an_edited_thread_reads_its_title_like_a_new_one() {
        assert_eq!(
            title_and_body("@guild New title\nThe body.", None),
            ("New title".into(), "The body.".into())
        );
        assert_eq!(
            title_and_body("The whole body", Some(" Title ")),
            ("Title".into(), "The whole body".into())
        );
    }
}
