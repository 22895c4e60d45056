//! The activities the inbox understands, typed: the inbox parses a body once into a
//! [`Verified`] (its [`Activity`] and the raw JSON beside it, for re-announcing and the ledger),
//! and nothing below reads activity JSON by hand.
//!
//! The set of activity kinds is closed, so adding one is a compile error until every match
//! handles it. The object of an activity is an [`Object`]: a link, an embedded activity, an
//! embedded document (thread, reply, article, event, actor, …) or a list of them. Documents keep
//! their JSON for the parsers that read them whole ([`Document::post`], the event and article
//! readers), and for integrity proofs, which sign the JSON as sent.
//!
//! Every field is read leniently: a `cc` that is not a list of URLs, a `summary` that is not a
//! string, drop that field, never the activity. A derived `Deserialize` would refuse the whole
//! activity on the first odd field, so the reading is written out here, once.

use serde_json::{Map, Value};
use url::Url;

use super::objects::{id_of as id, parse_post, parse_time, IncomingPost};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Follow,
    Accept,
    TentativeAccept,
    Reject,
    Undo,
    Create,
    Update,
    Delete,
    Like,
    Dislike,
    Announce,
    Add,
    Remove,
    Block,
    Flag,
    Join,
    Leave,
    Invite,
    Lock,
    Ignore,
}

impl ActivityKind {
    const ALL: [(ActivityKind, &'static str); 20] = {
        use ActivityKind::*;
        [
            (Follow, "Follow"),
            (Accept, "Accept"),
            (TentativeAccept, "TentativeAccept"),
            (Reject, "Reject"),
            (Undo, "Undo"),
            (Create, "Create"),
            (Update, "Update"),
            (Delete, "Delete"),
            (Like, "Like"),
            (Dislike, "Dislike"),
            (Announce, "Announce"),
            (Add, "Add"),
            (Remove, "Remove"),
            (Block, "Block"),
            (Flag, "Flag"),
            (Join, "Join"),
            (Leave, "Leave"),
            (Invite, "Invite"),
            (Lock, "Lock"),
            (Ignore, "Ignore"),
        ]
    };

    pub fn parse(s: &str) -> Option<ActivityKind> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(k, _)| *k)
    }

    /// The ActivityStreams type name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or_default()
    }

    /// The kinds of the partnership handshake between instance actors.
    pub fn is_handshake(self) -> bool {
        matches!(
            self,
            ActivityKind::Follow | ActivityKind::Accept | ActivityKind::Reject | ActivityKind::Undo
        )
    }
}

/// The activity types of the partnership handshake between instance actors.
pub const HANDSHAKE_TYPES: [&str; 4] = ["Follow", "Accept", "Reject", "Undo"];

/// What a document embedded in an activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A thread (Lemmy's `Page`).
    Page,
    /// A reply, or a toot.
    Note,
    /// A knowledge article, or a blog post that starts a thread.
    Article,
    Event,
    Group,
    /// Any other actor: `Person`, `Application`, `Service`, `Organization`.
    Actor,
    Tombstone,
    Other,
}

impl DocumentKind {
    fn parse(s: &str) -> DocumentKind {
        match s {
            "Page" => DocumentKind::Page,
            "Note" => DocumentKind::Note,
            "Article" => DocumentKind::Article,
            "Event" => DocumentKind::Event,
            "Group" => DocumentKind::Group,
            "Person" | "Application" | "Service" | "Organization" => DocumentKind::Actor,
            "Tombstone" => DocumentKind::Tombstone,
            _ => DocumentKind::Other,
        }
    }

    /// A thread or a reply (what [`Document::post`] reads).
    pub fn is_post(self) -> bool {
        matches!(
            self,
            DocumentKind::Page | DocumentKind::Note | DocumentKind::Article
        )
    }

    pub fn is_actor(self) -> bool {
        matches!(self, DocumentKind::Group | DocumentKind::Actor)
    }
}

