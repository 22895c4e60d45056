//! The inbox's first reading of a body: JSON, then the typed activity every handler reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::activitypub::activities::{parse_envelope, ActivityKind, Object};

fuzz_target!(|data: &[u8]| {
    // The inbox parses the body with serde_json before anything else reads it.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(env) = parse_envelope(value) else {
        return;
    };
    assert!(matches!(env.id.scheme(), "http" | "https"), "{}", env.id);
    assert!(
        matches!(env.actor.scheme(), "http" | "https"),
        "{}",
        env.actor
    );
    assert_eq!(ActivityKind::parse(&env.type_name), Some(env.kind));
    assert_eq!(env.kind.name(), env.type_name);
    assert!(env.raw.is_object());
    // What routing and the handlers read next: the typed object, and the readers of each kind
    // of document (each keeps its JSON as sent).
    let _ = env.object().ids();
    if let Object::Document(doc) = env.object() {
        assert_eq!(doc.raw, env.raw["object"]);
        let _ = doc.post();
        let _ = doc.article();
        let _ = doc.event(false);
    }
});
