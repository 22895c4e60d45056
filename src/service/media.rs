//! Images: uploading one (its type read from the bytes, never from what the client says;
//! decoded within limits, off the async runtime; re-encoded, which leaves every piece of
//! metadata behind — EXIF with GPS, XMP, comments — after turning the picture as its EXIF
//! orientation said; a preview), describing it, the images a new post takes, the images of
//! posts from other servers, and who may see one: an upload no post carries is its uploader's
//! alone, an attached one is seen by whoever may read the post's community
//! (`privacy::may_read`).

use super::{
    discussions::{self, Member},
    error::Error,
    privacy,
};
use crate::{
    activitypub::{
        self,
        objects::{Attachment, MAX_ATTACHMENTS, MAX_DESCRIPTION},
    },
    db::media::{Media, NewAttachment, NewUpload, RemoteImage},
    node::Node,
};
use image::{codecs::jpeg::JpegEncoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;
use tokio::sync::Semaphore;

/// Longest side of a preview, in pixels.
const PREVIEW_SIDE: u32 = 400;
/// Images decoded at once, whatever the number of uploads (decoding is CPU-bound).
static DECODING: Semaphore = Semaphore::const_new(2);

/// An upload as stored: the re-encoded original and its preview.
pub struct Processed {
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub original: Vec<u8>,
    pub preview: Vec<u8>,
    pub preview_type: &'static str,
    pub preview_width: u32,
    pub preview_height: u32,
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::refused(format!("the image cannot be read: {e}")).on("file")
}

/// Reads, checks and re-encodes an image. Only JPEG, PNG and WebP are taken; the format is
/// the one the bytes have.
pub fn process(bytes: &[u8], max_dimension: u32) -> Result<Processed, Error> {
    let format = image::guess_format(bytes).ok();
    let media_type = match format {
        Some(ImageFormat::Jpeg) => "image/jpeg",
        Some(ImageFormat::Png) => "image/png",
        Some(ImageFormat::WebP) => "image/webp",
        _ => {
            return Err(Error::refused(
                "Validation failed: File content type is not an image this node takes (JPEG, PNG or WebP)",
            )
            .on("file"))
        }
    };
    let format = format.unwrap_or(ImageFormat::Png);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(max_dimension);
    limits.max_image_height = Some(max_dimension);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    let original = encode(&picture, format)?;
    let small = picture.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE);
    let (preview_format, preview_type) = if small.color().has_alpha() {
        (ImageFormat::Png, "image/png")
    } else {
        (ImageFormat::Jpeg, "image/jpeg")
    };
    let preview = encode(&small, preview_format)?;
    Ok(Processed {
        media_type,
        width: picture.width(),
        height: picture.height(),
        original,
        preview,
        preview_type,
        preview_width: small.width(),
        preview_height: small.height(),
    })
}

/// The picture alone, in `format`: nothing of the uploaded file's metadata is written.
fn encode(picture: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        ImageFormat::Jpeg => {
            let rgb = picture.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, 88).encode_image(&rgb)
        }
        ImageFormat::WebP => picture.to_rgba8().write_to(&mut out, format),
        _ => picture.write_to(&mut out, format),
    };
    written.map_err(|e| {
        tracing::warn!(error = %e, "an image could not be encoded");
        Error::refused("the image cannot be stored").on("file")
    })?;
    Ok(out.into_inner())
}

/// A focal point as apps send it: `"x,y"`, each between -1 and 1.
pub fn parse_focus(text: &str) -> Result<(f64, f64), Error> {
    let bad = || Error::refused("focus must be two numbers from -1.0 to 1.0: \"x,y\"").on("focus");
    let (x, y) = text.split_once(',').ok_or_else(bad)?;
    let x: f64 = x.trim().parse().map_err(|_| bad())?;
    let y: f64 = y.trim().parse().map_err(|_| bad())?;
    if !((-1.0..=1.0).contains(&x) && (-1.0..=1.0).contains(&y)) {
        return Err(bad());
    }
    Ok((x, y))
}

fn check_description(text: Option<String>) -> Result<Option<String>, Error> {
    let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_DESCRIPTION)
    {
        return Err(Error::refused(
            "Validation failed: Description is too long (maximum is 1500 characters)",
        )
        .on("description"));
    }
    Ok(text)
}

/// Stores a member's upload; no post carries it yet.
pub async fn upload(
    state: &Node,
    member: &Member,
    bytes: Vec<u8>,
    description: Option<String>,
    focus: Option<(f64, f64)>,
) -> Result<Media, Error> {
    let limit = state.settings.media.max_bytes;
    if bytes.len() > limit {
        return Err(Error::refused(format!(
            "Validation failed: File file size must be less than {} bytes",
            limit
        ))
        .on("file"));
    }
    if bytes.is_empty() {
        return Err(Error::refused("Validation failed: File is empty").on("file"));
    }
    let description = check_description(description)?;
    let max_dimension = state.settings.media.max_dimension;
    let processed = {
        let _turn = DECODING.acquire().await.map_err(|_| Error::internal())?;
        tokio::task::spawn_blocking(move || process(&bytes, max_dimension))
            .await
            .map_err(|_| Error::internal())??
    };
    let media = state
        .db
        .insert_upload(NewUpload {
            key: crate::db::random_key(),
            owner: member.ap_id(state),
            media_type: processed.media_type.to_string(),
            description,
            focus,
            width: processed.width as i32,
            height: processed.height as i32,
            preview_width: processed.preview_width as i32,
            preview_height: processed.preview_height as i32,
            original: processed.original,
            preview: processed.preview,
            preview_type: processed.preview_type.to_string(),
        })
        .await?;
    Ok(media)
}

