//! Issue: partner federation (the policy core: modes, partners, blocks, enforcement).

use crate::{
    discussions::federation::{three_nodes, Three},
    harness::{eventually, http, sign::Post, ApiUser, Node},
};
use roundtable::metrics::Metrics;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) mod confidential;
mod domains;
mod handshake;
mod moderation;

const WAIT: Duration = Duration::from_secs(20);

/// A node that takes `per_minute` verified activities per sending host, `burst` at once.
fn inbox_limits(per_minute: u32, burst: u32) -> crate::harness::NodeOptions {
    crate::harness::NodeOptions {
        env: vec![
            (
                "ROUNDTABLE__FEDERATION__INBOX_RATE_PER_MINUTE".into(),
                per_minute.to_string(),
            ),
            (
                "ROUNDTABLE__FEDERATION__INBOX_BURST".into(),
                burst.to_string(),
            ),
        ],
        ..Default::default()
    }
}

async fn admin(node: &Node, name: &str) -> ApiUser {
    let mut user = node.api_user(name).await;
    roundtable::service::accounts::create_user(
        &node.state.db,
        &format!("{name}_admin"),
        None,
        true,
    )
    .await
    .expect("admin");
    user.token = roundtable::service::accounts::create_token(
        &node.state.db,
        &format!("{name}_admin"),
        "read write admin",
    )
    .await
    .expect("token");
    user
}

#[tokio::test]
async fn an_allowlist_refuses_and_never_contacts_non_partners_and_changes_apply_at_once() {
    let t = three_nodes().await;
    let root = admin(&t.alpha, "root").await;

    only_admins_set_the_policy(&t, &root).await;
    let (follow, gina_key, fetched_before) =
        gammas_inbox_post_is_refused_before_its_key_is_fetched(&t).await;
    alpha_never_sends_gamma_anything(&t, fetched_before).await;
    gammas_post_is_refused_and_appears_nowhere(&t).await;
    back_to_open_gamma_takes_part_at_once(&t, &root).await;
    a_block_applies_in_every_mode(&t, &root, follow, gina_key).await;
    every_change_is_audited(&t, &root).await;
}

/// Only administrators with an admin-scoped token set the policy.
async fn only_admins_set_the_policy(t: &Three, root: &ApiUser) {
    let (status, _) = t
        .olga
        .put("/admin/federation", json!({"mode": "allowlist"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = root
        .put("/admin/federation", json!({"mode": "lottery"}))
        .await;
    assert_eq!(status, 422);
    let (status, body) = root
        .post(
            "/admin/instances",
            json!({"domain": t.beta.domain, "state": "partner"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = root
        .put("/admin/federation", json!({"mode": "allowlist"}))
        .await;
    assert_eq!(status, 200);
    let (_, listed) = root.get("/admin/instances").await;
    assert_eq!(listed["instances"][0]["domain"], t.beta.domain.as_str());
}

/// gamma's inbox POST is refused before its key is fetched.
async fn gammas_inbox_post_is_refused_before_its_key_is_fetched(t: &Three) -> (Value, String, u64) {
    let gina_key = t
        .gamma
        .state
        .db
        .local_actor_by_name("gina")
        .await
        .expect("db")
        .expect("gina")
        .private_key_pem;
    let follow = json!({
        "id": t.gamma.url("/activities/follow/again"),
        "type": "Follow",
        "actor": t.gina.ap_id(),
        "object": t.alpha.url("/c/practice"),
    });
    let fetched_before = Metrics::get(&t.gamma.state.metrics.inbox_posts);
    let (status, body) = Post::new(
        &t.alpha.url("/inbox"),
        &follow,
        &t.gamma.url("/u/gina#main-key"),
        &gina_key,
    )
    .send(&http())
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("does not federate")));
    (follow, gina_key, fetched_before)
}

/// A new thread on alpha reaches beta, and alpha never sends gamma anything.
async fn alpha_never_sends_gamma_anything(t: &Three, fetched_before: u64) {
    let gamma_posts = Metrics::get(&t.gamma.state.metrics.inbox_posts);
    let (_, thread) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Partners only", "content": "x"}),
        )
        .await;
    let ap_id = thread["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "beta gets the thread", || async {
        t.bert.thread_by_ap_id(&t.handle, &ap_id).await
    })
    .await;
    let refused = eventually(WAIT, "the job for gamma ends unsent", || async {
        let jobs = t.alpha.state.db.delivery_jobs().await.ok()?;
        jobs.into_iter()
            .find(|j| j.host == t.gamma.domain && j.state == "failed")
    })
    .await;
    assert!(refused
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("does not federate")));
    assert_eq!(
        Metrics::get(&t.gamma.state.metrics.inbox_posts),
        gamma_posts,
        "no request reached gamma"
    );
    assert_eq!(fetched_before, gamma_posts);
}

/// gamma's post into the community is refused at alpha and appears nowhere.
async fn gammas_post_is_refused_and_appears_nowhere(t: &Three) {
    let (status, blocked) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "From gamma", "content": "x"}),
        )
        .await;
    assert_eq!(
        status, 201,
        "stored on gamma, then refused by alpha: {blocked}"
    );
    let job = eventually(WAIT, "gamma's delivery refused", || async {
        let jobs = t.gamma.state.db.delivery_jobs().await.ok()?;
        jobs.into_iter()
            .find(|j| j.activity_id.contains("create") && j.state == "failed")
    })
    .await;
    assert!(
        job.last_error.as_deref().is_some_and(|e| e.contains("403")),
        "{job:?}"
    );
    assert!(t
        .olga
        .thread_by_ap_id("practice", blocked["ap_id"].as_str().expect("id"))
        .await
        .is_none());
}

