//! Class 6: what a community relays is taken on its word only where its word is worth
//! something. A Group on a hostile node calls itself confidential and relays forgeries.

use super::{admit, board, held, thread, Board, WAIT};
use crate::harness::{eventually, fake::FakeServer, http, sign::Post, ApiUser, Node};
use serde_json::{json, Value};

struct EvilGroup {
    server: FakeServer,
    id: String,
}

impl EvilGroup {
    async fn start() -> EvilGroup {
        let server = FakeServer::start("mallory").await;
        let id = format!("{}/c/evil", server.base);
        server.publish(&json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id, "type": "Group", "preferredUsername": "evil", "name": "Totally private",
            "inbox": format!("{}/inbox", server.base),
            "outbox": format!("{id}/outbox"), "followers": format!("{id}/followers"),
            "endpoints": {"sharedInbox": format!("{}/inbox", server.base)},
            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": server.keys.public_pem},
            "manuallyApprovesFollowers": true, "roundtableVisibility": "members",
        }));
        EvilGroup { server, id }
    }

    /// POSTs `activity` from the group to `inbox`, signed with the group's key.
    async fn send(&self, inbox: &str, activity: &Value) -> (u16, Value) {
        Post::new(
            inbox,
            activity,
            &format!("{}#main-key", self.id),
            &self.server.keys.private_pem,
        )
        .send(&http())
        .await
    }

    fn announce(&self, n: u32, object: Value) -> Value {
        json!({"id": format!("{}/announces/{n}", self.server.base), "type": "Announce",
               "actor": self.id, "to": [format!("{}/followers", self.id)], "object": object})
    }
}

fn create(actor: &str, page: Value) -> Value {
    json!({"id": format!("{}/create", page["id"].as_str().unwrap_or_default()),
           "type": "Create", "actor": actor, "object": page})
}

#[tokio::test]
async fn a_hostile_group_that_calls_itself_confidential_cannot_plant_or_rewrite_posts() {
    let Board {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        ..
    } = board().await;
    let evil = EvilGroup::start().await;
    let encoded: String = url::form_urlencoded::byte_serialize(evil.id.as_bytes()).collect();
    let (status, body) = bert
        .post(&format!("/communities/{encoded}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let follow = eventually(WAIT, "the Follow reaches the group", || async {
        evil.server
            .received()
            .into_iter()
            .find(|a| a["type"] == "Follow")
    })
    .await;
    let inbox = beta.url("/inbox");

    // Words put in gina's mouth (gamma serves no such post).
    let forged = json!({"id": gamma.url("/p/forged"), "type": "Page",
        "attributedTo": gina.ap_id(), "name": "gina resigns", "content": "<p>forged</p>",
        "audience": evil.id, "to": [format!("{}/followers", evil.id)]});
    let r = Hostile {
        alpha,
        beta,
        olga,
        bert,
        gina,
        evil,
        encoded,
        follow,
        inbox,
        forged,
    };
    a_pending_request_is_not_a_membership(&r).await;
    a_third_hosts_post_without_proof_is_refused(&r).await;
    an_id_on_betas_own_domain_is_refused(&r).await;
    a_relayed_update_never_replaces_a_local_post(&r).await;
    a_plain_announce_of_another_article_is_not_filed(&r).await;
}

/// 1. A pending request to join is not a membership: nothing is replicated.
async fn a_pending_request_is_not_a_membership(r: &Hostile) {
    let Hostile { beta, evil, .. } = r;
    let bert = r.bert.clone();
    let gina = r.gina.clone();
    let follow = r.follow.clone();
    let inbox = r.inbox.clone();
    let forged = r.forged.clone();
    let (status, body) = evil
        .send(
            &inbox,
            &evil.announce(1, create(&gina.ap_id(), forged.clone())),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(held(beta, &evil.id).await.is_empty());

    // The group accepts bert.
    let accept = json!({"id": format!("{}/accepts/1", evil.server.base), "type": "Accept",
        "actor": evil.id, "object": follow});
    let (status, body) = evil.send(&beta.url("/u/bert/inbox"), &accept).await;
    assert_eq!(status, 202, "{body}");
    eventually(WAIT, "bert's membership is accepted", || async {
        beta.state
            .db
            .membership(&evil.id, &bert.ap_id())
            .await
            .expect("db")
            .filter(|m| m.state == "accepted")
    })
    .await;
}

/// 2. A third host's post without its author's proof is fetched from its origin, which
///    has no such post: refused, nothing stored.
async fn a_third_hosts_post_without_proof_is_refused(r: &Hostile) {
    let Hostile { beta, evil, .. } = r;
    let gina = r.gina.clone();
    let inbox = r.inbox.clone();
    let forged = r.forged.clone();
    let (status, body) = evil
        .send(
            &inbox,
            &evil.announce(2, create(&gina.ap_id(), forged.clone())),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("origin")));
    // A proof by someone else's key does not help either.
    let mut self_proven = forged.clone();
    roundtable::activitypub::proof::sign(
        &mut self_proven,
        &format!("{}#main-key", evil.id),
        &roundtable::activitypub::keys::PrivateKey::from_pem(&evil.server.keys.private_pem)
            .expect("key"),
        "2026-12-01T00:00:00Z",
    )
    .expect("sign");
    let (status, _) = evil
        .send(
            &inbox,
            &evil.announce(3, create(&gina.ap_id(), self_proven)),
        )
        .await;
    assert_eq!(status, 400);
    assert!(held(beta, &evil.id).await.is_empty());
}

