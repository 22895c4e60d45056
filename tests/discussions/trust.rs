//! Forged activities change nothing and get 4xx.

use super::federation::three_nodes;
use crate::harness::{eventually, sign::Post, Node};
use serde_json::{json, Value};
use std::time::Duration;

async fn private_key(node: &Node, name: &str) -> String {
    node.state
        .db
        .local_actor_by_name(name)
        .await
        .expect("db")
        .expect("actor")
        .private_key_pem
}

async fn signed(node_from: &Node, signer: &str, to: &str, activity: &Value) -> (u16, Value) {
    let key_id = if signer == "practice" {
        node_from.url("/c/practice#main-key")
    } else {
        node_from.url(&format!("/u/{signer}#main-key"))
    };
    Post::new(to, activity, &key_id, &private_key(node_from, signer).await)
        .send(&crate::harness::http())
        .await
}

#[tokio::test]
async fn forged_activities_change_nothing() {
    let t = three_nodes().await;
    let community = t.alpha.url("/c/practice");
    let (status, thread) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Original", "content": "by gina"}),
        )
        .await;
    assert_eq!(status, 201);
    let thread_ap = thread["ap_id"].as_str().expect("id").to_string();
    for user in [&t.olga, &t.bert] {
        eventually(Duration::from_secs(20), "thread replicated", || async {
            user.thread_by_ap_id(&t.handle, &thread_ap).await
        })
        .await;
    }
    let alpha_inbox = t.alpha.url("/c/practice/inbox");

    // 1. Actor is not the signer: bert signs an activity that claims to be gina's.
    let claim = json!({
        "id": t.gamma.url("/activities/create/forged1"),
        "type": "Create",
        "actor": t.gina.ap_id(),
        "object": {"id": t.gamma.url("/p/forged1"), "type": "Page", "attributedTo": t.gina.ap_id(),
                   "name": "Forged by bert", "content": "x", "audience": community, "to": [community]},
    });
    let (status, body) = signed(&t.beta, "bert", &alpha_inbox, &claim).await;
    assert_eq!(status, 401, "{body}");

    // 2. Update of someone else's thread, with the real author kept...
    let hijack = json!({
        "id": t.beta.url("/activities/update/forged2"),
        "type": "Update",
        "actor": t.bert.ap_id(),
        "object": {"id": thread_ap, "type": "Page", "attributedTo": t.gina.ap_id(),
                   "name": "Hacked", "content": "hacked", "audience": community},
    });
    let (status, body) = signed(&t.beta, "bert", &alpha_inbox, &hijack).await;
    assert_eq!(status, 403, "{body}");
    // ...or with bert claiming authorship of an object on gamma.
    let mut claimed = hijack.clone();
    claimed["id"] = json!(t.beta.url("/activities/update/forged3"));
    claimed["object"]["attributedTo"] = json!(t.bert.ap_id());
    let (status, body) = signed(&t.beta, "bert", &alpha_inbox, &claimed).await;
    assert_eq!(status, 400, "{body}");

    // 3. Delete of someone else's thread by a member who is not a moderator.
    let delete = json!({
        "id": t.beta.url("/activities/delete/forged4"),
        "type": "Delete",
        "actor": t.bert.ap_id(),
        "object": thread_ap,
        "audience": community,
    });
    let (status, body) = signed(&t.beta, "bert", &alpha_inbox, &delete).await;
    assert_eq!(status, 403, "{body}");

    // 4. An Announce (really signed by the community) carrying a third-host object that its
    //    origin does not serve.
    let announce = json!({
        "id": t.alpha.url("/activities/announce/forged5"),
        "type": "Announce",
        "actor": community,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": t.gamma.url("/activities/create/forged5"),
            "type": "Create",
            "actor": t.gina.ap_id(),
            "object": {"id": t.gamma.url("/p/never-written"), "type": "Page", "attributedTo": t.gina.ap_id(),
                       "name": "Words put in gina's mouth", "content": "fake", "audience": community, "to": [community]},
        },
    });
    let (status, body) = signed(&t.alpha, "practice", &t.beta.url("/inbox"), &announce).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("origin")),
        "{body}"
    );

    // Nothing changed anywhere.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for user in [&t.olga, &t.bert, &t.gina] {
        let threads = user.threads(&t.handle).await;
        assert_eq!(threads.len(), 1, "{}: {threads:?}", user.domain);
        assert_eq!(threads[0]["title"], "Original");
        assert_eq!(threads[0]["content"], "<p>by gina</p>\n");
    }
}
