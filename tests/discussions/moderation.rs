//! Likes, locks, pins, roles, remote moderators, unbans, leaving and approval, across nodes.

use super::federation::{bert_moderates, three_nodes, Three};
use crate::harness::{eventually, ApiUser, Node};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn on_all(
    users: &[&ApiUser],
    handle: &str,
    ap_id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    for user in users {
        out.push(
            eventually(WAIT, &format!("{what} on {}", user.domain), || async {
                user.thread_by_ap_id(handle, ap_id)
                    .await
                    .filter(|t| check(t))
            })
            .await,
        );
    }
    out
}

#[tokio::test]
async fn likes_locks_pins_roles_and_remote_moderators_federate() {
    let t = three_nodes().await;
    let r = the_owner_edits_the_profile_and_gina_posts(&t).await;
    bert_likes_and_unlikes_from_beta(&t, &r).await;
    olga_locks_and_unlocks_the_thread(&t, &r).await;
    pinning_shows_everywhere_and_in_featured(&t, &r).await;
    members_cannot_moderate(&t, &r).await;
    bert_moderates_and_removes_the_thread_from_beta(&t, &r).await;
}

/// The owner edits the profile; replicas refresh it. Members cannot edit it.
async fn the_owner_edits_the_profile_and_gina_posts(t: &Three) -> Runbooks {
    let all = [&t.olga, &t.bert, &t.gina];
    let (status, body) = t
        .olga
        .patch(
            "/communities/practice",
            json!({"title": "Platform guild", "icon_url": "https://cdn.example/icon.png"}),
        )
        .await;
    assert_eq!(
        (status, body["title"].as_str()),
        (200, Some("Platform guild")),
        "{body}"
    );
    eventually(WAIT, "beta sees the new title", || async {
        let (_, c) = t.bert.get(&format!("/communities/{}", t.handle)).await;
        (c["title"] == "Platform guild" && c["icon_url"] == "https://cdn.example/icon.png")
            .then_some(())
    })
    .await;
    let (status, _) = t
        .bert
        .patch(
            &format!("/communities/{}", t.handle),
            json!({"title": "Mine"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = t
        .olga
        .patch(
            "/communities/practice",
            json!({"icon_url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!(status, 422);
    let (_, thread) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Runbooks", "content": "Share yours"}),
        )
        .await;
    let ap_id = thread["ap_id"].as_str().expect("id").to_string();
    let copies = on_all(&all, &t.handle, &ap_id, "thread", |_| true).await;
    let (alpha_id, beta_id) = (copies[0]["id"].clone(), copies[1]["id"].clone());
    Runbooks {
        ap_id,
        copies,
        alpha_id,
        beta_id,
    }
}

/// Like and unlike from beta.
async fn bert_likes_and_unlikes_from_beta(t: &Three, r: &Runbooks) {
    let ap_id = r.ap_id.clone();
    let beta_id = r.beta_id.clone();
    let all = [&t.olga, &t.bert, &t.gina];
    let (status, body) = t
        .bert
        .post(&format!("/threads/{beta_id}/like"), json!({}))
        .await;
    assert_eq!(
        (status, body["like_count"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    on_all(&all, &t.handle, &ap_id, "one like", |th| {
        th["like_count"] == 1
    })
    .await;
    let (status, _) = t
        .bert
        .post(&format!("/threads/{beta_id}/like"), json!({"liked": false}))
        .await;
    assert_eq!(status, 200);
    on_all(&all, &t.handle, &ap_id, "no like", |th| {
        th["like_count"] == 0
    })
    .await;
}

/// olga locks it: replies are refused everywhere; unlocking reopens it.
async fn olga_locks_and_unlocks_the_thread(t: &Three, r: &Runbooks) {
    let ap_id = r.ap_id.clone();
    let alpha_id = r.alpha_id.clone();
    let beta_id = r.beta_id.clone();
    let all = [&t.olga, &t.bert, &t.gina];
    let (status, body) = t
        .olga
        .post(&format!("/threads/{alpha_id}/lock"), json!({}))
        .await;
    assert_eq!(
        (status, body["locked"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    on_all(&all, &t.handle, &ap_id, "locked", |th| th["locked"] == true).await;
    let (status, body) = t
        .bert
        .post(
            &format!("/threads/{beta_id}/replies"),
            json!({"content": "late"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("locked")));
    let (status, _) = t
        .olga
        .post(
            &format!("/threads/{alpha_id}/lock"),
            json!({"locked": false}),
        )
        .await;
    assert_eq!(status, 200);
    on_all(&all, &t.handle, &ap_id, "unlocked", |th| {
        th["locked"] == false
    })
    .await;
}

/// Pinning shows on every node and in the community's featured collection.
async fn pinning_shows_everywhere_and_in_featured(t: &Three, r: &Runbooks) {
    let ap_id = r.ap_id.clone();
    let alpha_id = r.alpha_id.clone();
    let all = [&t.olga, &t.bert, &t.gina];
    let (status, _) = t
        .olga
        .post(&format!("/threads/{alpha_id}/pin"), json!({}))
        .await;
    assert_eq!(status, 200);
    on_all(&all, &t.handle, &ap_id, "pinned", |th| th["pinned"] == true).await;
    let featured: Value = crate::harness::http()
        .get(t.alpha.url("/c/practice/featured"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("featured")
        .json()
        .await
        .expect("json");
    assert_eq!(featured["orderedItems"][0]["id"], ap_id.as_str());
}

/// Members cannot moderate: bert's removal is refused.
async fn members_cannot_moderate(t: &Three, r: &Runbooks) {
    let beta_id = r.beta_id.clone();
    let (status, _) = t
        .bert
        .post(
            &format!("/threads/{beta_id}/remove"),
            json!({"reason": "mine now"}),
        )
        .await;
    assert_eq!(status, 403);
}

/// olga makes bert a moderator; beta learns it; bert removes the thread from beta.
async fn bert_moderates_and_removes_the_thread_from_beta(t: &Three, r: &Runbooks) {
    let ap_id = r.ap_id.clone();
    let copies = r.copies.clone();
    let beta_id = r.beta_id.clone();
    let all = [&t.olga, &t.bert, &t.gina];
    bert_moderates(t, Some("runbook steward")).await;
    let (status, body) = t
        .bert
        .post(
            &format!("/threads/{beta_id}/remove"),
            json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    for user in all {
        eventually(WAIT, &format!("removed on {}", user.domain), || async {
            let list = user.threads(&t.handle).await;
            (!list.iter().any(|th| th["ap_id"] == ap_id.as_str())).then_some(())
        })
        .await;
    }
    let (status, body) = t.gina.get(&format!("/threads/{}", copies[2]["id"])).await;
    assert_eq!(status, 410);
    // Alpha's audit log holds the moderators' actions, including bert's from beta.
    let log = t.alpha.state.db.audit_log(None, 50).await.expect("audit");
    let has =
        |action: &str, actor: &str| log.iter().any(|e| e.action == action && e.actor == actor);
    assert!(has("thread.lock", &t.olga.ap_id()) && has("thread.unlock", &t.olga.ap_id()));
    assert!(has("thread.pin", &t.olga.ap_id()));
    assert!(has("membership.role", &t.olga.ap_id()));
    assert!(has("post.remove", &t.bert.ap_id()), "{log:?}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("duplicate")),
        "{body}"
    );
}

/// gina's thread "Runbooks" in alpha's community, and its copies on alpha, beta and gamma.
struct Runbooks {
    ap_id: String,
    copies: Vec<Value>,
    alpha_id: Value,
    beta_id: Value,
}

#[tokio::test]
async fn unban_and_leave_federate() {
    let t = three_nodes().await;
    let (status, _) = t
        .olga
        .post(
            "/communities/practice/bans",
            json!({"actor": t.gina.handle(), "reason": "cool off"}),
        )
        .await;
    assert_eq!(status, 201);
    eventually(WAIT, "gamma learns of the ban", || async {
        let (_, bans) = t.gina.get(&format!("/communities/{}/bans", t.handle)).await;
        bans["bans"]
            .as_array()
            .is_some_and(|b| b.len() == 1)
            .then_some(())
    })
    .await;
    let post = json!({"title": "Back", "content": "hello"});
    let (status, _) = t
        .gina
        .post(&format!("/communities/{}/threads", t.handle), post.clone())
        .await;
    assert_eq!(status, 403);
    let (status, body) = t
        .olga
        .delete(&format!(
            "/communities/practice/bans?actor={}",
            t.gina.handle()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    eventually(WAIT, "gamma learns of the unban", || async {
        let (_, bans) = t.gina.get(&format!("/communities/{}/bans", t.handle)).await;
        bans["bans"]
            .as_array()
            .is_some_and(|b| b.is_empty())
            .then_some(())
    })
    .await;
    let (status, thread) = t
        .gina
        .post(&format!("/communities/{}/threads", t.handle), post)
        .await;
    assert_eq!(status, 201, "{thread}");
    let ap_id = thread["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "gina's thread on alpha", || async {
        t.olga.thread_by_ap_id(&t.handle, &ap_id).await
    })
    .await;

    // gina leaves: alpha drops her, and gamma (which had no other member) stops receiving.
    let (status, _) = t
        .gina
        .post(&format!("/communities/{}/leave", t.handle), json!({}))
        .await;
    assert_eq!(status, 200);
    eventually(WAIT, "alpha drops gina", || async {
        let (_, m) = t.olga.get("/communities/practice/members").await;
        let list = m["members"].as_array().cloned().unwrap_or_default();
        (!list
            .iter()
            .any(|m| m["actor"]["ap_id"] == t.gina.ap_id().as_str()))
        .then_some(())
    })
    .await;
    let (_, after) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "After gina", "content": "x"}),
        )
        .await;
    let after = after["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "beta still receives", || async {
        t.bert.thread_by_ap_id(&t.handle, &after).await
    })
    .await;
    assert!(
        t.gina.thread_by_ap_id(&t.handle, &after).await.is_none(),
        "gamma no longer receives"
    );
    let (_, c) = t.gina.get(&format!("/communities/{}", t.handle)).await;
    assert_eq!(c["membership"], Value::Null);
}

#[tokio::test]
async fn joins_of_a_members_only_community_wait_for_a_moderator() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let gus = beta.api_user("gus").await;
    let (status, _) = olga
        .post(
            "/communities",
            json!({"slug": "inner", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201);
    let handle = format!("inner@{}", alpha.domain);
    for user in [&bert, &gus] {
        let (status, body) = user
            .post(&format!("/communities/{handle}/join"), json!({}))
            .await;
        assert_eq!(
            (status, body["state"].as_str()),
            (202, Some("pending")),
            "{body}"
        );
    }
    let pending = eventually(WAIT, "two pending requests on alpha", || async {
        let (_, m) = olga.get("/communities/inner/members?state=pending").await;
        let list = m["members"].as_array().cloned().unwrap_or_default();
        (list.len() == 2).then_some(list)
    })
    .await;
    let id_of = |user: &ApiUser| {
        pending
            .iter()
            .find(|m| m["actor"]["ap_id"] == user.ap_id().as_str())
            .map(|m| m["id"].clone())
            .expect("pending member")
    };
    // Who belongs to a members-only community is for its members; requests for moderators.
    let lee = alpha.api_user("lee").await;
    let (status, _) = lee.get("/communities/inner/members").await;
    assert_eq!(status, 403);
    let (status, _) = lee.get("/communities/inner/members?state=pending").await;
    assert_eq!(status, 403);
    let (status, _) = alpha.anonymous().get("/communities/inner/members").await;
    assert_eq!(status, 401);
    // Pending members cannot post.
    let (status, _) = bert
        .post(
            &format!("/communities/{handle}/threads"),
            json!({"title": "t", "content": "c"}),
        )
        .await;
    assert_eq!(status, 403);

    let (status, body) = olga
        .post(
            &format!("/communities/inner/members/{}/approve", id_of(&bert)),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let (status, _) = olga
        .post(
            &format!("/communities/inner/members/{}/reject", id_of(&gus)),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = olga
        .post(
            &format!("/communities/inner/members/{}/approve", id_of(&gus)),
            json!({}),
        )
        .await;
    assert_eq!(status, 404, "a rejected request is gone");
    eventually(WAIT, "beta hears both answers", || async {
        let (_, b) = bert.get(&format!("/communities/{handle}")).await;
        let (_, g) = gus.get(&format!("/communities/{handle}")).await;
        (b["membership"]["state"] == "accepted" && g["membership"]["state"] == "rejected")
            .then_some(())
    })
    .await;
    let (status, _) = bert
        .post(
            &format!("/communities/{handle}/threads"),
            json!({"title": "t", "content": "c"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = gus
        .post(
            &format!("/communities/{handle}/threads"),
            json!({"title": "t", "content": "c"}),
        )
        .await;
    assert_eq!(status, 403);
}
