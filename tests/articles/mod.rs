//! Issue: knowledge articles, a federated, versioned knowledge base in every community.

use crate::{
    discussions::federation::three_nodes,
    harness::{eventually, http, quiet_env, sign::Post, ApiUser, Node, NodeOptions},
};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The article with ActivityPub id `ap_id` as `user`'s node shows it, once `check` holds.
async fn article_on(
    user: &ApiUser,
    handle: &str,
    ap_id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(WAIT, &format!("article on {}", user.domain), || async {
        let (_, list) = user.get(&format!("/communities/{handle}/articles")).await;
        let id = list["articles"]
            .as_array()?
            .iter()
            .find(|a| a["ap_id"] == ap_id)?["id"]
            .clone();
        let (status, article) = user.get(&format!("/articles/{id}")).await;
        (status == 200 && check(&article)).then_some(article)
    })
    .await
}

async fn history(user: &ApiUser, article: &Value) -> Vec<String> {
    let (_, revs) = user
        .get(&format!("/articles/{}/revisions", article["id"]))
        .await;
    revs["revisions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn edits_from_every_node_land_on_the_owner_and_replicate() {
    let t = three_nodes().await;
    let all = [&t.olga, &t.bert, &t.gina];
    let (status, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Incident handbook", "content": "# Incidents\n\nPage the on-call.\n", "review_interval_days": 90}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let rev1 = created["revision"].as_str().expect("rev").to_string();

    // bert edits from beta: the owner decides before the request returns.
    let on_beta = article_on(&t.bert, &t.handle, &ap_id, |a| {
        a["revision"] == rev1.as_str()
    })
    .await;
    let (status, edited) = t
        .bert
        .put(
            &format!("/articles/{}", on_beta["id"]),
            json!({"content": "# Incidents\n\nPage the on-call.\nWrite a timeline.\n", "base_revision": rev1, "message": "timeline"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let rev2 = edited["revision"].as_str().expect("rev").to_string();
    assert_ne!(rev2, rev1);

    // gina edits from gamma on top of it.
    let on_gamma = article_on(&t.gina, &t.handle, &ap_id, |a| {
        a["revision"] == rev2.as_str()
    })
    .await;
    let (status, edited) = t
        .gina
        .put(
            &format!("/articles/{}", on_gamma["id"]),
            json!({"content": "# Incidents\n\nPage the on-call.\nWrite a timeline.\nHold a review.\n", "base_revision": rev2}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let rev3 = edited["revision"].as_str().expect("rev").to_string();

    // Every node holds the same revisions, with the same ids and texts.
    let mut histories = Vec::new();
    for user in all {
        let article = article_on(user, &t.handle, &ap_id, |a| a["revision"] == rev3.as_str()).await;
        assert!(article["content"]
            .as_str()
            .is_some_and(|c| c.ends_with("Hold a review.\n")));
        let h = history(user, &article).await;
        for rev in [&rev1, &rev2, &rev3] {
            let (status, r) = user
                .get(&format!("/articles/{}/revisions/{rev}", article["id"]))
                .await;
            assert_eq!(status, 200);
            histories.push((rev.clone(), r["content"].clone()));
        }
        assert_eq!(
            h,
            vec![rev3.clone(), rev2.clone(), rev1.clone()],
            "on {}",
            user.domain
        );
        let authors: Vec<&str> = article["authors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["ap_id"].as_str())
            .collect();
        assert_eq!(authors.len(), 3, "{authors:?}");
    }
    for chunk in histories.chunks(3) {
        assert_eq!(chunk, &histories[0..3], "same texts everywhere");
    }

    // The diff between two revisions, unified and structured.
    let (status, diff) = t
        .olga
        .get(&format!(
            "/articles/{}/diff?from={rev1}&to={rev3}",
            created["id"]
        ))
        .await;
    assert_eq!(status, 200);
    assert!(diff["unified"]
        .as_str()
        .is_some_and(|u| u.contains("+Hold a review.")));
    let inserted: Vec<&str> = diff["hunks"][0]["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["kind"] == "insert")
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert_eq!(inserted, vec!["Write a timeline.", "Hold a review."]);
}

#[tokio::test]
async fn concurrent_edits_merge_or_conflict_visibly_and_nothing_is_lost() {
    let t = three_nodes().await;
    let base_text = "one\ntwo\nthree\nfour\nfive\n";
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Lines", "content": base_text}),
        )
        .await;
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let r = created["revision"].as_str().expect("rev").to_string();
    let on_beta = article_on(&t.bert, &t.handle, &ap_id, |_| true).await;
    let on_gamma = article_on(&t.gina, &t.handle, &ap_id, |_| true).await;
    let beta_path = format!("/articles/{}", on_beta["id"]);
    let gamma_path = format!("/articles/{}", on_gamma["id"]);

    // Non-overlapping changes to R from beta and gamma at once: both land, merged.
    let beta_edit = t.bert.put(
        &beta_path,
        json!({"content": "ONE (beta)\ntwo\nthree\nfour\nfive\n", "base_revision": r}),
    );
    let gamma_edit = t.gina.put(
        &gamma_path,
        json!({"content": "one\ntwo\nthree\nfour\nFIVE (gamma)\n", "base_revision": r}),
    );
    let ((s1, b1), (s2, b2)) = tokio::join!(beta_edit, gamma_edit);
    assert_eq!((s1, s2), (200, 200), "{b1} {b2}");
    let merged = "ONE (beta)\ntwo\nthree\nfour\nFIVE (gamma)\n";
    for user in [&t.olga, &t.bert, &t.gina] {
        article_on(user, &t.handle, &ap_id, |a| a["content"] == merged).await;
    }

    // Overlapping changes to the same line: exactly one lands, the other gets the conflict.
    let (_, now) = t.olga.get(&format!("/articles/{}", created["id"])).await;
    let head = now["revision"].as_str().expect("rev").to_string();
    article_on(&t.bert, &t.handle, &ap_id, |a| {
        a["revision"] == head.as_str()
    })
    .await;
    article_on(&t.gina, &t.handle, &ap_id, |a| {
        a["revision"] == head.as_str()
    })
    .await;
    let beta_edit = t.bert.put(
        &beta_path,
        json!({"content": "ONE (beta)\ntwo\nTHREE by bert\nfour\nFIVE (gamma)\n", "base_revision": head}),
    );
    let gamma_edit = t.gina.put(
        &gamma_path,
        json!({"content": "ONE (beta)\ntwo\nTHREE by gina\nfour\nFIVE (gamma)\n", "base_revision": head}),
    );
    let ((s1, b1), (s2, b2)) = tokio::join!(beta_edit, gamma_edit);
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    let (loser, conflict, winner_word, loser_word, loser_article) = if s1 == 409 {
        (&t.bert, b1, "THREE by gina", "THREE by bert", &on_beta)
    } else {
        (&t.gina, b2, "THREE by bert", "THREE by gina", &on_gamma)
    };
    let markers = conflict["conflict"].as_str().expect("conflict text");
    assert!(
        markers.contains("<<<<<<<") && markers.contains(">>>>>>>"),
        "{markers}"
    );
    assert!(
        markers.contains(winner_word) && markers.contains(loser_word),
        "{markers}"
    );
    let latest = conflict["latest_revision"]
        .as_str()
        .expect("latest")
        .to_string();

    // The loser resolves by keeping both, on top of the latest revision, and lands.
    let resolved = format!("ONE (beta)\ntwo\n{winner_word}\n{loser_word}\nfour\nFIVE (gamma)\n");
    let (status, body) = loser
        .put(
            &format!("/articles/{}", loser_article["id"]),
            json!({"content": resolved, "base_revision": latest}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for user in [&t.olga, &t.bert, &t.gina] {
        let a = article_on(user, &t.handle, &ap_id, |a| {
            a["content"] == resolved.as_str()
        })
        .await;
        let text = a["content"].as_str().unwrap_or_default();
        for word in [
            "ONE (beta)",
            "FIVE (gamma)",
            "THREE by bert",
            "THREE by gina",
        ] {
            assert!(text.contains(word), "{word} kept on {}", user.domain);
        }
    }
}

#[tokio::test]
async fn reading_any_revision_costs_the_same_few_queries() {
    let node = Node::start_with(NodeOptions {
        env: quiet_env(),
        ..Default::default()
    })
    .await;
    let ada = node.api_user("ada").await;
    let (status, _) = ada.post("/communities", json!({"slug": "kb"})).await;
    assert_eq!(status, 201);
    let filler: String = (0..1100)
        .map(|i| format!("line {i} of the handbook, padded to fifty bytes.\n"))
        .collect();
    assert!(filler.len() >= 50_000);
    let (status, created) = ada
        .post(
            "/communities/kb/articles",
            json!({"title": "Big", "content": filler}),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].clone();
    let mut revs = vec![created["revision"].as_str().expect("rev").to_string()];
    for n in 1..200 {
        let text = format!("{filler}edit {n}\n");
        let (status, body) = ada
            .put(
                &format!("/articles/{id}"),
                json!({"content": text, "base_revision": revs.last()}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        revs.push(body["revision"].as_str().expect("rev").to_string());
    }
    assert_eq!(revs.len(), 200);
    // Delivery workers woken by the edits may still be polling: let them settle, and take the
    // least of three reads so their queries are not counted against the handler.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut costs = Vec::new();
    for n in [1usize, 100, 200] {
        let mut cost = u64::MAX;
        for _ in 0..3 {
            let before = node.state.db.query_count();
            let (status, body) = ada
                .get(&format!("/articles/{id}/revisions/{}", revs[n - 1]))
                .await;
            cost = cost.min(node.state.db.query_count() - before);
            assert_eq!(status, 200);
            assert_eq!(body["number"], n);
            if n > 1 {
                assert!(body["content"]
                    .as_str()
                    .is_some_and(|c| c.ends_with(&format!("edit {}\n", n - 1))));
            }
        }
        costs.push(cost);
    }
    eprintln!("queries per revision read (1, 100, 200): {costs:?}");
    assert!(
        costs.iter().all(|c| *c == costs[0] && *c <= 8),
        "queries per read: {costs:?}"
    );
}

#[tokio::test]
async fn updates_from_anyone_but_the_owning_community_are_refused() {
    let t = three_nodes().await;
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Owned", "content": "by alpha"}),
        )
        .await;
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let before = article_on(&t.bert, &t.handle, &ap_id, |_| true).await;

    // gamma's own actor sends beta an Update of alpha's article.
    let forged = json!({
        "id": t.gamma.url("/activities/update/forged-article"),
        "type": "Update",
        "actor": t.gina.ap_id(),
        "audience": t.alpha.url("/c/practice"),
        "object": {"id": ap_id, "type": "Article", "name": "Owned", "audience": t.alpha.url("/c/practice"),
                   "source": {"content": "hijacked", "mediaType": "text/markdown"},
                   "revision": {"id": "0", "parent": before["revision"], "author": t.gina.ap_id()}},
    });
    let key = t
        .gamma
        .state
        .db
        .local_actor_by_name("gina")
        .await
        .expect("db")
        .expect("gina")
        .private_key_pem;
    let (status, body) = Post::new(
        &t.beta.url("/inbox"),
        &forged,
        &t.gamma.url("/u/gina#main-key"),
        &key,
    )
    .send(&http())
    .await;
    assert_eq!(status, 403, "{body}");
    let (_, after) = t.bert.get(&format!("/articles/{}", before["id"])).await;
    assert_eq!(after["content"], "by alpha");

    // What Mastodon shows of an Article: a name, a plain-text summary and a url.
    let doc: Value = http()
        .get(&ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["type"], "Article");
    assert_eq!(doc["name"], "Owned");
    assert_eq!(doc["summary"], "by alpha");
    assert!(doc["url"].as_str().is_some_and(|u| u.starts_with("http")));
    assert_eq!(doc["source"]["mediaType"], "text/markdown");
}

#[tokio::test]
async fn article_markdown_renders_safely_and_slugs_survive_renames() {
    let node = Node::start().await;
    let ada = node.api_user("ada").await;
    ada.post("/communities", json!({"slug": "kb"})).await;
    let hostile = "Hi <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>\n\n<div onclick=\"y()\">raw</div>";
    let (status, a) = ada
        .post(
            "/communities/kb/articles",
            json!({"title": "Größe & Maß", "content": hostile}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let html = a["html"].as_str().unwrap_or_default();
    assert!(
        !html.contains("<script")
            && !html.contains("javascript:")
            && !html.contains("<img")
            && !html.contains("<div"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "raw HTML is shown as text: {html}"
    );
    assert_eq!(a["slug"], "größe-maß");

    // Rename: the old slug redirects to the new one.
    let (status, renamed) = ada
        .put(
            &format!("/articles/{}", a["id"]),
            json!({"content": hostile, "title": "Sizes", "base_revision": a["revision"]}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["slug"], "sizes");
    let response = http()
        .get(node.url("/api/roundtable/v1/communities/kb/articles/größe-maß"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 308);
    assert!(response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.ends_with("/articles/sizes")));

    // A stale base with a clean merge still lands; an unknown base is refused.
    let (status, _) = ada
        .put(
            &format!("/articles/{}", a["id"]),
            json!({"content": "x", "base_revision": "nope"}),
        )
        .await;
    assert_eq!(status, 422);

    // Review: overdue articles are listed until someone confirms them.
    let (_, overdue) = ada.get("/communities/kb/articles?overdue=true").await;
    assert_eq!(overdue["articles"].as_array().map(Vec::len), Some(0));
    let (status, reviewed) = ada
        .post(
            &format!("/articles/{}/review", a["id"]),
            json!({"interval_days": 30}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reviewed["review_interval_days"], 30);
    assert_eq!(reviewed["overdue"], false);
    assert!(reviewed["last_reviewed_at"].is_string());

    // Forty days later (the clock moved back in the database), it is overdue until reviewed.
    let conn = sea_orm::Database::connect(node.db.url.as_str())
        .await
        .expect("connect");
    use sea_orm::ConnectionTrait;
    conn.execute_unprepared(&format!(
        "UPDATE articles SET last_reviewed_at = last_reviewed_at - {} WHERE id = {}",
        40i64 * 86_400_000,
        a["id"]
    ))
    .await
    .expect("age the review");
    conn.close().await.ok();
    let (_, overdue) = ada.get("/communities/kb/articles?overdue=true").await;
    let listed = overdue["articles"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "{overdue}");
    assert_eq!(listed[0]["id"], a["id"]);
    assert_eq!(listed[0]["overdue"], true);
    let (status, _) = ada
        .post(&format!("/articles/{}/review", a["id"]), json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, overdue) = ada.get("/communities/kb/articles?overdue=true").await;
    assert_eq!(overdue["articles"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn search_finds_replicated_text_ranks_titles_first_and_handles_unicode() {
    let t = three_nodes().await;
    let (status, body_hit) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Capacity", "content": "Our Größenplanung happens every quarter, with care."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, title_hit) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Größenplanung für Cluster", "content": "How we size clusters."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Zebra crossings", "content": "a <script>alert(1)</script> zebra"}),
        )
        .await;
    assert_eq!(status, 201);

    // On beta, which holds replicas only.
    let results = eventually(WAIT, "search on beta", || async {
        let (_, r) = t.bert.get("/search?q=größenplanung").await;
        let list = r["results"].as_array().cloned().unwrap_or_default();
        (list.len() == 2).then_some(list)
    })
    .await;
    assert_eq!(
        results[0]["ap_id"], title_hit["ap_id"],
        "the title hit ranks first: {results:?}"
    );
    assert_eq!(results[1]["ap_id"], body_hit["ap_id"]);
    assert_eq!(results[0]["kind"], "article");
    assert!(
        results[0]["title"]
            .as_str()
            .is_some_and(|s| s.contains("<mark>Größenplanung</mark>")),
        "{results:?}"
    );
    assert!(
        results[1]["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("<mark>Größenplanung</mark>")),
        "{results:?}"
    );

    // Threads are searchable, snippets are safe HTML, and the community filter applies.
    let hits = eventually(WAIT, "thread in search on beta", || async {
        let (_, r) = t
            .bert
            .get(&format!("/search?q=zebra&community={}", t.handle))
            .await;
        let list = r["results"].as_array().cloned().unwrap_or_default();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(hits[0]["kind"], "thread");
    let snippet = hits[0]["snippet"].as_str().unwrap_or_default();
    assert!(!snippet.contains("<script"), "{snippet}");
    // "practice" without a domain names a community of beta itself, which has none.
    let (status, none) = t.bert.get("/search?q=zebra&community=practice").await;
    assert_eq!(status, 404, "{none}");
    assert!(none.get("error").is_some());
    // Articles announced for Mastodon's sake do not turn into threads on replicas.
    let threads = t.bert.threads(&t.handle).await;
    assert_eq!(threads.len(), 1, "{threads:?}");
    let (status, empty) = t.bert.get("/search?q=%22%20OR%20NEAR(").await;
    assert_eq!(
        status, 200,
        "query syntax from users is taken literally: {empty}"
    );
}

#[tokio::test]
async fn proposals_wait_for_an_unreachable_owner_and_are_never_lost() {
    let t = three_nodes().await;
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Runbook", "content": "v1\n"}),
        )
        .await;
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let rev1 = created["revision"].as_str().expect("rev").to_string();
    let on_beta = article_on(&t.bert, &t.handle, &ap_id, |_| true).await;

    // A member on beta creates an article in alpha's community: alpha owns it.
    let (status, proposed) = t
        .bert
        .post(
            &format!("/communities/{}/articles", t.handle),
            json!({"title": "Escalation", "content": "Call twice.\n"}),
        )
        .await;
    assert_eq!(status, 201, "{proposed}");
    assert!(
        proposed["ap_id"]
            .as_str()
            .is_some_and(|a| a.starts_with(&t.alpha.base)),
        "owned by alpha: {proposed}"
    );
    article_on(
        &t.olga,
        "practice",
        proposed["ap_id"].as_str().expect("id"),
        |a| a["content"] == "Call twice.\n",
    )
    .await;

    // The owner goes down: an edit waits, answered 202, and resolves once it is back.
    let super::discussions::federation::Three {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
    } = t;
    let port = alpha.addr.port();
    let db = alpha.crash().await;
    let (status, pending) = bert
        .put(
            &format!("/articles/{}", on_beta["id"]),
            json!({"content": "v1\nv2 from beta\n", "base_revision": rev1}),
        )
        .await;
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["state"], "pending");
    let edit = pending["edit"].clone();
    let (status, _) = bert.get(&format!("/edits/{edit}")).await;
    assert_eq!(status, 202);

    let alpha = Node::start_with(NodeOptions {
        db: Some(db),
        port,
        ..Default::default()
    })
    .await;
    let settled = eventually(WAIT, "the edit is decided", || async {
        let (status, body) = bert.get(&format!("/edits/{edit}")).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(settled["content"], "v1\nv2 from beta\n");
    let t = super::discussions::federation::Three {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
    };
    for user in [&t.olga, &t.gina] {
        article_on(user, &t.handle, &ap_id, |a| {
            a["content"] == "v1\nv2 from beta\n"
        })
        .await;
    }
    let (status, _) = t.gina.get(&format!("/edits/{edit}")).await;
    assert_eq!(status, 404, "an edit is visible to its author only");
}

#[tokio::test]
async fn moderators_protect_and_revert_articles() {
    let t = three_nodes().await;
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Policy", "content": "Rule one.\n"}),
        )
        .await;
    let id = created["id"].clone();
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let rev1 = created["revision"].as_str().expect("rev").to_string();
    let on_beta = article_on(&t.bert, &t.handle, &ap_id, |_| true).await;

    // A member's edit, then protection: the next member edit is refused by the owner.
    let (status, e) = t
        .bert
        .put(
            &format!("/articles/{}", on_beta["id"]),
            json!({"content": "Rule one.\nRule two.\n", "base_revision": rev1}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let rev2 = e["revision"].as_str().expect("rev").to_string();
    let (status, _) = t
        .bert
        .post(&format!("/articles/{}/protect", on_beta["id"]), json!({}))
        .await;
    assert_eq!(status, 403, "only the owning node's moderators protect");
    let (status, p) = t
        .olga
        .post(&format!("/articles/{id}/protect"), json!({}))
        .await;
    assert_eq!((status, p["protected"].as_bool()), (200, Some(true)));
    let (status, refused) = t
        .bert
        .put(
            &format!("/articles/{}", on_beta["id"]),
            json!({"content": "Rule zero.\n", "base_revision": rev2}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("protected")),
        "{refused}"
    );

    // Revert to revision 1: a new revision with the old text; history intact everywhere.
    let (status, reverted) = t
        .olga
        .post(&format!("/articles/{id}/revert"), json!({"revision": rev1}))
        .await;
    assert_eq!(status, 200, "{reverted}");
    assert_eq!(reverted["content"], "Rule one.\n");
    let rev3 = reverted["revision"].as_str().expect("rev").to_string();
    assert!(rev3 != rev1 && rev3 != rev2);
    let on_gamma = article_on(&t.gina, &t.handle, &ap_id, |a| {
        a["revision"] == rev3.as_str()
    })
    .await;
    assert_eq!(history(&t.gina, &on_gamma).await, vec![rev3, rev2, rev1]);
}

/// Found by the `article_document` fuzz target: a title with `<`, `&…;` or a double space was
/// rewritten as HTML by replicas, so its revision id no longer matched and they refused it.
#[tokio::test]
async fn titles_with_markup_characters_replicate_unchanged() {
    let t = three_nodes().await;
    let title = "Vec<T> & <b>maps</b>:  &amp; more";
    let (status, created) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": title, "content": "# Collections\n\nUse `Vec<T>`.\n"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["title"], title);
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let rev1 = created["revision"].as_str().expect("rev").to_string();
    let on_beta = article_on(&t.bert, &t.handle, &ap_id, |a| {
        a["revision"] == rev1.as_str()
    })
    .await;
    assert_eq!(on_beta["title"], title);

    // A member on another node renames it: the owner keeps the title as the member wrote it,
    // like a local member's, and every node shows the same.
    let renamed = "HashMap<K, V> &lt;not a tag&gt;";
    let (status, edited) = t
        .bert
        .put(
            &format!("/articles/{}", on_beta["id"]),
            json!({"title": renamed, "content": "# Collections\n\nUse `Vec<T>`.\n", "base_revision": rev1}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let rev2 = edited["revision"].as_str().expect("rev").to_string();
    for user in [&t.olga, &t.bert, &t.gina] {
        let article = article_on(user, &t.handle, &ap_id, |a| a["revision"] == rev2.as_str()).await;
        assert_eq!(article["title"], renamed, "on {}", user.domain);
        assert_eq!(
            history(user, &article).await,
            vec![rev2.clone(), rev1.clone()]
        );
    }
}
