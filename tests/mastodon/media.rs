//! Images through the Mastodon API, driven by Mastodon.py: upload (type from the bytes, EXIF
//! gone, turned as its orientation said, a preview), describe, attach to a thread in a
//! community on another node, which shows it; bad uploads get Mastodon-shaped errors; and an
//! image in a members-only community, or not attached yet, stays with those who may see it
//! whoever asks and however.

use crate::{
    accounts::{member, PASSWORD},
    harness::{eventually, http, python, Node, NodeOptions},
};
use serde_json::{json, Value};
use std::time::Duration;

/// What the served files must never contain: the notes the test hid in the uploads' EXIF.
const JPEG_SECRET: &[u8] = b"GPS 52.5200N 13.4050E jpeg-secret";
const PNG_SECRET: &[u8] = b"png-secret";

/// A 40×20 JPEG whose EXIF says "turn 90° clockwise to show" and carries a GPS note.
fn jpeg_with_exif() -> Vec<u8> {
    let mut picture = image::RgbImage::new(40, 20);
    for (x, y, p) in picture.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 6) as u8, (y * 12) as u8, 128]);
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("jpeg");
    // APP1: "Exif", a big-endian TIFF header, one IFD entry (Orientation = 6), then the note.
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend([0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    exif.extend(JPEG_SECRET);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((exif.len() + 2) as u16).to_be_bytes());
    app1.extend(exif);
    let mut out = jpeg[..2].to_vec();
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn fetch(url: &str, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = http().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.expect("GET");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn mastodon_py_uploads_an_image_that_federates_without_its_exif_and_stays_private() {
    const LIMIT: usize = 200_000;
    let alpha = Node::start().await;
    let beta = Node::start_with(NodeOptions {
        env: vec![("ROUNDTABLE__MEDIA__MAX_BYTES".into(), LIMIT.to_string())],
        ..Default::default()
    })
    .await;
    let olga = alpha.api_user("olga").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "title": "SRE guild", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    member(&beta, "bert", "bert@example.com").await;
    let mut bert = beta.anonymous();
    bert.token = roundtable::service::accounts::create_token(&beta.state.db, "bert", "read write")
        .await
        .expect("token");
    let (status, body) = bert
        .post(
            "/communities",
            json!({"slug": "inner", "title": "Incident room", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let jpeg = jpeg_with_exif();
    let jpeg_path = std::env::temp_dir().join(format!("roundtable-{}.jpg", rand::random::<u64>()));
    std::fs::write(&jpeg_path, &jpeg).expect("write the JPEG");
    let community = format!("guild@{}", alpha.domain);
    let seen = python::run_client(
        include_str!("media_client.py"),
        &[
            ("NODE", &beta.base),
            ("COMMUNITY", &community),
            ("INNER", "inner"),
            ("LOGIN", "bert"),
            ("PASSWORD", PASSWORD),
            ("JPEG", &jpeg_path.display().to_string()),
            ("JUST_TOO_BIG", &(LIMIT + 1_000).to_string()),
            ("FAR_TOO_BIG", &(LIMIT + 200_000).to_string()),
        ],
    )
    .await;
    let _ = std::fs::remove_file(&jpeg_path);
    let token = seen["token"].as_str().expect("token").to_string();

    // The upload: an image, turned upright (20×40), described, with its focus.
    let upload = &seen["upload"];
    assert_eq!(upload["type"], "image", "{seen:#}");
    assert_eq!(upload["description"], "A whiteboard");
    assert_eq!(upload["meta"]["original"]["width"], 20, "{upload:#}");
    assert_eq!(upload["meta"]["original"]["height"], 40);
    assert_eq!(upload["meta"]["focus"], json!({"x": 0.5, "y": -0.5}));
    assert_eq!(upload["remote_url"], Value::Null);
    assert_eq!(
        seen["updated"]["description"],
        "The on-call rota on a whiteboard"
    );
    assert_eq!(seen["fetched"]["id"], upload["id"]);
    let url = upload["url"].as_str().expect("url").to_string();
    assert!(url.starts_with(&beta.base), "{url}");

    // The status carries it, as posted and as read back.
    for status in [&seen["thread"], &seen["thread_again"]] {
        let media = &status["media_attachments"];
        assert_eq!(media.as_array().map(Vec::len), Some(1), "{status:#}");
        assert_eq!(media[0]["id"], upload["id"]);
        assert_eq!(media[0]["url"], url.as_str());
        assert_eq!(media[0]["description"], "The on-call rota on a whiteboard");
    }
    // An attached image is not taken again, nor described outside its status.
    assert_eq!(seen["reuse"][0], "MastodonAPIError", "{seen:#}");
    assert_eq!(seen["reuse"][1], 422);
    assert_eq!(seen["describe_attached"][0], "MastodonNotFoundError");
    // Bad input is a Mastodon-shaped 4xx, never a 500.
    assert_eq!(seen["text_as_image"][0], "MastodonAPIError", "{seen:#}");
    assert_eq!(seen["text_as_image"][1], 422);
    assert!(seen["text_as_image"][2]
        .as_str()
        .is_some_and(|e| e.contains("not an image")));
    assert_eq!(seen["too_big"][1], 422, "{seen:#}");
    assert!(seen["too_big"][2]
        .as_str()
        .is_some_and(|e| e.contains("size")));
    assert_eq!(seen["far_too_big"][1], 413, "{seen:#}");
    assert_eq!(seen["five_images"][1], 422, "{seen:#}");

    // The file as served: a JPEG without the EXIF it was sent with, and its preview.
    let (status, headers, served) = fetch(&url, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["cache-control"]
        .to_str()
        .is_ok_and(|c| c.starts_with("public")));
    assert!(served.starts_with(&[0xFF, 0xD8]), "a JPEG");
    assert!(contains(&jpeg, b"Exif") && contains(&jpeg, JPEG_SECRET));
    assert!(!contains(&served, b"Exif"), "EXIF is gone");
    assert!(!contains(&served, JPEG_SECRET), "the GPS note is gone");
    let shown = image::load_from_memory(&served).expect("decodes");
    assert_eq!((shown.width(), shown.height()), (20, 40));
    eprintln!(
        "upload: {} bytes sent, {} served, {:.2}s to upload",
        jpeg.len(),
        served.len(),
        seen["upload_seconds"].as_f64().unwrap_or_default()
    );
    let (status, headers, _) = fetch(&format!("{url}/preview"), None).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("image/")));

    // The community's node shows the thread with the image, kept as the other node's URL.
    let alpha_token = roundtable::service::accounts::create_token(&alpha.state.db, "olga", "read")
        .await
        .expect("token");
    let uri = seen["thread"]["uri"].as_str().expect("uri").to_string();
    let on_alpha = eventually(Duration::from_secs(20), "the thread on alpha", || {
        let url = alpha.url("/api/v1/timelines/home");
        let token = alpha_token.clone();
        let uri = uri.clone();
        async move {
            let r = http().get(url).bearer_auth(token).send().await.ok()?;
            let list: Value = r.json().await.ok()?;
            list.as_array()?
                .iter()
                .find(|s| s["uri"] == uri.as_str())
                .cloned()
        }
    })
    .await;
    let media = &on_alpha["media_attachments"][0];
    assert_eq!(media["type"], "image", "{on_alpha:#}");
    assert_eq!(media["remote_url"], url.as_str());
    assert_eq!(media["url"], url.as_str());
    assert_eq!(media["description"], "The on-call rota on a whiteboard");
    // ...and so does its web page, with the alt text.
    let page = http()
        .get(alpha.url(&format!(
            "/threads/{}",
            on_alpha["id"].as_str().expect("id")
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&format!("src=\"{url}\""))
            && page.contains("alt=\"The on-call rota on a whiteboard\""),
        "{page}"
    );

    // A members-only community's image: its members see it; nobody else, however they ask.
    let secret = &seen["secret"];
    assert_eq!(secret["visibility"], "private");
    let secret_url = secret["media"][0]["url"].as_str().expect("url").to_string();
    let secret_id = secret["media"][0]["id"].as_str().expect("id").to_string();
    let (status, headers, served) = fetch(&secret_url, Some(&token)).await;
    assert_eq!(status, 200, "the member sees it");
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["cache-control"]
        .to_str()
        .is_ok_and(|c| c.starts_with("private")));
    assert!(!contains(&served, b"eXIf") && !contains(&served, PNG_SECRET));
    let unattached = &seen["unattached"];
    let draft_url = unattached["url"].as_str().expect("url").to_string();
    let draft_id = unattached["id"].as_str().expect("id").to_string();
    assert_eq!(fetch(&draft_url, Some(&token)).await.0, 200, "its uploader");

    member(&beta, "eve", "eve@example.com").await;
    let eve = roundtable::service::accounts::create_token(&beta.state.db, "eve", "read write")
        .await
        .expect("token");
    // A guessed key of the right shape, and keys of odd shapes.
    let guessed = format!("{}/media/{}", beta.base, "0123456789abcdef01234567");
    for target in [
        secret_url.clone(),
        format!("{secret_url}/preview"),
        draft_url.clone(),
        format!("{draft_url}/preview"),
        guessed,
        format!("{}/media/..%2f..%2fetc", beta.base),
        format!("{}/media/{secret_id}", beta.base),
    ] {
        for who in [None, Some(eve.as_str()), Some("not-a-token")] {
            let (status, _, body) = fetch(&target, who).await;
            assert_eq!(status, 404, "{target} as {who:?}");
            assert!(!contains(&body, b"\x89PNG"), "{target}");
        }
    }
    // Eve cannot read, describe or post another member's uploads through the API either.
    for id in [&secret_id, &draft_id] {
        let r = http()
            .get(beta.url(&format!("/api/v1/media/{id}")))
            .bearer_auth(&eve)
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 404);
        let r = http()
            .put(beta.url(&format!("/api/v1/media/{id}")))
            .bearer_auth(&eve)
            .json(&json!({"description": "mine now"}))
            .send()
            .await
            .expect("PUT");
        assert_eq!(r.status(), 404);
        let body: Value = r.json().await.expect("json");
        assert!(body["error"].is_string());
    }
    // ...nor post them in her own community.
    let mut eve_api = beta.anonymous();
    eve_api.token = eve.clone();
    let (status, body) = eve_api
        .post(
            "/communities",
            json!({"slug": "eves", "title": "Eve's", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for id in [&draft_id, &secret_id] {
        let r = http()
            .post(beta.url("/api/v1/statuses"))
            .bearer_auth(&eve)
            .json(&json!({"status": "@eves Look\nfound this", "media_ids": [id]}))
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].is_string());
    }
    // Nothing eve tried took the draft: it is still its uploader's and unattached.
    let r = http()
        .get(beta.url(&format!("/api/v1/media/{draft_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    let draft: Value = r.json().await.expect("json");
    assert_eq!(draft["description"], Value::Null);
    // The members-only thread's image went nowhere else: alpha has never heard of it.
    assert!(alpha
        .state
        .db
        .media_by_key(secret_url.rsplit('/').next().unwrap_or_default())
        .await
        .expect("query")
        .is_none());
}
