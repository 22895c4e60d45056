//! Text handling of `roundtable::markdown`: members' markdown rendered to HTML, remote HTML
//! sanitized, plain text and excerpts, thread titles from toots, article summaries.
//!
//! Input: the first byte is the excerpt length, the rest the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::{
    activitypub::objects::{title_from_content, MAX_TITLE},
    markdown::{excerpt, plain_text, render, sanitize},
    service::articles::summary_of,
};
use roundtable_fuzz::assert_safe_html;

fuzz_target!(|data: &[u8]| {
    let Some((&max, rest)) = data.split_first() else {
        return;
    };
    let max = usize::from(max);
    let text = String::from_utf8_lossy(rest);

    let rendered = render(&text);
    assert_safe_html(&rendered, &text);
    let sanitized = sanitize(&text);
    assert_safe_html(&sanitized, &text);
    // Raw HTML in markdown is shown as text, so a tag written in the text never appears.
    // (`span` is allowed by the sanitizer, and markdown itself never produces one.)
    assert!(!rendered.contains("<span"), "{rendered:?} from {text:?}");

    let plain = plain_text(&text);
    assert_eq!(
        plain,
        plain.split_whitespace().collect::<Vec<_>>().join(" "),
        "plain text has its whitespace collapsed"
    );
    let cut = excerpt(&plain, max);
    if max > 0 {
        assert!(cut.chars().count() <= max, "{cut:?} is longer than {max}");
    }
    if plain.chars().count() <= max {
        assert_eq!(cut, plain);
    }

    let title = title_from_content(&text);
    assert!(
        !title.is_empty() && title.chars().count() <= MAX_TITLE,
        "{title:?}"
    );
    assert!(summary_of(&text).chars().count() <= 500);
});
