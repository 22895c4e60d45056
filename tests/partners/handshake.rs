//! The partnership handshake, driven by both admins through the command line, and what an
//! allowlist refuses before it: signed fetches from non-partners and relayed content.

use super::WAIT;
use crate::{
    discussions::federation::{three_nodes, Three},
    harness::{eventually, http, sign::Post, ApiUser},
};
use serde_json::json;
use url::Url;

#[tokio::test]
async fn a_partnership_handshake_through_the_cli_lets_a_new_partner_federate() {
    let t = three_nodes().await;
    olga_follows_the_beta_lab(&t).await;
    alpha_federates_with_partners_only(&t).await;
    beta_proposes_and_alpha_agrees_at_once(&t).await;
    a_non_partner_cannot_fetch(&t).await;
    alpha_keeps_only_relayed_posts_by_partners(&t).await;
    impossible_proposals_fail_in_one_line(&t).await;
    alpha_proposes_and_gamma_accepts(&t).await;
    gamma_and_alpha_federate(&t).await;
    alpha_ends_the_partnership(&t).await;
    a_proposal_is_withdrawn(&t).await;
    let groot = alpha_declines_gammas_api_proposal(&t).await;
    listing_a_node_that_asked_answers_it(&t, &groot).await;
    gammas_admin_accepts_beta_through_the_api(&t, &groot).await;
}

