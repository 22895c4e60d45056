//! Actor documents of other servers: `RemoteActorDoc::parse` and what is stored of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::activitypub::actors::{RemoteActorDoc, ACTOR_TYPES};
use roundtable_fuzz::{assert_safe_html, documents};

fuzz_target!(|data: &[u8]| {
    for doc in documents(data) {
        let input = doc.to_string();
        let Ok(actor) = RemoteActorDoc::parse(doc) else {
            continue;
        };
        assert!(ACTOR_TYPES.contains(&actor.kind.as_str()));
        assert_eq!(actor.public_key.owner, actor.id);
        assert_eq!(actor.inbox.host_str(), actor.id.host_str(), "{input}");
        assert!(actor.public_key.public_key_pem.len() <= 16 * 1024);
        let stored = actor.into_new_remote(false);
        // Outside debug mode only https links are kept.
        if let Some(icon) = &stored.icon_url {
            assert!(icon.starts_with("https://"), "icon {icon:?} from {input}");
        }
        if let Some(summary) = &stored.summary {
            assert_safe_html(summary, &input);
        }
        match (stored.kind.as_str(), stored.visibility.as_deref()) {
            ("Group", Some("public" | "partners" | "members")) => {}
            ("Group", other) => panic!("a group's visibility is {other:?}"),
            (_, None) => {}
            (kind, Some(v)) => panic!("a {kind} has visibility {v:?}"),
        }
    }
});
