//! Wire shapes of discussions: threads (`Page`), replies (`Note`), and the activities that
//! carry them, built from stored rows and parsed from other servers' JSON.

use super::actors::host_of;
use crate::{
    db::discussions::Post,
    markdown::{excerpt, plain_text, sanitize},
};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;
use serde_json::{json, Value};
use url::Url;

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";

/// Longest thread title, in characters.
pub const MAX_TITLE: usize = 200;

pub fn context() -> Value {
    json!([AS_CONTEXT, {"sensitive": "as:sensitive", "lemmy": "https://join-lemmy.org/ns#", "stickied": "lemmy:stickied", "locked": "lemmy:locked"}])
}

/// A fresh, unguessable id under `{base}/{path}/`.
pub fn new_id(base: &str, path: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{base}/{path}/{key}")
}

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_time(value: Option<&Value>) -> Option<i64> {
    value
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
}

/// How a post refers to its surroundings on the wire.
pub struct PostContext<'a> {
    pub community: &'a str,
    /// `@slug@domain` of the community, for the Mention tag.
    pub community_mention: &'a str,
    /// The post this one answers (the thread itself for top-level replies).
    pub in_reply_to: Option<&'a str>,
    /// The people it mentions: (ActivityPub id, `@name@host`).
    pub mentions: &'a [(String, String)],
    /// The images it carries.
    pub attachments: &'a [Attachment],
}

/// Most images a post carries (Mastodon's limit); further ones from other servers are dropped.
pub const MAX_ATTACHMENTS: usize = 4;
/// Longest alt text kept, in characters (Mastodon's limit).
pub const MAX_DESCRIPTION: usize = 1500;

/// An image a post carries, as `attachment` on the wire: a `Document` with its media type, URL
/// and alt text (`name`), the shape Mastodon sends and Lemmy and Mastodon read.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub url: String,
    pub media_type: String,
    pub name: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

impl Attachment {
    fn json(&self) -> Value {
        let mut doc = json!({
            "type": "Document",
            "mediaType": self.media_type,
            "url": self.url,
            "name": self.name,
        });
        if let (Some(w), Some(h)) = (self.width, self.height) {
            doc["width"] = json!(w);
            doc["height"] = json!(h);
        }
        doc
    }
}

/// The images of a received post: `Document` or `Image` attachments (and `Link`s) whose media
/// type is an image's, read leniently (one object or a list; a URL as a string, a `Link` or a
/// list of them); anything else is dropped. URLs are checked again where they are stored.
fn attachments(value: Option<&Value>) -> Vec<Attachment> {
    let items: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    let url_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("href").and_then(Value::as_str).map(str::to_string),
            Value::Array(a) => a.iter().find_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("href").and_then(Value::as_str).map(str::to_string),
                _ => None,
            }),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for item in items {
        let kind = inner_kind(item);
        if !matches!(kind, "Document" | "Image" | "Link") {
            continue;
        }
        let Some(url) = item
            .get("url")
            .and_then(url_of)
            .or_else(|| item.get("href").and_then(url_of))
        else {
            continue;
        };
        let web = Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if url.len() > 2048 || !web {
            continue;
        }
        let declared = item
            .get("mediaType")
            .and_then(Value::as_str)
            .map(|t| t.trim().to_ascii_lowercase());
        let guessed = || {
            let path = Url::parse(&url).ok()?.path().to_ascii_lowercase();
            let ext = path.rsplit('.').next()?.to_string();
            let kind = match ext.as_str() {
                "jpg" | "jpeg" => "image/jpeg",
                "png" => "image/png",
                "gif" => "image/gif",
                "webp" => "image/webp",
                "avif" => "image/avif",
                _ => return None,
            };
            Some(kind.to_string())
        };
        let Some(media_type) = declared.or_else(guessed) else {
            continue;
        };
        if !media_type.starts_with("image/") || media_type.len() > 100 {
            continue;
        }
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .map(plain_text)
            .map(|n| n.trim().chars().take(MAX_DESCRIPTION).collect::<String>())
            .filter(|n| !n.is_empty());
        let size = |key: &str| {
            item.get(key)
                .and_then(Value::as_i64)
                .filter(|n| (1..=100_000).contains(n))
                .map(|n| n as i32)
        };
        out.push(Attachment {
            url,
            media_type,
            name,
            width: size("width"),
            height: size("height"),
        });
        if out.len() == MAX_ATTACHMENTS {
            break;
        }
    }
    out
}

