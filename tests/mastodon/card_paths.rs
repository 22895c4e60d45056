//! Articles' and events' statuses where the first cards were missing, driven by Mastodon.py
//! on one node (from the card tests' `seed`, and a reply to its thread): a list timeline of
//! communities and a person's account statuses merge them with posts by id (the same keyset,
//! `Link` header, `exclude_replies`, `only_media`, `pinned`); `favourited_by` and
//! `reblogged_by` of one answer an empty list and its context is empty; search finds one by
//! its URL. A members-only community's article reaches nobody else through any of these: not
//! through a list naming the community, not through its author's account statuses, not
//! through search or its parts.

use super::cards::seed;
use crate::harness::{python, Node};
use serde_json::{json, Value};

#[tokio::test]
async fn lists_accounts_and_search_show_articles_and_events_only_to_their_readers() {
    let node = Node::start().await;
    let seeded = seed(&node).await;
    let (olga, gina, thread) = (&seeded.olga, &seeded.gina, &seeded.thread);
    let (status, reply) = olga
        .post(
            &format!("/threads/{}/replies", thread["id"]),
            json!({"content": "Noted."}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");

    let url = |v: &Value| v["ap_id"].as_str().expect("ap_id").to_string();
    let (article_url, event_url, secret_url) = (
        url(&seeded.article),
        url(&seeded.event),
        url(&seeded.secret),
    );
    let env = [
        ("NODE", node.base.as_str()),
        ("TOKEN", olga.token.as_str()),
        ("INSIDER", gina.token.as_str()),
        ("SECRET", "Budget plan"),
        ("ARTICLE_URL", article_url.as_str()),
        ("EVENT_URL", event_url.as_str()),
        ("SECRET_URL", secret_url.as_str()),
    ];
    let seen = python::run_client(include_str!("card_paths_client.py"), &env).await;

    // The list: the reply, the event, the article, the thread, newest first; ids increase in
    // the order they were made.
    let list = seen["list"].as_array().expect("list");
    let titles: Vec<&Value> = list.iter().map(|s| &s[1]).collect();
    assert_eq!(
        titles,
        [
            &json!("Noted."),
            &json!("Platform roundtable"),
            &json!("Incident handbook"),
            &json!("Welcome")
        ],
        "{seen:#}"
    );
    let ids: Vec<i64> = list
        .iter()
        .map(|s| s[0].as_str().and_then(|i| i.parse().ok()).expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(ids[3], thread["id"].as_i64().expect("thread id"));
    assert_eq!(ids[0], reply["id"].as_i64().expect("reply id"));
    let newest_first: Vec<Value> = ids.iter().map(|i| json!(i.to_string())).collect();
    let oldest_first: Vec<Value> = newest_first.iter().rev().cloned().collect();
    let [reply_id, event_id, article_id, thread_id] = [0, 1, 2, 3].map(|i| &newest_first[i]);
    assert_eq!(seen["list_walk_link"], json!(newest_first), "{seen:#}");
    assert_eq!(seen["list_walk_min_id"], json!(oldest_first), "{seen:#}");
    let secret_id = seen["insider_list"][0][0].clone();
    assert_eq!(
        seen["insider_list"],
        json!([[secret_id, "Budget plan"]]),
        "{seen:#}"
    );

    // Olga's account statuses: the same four, in the same keyset.
    assert_eq!(seen["olga"], seen["list"], "{seen:#}");
    assert_eq!(
        seen["olga_no_replies"],
        json!([
            [event_id, "Platform roundtable"],
            [article_id, "Incident handbook"],
            [thread_id, "Welcome"]
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["olga_media"], 0);
    assert_eq!(seen["olga_pinned"], 0);
    assert_eq!(seen["olga_walk_max_id"], json!(newest_first), "{seen:#}");
    assert_eq!(
        seen["olga_since"],
        json!([
            [reply_id, "Noted."],
            [event_id, "Platform roundtable"],
            [article_id, "Incident handbook"]
        ]),
        "{seen:#}"
    );
    // Gina's: her members-only article for her alone.
    assert_eq!(
        seen["gina_self"],
        json!([[secret_id, "Budget plan"]]),
        "{seen:#}"
    );
    assert_eq!(seen["gina_for_olga"], json!([]), "{seen:#}");
    assert_eq!(seen["gina_for_anonymous"], json!([]), "{seen:#}");

    // Nobody liked or boosted the article; it stands alone.
    assert_eq!(
        seen["article_parts"],
        json!({
            "favourited_by": [200, []],
            "reblogged_by": [200, []],
            "context": [200, {"ancestors": [], "descendants": []}],
        }),
        "{seen:#}"
    );
    assert_eq!(seen["article_likers"], 0);
    assert_eq!(seen["article_boosters"], 0);
    assert_eq!(seen["secret_parts_for_olga"], json!([404, 404, 404]));

    // Search by URL: the article's and event's statuses for both; the circle's for gina only.
    let article_found = json!([[article_id, "Incident handbook"]]);
    let event_found = json!([[event_id, "Platform roundtable"]]);
    assert_eq!(seen["search_ARTICLE_URL"], article_found, "{seen:#}");
    assert_eq!(seen["insider_search_ARTICLE_URL"], article_found);
    assert_eq!(seen["search_EVENT_URL"], event_found, "{seen:#}");
    assert_eq!(seen["insider_search_EVENT_URL"], event_found);
    assert_eq!(seen["search_SECRET_URL"], json!([]), "{seen:#}");
    assert_eq!(
        seen["insider_search_SECRET_URL"],
        json!([[secret_id, "Budget plan"]])
    );
    assert_eq!(seen["anonymous_search_article"], article_found);
}

/// A list (or a person's profile) naming a members-only community the caller may not read,
/// whose posts are newer than everything else: a page still holds `limit` of what the caller
/// may read, because what may be read is decided before paging, not filtered out after it
/// (Mastodon.py and other apps stop at the first empty page).
#[tokio::test]
async fn pages_of_lists_and_profiles_are_full_of_what_the_caller_may_read() {
    let node = Node::start().await;
    let seeded = seed(&node).await;
    let (olga, gina) = (&seeded.olga, &seeded.gina);
    // Gina writes in the public guild first, then more in her members-only circle.
    let (status, body) = gina.post("/communities/guild/join", json!({})).await;
    assert!((200..300).contains(&status), "{status} {body}");
    for i in 0..3 {
        let (status, body) = gina
            .post(
                "/communities/guild/threads",
                json!({"title": format!("Open {i}"), "content": "For everyone."}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for i in 0..5 {
        let (status, body) = gina
            .post(
                "/communities/circle/threads",
                json!({"title": format!("Closed {i}"), "content": "Members only."}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let client = crate::harness::http();
    let call = |method: reqwest::Method, path: &str, token: &str, form: &[(&str, &str)]| {
        let request = client
            .request(method, format!("{}{path}", node.base))
            .bearer_auth(token)
            .form(form);
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let titles = |statuses: &Value| -> Vec<String> {
        statuses
            .as_array()
            .expect("statuses")
            .iter()
            .map(|s| {
                let html = s["content"].as_str().unwrap_or_default();
                ["Open 0", "Open 1", "Open 2", "Closed"]
                    .into_iter()
                    .find(|t| html.contains(t))
                    .unwrap_or("other")
                    .to_string()
            })
            .collect()
    };
    let get = reqwest::Method::GET;
    let (status, found) = call(
        get.clone(),
        "/api/v1/accounts/lookup?acct=gina",
        &olga.token,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let gina_id = found["id"].as_str().expect("id").to_string();
    let (status, found) = call(
        get.clone(),
        "/api/v1/accounts/lookup?acct=circle",
        &olga.token,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let circle_id = found["id"].as_str().expect("id").to_string();
    let (status, list) = call(
        reqwest::Method::POST,
        "/api/v1/lists",
        &olga.token,
        &[("title", "Gina")],
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let list_id = list["id"].as_str().expect("id").to_string();
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("/api/v1/lists/{list_id}/accounts"),
        &olga.token,
        &[
            ("account_ids[]", gina_id.as_str()),
            ("account_ids[]", circle_id.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Olga's list: two of gina's guild threads on the first page, the third on the next.
    let path = format!("/api/v1/timelines/list/{list_id}?limit=2");
    let (status, page) = call(get.clone(), &path, &olga.token, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(titles(&page), ["Open 2", "Open 1"], "{page:#}");
    let last = page[1]["id"].as_str().expect("id");
    let path = format!("/api/v1/timelines/list/{list_id}?limit=2&max_id={last}");
    let (status, next) = call(get.clone(), &path, &olga.token, &[]).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(titles(&next), ["Open 0"], "{next:#}");
    // Gina's own list of the same shows her circle first: she may read it.
    let (status, hers) = call(
        reqwest::Method::POST,
        "/api/v1/lists",
        &gina.token,
        &[("title", "Me")],
    )
    .await;
    assert_eq!(status, 200, "{hers}");
    let hers = hers["id"].as_str().expect("id").to_string();
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("/api/v1/lists/{hers}/accounts"),
        &gina.token,
        &[("account_ids[]", circle_id.as_str())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/api/v1/timelines/list/{hers}?limit=2");
    let (status, page) = call(get.clone(), &path, &gina.token, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(titles(&page), ["Closed", "Closed"], "{page:#}");

    // Gina's account statuses: for olga and for anyone, her guild threads fill the page.
    let path = format!("/api/v1/accounts/{gina_id}/statuses?limit=2");
    let (status, page) = call(get.clone(), &path, &olga.token, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(titles(&page), ["Open 2", "Open 1"], "{page:#}");
    let response = client
        .get(format!("{}{path}", node.base))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("json");
    assert_eq!(titles(&page), ["Open 2", "Open 1"], "{page:#}");
    // For herself, her circle's.
    let (status, page) = call(get, &path, &gina.token, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(titles(&page), ["Closed", "Closed"], "{page:#}");
}
