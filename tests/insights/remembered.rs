//! A closed window's insights are computed once and then remembered, until something they are
//! computed from changes: a second identical request reads no rows, and an answer mark, a
//! reply arriving late over federation with an old `published`, a new member and a deletion
//! each make the next request compute again, with the new figure.

use crate::harness::{fake::FakeServer, Node};
use chrono::{Days, NaiveTime, Utc};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

const D: i64 = 86_400_000;

#[tokio::test]
async fn a_closed_window_is_computed_once_and_again_after_each_change_of_its_figures() {
    let node = Node::start().await;
    let olga = node.api_user("olga").await;
    let bob = node.api_user("bob").await;
    let (status, body) = olga
        .post("/communities", json!({"slug": "memo", "title": "Memo"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = bob.post("/communities/memo/join", json!({})).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (status, thread) = olga
        .post(
            "/communities/memo/threads",
            json!({"title": "Which backup tool?", "content": "We need one."}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let (status, reply) = bob
        .post(
            &format!("/threads/{}/replies", thread["id"]),
            json!({"content": "restic, nightly."}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");

    // Both written five days ago (the API cannot backdate); the window is the ten days
    // before yesterday, so it is closed.
    let today = Utc::now().date_naive();
    let five_days_ago = (today - Days::new(5))
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
        + 3_600_000;
    let conn = Database::connect(node.db.url.as_str()).await.expect("db");
    let backend = conn.get_database_backend();
    for (ap_id, at) in [
        (&thread["ap_id"], five_days_ago),
        (&reply["ap_id"], five_days_ago + 3_600_000),
    ] {
        conn.execute_raw(Statement::from_string(
            backend,
            format!(
                "UPDATE posts SET published = {at} WHERE ap_id = '{}'",
                ap_id.as_str().expect("ap_id")
            ),
        ))
        .await
        .expect("backdate");
    }
    let members_since = |who: &str, at: i64| {
        Statement::from_string(
            backend,
            format!("UPDATE memberships SET created_at = {at} WHERE actor = '{who}'"),
        )
    };
    for who in [olga.ap_id(), bob.ap_id()] {
        conn.execute_raw(members_since(&who, five_days_ago - 20 * D))
            .await
            .expect("backdate");
    }
    let path = format!(
        "/communities/memo/insights?from={}&to={}",
        today - Days::new(10),
        today - Days::new(2)
    );
    let reads = || node.state.db.insight_reads();
    let ask = |expect_compute: bool| {
        let path = path.clone();
        let olga = &olga;
        async move {
            let before = reads();
            let (status, body) = olga.get(&path).await;
            assert_eq!(status, 200, "{body}");
            let computed = reads() - before;
            assert_eq!(computed, u64::from(expect_compute), "rows read: {body}");
            body
        }
    };
    let figures = |body: &Value| {
        (
            body["questions"]["opened"].as_u64(),
            body["questions"]["solved"].as_u64(),
            body["exchange"]["replies"].as_u64(),
            body["organizations"]["member_nodes"].as_u64(),
        )
    };

    let first = ask(true).await;
    assert_eq!(
        figures(&first),
        (Some(1), Some(0), Some(1), Some(1)),
        "{first}"
    );
    // Asked again with nothing changed: remembered, the same answer.
    let second = ask(false).await;
    assert_eq!(second, first);
    // An open window is never remembered.
    for _ in 0..2 {
        let before = reads();
        let (status, body) = olga.get("/communities/memo/insights?window=30d").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(reads() - before, 1);
    }

    // olga marks bob's reply as the answer: computed again, solved.
    let (status, body) = olga
        .post(
            &format!("/threads/{}/answer", thread["id"]),
            json!({"reply": reply["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let marked = ask(true).await;
    assert_eq!(
        figures(&marked),
        (Some(1), Some(1), Some(1), Some(1)),
        "{marked}"
    );
    assert_eq!(figures(&ask(false).await), figures(&marked));

    // Another server's member joins (after the window: computed again, the same figures;
    // then dated into it), and its reply arrives late, dated four days ago.
    let masto = FakeServer::start("maria").await;
    let community = node.url("/c/memo");
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", masto.base),
        "type": "Follow",
        "actor": masto.actor,
        "object": community,
    });
    let (status, body) = masto.deliver(&node.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(figures(&ask(true).await), figures(&marked));
    conn.execute_raw(members_since(&masto.actor, five_days_ago))
        .await
        .expect("backdate");
    let joined = ask(true).await;
    assert_eq!(
        figures(&joined),
        (Some(1), Some(1), Some(1), Some(2)),
        "{joined}"
    );
    let note_id = format!("{}/statuses/1", masto.base);
    let note = json!({
        "id": note_id,
        "type": "Note",
        "attributedTo": masto.actor,
        "inReplyTo": thread["ap_id"],
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [community],
        "content": "<p>borg works too.</p>",
        "published": chrono::DateTime::from_timestamp_millis(five_days_ago + D)
            .expect("time")
            .to_rfc3339(),
    });
    masto.publish(&note);
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note_id}/activity"),
        "type": "Create",
        "actor": masto.actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [community],
        "object": note,
    });
    let (status, body) = masto.deliver(&node.url("/inbox"), &create).await;
    assert_eq!(status, 202, "{body}");
    let late = ask(true).await;
    assert_eq!(
        figures(&late),
        (Some(1), Some(1), Some(2), Some(2)),
        "{late}"
    );
    assert_eq!(late["exchange"]["cross_node_replies"], 1, "{late}");
    assert_eq!(figures(&ask(false).await), figures(&late));

    // bob deletes his reply (the answer): one reply left, nothing solved.
    let (status, body) = bob.delete(&format!("/replies/{}", reply["id"])).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let deleted = ask(true).await;
    assert_eq!(figures(&deleted).2, Some(1), "{deleted}");
    assert_eq!(figures(&ask(false).await), figures(&deleted));
    conn.close().await.ok();
}