/// A post's hashtags as ActivityPub `Hashtag` tags, which Mastodon indexes by `name`; `href`
/// is where the post's node searches for the tag.
fn hashtags(post: &Post) -> impl Iterator<Item = Value> {
    let origin = url::Url::parse(&post.ap_id)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    crate::markdown::post_hashtags(post.title.as_deref(), &post.content)
        .into_iter()
        .map(move |tag| {
            json!({
                "type": "Hashtag",
                "href": format!(
                    "{origin}/search?q=%23{}",
                    url::form_urlencoded::byte_serialize(tag.as_bytes()).collect::<String>()
                ),
                "name": format!("#{tag}"),
            })
        })
}

/// `Page` for a thread, `Note` for a reply.
pub fn post_json(post: &Post, cx: &PostContext) -> Value {
    let is_thread = post.thread_id.is_none();
    let mut doc = json!({
        "@context": context(),
        "id": post.ap_id,
        "type": if is_thread { "Page" } else { "Note" },
        "attributedTo": post.author,
        "to": [cx.community, PUBLIC],
        "cc": [],
        "audience": cx.community,
        "content": post.content,
        "mediaType": "text/html",
        "url": post.ap_id,
        "published": rfc3339(post.published),
        "tag": std::iter::once(json!({"type": "Mention", "href": cx.community, "name": cx.community_mention}))
            .chain(cx.mentions.iter().map(|(href, name)| json!({"type": "Mention", "href": href, "name": name})))
            .chain(hashtags(post))
            .collect::<Vec<_>>(),
    });
    if let Some(source) = &post.source {
        doc["source"] = json!({"content": source, "mediaType": "text/markdown"});
    }
    if let Some(updated) = post.updated {
        doc["updated"] = json!(rfc3339(updated));
    }
    if is_thread {
        doc["name"] = json!(post.title.clone().unwrap_or_default());
        doc["summary"] = json!(post.summary.clone().unwrap_or_default());
        doc["stickied"] = json!(post.pinned);
        doc["locked"] = json!(post.locked);
    }
    if let Some(parent) = cx.in_reply_to {
        doc["inReplyTo"] = json!(parent);
    }
    if !cx.attachments.is_empty() {
        doc["attachment"] = cx.attachments.iter().map(Attachment::json).collect();
    }
    doc
}

