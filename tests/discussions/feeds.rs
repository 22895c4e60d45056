//! Atom feeds of communities, read back with an independent XML parser.

use crate::harness::{http, Node};
use serde_json::json;

#[tokio::test]
async fn a_public_community_has_an_atom_feed_of_its_threads() {
    let node = Node::start().await;
    let olga = node.api_user("olga").await;
    for (slug, visibility) in [("practice", "public"), ("board", "members")] {
        let (status, _) = olga
            .post(
                "/communities",
                json!({"slug": slug, "title": "Platform & <practice>", "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let mut ids = Vec::new();
    for (title, content) in [
        ("Runbooks & \"on-call\"", "Use <b>one</b> runbook\u{7}."),
        ("Capacity", "Plan **quarterly**."),
        ("Deleted soon", "x"),
    ] {
        let (status, t) = olga
            .post(
                "/communities/practice/threads",
                json!({"title": title, "content": content}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        ids.push((
            t["id"].clone(),
            t["ap_id"].as_str().expect("id").to_string(),
        ));
    }
    let (status, _) = olga.delete(&format!("/threads/{}", ids[2].0)).await;
    assert_eq!(status, 204);

    let response = http()
        .get(node.url("/c/practice/feed.atom"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/atom+xml")));
    let text = response.text().await.expect("body");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(
        feed.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let child_text = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(child_text(feed, "id"), node.url("/c/practice"));
    assert_eq!(child_text(feed, "title"), "Platform & <practice>");
    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.tag_name().name() == "entry")
        .collect();
    assert_eq!(entries.len(), 2, "the deleted thread is left out: {text}");
    assert_eq!(child_text(entries[0], "id"), ids[1].1, "newest first");
    assert_eq!(child_text(entries[1], "title"), "Runbooks & \"on-call\"");
    let content = child_text(entries[1], "content");
    assert!(
        content.contains("&lt;b&gt;"),
        "raw HTML stays text: {content}"
    );
    assert!(child_text(entries[1], "author").is_empty());
    let author = entries[1]
        .children()
        .find(|c| c.tag_name().name() == "author")
        .expect("author");
    assert_eq!(child_text(author, "uri"), olga.ap_id());

    // A confidential community has no public feed.
    let response = http()
        .get(node.url("/c/board/feed.atom"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 403);
}
