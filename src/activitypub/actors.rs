//! ActivityStreams documents of local actors (`Person`, `Group`, `Application`) and the parser
//! for actors of other servers.

use crate::db::{LocalActor, NewRemoteActor};
use crate::domain::ActorKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

/// The `@context` of every actor we serve.
pub fn actor_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "roundtableVisibility": "urn:roundtable:visibility"
        }
    ])
}

/// URLs of a local actor, derived from the node's base URL and the actor's name.
pub struct ActorUrls {
    pub id: String,
    pub inbox: String,
    pub outbox: String,
    pub followers: String,
    pub following: String,
    pub key_id: String,
}

pub fn actor_urls(base: &str, kind: ActorKind, name: &str) -> ActorUrls {
    let id = match kind {
        ActorKind::Person => format!("{base}/u/{name}"),
        ActorKind::Group => format!("{base}/c/{name}"),
        ActorKind::Application => format!("{base}/actor"),
    };
    ActorUrls {
        inbox: format!("{id}/inbox"),
        outbox: format!("{id}/outbox"),
        followers: format!("{id}/followers"),
        following: format!("{id}/following"),
        key_id: format!("{id}#main-key"),
        id,
    }
}

/// The JSON document of a local actor.
pub fn local_actor_json(base: &str, domain: &str, actor: &LocalActor, kind: ActorKind) -> Value {
    let urls = actor_urls(base, kind, &actor.name);
    let preferred_username = match kind {
        ActorKind::Application => domain.to_string(),
        _ => actor.name.clone(),
    };
    let mut doc = json!({
        "@context": actor_context(),
        "id": urls.id,
        "type": kind.as_type(),
        "preferredUsername": preferred_username,
        "name": actor.display_name,
        "summary": actor.summary,
        "url": urls.id,
        "inbox": urls.inbox,
        "outbox": urls.outbox,
        "followers": urls.followers,
        "following": urls.following,
        "endpoints": { "sharedInbox": format!("{base}/inbox") },
        "publicKey": {
            "id": urls.key_id,
            "owner": urls.id,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": kind == ActorKind::Application,
        "discoverable": kind != ActorKind::Application,
        "indexable": kind != ActorKind::Application,
        "published": chrono::DateTime::from_timestamp_millis(actor.created_at)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(icon) = &actor.icon_url {
        doc["icon"] = json!({"type": "Image", "url": icon});
    }
    doc
}

/// An actor document from another server: the fields Roundtable relies on.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteActorDoc {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: Option<String>,
    pub inbox: Url,
    #[serde(default)]
    pub endpoints: Option<Endpoints>,
    pub public_key: PublicKeyDoc,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub outbox: Option<Url>,
    #[serde(default)]
    pub followers: Option<Url>,
    #[serde(default)]
    pub icon: Option<Value>,
    #[serde(default)]
    pub manually_approves_followers: Option<bool>,
    /// Roundtable's own term for a community's visibility (`public`, `partners`, `members`).
    #[serde(default, rename = "roundtableVisibility")]
    pub roundtable_visibility: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Option<Url>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyDoc {
    pub id: String,
    pub owner: Url,
    pub public_key_pem: String,
}

pub const ACTOR_TYPES: [&str; 5] = ["Person", "Group", "Application", "Service", "Organization"];

impl RemoteActorDoc {
    /// Parses and checks an actor document: a known actor type, the key owned by the actor,
    /// and inboxes on the actor's own host.
    pub fn parse(value: Value) -> Result<RemoteActorDoc, String> {
        let doc: RemoteActorDoc =
            serde_json::from_value(value).map_err(|e| format!("not an actor: {e}"))?;
        if !ACTOR_TYPES.contains(&doc.kind.as_str()) {
            return Err(format!("{} is not an actor type", doc.kind));
        }
        if doc.public_key.owner != doc.id {
            return Err("the actor's key belongs to someone else".into());
        }
        let host = doc.id.host_str();
        if doc.inbox.host_str() != host {
            return Err("the actor's inbox is on another host".into());
        }
        if let Some(shared) = doc.endpoints.as_ref().and_then(|e| e.shared_inbox.as_ref()) {
            if shared.host_str() != host {
                return Err("the actor's shared inbox is on another host".into());
            }
        }
        if doc.public_key.public_key_pem.len() > 16 * 1024 {
            return Err("the actor's key is too long".into());
        }
        Ok(doc)
    }

    /// What the node stores of this actor; its icon only if it is an `https` URL (or `http`
    /// when `allow_http`, federation debug mode).
    pub fn into_new_remote(self, allow_http: bool) -> NewRemoteActor {
        let host = host_of(&self.id);
        // A group that approves its followers keeps its content to them (Lemmy's private
        // communities, Roundtable's `members`); Roundtable also names `partners` explicitly.
        let visibility =
            (self.kind == "Group").then(|| match self.roundtable_visibility.as_deref() {
                Some(v @ ("public" | "partners" | "members")) => v.to_string(),
                _ if self.manually_approves_followers == Some(true) => "members".to_string(),
                _ => "public".to_string(),
            });
        let shared_inbox = self
            .endpoints
            .and_then(|e| e.shared_inbox)
            .map(|u| u.to_string());
        NewRemoteActor {
            ap_id: self.id.to_string(),
            kind: self.kind,
            host,
            preferred_username: self.preferred_username.unwrap_or_default(),
            inbox: self.inbox.to_string(),
            shared_inbox,
            key_id: self.public_key.id,
            public_key_pem: self.public_key.public_key_pem,
            name: self.name.map(|n| crate::markdown::plain_text(&n)),
            summary: self.summary.map(|s| crate::markdown::sanitize(&s)),
            outbox: self.outbox.map(|u| u.to_string()),
            followers: self.followers.map(|u| u.to_string()),
            icon_url: self.icon.as_ref().and_then(|i| image_url(i, allow_http)),
            visibility,
        }
    }
}

/// The URL of an `icon`/`image` value (a string, an `Image` object, or a list of them): the
/// first that [`super::remote_url`] keeps.
fn image_url(value: &Value, allow_http: bool) -> Option<String> {
    match value {
        Value::String(s) => super::remote_url(s, allow_http),
        Value::Object(o) => o.get("url").and_then(|u| image_url(u, allow_http)),
        Value::Array(items) => items.iter().find_map(|i| image_url(i, allow_http)),
        _ => None,
    }
}

/// `host[:port]` of a URL, the unit of federation policy and delivery.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => String::new(),
    }
}