/// An activity by `actor` about `object`, addressed like the community's content.
pub fn activity(base: &str, kind: &str, actor: &str, object: Value, community: &str) -> Value {
    json!({
        "@context": context(),
        "id": new_id(base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": actor,
        "to": [PUBLIC],
        "cc": [community],
        "audience": community,
        "object": object,
    })
}

/// The community's `Announce` of an activity (or object) to its followers.
pub fn announce(base: &str, community: &str, object: Value) -> Value {
    json!({
        "@context": context(),
        "id": new_id(base, "activities/announce"),
        "type": "Announce",
        "actor": community,
        "to": [community, PUBLIC],
        "cc": [format!("{community}/followers")],
        "audience": community,
        "object": object,
    })
}

/// Rewrites the addressing of a confidential community's activity (and every object nested in
/// it) so nothing names `Public`: the audience is the community's followers.
pub fn restrict_to_followers(value: &mut Value, community: &str) {
    let followers = Value::String(format!("{community}/followers"));
    let is_public = |v: &Value| {
        matches!(
            v.as_str(),
            Some(PUBLIC) | Some("as:Public") | Some("Public")
        )
    };
    if let Value::Object(map) = value {
        let mut named_public = false;
        for key in ["to", "cc", "bto", "bcc"] {
            match map.get_mut(key) {
                Some(Value::Array(items)) => {
                    let before = items.len();
                    items.retain(|i| !is_public(i));
                    named_public |= items.len() != before;
                }
                Some(v) if is_public(v) => {
                    named_public = true;
                    *v = Value::Array(Vec::new());
                }
                _ => {}
            }
        }
        if named_public || map.contains_key("to") {
            let to = map.entry("to").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::String(s) = to {
                *to = Value::Array(vec![Value::String(s.clone())]);
            }
            if let Value::Array(items) = to {
                if !items.contains(&followers) {
                    items.push(followers.clone());
                }
            }
        }
        if let Some(inner) = map.get_mut("object") {
            restrict_to_followers(inner, community);
        }
    }
}

/// A post as received from another server, checked and sanitized.
#[derive(Debug, Clone)]
pub struct IncomingPost {
    pub ap_id: Url,
    pub is_page: bool,
    pub author: Url,
    pub title: Option<String>,
    pub content: String,
    pub source: Option<String>,
    pub summary: Option<String>,
    pub in_reply_to: Option<Url>,
    /// Every actor or collection the post is addressed or tagged to.
    pub addressed: Vec<Url>,
    /// The actors its `Mention` tags name.
    pub mentions: Vec<Url>,
    pub published: i64,
    pub updated: Option<i64>,
    /// Its images (at most [`MAX_ATTACHMENTS`]).
    pub attachments: Vec<Attachment>,
}

fn urls(value: Option<&Value>) -> Vec<Url> {
    match value {
        Some(Value::String(s)) => Url::parse(s).into_iter().collect(),
        Some(Value::Array(items)) => items.iter().flat_map(|v| urls(Some(v))).collect(),
        Some(Value::Object(o)) => urls(o.get("id").or_else(|| o.get("href"))),
        _ => Vec::new(),
    }
}

/// The id of a value that is a URL or an object with an `id`.
/// The `type` of an embedded object or activity ("" when it has none).
pub fn inner_kind(value: &Value) -> &str {
    value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn id_of(value: Option<&Value>) -> Option<Url> {
    match value? {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        _ => None,
    }
}

/// Parses a `Page`, `Note` or `Article` received from another server.
pub fn parse_post(value: &Value) -> Result<IncomingPost, String> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(kind, "Page" | "Note" | "Article") {
        return Err(format!("a {kind:?} is not a thread or a reply"));
    }
    let ap_id = id_of(Some(value)).ok_or("the object has no id")?;
    let author = id_of(value.get("attributedTo"))
        .or_else(|| urls(value.get("attributedTo")).into_iter().next())
        .ok_or("the object has no author")?;
    if host_of(&author) != host_of(&ap_id) {
        return Err("the object's id is not on its author's host".into());
    }
    let raw_content = value
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if raw_content.len() > 512 * 1024 {
        return Err("the content is too long".into());
    }
    let content = sanitize(raw_content);
    let source = value
        .get("source")
        .filter(|s| s.get("mediaType").and_then(Value::as_str) == Some("text/markdown"))
        .and_then(|s| s.get("content"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let in_reply_to = id_of(value.get("inReplyTo"));
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .map(plain_text)
        .filter(|n| !n.is_empty());
    let title = match (&name, &in_reply_to) {
        (Some(name), _) => Some(excerpt(name, MAX_TITLE)),
        (None, None) => Some(title_from_content(raw_content)),
        (None, Some(_)) => None,
    };
    let summary = if in_reply_to.is_none() {
        Some(excerpt(&plain_text(&content), 500))
    } else {
        None
    };
    let mut addressed = Vec::new();
    for key in ["audience", "to", "cc"] {
        addressed.extend(urls(value.get(key)));
    }
    let mut mentions = Vec::new();
    if let Some(Value::Array(tags)) = value.get("tag") {
        for tag in tags {
            if tag.get("type").and_then(Value::as_str) == Some("Mention") {
                mentions.extend(urls(tag.get("href")));
            }
        }
    }
    addressed.extend(mentions.iter().cloned());
    Ok(IncomingPost {
        ap_id,
        is_page: kind != "Note",
        author,
        title,
        content,
        source,
        summary,
        in_reply_to,
        addressed,
        mentions,
        published: parse_time(value.get("published")).unwrap_or_else(crate::db::now_ms),
        updated: parse_time(value.get("updated")),
        attachments: attachments(value.get("attachment")),
    })
}

/// The title of a toot that starts a thread: its first line without leading mentions.
pub fn title_from_content(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let end = ["</p>", "<br"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(html.len());
    let first = plain_text(&html[..end]);
    let mut words: Vec<&str> = first.split_whitespace().collect();
    while words.first().is_some_and(|w| w.starts_with('@')) {
        words.remove(0);
    }
    let line = words.join(" ");
    let line = if line.is_empty() {
        plain_text(html)
            .split_whitespace()
            .skip_while(|w| w.starts_with('@'))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        line
    };
    if line.is_empty() {
        "(untitled)".into()
    } else {
        excerpt(&line, MAX_TITLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mastodon_mention_becomes_a_titled_thread() {
        let note: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/activitypub/mastodon/objects/page.json"
        ))
        .expect("fixture");
        let post = parse_post(&note).expect("parses");
        assert_eq!(
            post.title.as_deref(),
            Some("Variable never resetting at refresh")
        );
        assert!(post.in_reply_to.is_none());
        assert!(post
            .addressed
            .iter()
            .any(|u| u.as_str() == "https://enterprise.lemmy.ml/c/tenforward"));
        assert!(post.content.contains("counter"));
    }

    #[test]
    fn lemmy_pages_and_comments_parse() {
        let page: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/activitypub/lemmy/objects/page.json"
        ))
        .expect("fixture");
        let post = parse_post(&page).expect("page");
        assert_eq!(post.title.as_deref(), Some("Post title"));
        assert_eq!(
            post.source.as_deref(),
            Some("This is a post in the /c/tenforward community")
        );
        let comment: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/activitypub/lemmy/objects/comment.json"
        ))
        .expect("fixture");
        let reply = parse_post(&comment).expect("comment");
        assert!(reply.in_reply_to.is_some());
        assert!(reply.title.is_none());
    }

    #[test]
    fn image_attachments_are_read_from_mastodon_and_lemmy() {
        let note: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/activitypub/mastodon/objects/note_2.json"
        ))
        .expect("fixture");
        let note = note.get("object").cloned().unwrap_or(note);
        let post = parse_post(&note).expect("note");
        assert_eq!(post.attachments.len(), 1);
        assert_eq!(post.attachments[0].media_type, "image/jpeg");
        assert!(post.attachments[0]
            .name
            .as_deref()
            .is_some_and(|n| n.contains("Katie and Konqi")));
        assert_eq!(post.attachments[0].width, Some(1500));
        let page: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/activitypub/lemmy/objects/page_image_and_link.json"
        ))
        .expect("fixture");
        let post = parse_post(&page).expect("page");
        // The image is kept; the link to an HTML page is not an image.
        assert_eq!(post.attachments.len(), 1);
        assert_eq!(post.attachments[0].media_type, "image/png");
        let odd = json!({
            "id": "https://a.example/p/1", "type": "Note",
            "attributedTo": "https://a.example/u/x", "content": "hi",
            "attachment": [
                {"type": "Document", "mediaType": "application/pdf", "url": "https://a.example/f.pdf"},
                {"type": "Document", "url": "javascript:alert(1)"},
                {"type": "Image", "url": [{"type": "Link", "href": "https://a.example/i.webp"}]},
                "https://a.example/bare.png",
            ]
        });
        let post = parse_post(&odd).expect("note");
        assert_eq!(post.attachments.len(), 1);
        assert_eq!(post.attachments[0].url, "https://a.example/i.webp");
        assert_eq!(post.attachments[0].media_type, "image/webp");
    }

    #[test]
    fn forged_authorship_is_refused() {
        let forged = json!({
            "id": "https://a.example/p/1", "type": "Note",
            "attributedTo": "https://b.example/u/x", "content": "hi"
        });
        assert!(parse_post(&forged).is_err());
    }
}

