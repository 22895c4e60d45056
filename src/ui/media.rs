//! Images as this node serves them: `/media/{key}` (the stored original) and
//! `/media/{key}/preview`. The viewer is the browser's signed-in member or, for apps, the
//! bearer of a token (`service::accounts::oauth::reader`); who may see an image is
//! `service::media::may_view` (an upload no post carries: its uploader only; an attached one:
//! whoever may read the post's community, through `privacy::may_read`). Every refusal is a 404,
//! exactly like an image that does not exist. Answers carry their stored type, `nosniff`, and
//! caching that matches who may see them: public for public communities' images, private
//! otherwise.

use super::{communities::member_of, Browser};
use crate::{node::Node, service};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"Record not found"}"#,
    )
        .into_response()
}

fn failed(e: service::error::Error) -> Response {
    if e.kind == service::error::Kind::NotFound {
        return not_found();
    }
    tracing::warn!(error = %e.message, "an image could not be served");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"the image cannot be served now"}"#,
    )
        .into_response()
}

/// `GET /media/{key}`.
pub async fn original(
    State(state): State<Node>,
    browser: Browser,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    serve(&state, &browser, &headers, &key, false).await
}

/// `GET /media/{key}/preview`.
pub async fn preview(
    State(state): State<Node>,
    browser: Browser,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    serve(&state, &browser, &headers, &key, true).await
}

async fn serve(
    state: &Node,
    browser: &Browser,
    headers: &HeaderMap,
    key: &str,
    preview: bool,
) -> Response {
    match load(state, browser, headers, key, preview).await {
        Ok(response) => response,
        Err(e) => failed(e),
    }
}

async fn load(
    state: &Node,
    browser: &Browser,
    headers: &HeaderMap,
    key: &str,
    preview: bool,
) -> Result<Response, service::error::Error> {
    let missing = || service::error::Error::not_found("Record not found");
    if key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(missing());
    }
    let viewer = match member_of(browser) {
        Some(member) => Some(member),
        None => match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            Some(token) => service::accounts::oauth::reader(state, token.trim()).await?,
            None => None,
        },
    };
    let media = state.db.media_by_key(key).await?.ok_or_else(missing)?;
    if media.remote_url.is_some() {
        return Err(missing());
    }
    service::media::may_view(state, viewer.as_ref(), &media).await?;
    // Public only when anyone may see it: an attached image that an anonymous reader may see.
    let public =
        media.post_id.is_some() && service::media::may_view(state, None, &media).await.is_ok();
    let file = state.db.media_file(media.id).await?.ok_or_else(missing)?;
    let (bytes, kind) = if preview {
        (file.preview, file.preview_type)
    } else {
        (file.original, media.media_type)
    };
    let kind = HeaderValue::from_str(&kind).map_err(|_| missing())?;
    let cache = if public {
        "public, max-age=604800, immutable"
    } else {
        "private, max-age=3600"
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
            (
                header::VARY,
                HeaderValue::from_static("Cookie, Authorization"),
            ),
        ],
        bytes,
    )
        .into_response())
}
