//! Notifications beyond replies and likes, across real nodes: mentions (by `@name` on the
//! same node and `@name@host` on another, through the document's `Mention` tags), answers to
//! an organizer's event and to a participant's RSVP, and another node's answer to an article
//! edit — on the notifications page and, for mentions, in Mastodon apps. Plus the header's
//! "Sign up" link, offered only where anyone may sign up.

use super::{open_node, PASSWORD};
use crate::{
    discussions::federation::three_nodes,
    harness::{browser::Browser, eventually, http, ApiUser, Node},
};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// `name` on `node` (made by the API harness) signs in to the pages with a password.
async fn signed_in(node: &Node, name: &str) -> Browser {
    roundtable::service::accounts::admin::set_password(&node.state, name, PASSWORD)
        .await
        .expect("set a password");
    let b = Browser::new(node.addr.port());
    assert_eq!(b.sign_in(name, PASSWORD).await.status, 303);
    b
}

/// The caller's Mastodon notifications (with a native token, read scope).
async fn app_notifications(user: &ApiUser) -> Vec<Value> {
    let body: Value = http()
        .get(format!("{}/api/v1/notifications", user.node_base))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    body.as_array().cloned().unwrap_or_default()
}

/// Mastodon notifications of `kind` about the status whose content has `text`.
fn about<'a>(notes: &'a [Value], kind: &str, text: &str) -> Vec<&'a Value> {
    notes
        .iter()
        .filter(|n| {
            n["type"] == kind
                && n["status"]["content"]
                    .as_str()
                    .is_some_and(|c| c.contains(text))
        })
        .collect()
}