/// What an activity acts on.
#[derive(Debug, Clone)]
pub enum Object {
    /// No object (or `null`).
    Absent,
    /// An id, to look up or fetch.
    Link(Url),
    Activity(Box<Activity>),
    Document(Box<Document>),
    /// Several objects (a `Flag` names the person and their posts).
    Many(Vec<Object>),
    /// Something that is none of these (a number, a string that is no URL, an object nested too
    /// deep).
    Unreadable,
}

/// A document embedded in an activity: what every kind has, and its JSON for the readers of
/// each kind.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: Option<Url>,
    pub kind: DocumentKind,
    /// Its `actor` (Mobilizon's events name their organizer so).
    pub actor: Option<Url>,
    pub audience: Option<Url>,
    /// Its `to`, `cc` and the `href` of its `Mention` tags, in that order.
    pub addressed: Vec<Url>,
    pub in_reply_to: Option<Url>,
    /// The document as it was sent.
    pub raw: Value,
}

/// An activity, received or embedded in another one. Embedded activities may lack an id or an
/// actor; a received one never does (see [`Verified`]).
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: Option<Url>,
    pub kind: ActivityKind,
    pub actor: Option<Url>,
    pub object: Object,
    pub target: Option<Url>,
    pub audience: Option<Url>,
    /// Its `to`, `cc` and the `href` of its `Mention` tags, in that order.
    pub addressed: Vec<Url>,
    /// A reason (a ban's, a removal's, a report's), or an answer's word ("conflict").
    pub summary: Option<String>,
    /// A report's text (Mastodon puts the reason here).
    pub content: Option<String>,
    /// When a ban ends.
    pub end_time: Option<i64>,
    /// Roundtable's article edits: the revision a proposal starts from, …
    pub base_revision: Option<String>,
    /// … and the answer's details: the merge conflict, the head it conflicts with, the
    /// revision that applied it.
    pub conflict: Option<String>,
    pub latest_revision: Option<String>,
    pub revision: Option<String>,
}

/// A received activity, once the inbox has checked its signature and origin: the typed
/// activity with its id and actor (which every received activity has), and its JSON as sent.
/// [`parse_envelope`] reads it; only the inbox (after its checks) and the router's tests call
/// that.
#[derive(Debug, Clone)]
pub struct Verified {
    pub id: Url,
    pub kind: ActivityKind,
    pub type_name: String,
    pub actor: Url,
    pub activity: Activity,
    pub raw: Value,
}

impl Verified {
    pub fn object(&self) -> &Object {
        &self.activity.object
    }

    /// The id of what this activity creates or changes, so that activities about one thing
    /// can be applied in the order they arrived while others run beside them: the object of a
    /// `Create`, `Update`, `Delete`, `Lock`, `Add` or `Remove`; for an `Undo` or an `Announce`,
    /// the same of the activity inside (or the id it names); otherwise the activity itself (a
    /// `Like`, `Follow` or `Block`, which an `Undo` names).
    pub fn order_key(&self) -> &Url {
        order_key(&self.activity).unwrap_or(&self.id)
    }
}

fn order_key(activity: &Activity) -> Option<&Url> {
    use ActivityKind::*;
    match activity.kind {
        Create | Update | Delete | Lock | Add | Remove => activity.object.id(),
        Undo | Announce => match &activity.object {
            Object::Activity(inner) => order_key(inner),
            other => other.id(),
        },
        _ => activity.id.as_ref(),
    }
}

/// How deep embedded activities may nest (`Announce{Undo{Like}}` is three).
const MAX_DEPTH: usize = 8;

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `to`, `cc` (each one id or a list of them) and the `href` of every `Mention` tag.
fn addressed(map: &Map<String, Value>) -> Vec<Url> {
    let mut out = Vec::new();
    for key in ["to", "cc"] {
        match map.get(key) {
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(|i| id(Some(i)))),
            other => out.extend(id(other)),
        }
    }
    if let Some(Value::Array(tags)) = map.get("tag") {
        for tag in tags {
            if tag.get("type").and_then(Value::as_str) == Some("Mention") {
                out.extend(
                    tag.get("href")
                        .and_then(Value::as_str)
                        .and_then(|h| Url::parse(h).ok()),
                );
            }
        }
    }
    out
}

