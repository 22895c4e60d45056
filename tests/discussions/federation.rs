//! Three nodes: a community on alpha, members on beta and gamma, everything through each
//! node's own API.

use crate::harness::{eventually, ApiUser, Node};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

pub struct Three {
    pub alpha: Node,
    pub beta: Node,
    pub gamma: Node,
    pub olga: ApiUser,
    pub bert: ApiUser,
    pub gina: ApiUser,
    /// `practice@alpha`.
    pub handle: String,
}

/// Alpha hosts `practice` (owner olga); bert on beta and gina on gamma have joined it.
pub async fn three_nodes() -> Three {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let gamma = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let gina = gamma.api_user("gina").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "practice", "title": "Platform practice", "summary": "How we run platforms",
                   "charter": "# Charter\n\nShare what works."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["membership"]["role"], "owner");
    let handle = format!("practice@{}", alpha.domain);
    for user in [&bert, &gina] {
        let (status, body) = user
            .post(&format!("/communities/{handle}/join"), json!({}))
            .await;
        assert_eq!(status, 202, "a remote join waits for the community: {body}");
        assert_eq!(body["state"], "pending");
        eventually(WAIT, "membership accepted", || async {
            let (_, c) = user.get(&format!("/communities/{handle}")).await;
            (c["membership"]["state"] == "accepted").then_some(())
        })
        .await;
    }
    Three {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
    }
}

/// olga makes bert (beta) a moderator of `practice`, with an optional title, and waits until
/// beta knows.
pub async fn bert_moderates(t: &Three, title: Option<&str>) {
    let (_, members) = t.olga.get("/communities/practice/members").await;
    let bert_member = members["members"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["actor"]["ap_id"] == t.bert.ap_id().as_str())
        })
        .map(|m| m["id"].clone())
        .expect("bert is a member");
    let mut body = json!({"role": "moderator"});
    if let Some(title) = title {
        body["title"] = json!(title);
    }
    let (status, body) = t
        .olga
        .post(
            &format!("/communities/practice/members/{bert_member}/role"),
            body,
        )
        .await;
    assert_eq!(
        (status, body["role"].as_str()),
        (200, Some("moderator")),
        "{body}"
    );
    eventually(WAIT, "beta knows bert moderates", || async {
        let (_, c) = t.bert.get(&format!("/communities/{}", t.handle)).await;
        (c["membership"]["role"] == "moderator").then_some(())
    })
    .await;
}

async fn thread_everywhere(t: &Three, ap_id: &str, check: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut found = Vec::new();
    for user in [&t.olga, &t.bert, &t.gina] {
        let thread = eventually(WAIT, &format!("thread on {}", user.domain), || async {
            user.thread_by_ap_id(&t.handle, ap_id)
                .await
                .filter(|th| check(th))
        })
        .await;
        found.push(thread);
    }
    found
}

