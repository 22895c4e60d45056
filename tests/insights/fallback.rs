//! The `Like` other software sees when a reply is marked as the answer: the marker likes it
//! through the ordinary like path, so a Lemmy- or Mastodon-like follower of the community
//! receives the community's `Announce` of a `Like`, and every Roundtable node counts that
//! like once, however often the mark moves back and forth. Nobody likes their own reply.

use crate::discussions::federation::three_nodes;
use crate::harness::{eventually, fake::FakeServer, ApiUser};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// `reply`'s like count on `user`'s node, once it is `expected` there.
async fn likes_become(user: &ApiUser, handle: &str, thread: &str, reply: &str, expected: i64) {
    eventually(
        WAIT,
        &format!("{expected} like(s) of the answer on {}", user.domain),
        || async {
            let t = user.thread_by_ap_id(handle, thread).await?;
            let r = t["replies"]
                .as_array()?
                .iter()
                .find(|r| r["ap_id"] == reply)?;
            (r["like_count"].as_i64() == Some(expected)).then_some(())
        },
    )
    .await;
}

/// The `Like`s of `object` by `actor` that the fake follower received announced.
fn announced_likes(fake: &FakeServer, actor: &str, object: &str) -> usize {
    fake.received()
        .iter()
        .filter(|a| a["type"] == "Announce")
        .filter(|a| {
            let like = &a["object"];
            like["type"] == "Like" && like["actor"] == actor && like["object"] == object
        })
        .count()
}

async fn reply_on(user: &ApiUser, handle: &str, thread: &str, reply: &str) -> (Value, i64) {
    eventually(WAIT, &format!("the reply on {}", user.domain), || async {
        let t = user.thread_by_ap_id(handle, thread).await?;
        let id = t["replies"]
            .as_array()?
            .iter()
            .find(|r| r["ap_id"] == reply)?["id"]
            .as_i64()?;
        Some((t, id))
    })
    .await
}

#[tokio::test]
async fn marking_an_answer_likes_it_once_for_software_that_ignores_the_mark() {
    let t = three_nodes().await;
    // A Lemmy- or Mastodon-like server follows the community on alpha.
    let lemmy = FakeServer::start("lena").await;
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", lemmy.base),
        "type": "Follow",
        "actor": lemmy.actor,
        "object": t.alpha.url("/c/practice"),
    });
    let (status, body) = lemmy.deliver(&t.alpha.url("/inbox"), &follow).await;
    assert_eq!(status, 202, "{body}");

    let (status, thread) = t
        .bert
        .post(
            &format!("/communities/{}/threads", t.handle),
            json!({"title": "Where do we keep runbooks?", "content": "Wiki or repo?"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let thread_ap = thread["ap_id"].as_str().expect("ap_id").to_string();
    let (on_gamma, _) = eventually(WAIT, "the thread on gamma", || async {
        Some((t.gina.thread_by_ap_id(&t.handle, &thread_ap).await?, ()))
    })
    .await;
    let (status, answer) = t
        .gina
        .post(
            &format!("/threads/{}/replies", on_gamma["id"]),
            json!({"content": "In the repo, next to the code."}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let answer_ap = answer["ap_id"].as_str().expect("ap_id").to_string();
    let (on_alpha, _) = reply_on(&t.olga, &t.handle, &thread_ap, &answer_ap).await;
    let (status, own) = t
        .olga
        .post(
            &format!("/threads/{}/replies", on_alpha["id"]),
            json!({"content": "We use the wiki."}),
        )
        .await;
    assert_eq!(status, 201, "{own}");
    let own_ap = own["ap_id"].as_str().expect("ap_id").to_string();
    let (on_beta, answer_on_beta) = reply_on(&t.bert, &t.handle, &thread_ap, &answer_ap).await;
    let (_, own_on_alpha) = reply_on(&t.olga, &t.handle, &thread_ap, &own_ap).await;
    let (_, answer_on_alpha) = reply_on(&t.olga, &t.handle, &thread_ap, &answer_ap).await;

    // bert, the thread's author, marks gina's reply on beta: he likes it, and every node
    // counts one like.
    let mark = format!("/threads/{}/answer", on_beta["id"]);
    let (status, body) = t.bert.post(&mark, json!({"reply": answer_on_beta})).await;
    assert_eq!(status, 200, "{body}");
    for user in [&t.olga, &t.bert, &t.gina] {
        likes_become(user, &t.handle, &thread_ap, &answer_ap, 1).await;
    }
    let bert = t.bert.ap_id();
    eventually(WAIT, "the announced Like at the follower", || async {
        (announced_likes(&lemmy, &bert, &answer_ap) == 1).then_some(())
    })
    .await;

    // Unmarked and marked again: no second like.
    let (status, body) = t.bert.delete(&mark).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.bert.post(&mark, json!({"reply": answer_on_beta})).await;
    assert_eq!(status, 200, "{body}");
    // olga (a moderator) marks her own reply: she does not like it; then gina's: she likes
    // that one, the second like. Once both nodes see two likes, every mark before has been
    // applied (the community orders them), so the counts are final.
    let mark_on_alpha = format!("/threads/{}/answer", on_alpha["id"]);
    let (status, body) = t
        .olga
        .post(&mark_on_alpha, json!({"reply": own_on_alpha}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .olga
        .post(&mark_on_alpha, json!({"reply": answer_on_alpha}))
        .await;
    assert_eq!(status, 200, "{body}");
    for user in [&t.olga, &t.bert, &t.gina] {
        likes_become(user, &t.handle, &thread_ap, &answer_ap, 2).await;
        likes_become(user, &t.handle, &thread_ap, &own_ap, 0).await;
    }
    let olga = t.olga.ap_id();
    eventually(WAIT, "olga's announced Like at the follower", || async {
        (announced_likes(&lemmy, &olga, &answer_ap) == 1).then_some(())
    })
    .await;
    assert_eq!(announced_likes(&lemmy, &bert, &answer_ap), 1);
    assert_eq!(announced_likes(&lemmy, &olga, &own_ap), 0);
}