impl Object {
    fn read(value: Option<&Value>, depth: usize) -> Object {
        match value {
            None | Some(Value::Null) => Object::Absent,
            Some(Value::String(s)) => Url::parse(s).map_or(Object::Unreadable, Object::Link),
            Some(Value::Array(items)) if depth < MAX_DEPTH => Object::Many(
                items
                    .iter()
                    .map(|i| Object::read(Some(i), depth + 1))
                    .collect(),
            ),
            Some(Value::Object(map)) if depth < MAX_DEPTH => {
                let type_name = map.get("type").and_then(Value::as_str).unwrap_or_default();
                match ActivityKind::parse(type_name) {
                    Some(kind) => Object::Activity(Box::new(Activity::read(map, kind, depth + 1))),
                    None => Object::Document(Box::new(Document::read(map, type_name))),
                }
            }
            _ => Object::Unreadable,
        }
    }

    /// Reads an object on its own (an item of a collection, a fetched document).
    pub fn parse(value: &Value) -> Object {
        Object::read(Some(value), 0)
    }

    /// Its id: the link, or the embedded activity's or document's.
    pub fn id(&self) -> Option<&Url> {
        match self {
            Object::Link(url) => Some(url),
            Object::Activity(a) => a.id.as_ref(),
            Object::Document(d) => d.id.as_ref(),
            Object::Absent | Object::Many(_) | Object::Unreadable => None,
        }
    }

    /// The ids of every object (one, or each of a list).
    pub fn ids(&self) -> Vec<Url> {
        match self {
            Object::Many(items) => items.iter().filter_map(|i| i.id().cloned()).collect(),
            other => other.id().cloned().into_iter().collect(),
        }
    }

    pub fn activity(&self) -> Option<&Activity> {
        match self {
            Object::Activity(a) => Some(a),
            _ => None,
        }
    }

    pub fn document(&self) -> Option<&Document> {
        match self {
            Object::Document(d) => Some(d),
            _ => None,
        }
    }

    /// Whether this is an embedded document of `kind`.
    pub fn is_document(&self, kind: DocumentKind) -> bool {
        self.document().is_some_and(|d| d.kind == kind)
    }

    /// Whether this is an embedded activity of `kind`.
    pub fn is_activity(&self, kind: ActivityKind) -> bool {
        self.activity().is_some_and(|a| a.kind == kind)
    }

    pub fn is_link(&self) -> bool {
        matches!(self, Object::Link(_))
    }

    /// The embedded object's `audience`.
    pub fn audience(&self) -> Option<&Url> {
        match self {
            Object::Activity(a) => a.audience.as_ref(),
            Object::Document(d) => d.audience.as_ref(),
            _ => None,
        }
    }

    /// The embedded object's `to`, `cc` and mentions.
    pub fn addressed(&self) -> &[Url] {
        match self {
            Object::Activity(a) => &a.addressed,
            Object::Document(d) => &d.addressed,
            _ => &[],
        }
    }
}

impl Document {
    fn read(map: &Map<String, Value>, type_name: &str) -> Document {
        Document {
            id: id(map.get("id")),
            kind: DocumentKind::parse(type_name),
            actor: id(map.get("actor")),
            audience: id(map.get("audience")),
            addressed: addressed(map),
            in_reply_to: id(map.get("inReplyTo")),
            raw: Value::Object(map.clone()),
        }
    }

    /// The thread or reply this document is, checked and sanitized.
    pub fn post(&self) -> Result<IncomingPost, String> {
        parse_post(&self.raw)
    }
}

