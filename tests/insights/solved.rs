//! Marking a thread's answer across three nodes, and who may read insights.

use crate::discussions::federation::{three_nodes, Three};
use crate::harness::{eventually, ApiUser, Node};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The reply with ActivityPub id `ap_id` in `thread` (as one node shows it).
fn reply_id(thread: &Value, ap_id: &str) -> Option<i64> {
    thread["replies"]
        .as_array()?
        .iter()
        .find(|r| r["ap_id"] == ap_id)
        .and_then(|r| r["id"].as_i64())
}

/// Waits until `user`'s node shows `thread` with both replies and returns it.
async fn thread_with(user: &ApiUser, handle: &str, thread: &str, replies: &[&str]) -> Value {
    eventually(
        WAIT,
        &format!("the thread and its replies on {}", user.domain),
        || async {
            user.thread_by_ap_id(handle, thread)
                .await
                .filter(|t| replies.iter().all(|r| reply_id(t, r).is_some()))
        },
    )
    .await
}

/// Waits until every node shows the thread solved by `answer` (None: unsolved), and checks
/// each node's insights count it.
async fn everywhere(t: &Three, thread: &str, answer: Option<&str>) {
    for user in [&t.olga, &t.bert, &t.gina] {
        let shown = eventually(WAIT, &format!("the mark on {}", user.domain), || async {
            let t = user.thread_by_ap_id(&t.handle, thread).await?;
            let expected = match answer {
                Some(a) => Some(reply_id(&t, a)?),
                None => None,
            };
            (t["solved"] == answer.is_some() && t["answer"].as_i64() == expected).then_some(t)
        })
        .await;
        // The listing says so too.
        let listed = user.threads(&t.handle).await;
        let entry = listed
            .iter()
            .find(|x| x["ap_id"] == thread)
            .expect("listed");
        assert_eq!(entry["solved"], answer.is_some(), "{entry}");
        assert_eq!(entry["answer"], shown["answer"], "{entry}");
        let (status, insights) = user
            .get(&format!("/communities/{}/insights?window=30d", t.handle))
            .await;
        assert_eq!(status, 200, "{insights}");
        let q = &insights["questions"];
        assert_eq!(
            (
                q["opened"].as_u64(),
                q["answered"].as_u64(),
                q["solved"].as_u64()
            ),
            (Some(1), Some(1), Some(u64::from(answer.is_some()))),
            "on {}: {insights}",
            user.domain
        );
        if answer.is_some() {
            // gina's reply came first and is the answer: the two times are the same.
            assert!(q["solution_median_secs"].is_number(), "{insights}");
            assert_eq!(q["solution_median_secs"], q["first_answer_median_secs"]);
        } else {
            assert!(q["solution_median_secs"].is_null(), "{insights}");
        }
        assert_eq!(insights["exchange"]["replies"], 2, "{insights}");
        assert_eq!(insights["exchange"]["cross_node_replies"], 2, "{insights}");
    }
}

