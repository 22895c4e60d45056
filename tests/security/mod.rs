//! Confidential means confidential: each test tries a way into a `members` community the way
//! an attacker would, against real nodes over real HTTP with real signatures.
//!
//! The setup: alpha hosts the members-only community `board` (owner olga); bert on beta is an
//! approved member; gina on gamma is not a member.

mod access;
mod relays;
mod signatures;
mod tokens;

use crate::harness::{eventually, sign::Post, ApiUser, Node};
use serde_json::{json, Value};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Board {
    pub alpha: Node,
    pub beta: Node,
    pub gamma: Node,
    pub olga: ApiUser,
    pub bert: ApiUser,
    pub gina: ApiUser,
    /// `board@alpha`.
    pub handle: String,
    /// The community's actor id.
    pub community: String,
}

/// Approves `who`'s pending request to join `board`.
pub async fn approve(olga: &ApiUser, who: &ApiUser) {
    let pending = eventually(WAIT, "the join request reaches alpha", || async {
        let (_, m) = olga.get("/communities/board/members?state=pending").await;
        m["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["actor"]["ap_id"] == who.ap_id().as_str())
            .cloned()
    })
    .await;
    let (status, body) = olga
        .post(
            &format!("/communities/board/members/{}/approve", pending["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// `who` asks to join, is approved, and sees the membership accepted on their node.
pub async fn admit(olga: &ApiUser, who: &ApiUser, handle: &str) {
    let (status, body) = who
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    approve(olga, who).await;
    eventually(WAIT, "membership accepted", || async {
        let (_, c) = who.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;
}

pub async fn board() -> Board {
    let (alpha, beta, gamma) = (
        Node::start().await,
        Node::start().await,
        Node::start().await,
    );
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let gina = gamma.api_user("gina").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "board", "title": "Board", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let handle = format!("board@{}", alpha.domain);
    admit(&olga, &bert, &handle).await;
    let community = alpha.url("/c/board");
    Board {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
        community,
    }
}

/// A thread posted by `user` in the community `path` names; returns its ActivityPub id.
pub async fn thread(user: &ApiUser, path: &str, title: &str) -> String {
    let (status, body) = user
        .post(
            path,
            json!({"title": title, "content": format!("{title}: confidential")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["ap_id"].as_str().expect("ap_id").to_string()
}

/// POSTs `activity` to `inbox`, signed with the key of local actor `name` of `node` (a user,
/// or a community when `community` is set).
pub async fn signed_by(
    node: &Node,
    name: &str,
    community: bool,
    inbox: &str,
    activity: &Value,
) -> (u16, Value) {
    let key = node
        .state
        .db
        .local_actor_by_name(name)
        .await
        .expect("db")
        .expect("actor")
        .private_key_pem;
    let key_id = if community {
        node.url(&format!("/c/{name}#main-key"))
    } else {
        node.url(&format!("/u/{name}#main-key"))
    };
    Post::new(inbox, activity, &key_id, &key)
        .send(&crate::harness::http())
        .await
}

/// The ActivityPub ids of the posts `node` holds for `community`.
pub async fn held(node: &Node, community: &str) -> Vec<String> {
    node.state
        .db
        .threads(community, 200, None, true)
        .await
        .expect("db")
        .into_iter()
        .map(|p| p.ap_id)
        .collect()
}
