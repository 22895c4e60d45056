//! Hashtags, driven by Mastodon.py across two nodes: a thread started from an app on one node
//! in a community on the other, and replies on the community's node, are found under their
//! tags on both nodes (in any case, and as the `tags` of each status); the tag's timeline
//! narrows to `local` or `remote`; a members-only community's tagged post is found only by
//! its members; the ActivityPub document carries `Hashtag` tags for other servers.

use crate::harness::{eventually, http, python, Node};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn mastodon_py_finds_posts_under_their_hashtags_on_both_nodes_as_far_as_it_may_read() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    for (slug, visibility) in [("guild", "public"), ("inner", "members")] {
        let (status, body) = olga
            .post(
                "/communities",
                json!({"slug": slug, "title": slug, "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let bert = beta.api_user("bert").await;
    let sam = alpha.api_user("sam").await;
    let community = format!("guild@{}", alpha.domain);
    let run = |node: &Node, step: &str, token: &str| {
        let env: Vec<(String, String)> = vec![
            ("NODE".into(), node.base.clone()),
            ("STEP".into(), step.into()),
            ("COMMUNITY".into(), community.clone()),
            ("TOKEN".into(), token.into()),
        ];
        async move {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            python::run_client(include_str!("tags_client.py"), &env).await
        }
    };
    let posted = run(&beta, "post", &bert.token).await;
    let uri = posted["thread_uri"].as_str().expect("uri").to_string();
    let thread = eventually(Duration::from_secs(20), "the thread on alpha", || {
        let olga = olga.clone();
        let uri = uri.clone();
        async move { olga.thread_by_ap_id("guild", &uri).await }
    })
    .await;
    let (status, body) = olga
        .post(
            &format!("/threads/{}/replies", thread["id"]),
            json!({"content": "Thanks! Our #RUST crates follow next week; `#include` is no tag."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = olga
        .post(
            "/communities/inner/threads",
            json!({"title": "Budget", "content": "Secret #rust plans"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // On beta, bert's app finds the thread and olga's reply under #rust, newest first.
    let read = run(&beta, "read", &bert.token).await;
    assert_eq!(read["rust"].as_array().map(Vec::len), Some(2), "{read:#}");
    assert!(read["rust"][0][0]
        .as_str()
        .is_some_and(|c| c.contains("crates follow")));
    assert_eq!(read["rust"][0][1], json!(["rust"]));
    assert_eq!(read["rust"][1][1], json!(["release2026", "rust"]));
    assert_eq!(read["release"], 1, "{read:#}");
    // The community is on alpha: on beta it is remote.
    assert_eq!(read["rust_local"], 0);
    assert_eq!(read["rust_remote"], 2);
    assert_eq!(read["tag"], json!(["rust", false]));
    assert_eq!(read["bad_tag"], 404, "{read:#}");

    // On alpha: anyone sees the public community's two posts; the members-only one is for
    // its members (olga), not for sam or an anonymous app.
    let anonymous = run(&alpha, "count", "").await;
    assert_eq!(anonymous["rust"], 2, "{anonymous:#}");
    let outsider = run(&alpha, "count", &sam.token).await;
    assert_eq!(outsider["rust"], 2, "{outsider:#}");
    let insider = run(&alpha, "count", &olga.token).await;
    assert_eq!(insider["rust"], 3, "{insider:#}");
    assert_eq!(insider["rust_local"], 3);

    // Other servers read the tags from the ActivityPub document.
    let doc: Value = http()
        .get(&uri)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let mut names: Vec<&str> = doc["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .filter(|t| t["type"] == "Hashtag")
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["#release2026", "#rust"], "{doc:#}");
}

/// Hashtag streams and followed tags in the user stream: sam's app hears a public community's
/// posts under `#rust` over server-sent events (`hashtag` and `hashtag:local`) and over a
/// WebSocket, and the `#ops` post in his user stream because he follows the tag; a members-only
/// community's post under both tags reaches none of his streams. His public stream carries a
/// public community's article as a status, and not a members-only one's; so does the stream of
/// his list of both communities.
#[tokio::test]
async fn mastodon_py_streams_a_hashtag_and_the_tags_it_follows() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    for (slug, visibility) in [("guild", "public"), ("inner", "members")] {
        let (status, body) = olga
            .post(
                "/communities",
                json!({"slug": slug, "title": slug, "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let sam = alpha.api_user("sam").await;
    let heard = python::run_client(
        include_str!("tags_stream_client.py"),
        &[
            ("NODE", alpha.base.as_str()),
            ("TOKEN", sam.token.as_str()),
            ("OLGA", olga.token.as_str()),
        ],
    )
    .await;
    assert_eq!(heard["follow"], true, "{heard:#}");
    let said = |key: &str| -> Vec<String> {
        heard[key]
            .as_array()
            .expect("updates")
            .iter()
            .map(|c| c.as_str().unwrap_or_default().to_string())
            .collect()
    };
    for key in ["tag", "tag_local", "socket"] {
        let updates = said(key);
        assert_eq!(updates.len(), 1, "{key}: {heard:#}");
        assert!(updates[0].contains("Deploy notes"), "{key}: {heard:#}");
    }
    let user = said("user");
    assert_eq!(user.len(), 1, "{heard:#}");
    assert!(user[0].contains("Pager duty"), "{heard:#}");
    // The public stream carries the two public threads and the public article, in the order
    // they were made; nothing of the members-only community.
    let public = said("public");
    assert_eq!(public.len(), 3, "{heard:#}");
    assert!(public[0].contains("Deploy notes"), "{heard:#}");
    assert!(public[1].contains("Pager duty"), "{heard:#}");
    assert!(
        public[2].contains("<strong>Public runbook</strong>"),
        "{heard:#}"
    );
    // The stream of his list of both communities carries the same three.
    assert_eq!(said("list"), public, "{heard:#}");
    assert!(!heard.to_string().contains("Secret budget"), "{heard:#}");
    assert!(!heard.to_string().contains("Secret runbook"), "{heard:#}");
}
