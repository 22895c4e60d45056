//! Class 1: a signature is bound to the node it was made for, and keys are looked up only for
//! their owner, at a bounded rate.

use super::{board, thread, Board};
use crate::harness::{fake::FakeServer, http, sign::Post, Node};
use serde_json::json;

/// A member node (beta) is made to sign a GET for the path the attacker wants, by naming that
/// path as an actor on the attacker's own server; the attacker then replays beta's signature to
/// alpha. Alpha must refuse it: the signed host is the attacker's, not alpha's.
#[tokio::test]
async fn a_signature_made_for_another_server_does_not_open_a_confidential_outbox() {
    let Board {
        alpha, beta, olga, ..
    } = board().await;
    let merger = thread(&olga, "/communities/board/threads", "Merger plans").await;
    let evil = FakeServer::start("mallory").await;

    // beta fetches "{evil}/c/board/outbox?page=true" while checking a POST that names it as its
    // actor (and as the owner of the key), signing the GET with its instance key.
    let path = "/c/board/outbox?page=true";
    let bait_actor = format!("{}{path}", evil.base);
    let bait = json!({
        "id": format!("{}/activities/bait", evil.base),
        "type": "Follow",
        "actor": bait_actor,
        "object": beta.url("/u/bert"),
    });
    let (status, _) = Post::new(
        &beta.url("/inbox"),
        &bait,
        &format!("{bait_actor}#main-key"),
        &evil.keys.private_pem,
    )
    .send(&http())
    .await;
    assert_eq!(
        status, 401,
        "nothing is served there, so beta cannot verify"
    );
    let captured = evil
        .fetches()
        .into_iter()
        .find(|f| f.path == "/c/board/outbox" && f.headers.contains_key("signature"))
        .expect("beta signed a GET to the attacker");

    // The replay: the very headers beta signed, sent to alpha.
    let mut replay = http()
        .get(alpha.url(path))
        .header("accept", "application/activity+json");
    for name in ["host", "date", "signature"] {
        replay = replay.header(name, &captured.headers[name]);
    }
    let response = replay.send().await.expect("replay");
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("signed host")),
        "{body}"
    );
    assert!(!body.to_string().contains("Merger plans"));

    // The same read, signed by beta for alpha, is served: beta has a member.
    let page = beta
        .state
        .fetch(&url::Url::parse(&alpha.url(path)).expect("url"))
        .await
        .expect("beta reads its community");
    assert!(page.to_string().contains("Merger plans"));

    // Now that alpha keeps the page it sent beta (`activitypub::served`), the replay and an
    // unsigned read are refused all the same: access is checked before the kept bytes.
    let mut replay = http()
        .get(alpha.url(path))
        .header("accept", "application/activity+json");
    for name in ["host", "date", "signature"] {
        replay = replay.header(name, &captured.headers[name]);
    }
    let response = replay.send().await.expect("replay");
    assert_eq!(response.status().as_u16(), 401);
    assert!(!response
        .text()
        .await
        .unwrap_or_default()
        .contains("Merger plans"));
    refused_unsigned(&alpha.url(path), "Merger plans").await;

    // The same for the thread's own document, once beta has read it.
    let doc = beta
        .state
        .fetch(&url::Url::parse(&merger).expect("url"))
        .await
        .expect("beta reads the thread");
    assert_eq!(doc["name"], "Merger plans");
    refused_unsigned(&merger, "Merger plans").await;
}

/// An unsigned read of a confidential document is refused and shows nothing of `secret`.
async fn refused_unsigned(url: &str, secret: &str) {
    let response = http()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("unsigned read");
    let status = response.status().as_u16();
    assert!(status == 401 || status == 403, "{url}: {status}");
    assert!(!response.text().await.unwrap_or_default().contains(secret));
}

/// An inbox POST whose key belongs to someone other than the activity's actor is refused
/// before anything is fetched.
#[tokio::test]
async fn the_inbox_looks_up_only_the_key_of_the_activitys_actor() {
    let Board { alpha, .. } = board().await;
    let evil = FakeServer::start("mallory").await;
    let follow = json!({
        "id": format!("{}/activities/1", evil.base),
        "type": "Follow",
        "actor": format!("{}/c/board/featured", evil.base),
        "object": alpha.url("/c/board"),
    });
    let (status, body) = Post::new(
        &alpha.url("/c/board/inbox"),
        &follow,
        &format!("{}#main-key", evil.actor),
        &evil.keys.private_pem,
    )
    .send(&http())
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        evil.fetches().is_empty(),
        "nothing was fetched: {:?}",
        evil.fetches()
    );
}

/// Signatures that never verify do not make the node fetch the key again and again.
#[tokio::test]
async fn failing_signatures_do_not_force_a_key_fetch_each_time() {
    let Board { alpha, .. } = board().await;
    let evil = FakeServer::start("mallory").await;
    let other = roundtable::activitypub::signatures::generate_key_pair().expect("keys");
    for n in 0..10 {
        let like = json!({
            "id": format!("{}/likes/{n}", evil.base),
            "type": "Like",
            "actor": evil.actor,
            "object": alpha.url("/c/board"),
        });
        // Signed with a key that is not the one the actor publishes.
        let (status, _) = Post::new(
            &alpha.url("/inbox"),
            &like,
            &format!("{}#main-key", evil.actor),
            &other.private_pem,
        )
        .send(&http())
        .await;
        assert_eq!(status, 401);
    }
    let actor_fetches = evil
        .fetches()
        .iter()
        .filter(|f| f.path == "/users/mallory")
        .count();
    // One first fetch, then at most the burst of refreshes (3).
    assert!(
        (1..=4).contains(&actor_fetches),
        "{actor_fetches} fetches of the actor for 10 bad signatures"
    );
}

/// A remote actor's key is fetched once and then taken from the cache; when the actor rotates
/// its key, the first request signed with the new key makes the node fetch the actor once more
/// and verify again, and from then on the old key no longer opens the inbox.
#[tokio::test]
async fn a_rotated_key_is_fetched_again_once_and_the_old_one_stops_working() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let mut peer = FakeServer::start("rosa").await;
    let inbox = alpha.url("/inbox");
    let (base, actor) = (peer.base.clone(), peer.actor.clone());
    let follow = |n: u32| {
        json!({
            "id": format!("{base}/follows/{n}"),
            "type": "Follow",
            "actor": actor,
            "object": alpha.url("/c/practice"),
        })
    };
    let actor_fetches = |peer: &FakeServer| {
        peer.fetches()
            .iter()
            .filter(|f| f.path == "/users/rosa")
            .count()
    };

    for n in 1..=2 {
        let (status, body) = peer.deliver(&inbox, &follow(n)).await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(
        actor_fetches(&peer),
        1,
        "the key is fetched once, then cached"
    );

    let old = peer.rotate_key();
    for n in 3..=4 {
        let (status, body) = peer.deliver(&inbox, &follow(n)).await;
        assert_eq!(status, 202, "signed with the new key: {body}");
    }
    assert_eq!(
        actor_fetches(&peer),
        2,
        "the new key is fetched once, at the first request it signed"
    );

    let (status, _) = Post::new(
        &inbox,
        &follow(5),
        &format!("{actor}#main-key"),
        &old.private_pem,
    )
    .send(&http())
    .await;
    assert_eq!(status, 401, "the old key no longer verifies");
    let (status, body) = peer.deliver(&inbox, &follow(6)).await;
    assert_eq!(status, 202, "{body}");
}