#[tokio::test]
async fn threads_replies_edits_deletes_and_bans_replicate_to_every_node() {
    let t = three_nodes().await;

    // The community as each node sees it.
    let (status, community) = t.bert.get(&format!("/communities/{}", t.handle)).await;
    assert_eq!(status, 200);
    assert_eq!(community["title"], "Platform practice");
    assert_eq!(community["local"], false);
    let (_, members) = t.olga.get("/communities/practice/members").await;
    assert_eq!(
        members["members"].as_array().map(Vec::len),
        Some(3),
        "{members}"
    );

    // A thread by gina on gamma.
    let (status, thread) = t
        .gina
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Postmortems without blame", "content": "How do you run **blameless** postmortems?"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let ap_id = thread["ap_id"].as_str().expect("ap_id").to_string();
    assert!(ap_id.starts_with(&t.gamma.base), "authored on gamma");
    let copies = thread_everywhere(&t, &ap_id, |_| true).await;
    for copy in &copies {
        assert_eq!(copy["title"], "Postmortems without blame");
        assert_eq!(copy["content"], copies[0]["content"]);
        assert!(copy["content"]
            .as_str()
            .unwrap_or_default()
            .contains("<strong>blameless</strong>"));
        assert_eq!(copy["author"]["ap_id"], t.gina.ap_id());
    }

    // A reply by bert on beta, to beta's copy of the thread.
    let beta_thread_id = copies[1]["id"].clone();
    let (status, reply) = t
        .bert
        .post(
            &format!("/threads/{beta_thread_id}/replies"),
            json!({"content": "We use a template."}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let reply_ap = reply["ap_id"].as_str().expect("ap_id").to_string();
    let copies = thread_everywhere(&t, &ap_id, |th| {
        th["replies"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["ap_id"] == reply_ap.as_str()))
    })
    .await;
    for copy in &copies {
        let r = &copy["replies"][0];
        assert_eq!(r["content"], "<p>We use a template.</p>\n");
        assert_eq!(r["author"]["ap_id"], t.bert.ap_id());
        assert_eq!(r["parent_id"], Value::Null, "a top-level reply");
    }

    // gina edits her thread on gamma.
    let gamma_id = copies[2]["id"].clone();
    let (status, edited) = t
        .gina
        .patch(
            &format!("/threads/{gamma_id}"),
            json!({"title": "Blameless postmortems", "content": "Edited: how?"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let copies = thread_everywhere(&t, &ap_id, |th| th["title"] == "Blameless postmortems").await;
    for copy in &copies {
        assert_eq!(copy["content"], "<p>Edited: how?</p>\n");
        assert!(copy["updated"].is_string());
    }

    // Only the author edits: olga (the owner) cannot edit gina's thread.
    let alpha_id = copies[0]["id"].clone();
    let (status, _) = t
        .olga
        .patch(
            &format!("/threads/{alpha_id}"),
            json!({"content": "hijack"}),
        )
        .await;
    assert_eq!(status, 403);

    // olga (moderator on alpha) deletes it: gone everywhere.
    let (status, body) = t.olga.delete(&format!("/threads/{alpha_id}")).await;
    assert_eq!(status, 204, "{body}");
    for user in [&t.olga, &t.bert, &t.gina] {
        eventually(WAIT, &format!("thread gone on {}", user.domain), || async {
            let list = user.threads(&t.handle).await;
            (!list.iter().any(|th| th["ap_id"] == ap_id.as_str())).then_some(())
        })
        .await;
    }

    // olga bans bert; his next post is refused and appears nowhere.
    let (status, body) = t
        .olga
        .post(
            "/communities/practice/bans",
            json!({"actor": t.bert.ap_id(), "reason": "spam"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    eventually(WAIT, "beta learns of the ban", || async {
        let (_, bans) = t.bert.get(&format!("/communities/{}/bans", t.handle)).await;
        bans["bans"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
            .then_some(())
    })
    .await;
    let (status, body) = t
        .bert
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Buy now", "content": "spam"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("banned")));
    tokio::time::sleep(Duration::from_millis(500)).await;
    for user in [&t.olga, &t.bert, &t.gina] {
        let list = user.threads(&t.handle).await;
        assert!(list.iter().all(|th| th["title"] != "Buy now"));
    }
}

#[tokio::test]
async fn a_node_that_joins_late_backfills_recent_threads() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "history"})).await;
    assert_eq!(status, 201);
    let mut ap_ids = Vec::new();
    for n in 0..20 {
        let (status, thread) = olga
            .post(
                "/communities/history/threads",
                json!({"title": format!("Thread {n}"), "content": format!("Body {n}")}),
            )
            .await;
        assert_eq!(status, 201);
        ap_ids.push(thread["ap_id"].as_str().expect("id").to_string());
    }
    // And two articles, one with three revisions.
    let (_, article) = olga
        .post(
            "/communities/history/articles",
            json!({"title": "Onboarding", "content": "a\n"}),
        )
        .await;
    let mut rev = article["revision"].as_str().expect("rev").to_string();
    for text in ["a\nb\n", "a\nb\nc\n"] {
        let (_, edited) = olga
            .put(
                &format!("/articles/{}", article["id"]),
                json!({"content": text, "base_revision": rev}),
            )
            .await;
        rev = edited["revision"].as_str().expect("rev").to_string();
    }
    olga.post(
        "/communities/history/articles",
        json!({"title": "Glossary", "content": "terms"}),
    )
    .await;
    let beta = Node::start().await;
    let bert = beta.api_user("bert").await;
    let handle = format!("history@{}", alpha.domain);
    let (status, _) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202);
    let threads = eventually(WAIT, "20 backfilled threads on beta", || async {
        let list = bert.threads(&handle).await;
        (list.len() >= 20).then_some(list)
    })
    .await;
    let mut seen: Vec<String> = threads
        .iter()
        .map(|t| t["ap_id"].as_str().unwrap_or_default().to_string())
        .collect();
    seen.sort();
    ap_ids.sort();
    assert_eq!(seen, ap_ids);
    assert!(threads
        .iter()
        .any(|t| t["title"] == "Thread 7" && t["content"] == "<p>Body 7</p>\n"));

    // The articles came along with their whole history.
    let replica = eventually(WAIT, "backfilled articles", || async {
        let (_, list) = bert.get(&format!("/communities/{handle}/articles")).await;
        let list = list["articles"].as_array().cloned().unwrap_or_default();
        // Both articles, the long one at its latest revision (its history is applied in order).
        (list.len() == 2 && list.iter().any(|a| a["revision"] == rev.as_str())).then_some(list)
    })
    .await;
    let onboarding = replica
        .iter()
        .find(|a| a["title"] == "Onboarding")
        .expect("onboarding");
    assert_eq!(onboarding["revision"], rev.as_str());
    let (_, revs) = bert
        .get(&format!("/articles/{}/revisions", onboarding["id"]))
        .await;
    assert_eq!(revs["revisions"].as_array().map(Vec::len), Some(3));
    let (_, full) = bert.get(&format!("/articles/{}", onboarding["id"])).await;
    assert_eq!(full["content"], "a\nb\nc\n");
}

#[tokio::test]
async fn fifty_concurrent_replies_end_up_identical_on_every_node() {
    let t = three_nodes().await;
    let (status, thread) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Busy thread", "content": "Go!"}),
        )
        .await;
    assert_eq!(status, 201);
    let ap_id = thread["ap_id"].as_str().expect("id").to_string();
    let copies = thread_everywhere(&t, &ap_id, |_| true).await;
    let (beta_thread, gamma_thread) = (copies[1]["id"].clone(), copies[2]["id"].clone());

    // Two seed replies, so the burst can nest under them.
    let (_, seed_b) = t
        .bert
        .post(
            &format!("/threads/{beta_thread}/replies"),
            json!({"content": "seed b"}),
        )
        .await;
    let (_, seed_g) = t
        .gina
        .post(
            &format!("/threads/{gamma_thread}/replies"),
            json!({"content": "seed g"}),
        )
        .await;
    let seeds = [seed_b["ap_id"].clone(), seed_g["ap_id"].clone()];
    let copies = thread_everywhere(&t, &ap_id, |th| {
        th["replies"].as_array().is_some_and(|r| r.len() == 2)
    })
    .await;
    let local_id = |copy: &Value, ap: &Value| {
        copy["replies"]
            .as_array()
            .and_then(|r| r.iter().find(|x| x["ap_id"] == *ap))
            .map(|x| x["id"].clone())
    };

    let mut burst = Vec::new();
    for n in 0..50 {
        let (user, copy, thread_id) = if n % 2 == 0 {
            (&t.bert, &copies[1], &beta_thread)
        } else {
            (&t.gina, &copies[2], &gamma_thread)
        };
        let parent = match n % 3 {
            0 => None,
            k => local_id(copy, &seeds[k - 1]),
        };
        let body = match parent {
            Some(p) => json!({"content": format!("reply {n}"), "parent_id": p}),
            None => json!({"content": format!("reply {n}")}),
        };
        burst.push(async move {
            user.post(&format!("/threads/{thread_id}/replies"), body)
                .await
        });
    }
    let results = futures_util::future::join_all(burst).await;
    assert!(
        results.iter().all(|(status, _)| *status == 201),
        "{results:?}"
    );

    let shape = |copy: &Value| {
        let mut v: Vec<(String, String, String)> = copy["replies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["ap_id"].as_str().unwrap_or_default().to_string(),
                    r["parent_ap_id"].as_str().unwrap_or("thread").to_string(),
                    r["content"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let copies = thread_everywhere(&t, &ap_id, |th| {
        th["replies"].as_array().is_some_and(|r| r.len() == 52)
    })
    .await;
    let reference = shape(&copies[0]);
    assert_eq!(reference.len(), 52);
    assert_eq!(
        reference.iter().filter(|r| r.1 != "thread").count(),
        33,
        "nested replies keep their parents"
    );
    assert_eq!(shape(&copies[1]), reference, "beta matches alpha");
    assert_eq!(shape(&copies[2]), reference, "gamma matches alpha");
}

/// Rewrites a captured document's hosts and names onto the test servers.
fn rehost(doc: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = doc.to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).expect("rewritten fixture")
}

#[tokio::test]
async fn a_mastodon_user_follows_and_starts_a_thread_by_mention() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let community = alpha.url("/c/practice");
    let masto = crate::harness::fake::FakeServer::start("mastodon").await;

    // The captured Mastodon Follow, re-addressed.
    let follow = rehost(
        include_str!("../fixtures/activitypub/mastodon/activities/follow.json"),
        &[
            ("https://masto.asonix.dog/users/asonix", &masto.actor),
            ("https://masto.asonix.dog", &masto.base),
            ("https://ds9.lemmy.ml/c/testcom", &community),
        ],
    );
    let (status, body) = masto.deliver(&alpha.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");
    let accept = eventually(WAIT, "Accept at the Mastodon inbox", || async {
        masto.received().into_iter().find(|a| a["type"] == "Accept")
    })
    .await;
    assert_eq!(accept["actor"], community.as_str());
    assert_eq!(accept["object"]["id"], follow["id"]);
    let (_, members) = olga.get("/communities/practice/members").await;
    assert!(
        members["members"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["actor"]["ap_id"] == masto.actor.as_str()),
        "{members}"
    );

    // The captured mention toot, re-addressed, delivered to the shared inbox.
    let note = rehost(
        include_str!("../fixtures/activitypub/mastodon/objects/page.json"),
        &[
            (
                "https://masto.qa.urbanwildlife.biz/users/mastodon",
                &masto.actor,
            ),
            ("https://masto.qa.urbanwildlife.biz", &masto.base),
            ("https://enterprise.lemmy.ml/c/tenforward", &community),
            (
                "@tenforward@enterprise.lemmy.ml",
                &format!("@practice@{}", alpha.domain),
            ),
            (">tenforward<", ">practice<"),
        ],
    );
    masto.publish(&note);
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activity", note["id"].as_str().expect("id")),
        "type": "Create",
        "actor": masto.actor,
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    });
    let (status, body) = masto.deliver(&alpha.url("/inbox"), &create).await;
    assert_eq!(status, 202, "{body}");
    let threads = olga.threads("practice").await;
    let thread = threads
        .iter()
        .find(|t| t["ap_id"] == note["id"])
        .expect("a thread");
    assert_eq!(thread["title"], "Variable never resetting at refresh");
    assert_eq!(thread["author"]["ap_id"], masto.actor.as_str());
    assert!(thread["content"]
        .as_str()
        .is_some_and(|c| c.contains("counter")));

    // The follower receives the community's Announce of its own Note.
    let announce = eventually(WAIT, "Announce of the Note", || async {
        masto.received().into_iter().find(|a| {
            a["type"] == "Announce"
                && (a["object"]["object"]["id"] == note["id"] || a["object"] == note["id"])
        })
    })
    .await;
    assert_eq!(announce["actor"], community.as_str());

    // A Mastodon reply names only the thread (no community): it is a reply, sanitized.
    let reply = json!({
        "id": format!("{}/users/mastodon/statuses/2", masto.base),
        "type": "Note",
        "attributedTo": masto.actor,
        "inReplyTo": note["id"],
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{}/followers", masto.actor)],
        "content": "<p>Try <b>resetting</b> it<script>alert(1)</script><a href=\"javascript:alert(2)\">here</a></p>",
        "published": "2026-11-22T10:00:00Z",
    });
    masto.publish(&reply);
    let create = json!({
        "id": format!("{}/activity", reply["id"].as_str().expect("id")),
        "type": "Create",
        "actor": masto.actor,
        "object": reply,
    });
    let (status, body) = masto.deliver(&alpha.url("/inbox"), &create).await;
    assert_eq!(status, 202, "{body}");
    let thread = olga
        .thread_by_ap_id("practice", note["id"].as_str().expect("id"))
        .await
        .expect("thread");
    let stored = &thread["replies"][0];
    assert_eq!(stored["ap_id"], reply["id"]);
    let html = stored["content"].as_str().unwrap_or_default();
    assert!(html.contains("<b>resetting</b>"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("javascript:"),
        "{html}"
    );
}

#[tokio::test]
async fn replicas_keep_serving_and_posts_wait_while_the_host_is_down() {
    let t = three_nodes().await;
    let (_, before) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Before the outage", "content": "x"}),
        )
        .await;
    let before = before["ap_id"].as_str().expect("id").to_string();
    thread_everywhere(&t, &before, |_| true).await;

    let Three {
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

    // The replica keeps serving what it has, and accepts a new post for later delivery.
    assert!(bert.thread_by_ap_id(&handle, &before).await.is_some());
    let (status, during) = bert
        .post(
            &format!("/communities/{handle}/threads"),
            json!({"title": "During the outage", "content": "queued"}),
        )
        .await;
    assert_eq!(status, 201, "{during}");
    let during = during["ap_id"].as_str().expect("id").to_string();

    let alpha = Node::start_with(crate::harness::NodeOptions {
        db: Some(db),
        port,
        ..Default::default()
    })
    .await;
    let t = Three {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
    };
    let copies = thread_everywhere(&t, &during, |_| true).await;
    assert!(copies.iter().all(|c| c["title"] == "During the outage"));
}