#[tokio::test]
async fn a_marked_answer_shows_as_solved_on_every_node_and_in_their_insights() {
    let t = three_nodes().await;
    let (status, thread) = t
        .bert
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "How do we rotate keys?", "content": "Every quarter?"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let thread_ap = thread["ap_id"].as_str().expect("ap_id").to_string();
    let on_gamma = thread_with(&t.gina, &t.handle, &thread_ap, &[]).await;
    let (status, answer) = t
        .gina
        .post(
            &format!("/threads/{}/replies", on_gamma["id"]),
            json!({"content": "With the CLI, every 90 days."}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let answer_ap = answer["ap_id"].as_str().expect("ap_id").to_string();
    let on_alpha = thread_with(&t.olga, &t.handle, &thread_ap, &[&answer_ap]).await;
    let (status, other) = t
        .olga
        .post(
            &format!("/threads/{}/replies", on_alpha["id"]),
            json!({"content": "We do it monthly."}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other_ap = other["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = thread_with(&t.bert, &t.handle, &thread_ap, &[&answer_ap, &other_ap]).await;
    let on_gamma = thread_with(&t.gina, &t.handle, &thread_ap, &[&answer_ap, &other_ap]).await;
    everywhere(&t, &thread_ap, None).await;

    // gina neither wrote the thread nor moderates: refused on her node.
    let path = format!("/threads/{}/answer", on_gamma["id"]);
    let reply = reply_id(&on_gamma, &answer_ap).expect("reply");
    let (status, body) = t.gina.post(&path, json!({"reply": reply})).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A reply of another thread, or the thread itself, is no answer; a bad body is a 4xx.
    let (status, body) = t.gina.post(&path, json!({"reply": on_gamma["id"]})).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, _) = t.gina.post(&path, json!({"reply": "x"})).await;
    assert!((400..500).contains(&status));

    // bert (on beta) wrote the thread: he marks gina's reply; the community decides and
    // every node learns it.
    let path = format!("/threads/{}/answer", on_beta["id"]);
    let reply = reply_id(&on_beta, &answer_ap).expect("reply");
    let (status, body) = t.bert.post(&path, json!({"reply": reply})).await;
    assert_eq!(status, 200, "{body}");
    everywhere(&t, &thread_ap, Some(&answer_ap)).await;

    // olga (the owner, a moderator) unmarks it on alpha; then marks olga's own reply.
    let (status, body) = t
        .olga
        .delete(&format!("/threads/{}/answer", on_alpha["id"]))
        .await;
    assert_eq!(
        (status, body["solved"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    everywhere(&t, &thread_ap, None).await;
    let on_alpha = thread_with(&t.olga, &t.handle, &thread_ap, &[&other_ap]).await;
    let (status, body) = t
        .olga
        .post(
            &format!("/threads/{}/answer", on_alpha["id"]),
            json!({"reply": reply_id(&on_alpha, &other_ap)}),
        )
        .await;
    assert_eq!(
        (status, body["solved"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    for user in [&t.olga, &t.bert, &t.gina] {
        eventually(
            WAIT,
            &format!("olga's answer on {}", user.domain),
            || async {
                let t = user.thread_by_ap_id(&t.handle, &thread_ap).await?;
                (t["answer"].as_i64() == reply_id(&t, &other_ap)).then_some(())
            },
        )
        .await;
    }

    // gina, made a moderator, marks her reply again from gamma: a moderator elsewhere may
    // mark someone else's thread, through the community's node.
    let (_, members) = t.olga.get("/communities/practice/members").await;
    let gina_member = members["members"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["actor"]["ap_id"] == t.gina.ap_id().as_str())
        })
        .map(|m| m["id"].clone())
        .expect("gina is a member");
    let (status, body) = t
        .olga
        .post(
            &format!("/communities/practice/members/{gina_member}/role"),
            json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually(WAIT, "gamma knows gina moderates", || async {
        let (_, c) = t.gina.get(&format!("/communities/{}", t.handle)).await;
        (c["membership"]["role"] == "moderator").then_some(())
    })
    .await;
    let on_gamma = thread_with(&t.gina, &t.handle, &thread_ap, &[&answer_ap]).await;
    let (status, body) = t
        .gina
        .post(
            &format!("/threads/{}/answer", on_gamma["id"]),
            json!({"reply": reply_id(&on_gamma, &answer_ap)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    everywhere(&t, &thread_ap, Some(&answer_ap)).await;
}

#[tokio::test]
async fn insights_of_a_members_community_are_for_members_and_bad_windows_are_400() {
    let node = Node::start().await;
    let olga = node.api_user("olga").await;
    let sam = node.api_user("sam").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "board", "title": "Board", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = olga
        .post(
            "/communities/board/threads",
            json!({"title": "Budget", "content": "Confidential numbers"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = olga.get("/communities/board/insights").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["questions"]["opened"], 1, "{body}");
    assert_eq!(body["window"]["label"], "90d");
    // A signed-in non-member and an anonymous reader are refused as for the threads, and
    // learn nothing.
    for reader in [&sam, &node.anonymous()] {
        let (threads, _) = reader.get("/communities/board/threads").await;
        let (status, body) = reader.get("/communities/board/insights").await;
        assert!(matches!(status, 403 | 404), "{status} {body}");
        assert_eq!(status, threads, "{body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(body.get("questions").is_none(), "{body}");
    }
    // The page and its CSV too: a signed-in non-member is refused as on the community's
    // other pages, and nothing of the figures shows.
    let password = "correct horse battery staple";
    roundtable::service::accounts::create_user(&node.state.db, "stan", Some(password), false)
        .await
        .expect("user");
    let stan = crate::harness::browser::Browser::new(node.addr.port());
    assert_eq!(stan.sign_in("stan", password).await.status, 303);
    let community = stan.get("/communities/board").await;
    assert!(
        !community.body.contains("/insights\""),
        "{}",
        community.body
    );
    for path in [
        "/communities/board/insights",
        "/communities/board/insights.csv?table=summary",
        "/communities/board/insights.csv?table=unanswered",
    ] {
        let page = stan.get(path).await;
        assert!(
            matches!(page.status, 403 | 404),
            "{path}: {} {}",
            page.status,
            page.body
        );
        assert!(!page.body.contains("Budget"), "{path}: {}", page.body);
        assert!(!page.body.contains("questions"), "{path}: {}", page.body);
    }
    for query in [
        "window=7d",
        "window=",
        "from=2026-02-30&to=2026-03-01",
        "from=2026-03-02",
        "from=2026-03-02&to=2026-03-01",
        "window=30d&from=2026-03-02&to=2026-03-03",
        "from=1900-01-01&to=2100-01-01",
        "unknown=1",
    ] {
        let (status, body) = olga
            .get(&format!("/communities/board/insights?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].is_string(), "{query}: {body}");
    }
    let (status, body) = olga
        .get("/communities/board/insights?from=2026-03-02&to=2026-03-02")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["window"]["from"], "2026-03-02T00:00:00Z");
    assert_eq!(body["window"]["to"], "2026-03-03T00:00:00Z");
    assert_eq!(body["rhythm"].as_array().map(Vec::len), Some(1), "{body}");
}
