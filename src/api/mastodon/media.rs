//! Media: uploading an image (`POST /api/v1/media`, `/api/v2/media`, multipart with `file`,
//! `description`, `focus`), reading and describing one's own upload (`GET`/`PUT
//! /api/v1/media/{id}`), and the MediaAttachment entity of statuses. The checks, the
//! re-encoding and who may see an image are `service::media`'s; the images themselves are
//! served by the web front door (`ui::media`), which knows both sessions and tokens.

use super::MastodonError;
use crate::{
    api::{Auth, Read, Write},
    db::media::Media,
    node::Node,
    service::media as svc,
    web::form_or_json,
};
use axum::{
    body::{Body, Bytes},
    extract::{multipart::MultipartError, FromRequest, Multipart, Path, Request, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// A body this much larger than the largest image is refused (413) before it is read.
pub const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The MediaAttachment entity of an image.
pub fn attachment(state: &Node, m: &Media) -> Value {
    let size = |w: Option<i32>, h: Option<i32>| match (w, h) {
        (Some(w), Some(h)) if w > 0 && h > 0 => json!({
            "width": w,
            "height": h,
            "size": format!("{w}x{h}"),
            "aspect": f64::from(w) / f64::from(h),
        }),
        _ => Value::Null,
    };
    let mut meta = json!({
        "original": size(m.width, m.height),
        "small": size(m.preview_width, m.preview_height),
    });
    if let (Some(x), Some(y)) = (m.focus_x, m.focus_y) {
        meta["focus"] = json!({"x": x, "y": y});
    }
    json!({
        "id": m.id.to_string(),
        "type": "image",
        "url": svc::url(state, m),
        "preview_url": svc::preview_url(state, m),
        "remote_url": m.remote_url,
        "preview_remote_url": null,
        "text_url": null,
        "meta": meta,
        "description": m.description,
        "blurhash": null,
    })
}

/// The MediaAttachment entities of each of `post_ids`, in one query.
pub async fn of_posts(
    state: &Node,
    post_ids: &[i64],
) -> Result<HashMap<i64, Vec<Value>>, MastodonError> {
    Ok(state
        .db
        .media_of_posts(post_ids)
        .await?
        .into_iter()
        .map(|(post, images)| (post, images.iter().map(|m| attachment(state, m)).collect()))
        .collect())
}

fn multipart_error(e: MultipartError) -> MastodonError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        MastodonError::too_large("the upload is larger than this node takes")
    } else {
        MastodonError::unprocessable(format!("the upload could not be read: {}", e.body_text()))
    }
}

/// `POST /api/v1/media` and `/api/v2/media`: the image is checked, stripped and stored at once,
/// so the answer is always complete (200, with its `url`).
/// The route turns axum's default body limit off (`DefaultBodyLimit::disable`); the body is
/// limited here instead, to the configured image size (the limit is a setting, known only
/// with the node).
pub async fn upload(
    State(state): State<Node>,
    auth: Auth<Write>,
    request: Request,
) -> Result<Json<Value>, MastodonError> {
    let limit = state.settings.media.max_bytes + MULTIPART_OVERHEAD;
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    let mut form = Multipart::from_request(Request::from_parts(parts, body), &state)
        .await
        .map_err(|e| MastodonError::unprocessable(e.body_text()))?;
    let mut file: Option<Vec<u8>> = None;
    let mut description = None;
    let mut focus = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => file = Some(field.bytes().await.map_err(multipart_error)?.to_vec()),
            "description" => description = Some(field.text().await.map_err(multipart_error)?),
            "focus" => {
                let text = field.text().await.map_err(multipart_error)?;
                focus = Some(svc::parse_focus(&text)?);
            }
            // A video's thumbnail, or fields of newer Mastodon versions: nothing to keep.
            _ => {}
        }
    }
    let file =
        file.ok_or_else(|| MastodonError::unprocessable("Validation failed: File can't be blank"))?;
    let media = svc::upload(&state, &auth.member, file, description, focus).await?;
    Ok(Json(attachment(&state, &media)))
}

/// The caller's own upload, by id; anything else is not found.
async fn own(state: &Node, auth: &crate::api::Caller, id: &str) -> Result<Media, MastodonError> {
    let missing = || MastodonError::not_found("Record not found");
    let id: i64 = id.parse().map_err(|_| missing())?;
    let media = state.db.media(id).await?.ok_or_else(missing)?;
    if media.remote_url.is_some() || media.owner != auth.member.ap_id(state) {
        return Err(missing());
    }
    Ok(media)
}

/// `GET /api/v1/media/{id}`: one of the caller's uploads.
pub async fn get(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let media = own(&state, &auth, &id).await?;
    Ok(Json(attachment(&state, &media)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Describe {
    description: Option<String>,
    focus: Option<String>,
}

/// `PUT /api/v1/media/{id}`: the alt text and focal point of an upload no status carries yet
/// (as on Mastodon; an attached image changes with its status).
pub async fn update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let media = own(&state, &auth, &id).await?;
    let req: Describe = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    let focus = match req.focus.as_deref() {
        Some(f) if !f.trim().is_empty() => Some(svc::parse_focus(f)?),
        _ => None,
    };
    let media = svc::describe(
        &state,
        &auth.member,
        media.id,
        req.description.map(Some),
        focus,
    )
    .await?;
    Ok(Json(attachment(&state, &media)))
}