/// 3. An id on beta's own domain, claimed from outside.
async fn an_id_on_betas_own_domain_is_refused(r: &Hostile) {
    let Hostile { beta, evil, .. } = r;
    let bert = r.bert.clone();
    let inbox = r.inbox.clone();
    let claimed = json!({"id": beta.url("/p/planted"), "type": "Page",
        "attributedTo": bert.ap_id(), "name": "bert's confession", "content": "<p>planted</p>",
        "audience": evil.id, "to": [format!("{}/followers", evil.id)]});
    let (status, body) = evil
        .send(&inbox, &evil.announce(4, create(&bert.ap_id(), claimed)))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(beta
        .state
        .db
        .post_by_ap_id(&beta.url("/p/planted"))
        .await
        .expect("db")
        .is_none());
}

/// 4. A relayed Update never replaces a post written here.
async fn a_relayed_update_never_replaces_a_local_post(r: &Hostile) {
    let Hostile { beta, evil, .. } = r;
    let bert = r.bert.clone();
    let encoded = r.encoded.clone();
    let inbox = r.inbox.clone();
    let encoded_handle = encoded.clone();
    let own = thread(
        &bert,
        &format!("/communities/{encoded_handle}/threads"),
        "My own words",
    )
    .await;
    let rewritten = json!({"id": own, "type": "Page", "attributedTo": bert.ap_id(),
        "name": "My own words", "content": "<p>rewritten by the group</p>",
        "audience": evil.id, "to": [format!("{}/followers", evil.id)]});
    let update = json!({"id": format!("{own}/update-by-evil"), "type": "Update",
        "actor": bert.ap_id(), "object": rewritten});
    let (status, body) = evil.send(&inbox, &evil.announce(5, update)).await;
    assert!(status < 300, "{status} {body}");
    let stored = beta
        .state
        .db
        .post_by_ap_id(&own)
        .await
        .expect("db")
        .expect("own post");
    assert!(stored.local);
    assert!(
        stored.content.contains("My own words"),
        "{}",
        stored.content
    );
}

/// 5. A plain announce of another community's article does not file it here.
async fn a_plain_announce_of_another_article_is_not_filed(r: &Hostile) {
    let Hostile {
        alpha, beta, evil, ..
    } = r;
    let olga = r.olga.clone();
    let inbox = r.inbox.clone();
    let (status, _) = olga
        .post("/communities", json!({"slug": "open", "title": "Open"}))
        .await;
    assert_eq!(status, 201);
    let (status, article) = olga
        .post(
            "/communities/open/articles",
            json!({"title": "Runbook", "content": "Step one."}),
        )
        .await;
    assert_eq!(status, 201, "{article}");
    let article_ap = article["ap_id"].as_str().expect("ap_id").to_string();
    let (status, body) = evil
        .send(&inbox, &evil.announce(6, json!(article_ap)))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(beta
        .state
        .db
        .article_by_ap_id(&article_ap)
        .await
        .expect("db")
        .is_none());
    assert!(alpha
        .state
        .db
        .article_by_ap_id(&article_ap)
        .await
        .expect("db")
        .is_some());
}

/// The board's nodes and users, and the hostile group bert asked to join, with what the
/// steps send it.
struct Hostile {
    alpha: Node,
    beta: Node,
    olga: ApiUser,
    bert: ApiUser,
    gina: ApiUser,
    evil: EvilGroup,
    encoded: String,
    follow: Value,
    inbox: String,
    forged: Value,
}

/// The honest path: a member's post in a confidential community travels with its author's
/// proof, so a third node takes it from the community's relay (the author's node would not
/// serve it to that node).
#[tokio::test]
async fn a_members_post_reaches_other_member_nodes_with_its_authors_proof() {
    let t = board().await;
    admit(&t.olga, &t.gina, &t.handle).await;
    let posted = thread(
        &t.bert,
        &format!("/communities/{}/threads", t.handle),
        "From beta",
    )
    .await;
    eventually(WAIT, "gamma gets bert's thread", || async {
        held(&t.gamma, &t.community)
            .await
            .contains(&posted)
            .then_some(())
    })
    .await;
    let hosted = t
        .alpha
        .state
        .db
        .post_by_ap_id(&posted)
        .await
        .expect("db")
        .expect("on alpha");
    let signed: Value =
        serde_json::from_str(hosted.signed_object.as_deref().expect("kept as signed"))
            .expect("json");
    assert_eq!(
        signed["proof"]["verificationMethod"],
        format!("{}#main-key", t.bert.ap_id())
    );
    // beta would not have served it to gamma.
    let err = t
        .gamma
        .state
        .fetch(&url::Url::parse(&posted).expect("url"))
        .await
        .expect_err("beta serves it to alpha only");
    assert!(err.to_string().contains("403"), "{err}");
}