#[cfg(test)]
mod addressing_tests {
    use super::restrict_to_followers;
    use serde_json::json;

    #[test]
    fn restricting_removes_public_everywhere_and_names_followers() {
        let c = "https://a.example/c/board";
        let mut v = json!({
            "type": "Announce",
            "to": [c, "https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{c}/followers")],
            "object": {"type": "Create", "to": "as:Public", "cc": [c],
                       "object": {"type": "Page", "to": [c, "Public"], "cc": []}},
        });
        restrict_to_followers(&mut v, c);
        let text = v.to_string();
        assert!(!text.contains("Public"), "{text}");
        assert_eq!(v["to"], json!([c, format!("{c}/followers")]));
        assert_eq!(v["object"]["to"], json!([format!("{c}/followers")]));
        assert_eq!(
            v["object"]["object"]["to"],
            json!([c, format!("{c}/followers")])
        );
    }
}

/// The extension property of a thread's `Page` naming the reply marked as its answer (`null`
/// when unmarked), in Roundtable's namespace; other software ignores it.
pub const ANSWER_PROPERTY: &str = "roundtable:answer";

/// A thread's document as an answer mark carries it: `doc` with [`ANSWER_PROPERTY`] set to
/// `answer` (or `null`), the namespace added to its context, and no proof (the mark is the
/// community's word, not the author's).
pub fn with_answer(mut doc: Value, answer: Option<&str>) -> Value {
    if let Some(fields) = doc.as_object_mut() {
        fields.remove("proof");
        fields.insert(ANSWER_PROPERTY.into(), json!(answer));
        let context = fields.entry("@context").or_insert_with(context);
        let extension = json!({"roundtable": "urn:roundtable:"});
        match context {
            Value::Array(items) => items.push(extension),
            other => *other = json!([other.clone(), extension]),
        }
    }
    doc
}

/// What a `Page` says about its thread's answer: nothing (`None`, an ordinary edit), unmarked
/// (`Some(None)`), or the reply's id. A value that is neither `null` nor a URL says nothing.
pub fn answer_mark(doc: &Value) -> Option<Option<Url>> {
    match doc.get(ANSWER_PROPERTY)? {
        Value::Null => Some(None),
        Value::String(s) => Url::parse(s).ok().map(Some),
        _ => None,
    }
}
