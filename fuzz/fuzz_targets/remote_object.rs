//! Remote posts (`Page`, `Note`, `Article`) as other servers send them, alone or inside an
//! activity: parsed, checked and sanitized by `activitypub::objects::parse_post`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::activitypub::{actors::host_of, objects::{parse_post, MAX_TITLE}};
use roundtable_fuzz::{assert_safe_html, documents};

fuzz_target!(|data: &[u8]| {
    for doc in documents(data) {
        let Ok(post) = parse_post(&doc) else {
            continue;
        };
        let input = doc.to_string();
        assert_eq!(host_of(&post.author), host_of(&post.ap_id), "{input}");
        assert_safe_html(&post.content, &input);
        if let Some(title) = &post.title {
            assert!(title.chars().count() <= MAX_TITLE, "{title:?}");
        }
        if let Some(summary) = &post.summary {
            assert!(summary.chars().count() <= 500, "{summary:?}");
        }
        if post.in_reply_to.is_none() {
            assert!(post.title.is_some(), "a thread has a title: {input}");
        }
    }
});