/// Changes the alt text or focus of the member's upload that no post carries yet.
pub async fn describe(
    state: &Node,
    member: &Member,
    id: i64,
    description: Option<Option<String>>,
    focus: Option<(f64, f64)>,
) -> Result<Media, Error> {
    let description = match description {
        Some(d) => Some(check_description(d)?),
        None => None,
    };
    let me = member.ap_id(state);
    if !state
        .db
        .describe_upload(id, &me, description, focus)
        .await?
    {
        return Err(Error::not_found("Record not found"));
    }
    state
        .db
        .media(id)
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// The member's own uploads a new post takes, checked: at most four, each once, each the
/// member's and carried by no post yet (the post's transaction takes them by compare-and-set).
pub async fn for_new_post(state: &Node, member: &Member, ids: &[i64]) -> Result<Vec<Media>, Error> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(
            Error::refused("Validation failed: a post carries at most 4 images").on("media_ids"),
        );
    }
    let me = member.ap_id(state);
    let mut out: Vec<Media> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.iter().any(|m| m.id == *id) {
            return Err(Error::refused("an image is named twice").on("media_ids"));
        }
        let media = state
            .db
            .media(*id)
            .await?
            .filter(|m| m.owner == me && m.remote_url.is_none())
            .ok_or_else(|| {
                Error::refused(format!("no upload of yours has the id {id}")).on("media_ids")
            })?;
        if media.post_id.is_some() {
            return Err(
                Error::refused(format!("the image {id} is already in a post")).on("media_ids"),
            );
        }
        out.push(media);
    }
    Ok(out)
}

/// What the database stores for a new post's uploads.
pub fn uploads(media: &[Media]) -> Vec<NewAttachment> {
    media.iter().map(|m| NewAttachment::Upload(m.id)).collect()
}

/// The images of a post from another server that this node keeps: web URLs only
/// (`activitypub::remote_url`).
pub fn remote(state: &Node, images: &[Attachment]) -> Vec<NewAttachment> {
    images
        .iter()
        .filter_map(|a| {
            let url = activitypub::remote_url(&a.url, state.settings.federation.debug)?;
            Some(NewAttachment::Remote(RemoteImage {
                url,
                media_type: a.media_type.clone(),
                description: a.name.clone(),
                width: a.width,
                height: a.height,
            }))
        })
        .collect()
}

/// Where an image is seen: this node's URL for an upload, the other server's for theirs.
pub fn url(state: &Node, media: &Media) -> String {
    match &media.remote_url {
        Some(url) => url.clone(),
        None => format!("{}/media/{}", state.settings.base_url(), media.key),
    }
}

/// Where its preview is seen.
pub fn preview_url(state: &Node, media: &Media) -> String {
    match &media.remote_url {
        Some(url) => url.clone(),
        None => format!("{}/media/{}/preview", state.settings.base_url(), media.key),
    }
}

/// An image as a post's document carries it.
pub fn wire(state: &Node, media: &Media) -> Attachment {
    Attachment {
        url: url(state, media),
        media_type: media.media_type.clone(),
        name: media.description.clone(),
        width: media.width,
        height: media.height,
    }
}

/// The images of a stored post, as its document carries them.
pub async fn wire_of_post(state: &Node, post_id: i64) -> Result<Vec<Attachment>, Error> {
    Ok(state
        .db
        .media_of_posts(&[post_id])
        .await?
        .remove(&post_id)
        .unwrap_or_default()
        .iter()
        .map(|m| wire(state, m))
        .collect())
}

/// Whether `viewer` may see an image: an upload no post carries only by its uploader; an
/// attached one by whoever may read the post's community, while the post is there. Every
/// refusal is "not found", so nobody learns that an image exists.
pub async fn may_view(state: &Node, viewer: Option<&Member>, media: &Media) -> Result<(), Error> {
    let missing = || Error::not_found("Record not found");
    let Some(post_id) = media.post_id else {
        return match viewer {
            Some(m) if m.ap_id(state) == media.owner => Ok(()),
            _ => Err(missing()),
        };
    };
    let post = state.db.post(post_id).await?.ok_or_else(missing)?;
    if post.deleted || post.removed_reason.is_some() {
        return Err(missing());
    }
    let community = discussions::known(state, &post.community)
        .await?
        .ok_or_else(missing)?;
    privacy::may_read(state, viewer, &community)
        .await
        .map_err(|_| missing())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_not_an_image_and_focus_is_bounded() {
        assert!(process(b"hello, this is text", 100).is_err());
        assert!(parse_focus("0.5,-0.25").is_ok());
        assert!(parse_focus("2,0").is_err());
        assert!(parse_focus("x").is_err());
    }

    #[test]
    fn an_image_is_re_encoded_with_a_preview() {
        let mut png = Cursor::new(Vec::new());
        DynamicImage::new_rgb8(900, 300)
            .write_to(&mut png, ImageFormat::Png)
            .expect("png");
        let out = process(png.get_ref(), 1000).expect("processed");
        assert_eq!((out.width, out.height), (900, 300));
        assert_eq!(out.media_type, "image/png");
        assert!(out.preview_width <= PREVIEW_SIDE && out.preview_height <= PREVIEW_SIDE);
        assert!(process(png.get_ref(), 800).is_err(), "wider than allowed");
    }
}