/// Back to open: gamma takes part again at once, without a restart.
async fn back_to_open_gamma_takes_part_at_once(t: &Three, root: &ApiUser) {
    let (status, _) = root.put("/admin/federation", json!({"mode": "open"})).await;
    assert_eq!(status, 200);
    let (_, again) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Welcome back", "content": "y"}),
        )
        .await;
    let again = again["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "alpha accepts gamma again", || async {
        t.olga.thread_by_ap_id("practice", &again).await
    })
    .await;
}

/// A block applies in every mode.
async fn a_block_applies_in_every_mode(t: &Three, root: &ApiUser, follow: Value, gina_key: String) {
    let (status, _) = root
        .post(
            "/admin/instances",
            json!({"domain": t.gamma.domain, "state": "blocked", "reason": "spam"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = Post::new(
        &t.alpha.url("/inbox"),
        &follow,
        &t.gamma.url("/u/gina#main-key"),
        &gina_key,
    )
    .send(&http())
    .await;
    assert_eq!(status, 403);
    let (status, _) = root
        .delete(&format!("/admin/instances/{}", t.gamma.domain))
        .await;
    assert_eq!(status, 204);
    let (status, _) = root
        .delete(&format!("/admin/instances/{}", t.gamma.domain))
        .await;
    assert_eq!(status, 404);
}

/// Every change is in the audit log, newest first, with who made it.
async fn every_change_is_audited(t: &Three, root: &ApiUser) {
    let (status, _) = t.olga.get("/admin/audit").await;
    assert_eq!(status, 403);
    let (status, log) = root.get("/admin/audit").await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<(String, String)> = log["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let gamma = t.gamma.domain.clone();
    let beta = t.beta.domain.clone();
    assert_eq!(
        entries,
        vec![
            ("instance.unlist.blocked".to_string(), gamma.clone()),
            ("instance.blocked".to_string(), gamma),
            ("federation.mode".to_string(), "open".to_string()),
            ("federation.mode".to_string(), "allowlist".to_string()),
            ("instance.partner".to_string(), beta),
        ]
    );
    assert!(log["entries"][0]["actor"]
        .as_str()
        .is_some_and(|a| a.ends_with("/u/root_admin")));
}

#[tokio::test]
async fn authorized_fetch_serves_documents_only_to_signed_allowed_nodes() {
    let alpha = Node::start_with(crate::harness::NodeOptions {
        env: vec![(
            "ROUNDTABLE__FEDERATION__AUTHORIZED_FETCH".into(),
            "true".into(),
        )],
        ..Default::default()
    })
    .await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    olga.post("/communities", json!({"slug": "guild"})).await;
    let client = http();
    let get = |url: String, accept: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(url)
                .header("accept", accept)
                .send()
                .await
                .expect("GET")
                .status()
                .as_u16()
        }
    };
    let ap = "application/activity+json";
    assert_eq!(
        get(alpha.url("/u/olga"), ap).await,
        401,
        "unsigned fetches are refused"
    );
    assert_eq!(get(alpha.url("/c/guild/outbox"), ap).await, 401);
    assert_eq!(
        get(alpha.url("/actor"), ap).await,
        200,
        "the instance actor stays public"
    );
    assert_eq!(
        get(alpha.url("/u/olga"), "text/html").await,
        200,
        "so do web pages"
    );
    let wf = format!("/.well-known/webfinger?resource=acct:olga@{}", alpha.domain);
    assert_eq!(get(alpha.url(&wf), "*/*").await, 200);

    // Another node's fetches are signed by its instance actor: they pass.
    let url = url::Url::parse(&alpha.url("/c/guild")).expect("url");
    let doc = beta.state.fetch(&url).await.expect("signed fetch passes");
    assert_eq!(doc["type"], "Group");
    // And joining works end to end.
    let bert = beta.api_user("bert").await;
    let (status, _) = bert
        .post(
            &format!("/communities/guild@{}/join", alpha.domain),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "accepted", || async {
        let (_, c) = bert
            .get(&format!("/communities/guild@{}", alpha.domain))
            .await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;

    // A node outside the allowlist is refused even when it signs.
    alpha
        .state
        .db
        .set_federation_mode("allowlist")
        .await
        .expect("mode");
    let err = beta.state.fetch(&url).await.expect_err("refused");
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn removing_a_partner_with_purge_deletes_its_replicated_content() {
    let t = three_nodes().await;
    let root = admin(&t.beta, "root").await;
    let (_, thread) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Zanzibar notes", "content": "x"}),
        )
        .await;
    let thread = thread["ap_id"].as_str().expect("id").to_string();
    let (_, article) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Zanzibar guide", "content": "y"}),
        )
        .await;
    let article = article["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "beta holds the replica", || async {
        let (_, found) = t.bert.get("/search?q=zanzibar").await;
        (found["results"].as_array().map(Vec::len) == Some(2)).then_some(())
    })
    .await;
    assert!(t.bert.thread_by_ap_id(&t.handle, &thread).await.is_some());

    let (status, _) = root
        .post(
            "/admin/instances",
            json!({"domain": t.alpha.domain, "state": "partner"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = root
        .delete(&format!("/admin/instances/{}?purge=true", t.alpha.domain))
        .await;
    assert_eq!(status, 204);

    let (_, found) = t.bert.get("/search?q=zanzibar").await;
    assert_eq!(
        found["results"].as_array().map(Vec::len),
        Some(0),
        "{found}"
    );
    assert!(t
        .beta
        .state
        .db
        .post_by_ap_id(&thread)
        .await
        .expect("db")
        .is_none());
    assert!(t
        .beta
        .state
        .db
        .article_by_ap_id(&article)
        .await
        .expect("db")
        .is_none());
    assert!(t
        .beta
        .state
        .db
        .remote_actor(&t.alpha.url("/c/practice"))
        .await
        .expect("db")
        .is_none());
    let memberships = t
        .beta
        .state
        .db
        .members(&t.alpha.url("/c/practice"), None)
        .await
        .expect("db");
    assert!(memberships.is_empty());
    // Content from elsewhere stays: bert's own user is untouched.
    assert!(t
        .beta
        .state
        .db
        .local_actor_by_name("bert")
        .await
        .expect("db")
        .is_some());
}

#[tokio::test]
async fn a_host_over_its_inbox_rate_gets_429_with_retry_after() {
    let sender = Node::start().await;
    let alice = sender.user("alice").await;
    let receiver = Node::start_with(inbox_limits(6, 2)).await;
    let other = Node::start().await;
    let olly = other.user("olly").await;
    let post = |node: &Node, name: &str, pem: &str, n: u32| {
        let actor = node.url(&format!("/u/{name}"));
        Post::new(
            &receiver.url("/inbox"),
            &json!({"id": format!("{actor}/activities/{n}"), "type": "Like", "actor": actor, "object": "https://x.example/p/1"}),
            &format!("{actor}#main-key"),
            pem,
        )
    };
    let client = http();
    for n in 0..2 {
        let (status, _, body) = post(&sender, "alice", &alice.private_key_pem, n)
            .send_full(&client)
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, headers, body) = post(&sender, "alice", &alice.private_key_pem, 3)
        .send_full(&client)
        .await;
    assert_eq!(status, 429, "{body}");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=10).contains(&retry), "{retry}");
    // Another host is not affected.
    let (status, _, body) = post(&other, "olly", &olly.private_key_pem, 1)
        .send_full(&client)
        .await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn activities_refused_with_429_arrive_once_the_sender_retries() {
    let alpha = Node::start_with(inbox_limits(60, 2)).await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let handle = format!("practice@{}", alpha.domain);
    let (status, _) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "bert joins", || async {
        let (_, c) = bert.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;

    // Eight threads at once: more than the burst of 2 at one per second.
    let mut sent = Vec::new();
    for n in 0..8 {
        let (status, body) = bert
            .post(
                &format!("/communities/{handle}/threads"),
                json!({"title": format!("Burst {n}"), "content": "x"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        sent.push(body["ap_id"].as_str().expect("id").to_string());
    }
    let jobs = eventually(
        Duration::from_secs(40),
        "every thread delivered",
        || async {
            let jobs = beta.state.db.delivery_jobs().await.ok()?;
            let creates: Vec<_> = jobs
                .into_iter()
                .filter(|j| j.host == alpha.domain && j.activity_id.contains("/create/"))
                .collect();
            (creates.len() == 8 && creates.iter().all(|j| j.state == "delivered"))
                .then_some(creates)
        },
    )
    .await;
    let retried = jobs.iter().filter(|j| j.attempts > 1).count();
    assert!(
        retried >= 1,
        "some deliveries met 429 and were retried: {jobs:?}"
    );
    for ap_id in &sent {
        assert!(
            olga.thread_by_ap_id("practice", ap_id).await.is_some(),
            "{ap_id} arrived"
        );
    }
    assert_eq!(olga.threads("practice").await.len(), 8, "each exactly once");
}

#[tokio::test]
async fn processes_of_one_node_share_its_inbox_rate_limit() {
    let sender = Node::start().await;
    let alice = sender.user("alice").await;
    let limits = || inbox_limits(6, 2);
    let first = Node::start_with(limits()).await;
    // A second process of the same node: same database, same domain.
    let second = Node::start_with(crate::harness::NodeOptions {
        db: Some(first.db.clone()),
        domain: Some(first.domain.clone()),
        ..limits()
    })
    .await;
    let actor = sender.url("/u/alice");
    // Both processes serve the node's domain, as behind a load balancer.
    let post = |target: &Node, n: u32| {
        let mut post = Post::new(
            &format!("http://{}/inbox", target.addr),
            &json!({"id": format!("{actor}/activities/{n}"), "type": "Like", "actor": actor,
                    "object": "https://x.example/p/1"}),
            &format!("{actor}#main-key"),
            &alice.private_key_pem,
        );
        post.host_header = Some(first.domain.clone());
        post
    };
    let client = http();
    for (n, target) in [(1, &first), (2, &second)] {
        let (status, _, body) = post(target, n).send_full(&client).await;
        assert_eq!(status, 202, "{body}");
    }
    for (n, target) in [(3, &first), (4, &second)] {
        let (status, headers, body) = post(target, n).send_full(&client).await;
        assert_eq!(status, 429, "the budget is shared: {body}");
        let retry: u64 = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=10).contains(&retry), "{retry}");
    }
}