impl Activity {
    fn read(map: &Map<String, Value>, kind: ActivityKind, depth: usize) -> Activity {
        Activity {
            id: id(map.get("id")),
            kind,
            actor: id(map.get("actor")),
            object: Object::read(map.get("object"), depth),
            target: id(map.get("target")),
            audience: id(map.get("audience")),
            addressed: addressed(map),
            summary: text(map, "summary"),
            content: text(map, "content"),
            end_time: parse_time(map.get("endTime")),
            base_revision: text(map, "baseRevision"),
            conflict: text(map, "conflict"),
            latest_revision: text(map, "latestRevision"),
            revision: text(map, "revision"),
        }
    }
}

/// Reads a received activity; the error says what is wrong, for a 400.
pub fn parse_envelope(body: Value) -> Result<Verified, String> {
    let obj = body
        .as_object()
        .ok_or("an activity must be a JSON object")?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the activity has no id")?;
    let id = Url::parse(id).map_err(|_| "the activity id is not a URL")?;
    let type_name = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("the activity has no type")?
        .to_string();
    let kind = ActivityKind::parse(&type_name)
        .ok_or_else(|| format!("unsupported activity type {type_name:?}"))?;
    let actor = match obj.get("actor") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or_default(),
        _ => "",
    };
    let actor = Url::parse(actor).map_err(|_| "the activity has no actor URL")?;
    if !matches!(actor.scheme(), "http" | "https") || !matches!(id.scheme(), "http" | "https") {
        return Err("ids must be http(s) URLs".into());
    }
    let activity = Activity::read(obj, kind, 0);
    Ok(Verified {
        id,
        kind,
        type_name,
        actor,
        activity,
        raw: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Activities about one post share its key (creation, edit, deletion, a relay of any of
    /// them); a like and its undoing share the like's; unrelated activities differ.
    #[test]
    fn order_keys_follow_what_an_activity_is_about() {
        let key = |v: Value| {
            parse_envelope(v)
                .expect("envelope")
                .order_key()
                .as_str()
                .to_string()
        };
        let a = "https://x.example/u/a";
        let note = "https://x.example/notes/1";
        let like = json!({"id": "https://x.example/likes/1", "type": "Like", "actor": a,
            "object": "https://y.example/p/9"});
        let keys = [
            key(
                json!({"id": "https://x.example/1", "type": "Create", "actor": a,
                "object": {"id": note, "type": "Note", "content": "hi"}}),
            ),
            key(
                json!({"id": "https://x.example/2", "type": "Update", "actor": a,
                "object": {"id": note, "type": "Note", "content": "hi!"}}),
            ),
            key(
                json!({"id": "https://x.example/3", "type": "Delete", "actor": a,
                "object": note}),
            ),
            key(json!({"id": "https://g.example/4", "type": "Announce",
                "actor": "https://g.example/c/g",
                "object": {"id": "https://x.example/1", "type": "Create", "actor": a,
                    "object": {"id": note, "type": "Note", "content": "hi"}}})),
        ];
        assert!(keys.iter().all(|k| k == note), "{keys:?}");
        assert_eq!(key(like.clone()), "https://x.example/likes/1");
        assert_eq!(
            key(
                json!({"id": "https://x.example/5", "type": "Undo", "actor": a,
                "object": like})
            ),
            "https://x.example/likes/1"
        );
        assert_eq!(
            key(
                json!({"id": "https://x.example/6", "type": "Follow", "actor": a,
                "object": "https://y.example/c/g"})
            ),
            "https://x.example/6"
        );
    }

    #[test]
    fn envelopes() {
        let ok = parse_envelope(json!({"id": "https://a.example/1", "type": "Follow", "actor": "https://a.example/u/x", "object": "https://b.example/c/y"}))
            .expect("valid");
        assert_eq!(ok.kind, ActivityKind::Follow);
        assert_eq!(
            ok.object().id().map(Url::as_str),
            Some("https://b.example/c/y")
        );
        let embedded = parse_envelope(json!({"id": "https://a.example/1", "type": "Like", "actor": {"id": "https://a.example/u/x"}}))
            .expect("embedded actor");
        assert_eq!(embedded.actor.as_str(), "https://a.example/u/x");
        assert!(matches!(embedded.object(), Object::Absent));
        assert!(parse_envelope(
            json!({"id": "https://a.example/1", "type": "Zap", "actor": "https://a.example/u/x"})
        )
        .unwrap_err()
        .contains("Zap"));
        assert!(parse_envelope(json!([1])).is_err());
        assert!(
            parse_envelope(json!({"type": "Follow", "actor": "https://a.example/u/x"})).is_err()
        );
        assert!(parse_envelope(
            json!({"id": "file:///etc/passwd", "type": "Follow", "actor": "https://a.example/u/x"})
        )
        .is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for (kind, name) in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(name), Some(kind));
            assert_eq!(kind.name(), name);
        }
    }

    #[test]
    fn nested_objects_are_typed_and_odd_fields_dropped() {
        let env = parse_envelope(json!({
            "id": "https://a.example/announce/1", "type": "Announce",
            "actor": "https://a.example/c/board",
            "to": "https://www.w3.org/ns/activitystreams#Public", "cc": 7,
            "summary": ["not", "a", "string"],
            "object": {
                "id": "https://b.example/undo/1", "type": "Undo", "actor": "https://b.example/u/x",
                "object": {"id": "https://b.example/like/1", "type": "Like",
                           "object": "https://a.example/post/1"}
            }
        }))
        .expect("valid");
        assert_eq!(
            env.activity.addressed.len(),
            1,
            "a cc that is a number is dropped"
        );
        assert_eq!(env.activity.summary, None);
        let undo = env.object().activity().expect("an embedded Undo");
        assert_eq!(undo.kind, ActivityKind::Undo);
        let like = undo.object.activity().expect("an embedded Like");
        assert_eq!(like.actor, None, "an embedded activity may lack an actor");
        assert_eq!(
            like.object.id().map(Url::as_str),
            Some("https://a.example/post/1")
        );

        let flag = parse_envelope(json!({
            "id": "https://b.example/flag/1", "type": "Flag", "actor": "https://b.example/actor",
            "object": ["https://a.example/u/x", {"id": "https://a.example/post/1", "type": "Note"}, 3],
            "content": "spam"
        }))
        .expect("valid");
        assert_eq!(flag.object().ids().len(), 2);
        assert_eq!(flag.activity.content.as_deref(), Some("spam"));

        let mut deep = json!("https://a.example/x");
        for i in 0..20 {
            deep = json!({"id": format!("https://a.example/{i}"), "type": "Undo", "object": deep});
        }
        let env = parse_envelope(json!({"id": "https://a.example/top", "type": "Undo",
                                        "actor": "https://a.example/u", "object": deep}))
        .expect("deep nesting is read, not refused");
        let mut object = env.object();
        let mut levels = 0;
        while let Some(inner) = object.activity() {
            object = &inner.object;
            levels += 1;
        }
        assert!(levels < MAX_DEPTH + 1, "nesting is cut at {MAX_DEPTH}");
        assert!(matches!(object, Object::Unreadable));
    }

    #[test]
    fn documents_keep_their_addressing() {
        let env = parse_envelope(json!({
            "id": "https://b.example/create/1", "type": "Create", "actor": "https://b.example/u/x",
            "object": {"id": "https://b.example/note/1", "type": "Note",
                       "attributedTo": "https://b.example/u/x",
                       "inReplyTo": {"id": "https://a.example/post/1"},
                       "audience": "https://a.example/c/board",
                       "tag": [{"type": "Mention", "href": "https://a.example/c/other"},
                               {"type": "Hashtag", "href": "https://b.example/tags/x"}],
                       "content": "hi"}
        }))
        .expect("valid");
        let note = env.object().document().expect("a document");
        assert_eq!(note.kind, DocumentKind::Note);
        assert_eq!(
            note.in_reply_to.as_ref().map(Url::as_str),
            Some("https://a.example/post/1")
        );
        assert_eq!(
            env.object().audience().map(Url::as_str),
            Some("https://a.example/c/board")
        );
        assert_eq!(note.addressed.len(), 1, "only mentions count among tags");
        assert!(note.post().is_ok());
    }
}
