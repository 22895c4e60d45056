//! Knowledge articles on the wire. Any `Article` document (alone or in an activity) goes
//! through `service::articles::parse_article_doc`, which checks the revision id against the
//! content; and a local article made from the input (first line the title, the rest the
//! markdown) is published with `article_json` and must be read back by a replica unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::{
    db::articles::{Article, Revision},
    activitypub::{articles::ArticleDoc, objects::MAX_TITLE},
    service::articles::{article_json, parse_article_doc, revision_id, MAX_ARTICLE},
};
use roundtable_fuzz::{assert_safe_html, documents};

const ARTICLE: &str = "https://a.example/articles/4f2c9e";
const AUTHOR: &str = "https://a.example/u/ada";
const COMMUNITY: &str = "https://a.example/c/kb";

fuzz_target!(|data: &[u8]| {
    for doc in documents(data) {
        let Some(Ok((ap_id, rev))) = ArticleDoc::parse(&doc).map(|a| parse_article_doc(&a)) else {
            continue;
        };
        assert!(rev.content.len() <= MAX_ARTICLE);
        assert_eq!(
            rev.rev_id,
            revision_id(
                ap_id.as_str(),
                rev.parent_rev.as_deref(),
                &rev.author,
                &rev.title,
                &rev.content
            )
        );
    }

    // A local article: titles are trimmed, 1 to 200 characters; the text is not blank.
    let text = String::from_utf8_lossy(data);
    let (title, content) = text.split_once('\n').unwrap_or((&text, "text"));
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE || content.trim().is_empty() {
        return;
    }
    let rev_id = revision_id(ARTICLE, None, AUTHOR, title, content);
    let article = Article {
        id: 1,
        ap_id: ARTICLE.into(),
        community: COMMUNITY.into(),
        title: title.into(),
        slug: "kb".into(),
        current_rev: rev_id.clone(),
        protected: false,
        review_interval_days: None,
        last_reviewed_at: None,
        last_reviewed_by: None,
        local: true,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
    };
    let revision = Revision {
        id: 1,
        article_id: 1,
        rev_id: rev_id.clone(),
        parent_rev: None,
        author: AUTHOR.into(),
        message: "Created".into(),
        title: title.into(),
        content: content.into(),
        seq: 1,
        edit_id: None,
        created_at: 1_700_000_000_000,
    };
    let doc = article_json(&article, &revision, &[AUTHOR.to_string()], "@kb@a.example");
    assert_safe_html(doc["content"].as_str().unwrap_or_default(), &text);
    let ours = ArticleDoc::parse(&doc).expect("our own article is an Article");
    let (ap_id, read) = parse_article_doc(&ours)
        .unwrap_or_else(|e| panic!("a replica refuses our own article ({}): {doc}", e.message));
    assert_eq!(ap_id.as_str(), ARTICLE);
    assert_eq!(read.rev_id, rev_id);
    assert_eq!(read.title, title);
    assert_eq!(read.content, content);
});
