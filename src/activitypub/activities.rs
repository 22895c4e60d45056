//! The activities the inbox understands: a closed set, so adding one is a compile error until
//! every match handles it.

use serde_json::Value;
use url::Url;

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
    pub fn parse(s: &str) -> Option<ActivityKind> {
        use ActivityKind::*;
        Some(match s {
            "Follow" => Follow,
            "Accept" => Accept,
            "TentativeAccept" => TentativeAccept,
            "Reject" => Reject,
            "Undo" => Undo,
            "Create" => Create,
            "Update" => Update,
            "Delete" => Delete,
            "Like" => Like,
            "Dislike" => Dislike,
            "Announce" => Announce,
            "Add" => Add,
            "Remove" => Remove,
            "Block" => Block,
            "Flag" => Flag,
            "Join" => Join,
            "Leave" => Leave,
            "Invite" => Invite,
            "Lock" => Lock,
            "Ignore" => Ignore,
            _ => return None,
        })
    }
}

/// The parts every incoming activity must have, read before anything else.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: Url,
    pub kind: ActivityKind,
    pub type_name: String,
    pub actor: Url,
    pub body: Value,
}

/// Reads the envelope of an activity; the error says what is wrong, for a 400.
pub fn parse_envelope(body: Value) -> Result<Envelope, String> {
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
    Ok(Envelope {
        id,
        kind,
        type_name,
        actor,
        body,
    })
}

/// The activity types of the partnership handshake between instance actors.
pub const HANDSHAKE_TYPES: [&str; 4] = ["Follow", "Accept", "Reject", "Undo"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes() {
        let ok = parse_envelope(json!({"id": "https://a.example/1", "type": "Follow", "actor": "https://a.example/u/x", "object": "https://b.example/c/y"}))
            .expect("valid");
        assert_eq!(ok.kind, ActivityKind::Follow);
        let embedded = parse_envelope(json!({"id": "https://a.example/1", "type": "Like", "actor": {"id": "https://a.example/u/x"}}))
            .expect("embedded actor");
        assert_eq!(embedded.actor.as_str(), "https://a.example/u/x");
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
}
