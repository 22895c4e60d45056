//! Editing statuses through the Mastodon API, driven by Mastodon.py: `status_update`,
//! `status_history`, `status_source`; the edit reaches the community's node as an `Update`,
//! and nobody but the author edits. Also `status_favourited_by` and
//! `account_update_credentials`.

use crate::{
    accounts::member,
    harness::{eventually, http, python, Node},
};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn mastodon_py_edits_a_thread_and_a_reply_and_reads_their_history_and_source_and_likers() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "title": "SRE guild", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    member(&beta, "bert", "bert@example.com").await;
    let token = roundtable::service::accounts::create_token(&beta.state.db, "bert", "read write")
        .await
        .expect("token");
    let community = format!("guild@{}", alpha.domain);
    let seen = python::run_client(
        include_str!("edit_client.py"),
        &[
            ("NODE", &beta.base),
            ("COMMUNITY", &community),
            ("TOKEN", &token),
        ],
    )
    .await;
    assert_eq!(seen["edited_at_before"], Value::Null, "{seen:#}");
    assert_eq!(
        seen["source"],
        json!({"text": "First body.", "spoiler_text": "Draft title"})
    );
    assert_eq!(
        seen["edited"]["content"],
        "<p><strong>Final title</strong></p><p>A better body.</p>\n"
    );
    assert!(seen["edited"]["edited_at"].is_string(), "{seen:#}");
    assert_eq!(seen["edited_reply"]["content"], "<p>A better answer.</p>\n");
    assert!(seen["edited_reply"]["edited_at"].is_string());
    assert_eq!(
        seen["history"],
        json!([
            "<p><strong>Draft title</strong></p><p>First body.</p>\n",
            "<p><strong>Final title</strong></p><p>A better body.</p>\n",
        ]),
        "{seen:#}"
    );
    assert_eq!(
        seen["reply_history"],
        json!(["<p>A first answer.</p>\n", "<p>A better answer.</p>\n"])
    );
    assert_eq!(
        seen["source_after"],
        json!({"text": "A better body.", "spoiler_text": "Final title"})
    );
    assert_eq!(seen["read_back"], seen["edited"]["content"]);
    assert_eq!(seen["blank"], json!(["MastodonAPIError", 422]));
    assert_eq!(seen["favourited_by"], json!(["bert"]), "{seen:#}");
    assert_eq!(
        seen["credentials"],
        json!({"display_name": "Bert Brook", "note_source": "On call on Tuesdays."})
    );
    assert_eq!(seen["me_after"], "Bert Brook");
    assert_eq!(seen["long_name"], json!(["MastodonAPIError", 422]));

    // The community's node got the edit, and keeps the history too.
    let uri = seen["thread_uri"].as_str().expect("uri").to_string();
    let thread = eventually(Duration::from_secs(20), "the edit on alpha", || {
        let olga = olga.clone();
        let uri = uri.clone();
        async move {
            let (_, list) = olga.get("/communities/guild/threads").await;
            list["threads"].as_array().and_then(|t| {
                t.iter()
                    .find(|t| t["ap_id"] == uri.as_str() && t["title"] == "Final title")
                    .cloned()
            })
        }
    })
    .await;
    let r = http()
        .get(alpha.url(&format!("/api/v1/statuses/{}/history", thread["id"])))
        .send()
        .await
        .expect("history");
    assert_eq!(r.status(), 200);
    let history: Value = r.json().await.expect("json");
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history:#}");
    assert!(history[1]["content"]
        .as_str()
        .is_some_and(|c| c.contains("A better body.")));

    // Nobody else edits: another member gets 403, an anonymous caller 401; nothing changed.
    member(&beta, "eve", "eve@example.com").await;
    let eve = roundtable::service::accounts::create_token(&beta.state.db, "eve", "read write")
        .await
        .expect("token");
    let thread_id = seen["thread_id"].as_str().expect("id");
    for (who, expected) in [(Some(eve.as_str()), 403), (None, 401)] {
        let mut request = http()
            .put(beta.url(&format!("/api/v1/statuses/{thread_id}")))
            .json(&json!({"status": "Taken over\nmine now"}));
        if let Some(t) = who {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.expect("PUT");
        assert_eq!(r.status(), expected, "{who:?}");
        let body: Value = r.json().await.expect("json");
        assert!(body["error"].is_string());
    }
    let r = http()
        .get(beta.url(&format!("/api/v1/statuses/{thread_id}/source")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("source");
    let source: Value = r.json().await.expect("json");
    assert_eq!(source["spoiler_text"], "Final title");
    // Unknown statuses are a Mastodon-shaped 404.
    let r = http()
        .get(beta.url("/api/v1/statuses/abc/history"))
        .send()
        .await
        .expect("history");
    assert_eq!(r.status(), 404);
}
