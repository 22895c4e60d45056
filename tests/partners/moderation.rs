//! Moderation across nodes: reports reach whoever can act on them, the queue, and suspensions.

use super::{admin, WAIT};
use crate::{
    discussions::federation::{three_nodes, Three},
    harness::{eventually, ApiUser},
};
use serde_json::{json, Value};

async fn thread(user: &crate::harness::ApiUser, path: &str, title: &str) -> Value {
    let (status, body) = user
        .post(path, json!({"title": title, "content": "text"}))
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn a_report_filed_on_beta_reaches_alpha_moderators_and_its_resolution_is_audited() {
    let t = three_nodes().await;
    let root = admin(&t.alpha, "root").await;
    let gamma_root = admin(&t.gamma, "groot").await;
    let r = gina_replies_to_olgas_thread_on_gamma(&t).await;
    bad_reports_get_clear_errors(&t, &r).await;
    bert_reports_the_thread_and_the_reply(&t, &r).await;
    let about_thread = alphas_queue_has_both_reports(&t, &r).await;
    ginas_node_hears_about_her_reply(&t, &gamma_root, &r).await;
    let id = only_moderators_and_admins_see_a_queue(&t, &about_thread).await;
    olga_resolves_it_and_the_queue_moves_on(&t, id).await;
    the_resolution_is_audited(&t, &root, &r).await;
}

/// olga's thread reaches beta and gamma, and gina replies to it on gamma.
async fn gina_replies_to_olgas_thread_on_gamma(t: &Three) -> Reported {
    let posted = thread(&t.olga, "/communities/practice/threads", "Customer names").await;
    let ap_id = posted["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = eventually(WAIT, "beta has the thread", || async {
        t.bert.thread_by_ap_id(&t.handle, &ap_id).await
    })
    .await;
    let on_gamma = eventually(WAIT, "gamma has the thread", || async {
        t.gina.thread_by_ap_id(&t.handle, &ap_id).await
    })
    .await;
    let (status, reply) = t
        .gina
        .post(
            &format!("/threads/{}/replies", on_gamma["id"]),
            json!({"content": "Here is the customer's name: ACME"}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let reply_id = reply["ap_id"].as_str().expect("ap_id").to_string();
    eventually(WAIT, "beta has gina's reply", || async {
        let db = &t.beta.state.db;
        db.post_by_ap_id(&reply_id).await.ok().flatten()
    })
    .await;
    Reported {
        ap_id,
        on_beta,
        reply_id,
    }
}

/// Bad reports get clear errors.
async fn bad_reports_get_clear_errors(t: &Three, r: &Reported) {
    let ap_id = r.ap_id.clone();
    let (status, body) = t
        .bert
        .post("/reports", json!({"object": ap_id, "reason": "  "}))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = t
        .bert
        .post(
            "/reports",
            json!({"object": "https://nowhere.invalid/p/1", "reason": "x"}),
        )
        .await;
    assert_eq!(status, 404);
}

/// bert reports the thread and gina's reply from beta.
async fn bert_reports_the_thread_and_the_reply(t: &Three, r: &Reported) {
    let ap_id = r.ap_id.clone();
    let on_beta = r.on_beta.clone();
    let reply_id = r.reply_id.clone();
    let (status, filed) = t
        .bert
        .post(
            "/reports",
            json!({"object": ap_id, "reason": "Names a customer; <b>please</b> remove"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["object_kind"], "thread");
    assert_eq!(filed["origin"], "local");
    assert_eq!(
        filed["state"], "forwarded",
        "alpha acts on it; beta keeps the record"
    );
    let beta_root = super::admin(&t.beta, "broot").await;
    let (_, beta_queue) = beta_root.get("/reports?state=all").await;
    assert_eq!(beta_queue["reports"], json!([]), "{beta_queue}");
    let (status, _) = t
        .bert
        .post(
            "/reports",
            json!({"object": reply_id, "reason": "Repeats the name"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(on_beta["ap_id"], ap_id.as_str());
}

/// alpha's moderation queue has both, as reported by bert.
async fn alphas_queue_has_both_reports(t: &Three, r: &Reported) -> Value {
    let ap_id = r.ap_id.clone();
    let queue = eventually(WAIT, "alpha's queue has both reports", || async {
        let (_, q) = t.olga.get("/reports").await;
        let list = q["reports"].as_array().cloned().unwrap_or_default();
        (list.len() == 2).then_some(list)
    })
    .await;
    let about_thread = queue
        .iter()
        .find(|r| r["object"] == ap_id.as_str())
        .expect("thread report");
    assert_eq!(about_thread["reporter"], t.bert.ap_id().as_str());
    assert_eq!(about_thread["origin"], "remote");
    assert_eq!(
        about_thread["reason"], "Names a customer; please remove",
        "markup is stripped"
    );
    assert_eq!(
        about_thread["community"],
        t.alpha.url("/c/practice").as_str()
    );
    about_thread.clone()
}

/// gina's own node hears about her reply too, from beta's instance actor (the reporter stays
/// anonymous there).
async fn ginas_node_hears_about_her_reply(t: &Three, gamma_root: &ApiUser, r: &Reported) {
    let reply_id = r.reply_id.clone();
    let at_gamma = eventually(WAIT, "gamma's admin gets the report", || async {
        let (_, q) = gamma_root.get("/reports").await;
        q["reports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["object"] == reply_id.as_str())
            .cloned()
    })
    .await;
    assert_eq!(at_gamma["reporter"], t.beta.url("/actor").as_str());
    assert_eq!(at_gamma["target_actor"], t.gina.ap_id().as_str());
}

/// Only moderators and admins see a queue.
async fn only_moderators_and_admins_see_a_queue(t: &Three, about_thread: &Value) -> i64 {
    let lee = t.alpha.api_user("lee").await;
    for user in [&lee, &t.gina, &t.bert] {
        let (status, _) = user.get("/reports").await;
        assert_eq!(status, 403);
    }
    let id = about_thread["id"].as_i64().expect("id");
    let (status, _) = lee.post(&format!("/reports/{id}/resolve"), json!({})).await;
    assert_eq!(status, 403);
    id
}

/// olga resolves it; a second decision conflicts; the queue moves on.
async fn olga_resolves_it_and_the_queue_moves_on(t: &Three, id: i64) {
    let (status, closed) = t
        .olga
        .post(
            &format!("/reports/{id}/resolve"),
            json!({"note": "Removed the name"}),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "resolved");
    assert_eq!(closed["resolved_by"], t.olga.ap_id().as_str());
    let (status, _) = t
        .olga
        .post(&format!("/reports/{id}/dismiss"), json!({}))
        .await;
    assert_eq!(status, 409);
    let (_, open) = t.olga.get("/reports").await;
    assert_eq!(open["reports"].as_array().map(Vec::len), Some(1));
    let (_, resolved) = t.olga.get("/reports?state=resolved").await;
    assert_eq!(resolved["reports"][0]["id"], id);
    let (status, _) = t.olga.get("/reports?state=maybe").await;
    assert_eq!(status, 422);
}

/// The resolution is in alpha's audit log.
async fn the_resolution_is_audited(t: &Three, root: &ApiUser, r: &Reported) {
    let ap_id = r.ap_id.clone();
    let (_, log) = root.get("/admin/audit").await;
    let entry = log["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["action"] == "report.resolve")
        .cloned()
        .expect("audited");
    assert_eq!(entry["actor"], t.olga.ap_id().as_str());
    assert_eq!(entry["target"], ap_id.as_str());
    assert!(entry["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Removed the name") && d.contains(&t.bert.ap_id())));
}

/// olga's reported thread in alpha's community, as beta shows it, and gina's reply to it.
struct Reported {
    ap_id: String,
    on_beta: Value,
    reply_id: String,
}

#[tokio::test]
async fn suspended_people_are_refused_until_the_suspension_is_lifted() {
    let t = three_nodes().await;
    let root = admin(&t.alpha, "root").await;

    // A remote person: suspended on alpha, their activities are refused there.
    let (status, _) = t
        .olga
        .post("/admin/suspensions", json!({"actor": t.bert.handle()}))
        .await;
    assert_eq!(status, 403, "admins only");
    let (status, body) = root
        .post(
            "/admin/suspensions",
            json!({"actor": t.bert.handle(), "reason": "harassment"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["actor"], t.bert.ap_id().as_str());
    let (_, listed) = root.get("/admin/suspensions").await;
    assert_eq!(listed["suspensions"][0]["actor"], t.bert.ap_id().as_str());
    assert_eq!(listed["suspensions"][0]["reason"], "harassment");
    let refused = thread(
        &t.bert,
        &format!("/communities/{}/threads", t.handle),
        "While suspended",
    )
    .await;
    let job = eventually(WAIT, "alpha refuses bert's thread", || async {
        let jobs = t.beta.state.db.delivery_jobs().await.ok()?;
        jobs.into_iter()
            .find(|j| j.activity_id.contains("create") && j.state == "failed")
    })
    .await;
    assert!(job.last_error.as_deref().is_some_and(|e| e.contains("403")));
    assert!(t
        .olga
        .thread_by_ap_id("practice", refused["ap_id"].as_str().expect("id"))
        .await
        .is_none());

    // A local user, through the command line.
    let lee = t.alpha.api_user("lee").await;
    let out = t
        .alpha
        .cli(&["user", "suspend", "lee", "--reason", "spam"])
        .await;
    assert!(out.ok, "{out:?}");
    let (status, body) = lee.get("/communities/practice").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "this account is suspended: spam");
    let out = t.alpha.cli(&["user", "suspend", "nobody"]).await;
    assert!(
        !out.ok && out.stderr.starts_with("error: no user"),
        "{out:?}"
    );
    let out = t.alpha.cli(&["user", "unsuspend", "lee"]).await;
    assert!(out.ok, "{out:?}");
    let (status, _) = lee.get("/communities/practice").await;
    assert_eq!(status, 200);

    // Lifting bert's suspension lets his next thread in.
    let (status, _) = root
        .delete(&format!("/admin/suspensions?actor={}", t.bert.handle()))
        .await;
    assert_eq!(status, 204);
    let (status, _) = root
        .delete(&format!("/admin/suspensions?actor={}", t.bert.handle()))
        .await;
    assert_eq!(status, 404);
    let again = thread(
        &t.bert,
        &format!("/communities/{}/threads", t.handle),
        "After the suspension",
    )
    .await;
    let again = again["ap_id"].as_str().expect("id").to_string();
    eventually(WAIT, "alpha takes bert's thread again", || async {
        t.olga.thread_by_ap_id("practice", &again).await
    })
    .await;
    let (_, log) = root.get("/admin/audit").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "user.unsuspend",
            "user.unsuspend",
            "user.suspend",
            "user.suspend"
        ]
    );
    // Admins read the same log on the command line.
    let out = t.alpha.cli(&["audit", "--limit", "2"]).await;
    assert!(out.ok, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].contains("\tuser.unsuspend\t") && lines[0].contains(&t.bert.ap_id()));
    assert!(lines[1].contains("\tuser.unsuspend\t") && lines[1].contains("\tcli\t"));
    let out = t.alpha.cli(&["audit", "--limit", "0"]).await;
    assert!(
        !out.ok && out.stderr.starts_with("error: --limit"),
        "{out:?}"
    );
}

#[tokio::test]
async fn captured_flags_from_lemmy_mastodon_and_mbin_reach_the_queue() {
    let alpha = crate::harness::Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let posted = thread(&olga, "/communities/practice/threads", "Flag me").await;
    let post = posted["ap_id"].as_str().expect("ap_id").to_string();
    let community = alpha.url("/c/practice");
    let person = olga.ap_id();
    let fake = crate::harness::fake::FakeServer::start("reporter").await;

    // Each capture keeps its shape; its ids move to the fake server and its targets to alpha.
    let target = |id: &str| {
        if id.contains("/u/") || id.contains("/users/") {
            json!(person)
        } else {
            json!(post)
        }
    };
    let captures = [
        (
            "activitypub/lemmy/activities/community/report_page.json",
            "report this post",
        ),
        (
            "activitypub/mastodon/activities/flag.json",
            "Please take a look at this user and their posts",
        ),
        ("activitypub/mbin/activities/flag.json", "dikjhgasdpas dsaü"),
    ];
    for (n, (path, _)) in captures.iter().enumerate() {
        let mut flag = crate::harness::fixture(path);
        flag["id"] = json!(format!("{}/flags/{n}", fake.base));
        flag["actor"] = json!(fake.actor);
        flag["object"] = match &flag["object"] {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| target(i.as_str().unwrap_or_default()))
                    .collect(),
            ),
            other => target(other.as_str().unwrap_or_default()),
        };
        let to_group = flag.get("audience").is_some();
        flag["to"] = if to_group {
            json!([community])
        } else {
            json!(person)
        };
        if to_group {
            flag["audience"] = json!(community);
        }
        let (status, body) = fake.deliver(&alpha.url("/inbox"), &flag).await;
        assert_eq!(status, 202, "{path}: {body}");
    }
    let (status, queue) = olga.get("/reports").await;
    assert_eq!(status, 200, "{queue}");
    let reports = queue["reports"].as_array().cloned().unwrap_or_default();
    assert_eq!(reports.len(), 3, "{queue}");
    for (_, reason) in &captures {
        let report = reports
            .iter()
            .find(|r| r["reason"] == *reason)
            .unwrap_or_else(|| panic!("{reason}: {queue}"));
        assert_eq!(report["object"], post.as_str(), "the post, not the person");
        assert_eq!(report["object_kind"], "thread");
        assert_eq!(report["community"], community.as_str());
        assert_eq!(report["reporter"], fake.actor.as_str());
        assert_eq!(report["origin"], "remote");
    }

    // olga dismisses one: it leaves the open queue, and the log says so.
    let id = reports[0]["id"].as_i64().expect("id");
    let (status, dismissed) = olga
        .post(
            &format!("/reports/{id}/dismiss"),
            json!({"note": "test report"}),
        )
        .await;
    assert_eq!(status, 200, "{dismissed}");
    assert_eq!(dismissed["state"], "dismissed");
    assert_eq!(dismissed["resolution"], "test report");
    let (_, open) = olga.get("/reports").await;
    assert_eq!(open["reports"].as_array().map(Vec::len), Some(2));
    let (_, closed) = olga.get("/reports?state=dismissed").await;
    assert_eq!(closed["reports"][0]["id"], id);
    let log = alpha.state.db.audit_log(None, 5).await.expect("audit");
    assert!(log
        .iter()
        .any(|e| e.action == "report.dismiss" && e.actor == olga.ap_id() && e.target == post));
}