/// beta hosts a lab that olga (alpha) follows, so alpha takes what the lab announces.
async fn olga_follows_the_beta_lab(t: &Three) {
    let beta_domain = t.beta.domain.clone();
    let (status, body) = t
        .bert
        .post("/communities", json!({"slug": "lab", "title": "Beta lab"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let lab_handle = format!("lab@{beta_domain}");
    let (status, _) = t
        .olga
        .post(&format!("/communities/{lab_handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "olga joins the lab", || async {
        let (_, c) = t.olga.get(&format!("/communities/{lab_handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;
}

/// alpha's admin: partners only, and beta is one.
async fn alpha_federates_with_partners_only(t: &Three) {
    let beta_domain = t.beta.domain.clone();
    for args in [
        vec!["partner", "add", beta_domain.as_str()],
        vec!["federation", "mode", "allowlist"],
    ] {
        let out = t.alpha.cli(&args).await;
        assert!(out.ok, "{args:?}: {}", out.stderr);
    }
}

/// beta, already listed by hand on alpha, proposes too: alpha agrees at once.
async fn beta_proposes_and_alpha_agrees_at_once(t: &Three) {
    let alpha_domain = t.alpha.domain.clone();
    let out = t.beta.cli(&["partner", "propose", &alpha_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "beta lists alpha as a partner", || async {
        let out = t.beta.cli(&["partner", "list"]).await;
        out.stdout.contains(&alpha_domain).then_some(())
    })
    .await;
}

/// gamma's signed fetch of alpha's content is refused (its inbox POST and follow are
/// covered by the allowlist test).
async fn a_non_partner_cannot_fetch(t: &Three) {
    let outbox = Url::parse(&t.alpha.url("/c/practice/outbox")).expect("url");
    let err = t
        .gamma
        .state
        .fetch(&outbox)
        .await
        .expect_err("alpha refuses gamma");
    assert!(err.to_string().contains("403"), "{err}");
    assert!(
        t.beta.state.fetch(&outbox).await.is_ok(),
        "a partner reads it"
    );
}

/// beta's lab relays two posts to alpha: one by bert, one by gina on gamma. alpha keeps
/// bert's and drops gina's.
async fn alpha_keeps_only_relayed_posts_by_partners(t: &Three) {
    let lab_key = t
        .beta
        .state
        .db
        .local_actor_by_name("lab")
        .await
        .expect("db")
        .expect("lab")
        .private_key_pem;
    let lab = t.beta.url("/c/lab");
    let relay = |n: u32, author: &str, author_base: &str| {
        let object = format!("{author_base}/p/relayed-{n}");
        json!({
            "id": format!("{lab}/activities/announce/{n}"),
            "type": "Announce",
            "actor": lab,
            "to": [lab, "https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{author_base}/activities/create/{n}"),
                "type": "Create",
                "actor": author,
                "object": {
                    "id": object, "type": "Page", "attributedTo": author,
                    "name": format!("Relayed {n}"), "content": "<p>relayed</p>",
                    "to": [lab], "audience": lab,
                },
            },
        })
    };
    for (n, author, base) in [
        (1, t.bert.ap_id(), t.beta.base.clone()),
        (2, t.gina.ap_id(), t.gamma.base.clone()),
    ] {
        let (status, body) = Post::new(
            &t.alpha.url("/inbox"),
            &relay(n, &author, &base),
            &format!("{lab}#main-key"),
            &lab_key,
        )
        .send(&http())
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let db = &t.alpha.state.db;
    let kept = t.beta.url("/p/relayed-1");
    let dropped = t.gamma.url("/p/relayed-2");
    assert!(db.post_by_ap_id(&kept).await.expect("db").is_some());
    assert!(db.post_by_ap_id(&dropped).await.expect("db").is_none());
}

/// Proposals that cannot work fail with one line and change nothing.
async fn impossible_proposals_fail_in_one_line(t: &Three) {
    let alpha_domain = t.alpha.domain.clone();
    for (args, needle) in [
        (
            vec!["partner", "propose", "nowhere.invalid"],
            "cannot reach nowhere.invalid",
        ),
        (vec!["partner", "propose", alpha_domain.as_str()], "itself"),
        (
            vec!["partner", "propose", "not a domain"],
            "is not a domain",
        ),
    ] {
        let out = t.alpha.cli(&args).await;
        assert!(!out.ok, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
    }
    assert!(t
        .alpha
        .cli(&["partner", "requests"])
        .await
        .stdout
        .is_empty());
}

/// The handshake: alpha's admin proposes, gamma's admin sees the request and accepts.
async fn alpha_proposes_and_gamma_accepts(t: &Three) {
    let alpha_domain = t.alpha.domain.clone();
    let gamma_domain = t.gamma.domain.clone();
    let out = t.gamma.cli(&["partner", "accept", &alpha_domain]).await;
    assert!(
        !out.ok && out.stderr.contains("no partnership request"),
        "{out:?}"
    );
    let out = t.alpha.cli(&["partner", "propose", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    let out = t.alpha.cli(&["partner", "requests"]).await;
    assert!(
        out.stdout.contains(&format!("outgoing\t{gamma_domain}")),
        "{out:?}"
    );
    eventually(WAIT, "gamma's admin sees the request", || async {
        let out = t.gamma.cli(&["partner", "requests"]).await;
        out.stdout
            .contains(&format!("incoming\t{alpha_domain}"))
            .then_some(())
    })
    .await;
    let out = t.gamma.cli(&["partner", "accept", &alpha_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "alpha lists gamma as a partner", || async {
        let out = t.alpha.cli(&["partner", "list"]).await;
        out.stdout.contains(&gamma_domain).then_some(())
    })
    .await;
    let out = t.gamma.cli(&["partner", "list"]).await;
    assert!(out.stdout.contains(&alpha_domain), "{out:?}");
    assert!(t
        .alpha
        .cli(&["partner", "requests"])
        .await
        .stdout
        .is_empty());
}

/// gamma now federates with alpha: gina's thread in alpha's community arrives, and
/// olga's new thread reaches gamma.
async fn gamma_and_alpha_federate(t: &Three) {
    let (status, posted) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Partners at last", "content": "hello"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let gina_thread = posted["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "alpha takes gina's thread", || async {
        t.olga.thread_by_ap_id("practice", &gina_thread).await
    })
    .await;
    let (_, posted) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Welcome, gamma", "content": "x"}),
        )
        .await;
    let olga_thread = posted["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "gamma gets olga's thread", || async {
        t.gina.thread_by_ap_id(&t.handle, &olga_thread).await
    })
    .await;
}

/// Either side ends it: alpha's admin removes gamma, and gamma's listing goes too.
async fn alpha_ends_the_partnership(t: &Three) {
    let alpha_domain = t.alpha.domain.clone();
    let gamma_domain = t.gamma.domain.clone();
    let out = t.alpha.cli(&["partner", "remove", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "gamma hears the partnership ended", || async {
        let out = t.gamma.cli(&["partner", "list"]).await;
        (!out.stdout.contains(&alpha_domain)).then_some(())
    })
    .await;
    let log: Vec<String> = t
        .gamma
        .state
        .db
        .audit_log(None, 50)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        log,
        vec![
            "partnership.ended",
            "partnership.accept",
            "partnership.requested"
        ]
    );
}

/// A proposal can be withdrawn before it is answered.
async fn a_proposal_is_withdrawn(t: &Three) {
    let alpha_domain = t.alpha.domain.clone();
    let gamma_domain = t.gamma.domain.clone();
    let out = t.alpha.cli(&["partner", "propose", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "gamma sees the new request", || async {
        let out = t.gamma.cli(&["partner", "requests"]).await;
        out.stdout.contains(&alpha_domain).then_some(())
    })
    .await;
    let out = t.alpha.cli(&["partner", "remove", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "the request is gone on gamma", || async {
        let out = t.gamma.cli(&["partner", "requests"]).await;
        out.stdout.is_empty().then_some(())
    })
    .await;
    let out = t.gamma.cli(&["partner", "accept", &alpha_domain]).await;
    assert!(!out.ok, "nothing left to accept: {out:?}");
}

/// gamma's admin proposes through the API; alpha's admin declines on the command line.
async fn alpha_declines_gammas_api_proposal(t: &Three) -> ApiUser {
    let alpha_domain = t.alpha.domain.clone();
    let gamma_domain = t.gamma.domain.clone();
    let groot = super::admin(&t.gamma, "groot").await;
    let (status, body) = groot
        .post("/admin/partnerships", json!({"domain": alpha_domain}))
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (202, Some("proposed")),
        "{body}"
    );
    eventually(WAIT, "alpha sees gamma's request", || async {
        let out = t.alpha.cli(&["partner", "requests"]).await;
        out.stdout
            .contains(&format!("incoming\t{gamma_domain}"))
            .then_some(())
    })
    .await;
    let out = t.alpha.cli(&["partner", "reject", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "gamma hears the refusal", || async {
        let (_, p) = groot.get("/admin/partnerships").await;
        (p["partnerships"] == json!([])).then_some(())
    })
    .await;
    assert!(t
        .gamma
        .state
        .db
        .audit_log(None, 5)
        .await
        .expect("audit")
        .iter()
        .any(|e| e.action == "partnership.rejected"));
    groot
}

/// Listing a node that asked (here through gamma's admin API) answers its request.
async fn listing_a_node_that_asked_answers_it(t: &Three, groot: &ApiUser) {
    let alpha_domain = t.alpha.domain.clone();
    let gamma_domain = t.gamma.domain.clone();
    let out = t.alpha.cli(&["partner", "propose", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    eventually(WAIT, "gamma sees the third request", || async {
        let (_, p) = groot.get("/admin/partnerships").await;
        (p["partnerships"][0]["state"] == "requested").then_some(())
    })
    .await;
    let (status, body) = groot
        .post(
            "/admin/instances",
            json!({"domain": alpha_domain, "state": "partner"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    eventually(WAIT, "alpha hears the acceptance", || async {
        let out = t.alpha.cli(&["partner", "list"]).await;
        out.stdout.contains(&gamma_domain).then_some(())
    })
    .await;
}

/// The admin API's own answer: beta asks gamma, gamma's admin accepts with the API.
async fn gammas_admin_accepts_beta_through_the_api(t: &Three, groot: &ApiUser) {
    let gamma_domain = t.gamma.domain.clone();
    let out = t.beta.cli(&["partner", "propose", &gamma_domain]).await;
    assert!(out.ok, "{out:?}");
    let beta_domain = t.beta.domain.clone();
    eventually(WAIT, "gamma sees beta's request", || async {
        let (_, p) = groot.get("/admin/partnerships").await;
        (p["partnerships"][0]["domain"] == beta_domain.as_str()).then_some(())
    })
    .await;
    let (status, _) = t
        .gina
        .post(
            &format!("/admin/partnerships/{beta_domain}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "admins only");
    let (status, body) = groot
        .post(
            &format!("/admin/partnerships/{beta_domain}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("partner")),
        "{body}"
    );
    eventually(WAIT, "beta hears gamma's acceptance", || async {
        let out = t.beta.cli(&["partner", "list"]).await;
        out.stdout.contains(&gamma_domain).then_some(())
    })
    .await;
}