#[tokio::test]
async fn mentions_notify_people_here_and_on_other_nodes_once() {
    let t = three_nodes().await;
    let lena = t.alpha.api_user("lena").await;
    let beta = &t.beta.domain;
    let gamma = &t.gamma.domain;
    let text = format!(
        "Welcome @lena and @bert@{beta}! Mail bea@example.org; in code `@gina@{gamma}` is no mention."
    );
    let (status, thread) = t
        .olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Kick-off", "content": text}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let ap_id = thread["ap_id"].as_str().expect("ap_id").to_string();

    // The thread's document tags the community and the two people it mentions, no one else.
    let doc: Value = http()
        .get(&ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let tagged: Vec<&str> = doc["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .filter(|t| t["type"] == "Mention")
        .filter_map(|t| t["href"].as_str())
        .collect();
    assert_eq!(
        tagged,
        vec![
            format!("{}/c/practice", t.alpha.base),
            lena.ap_id(),
            t.bert.ap_id()
        ],
        "{doc}"
    );

    // lena, on the same node, and bert, on beta, are notified; gina (only in code) is not.
    let on_alpha = app_notifications(&lena).await;
    assert_eq!(
        about(&on_alpha, "mention", "Welcome").len(),
        1,
        "{on_alpha:?}"
    );
    let bert_sees = eventually(WAIT, "bert's mention on beta", || async {
        let notes = app_notifications(&t.bert).await;
        (about(&notes, "mention", "Welcome").len() == 1).then_some(notes)
    })
    .await;
    assert_eq!(
        about(&bert_sees, "mention", "Welcome")[0]["account"]["acct"],
        format!("olga@{}", t.alpha.domain)
    );
    let on_beta = signed_in(&t.beta, "bert").await;
    let page = on_beta.get("/notifications").await;
    page.shows(200, "mentioned you in").shows(200, "Kick-off");
    // gamma has the thread too, and gina has no notification of it.
    eventually(WAIT, "the thread on gamma", || async {
        t.gina.thread_by_ap_id(&t.handle, &ap_id).await
    })
    .await;
    assert!(about(&app_notifications(&t.gina).await, "mention", "Welcome").is_empty());

    // A reply to olga that also names her notifies her once, as a reply.
    let on_beta_thread = t
        .bert
        .thread_by_ap_id(&t.handle, &ap_id)
        .await
        .expect("thread on beta");
    let (status, reply) = t
        .bert
        .post(
            &format!("/threads/{}/replies", on_beta_thread["id"]),
            json!({"content": format!("Thanks @olga@{}!", t.alpha.domain)}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let olgas = eventually(WAIT, "the reply on alpha", || async {
        let notes = app_notifications(&t.olga).await;
        (!about(&notes, "mention", "Thanks").is_empty()).then_some(notes)
    })
    .await;
    assert_eq!(about(&olgas, "mention", "Thanks").len(), 1, "{olgas:?}");

    // The page lists the mention, counts it unread until opened.
    let lenas = signed_in(&t.alpha, "lena").await;
    let unread: Value =
        serde_json::from_str(&lenas.get("/notifications/unread").await.body).expect("JSON");
    assert_eq!(unread["count"], 1);
    lenas
        .get("/notifications")
        .await
        .shows(200, "mentioned you in")
        .shows(200, "/people/olga");
    let unread: Value =
        serde_json::from_str(&lenas.get("/notifications/unread").await.body).expect("JSON");
    assert_eq!(unread["count"], 0);

    // In a confidential community, naming someone who may not read it tells them nothing.
    let (status, body) = t
        .olga
        .post(
            "/communities",
            json!({"slug": "board", "title": "Board", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = t
        .olga
        .post(
            "/communities/board/threads",
            json!({"title": "Salaries", "content": "Ask @lena about the secret numbers."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(about(&app_notifications(&lena).await, "mention", "secret").is_empty());
    // Not even that she was named: no unread count, no tag in the document.
    let unread: Value =
        serde_json::from_str(&lenas.get("/notifications/unread").await.body).expect("JSON");
    assert_eq!(unread["count"], 0);
    let page = lenas.get("/notifications").await;
    assert!(!page.body.contains("Salaries"), "{}", page.body);
    assert!(!page.body.contains("secret numbers"), "{}", page.body);
    let board = alpha_post_tags(&t.alpha, &body).await;
    assert!(!board.contains(&lena.ap_id()), "{board:?}");
    // A member of the board named there is told.
    let (status, _) = lena.post("/communities/board/join", json!({})).await;
    assert!(status < 300, "lena asks to join");
    let (_, members) = t.olga.get("/communities/board/members").await;
    let id = members["members"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["actor"]["ap_id"] == lena.ap_id().as_str())
        .map(|m| m["id"].clone())
        .expect("lena's request");
    let (status, _) = t
        .olga
        .post(
            &format!("/communities/board/members/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = t
        .olga
        .post(
            "/communities/board/threads",
            json!({"title": "Budget", "content": "@lena please check the budget."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(alpha_post_tags(&t.alpha, &body)
        .await
        .contains(&lena.ap_id()));
    assert_eq!(
        about(&app_notifications(&lena).await, "mention", "budget").len(),
        1
    );
}

/// The `Mention` hrefs of a post's document, fetched as its node serves it (signed by the
/// node's instance actor, which a confidential community's posts need).
async fn alpha_post_tags(node: &Node, post: &Value) -> Vec<String> {
    let stored = node
        .state
        .db
        .post_by_ap_id(post["ap_id"].as_str().expect("ap_id"))
        .await
        .expect("q")
        .expect("stored");
    let doc = roundtable::service::discussions::post_document(&node.state, &stored)
        .await
        .expect("document");
    doc["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["href"].as_str().map(str::to_string))
        .collect()
}

/// The event `ap_id` as `user`'s node lists it, once it has arrived there.
async fn replicated_event(user: &ApiUser, handle: &str, ap_id: &str) -> Value {
    eventually(WAIT, "the event on the member's node", || async {
        let (_, list) = user.get(&format!("/communities/{handle}/events")).await;
        list["events"]
            .as_array()?
            .iter()
            .find(|e| e["ap_id"] == ap_id)
            .cloned()
    })
    .await
}

#[tokio::test]
async fn organizers_and_participants_hear_answers_and_editors_hear_of_conflicts() {
    let t = three_nodes().await;
    let starts = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let ends =
        (chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(2)).to_rfc3339();
    let (status, event) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Closed workshop", "starts_at": starts, "ends_at": ends,
                   "timezone": "Europe/Berlin", "join_mode": "restricted"}),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let ap_id = event["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = replicated_event(&t.bert, &t.handle, &ap_id).await;
    let (status, body) = t
        .bert
        .post(
            &format!("/events/{}/rsvp", on_beta["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("pending")));

    // The organizer hears of the request on alpha.
    let olga = signed_in(&t.alpha, "olga").await;
    let page = eventually(WAIT, "the request on olga's page", || async {
        let page = olga.get("/notifications").await;
        page.body.contains("asks to take part in").then_some(page)
    })
    .await;
    page.shows(200, "Closed workshop")
        .shows(200, &format!("/events/{}", event["id"]))
        .shows(200, &format!("bert@{}", t.beta.domain));

    // She accepts; bert hears of it on beta, and only then.
    let bert = signed_in(&t.beta, "bert").await;
    assert!(!bert
        .get("/notifications")
        .await
        .body
        .contains("confirmed your place"));
    let (status, _) = t
        .olga
        .post(
            &format!(
                "/events/{}/participants/{}/approve",
                event["id"],
                t.bert.handle()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let page = eventually(WAIT, "the answer on bert's page", || async {
        let page = bert.get("/notifications").await;
        page.body
            .contains("confirmed your place at")
            .then_some(page)
    })
    .await;
    page.shows(200, "Closed workshop")
        .shows(200, &format!("/events/{}", on_beta["id"]));

    // A request she declines is no longer news to her.
    let on_gamma = replicated_event(&t.gina, &t.handle, &ap_id).await;
    let (status, _) = t
        .gina
        .post(
            &format!("/events/{}/rsvp", on_gamma["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 200);
    let gina = format!("gina@{}", t.gamma.domain);
    eventually(WAIT, "gina's request on olga's page", || async {
        olga.get("/notifications")
            .await
            .body
            .contains(&gina)
            .then_some(())
    })
    .await;
    let (status, _) = t
        .olga
        .post(
            &format!(
                "/events/{}/participants/{}/reject",
                event["id"],
                t.gina.handle()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let page = olga.get("/notifications").await;
    assert!(!page.body.contains(&gina), "{}", page.body);
    page.shows(200, &format!("bert@{}", t.beta.domain));

    // An edit bert proposes from beta conflicts with one olga saved first on alpha.
    let (status, article) = t
        .olga
        .post(
            "/communities/practice/articles",
            json!({"title": "Runbook", "content": "one\ntwo\nthree\n"}),
        )
        .await;
    assert_eq!(status, 201, "{article}");
    let first = article["revision"].as_str().expect("rev").to_string();
    let article_ap = article["ap_id"].as_str().expect("ap_id").to_string();
    let replica = eventually(WAIT, "the article on beta", || async {
        let (_, list) = t
            .bert
            .get(&format!("/communities/{}/articles", t.handle))
            .await;
        list["articles"]
            .as_array()?
            .iter()
            .find(|a| a["ap_id"] == article_ap.as_str())
            .cloned()
    })
    .await;
    let (status, body) = t
        .olga
        .put(
            &format!("/articles/{}", article["id"]),
            json!({"content": "one\nTWO by olga\nthree\n", "base_revision": first}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .bert
        .put(
            &format!("/articles/{}", replica["id"]),
            json!({"content": "one\nTWO by bert\nthree\n", "base_revision": first}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let page = bert.get("/notifications").await;
    page.shows(200, "found a conflict in your edit of")
        .shows(200, "Runbook")
        .shows(200, &format!("/articles/{}", replica["id"]));
    // olga, whose edit landed, has no such notification.
    assert!(!olga
        .get("/notifications")
        .await
        .body
        .contains("conflict in your edit"));
}

#[tokio::test]
async fn the_header_offers_sign_up_only_where_anyone_may_sign_up() {
    let open = open_node().await;
    let closed = Node::start().await;
    let home = Browser::new(open.addr.port()).get("/").await;
    home.shows(200, "href=\"/sign-up\"");
    let home = Browser::new(closed.addr.port()).get("/").await;
    home.shows(200, "href=\"/sign-in\"");
    assert!(!home.body.contains("href=\"/sign-up\""), "{}", home.body);
}
