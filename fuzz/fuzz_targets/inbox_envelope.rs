//! The inbox's first reading of a body: JSON, then the envelope every activity must have.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::activitypub::{activities::{parse_envelope, ActivityKind}, objects::id_of};
use roundtable::service::articles::concerns_articles;

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
    assert!(env.body.is_object());
    // What routing reads next.
    let _ = id_of(env.body.get("object"));
    let _ = concerns_articles(&env);
});
