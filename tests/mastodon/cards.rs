//! Knowledge articles and events as statuses, driven by Mastodon.py on one node: a member's
//! thread, article and event (made in that order through the native API) are three statuses
//! with numeric ids in that order; the article and the event carry a `card` with their title
//! and page, their author as account, the community as mention; home, the public timeline and
//! the community's account statuses list them merged with posts by id, and paging one at a
//! time walks through all three with `max_id`, with `min_id` and through the `Link` header;
//! filters hide and mark them; favouriting one is a 422; a members-only community's article
//! is a 404 by id for a non-member and in none of their timelines; a thread posted afterwards
//! gets a larger id.

use crate::harness::{python, Node};
use serde_json::{json, Value};

fn in_days(days: i64, hour_offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(hour_offset))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The id (as a number) of a status in a `[[id, title]]` list.
fn id_of(list: &Value, i: usize) -> i64 {
    list[i][0]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id at {i}: {list}"))
}

#[tokio::test]
async fn mastodon_py_reads_articles_and_events_as_statuses_with_cards() {
    let node = Node::start().await;
    let olga = node.api_user("olga").await;
    let gina = node.api_user("gina").await;
    for (user, slug, visibility) in [(&olga, "guild", "public"), (&gina, "circle", "members")] {
        let (status, body) = user
            .post(
                "/communities",
                json!({"slug": slug, "title": slug, "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, thread) = olga
        .post(
            "/communities/guild/threads",
            json!({"title": "Welcome", "content": "Say hello."}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let (status, article) = olga
        .post(
            "/communities/guild/articles",
            json!({"title": "Incident handbook", "content": "# Incidents\n\nPage the on-call.\n"}),
        )
        .await;
    assert_eq!(status, 201, "{article}");
    let (status, event) = olga
        .post(
            "/communities/guild/events",
            json!({"title": "Platform roundtable", "description": "Bring a war story.",
                   "starts_at": in_days(7, 0), "ends_at": in_days(7, 2), "timezone": "Europe/Berlin",
                   "place": {"name": "HQ", "address": "1 Main St, Springfield"}}),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let (status, secret) = gina
        .post(
            "/communities/circle/articles",
            json!({"title": "Budget plan", "content": "Numbers for members only."}),
        )
        .await;
    assert_eq!(status, 201, "{secret}");

    let env = [
        ("NODE", node.base.as_str()),
        ("TOKEN", olga.token.as_str()),
        ("INSIDER", gina.token.as_str()),
        ("SECRET", "Budget plan"),
    ];
    let seen = python::run_client(include_str!("cards_client.py"), &env).await;

    // Home: the event, the article, the thread, newest first, with numeric increasing ids;
    // the thread's status id is its post's id.
    let home = &seen["home"];
    assert_eq!(home.as_array().map(Vec::len), Some(3), "{seen:#}");
    let titles: Vec<&Value> = (0..3).map(|i| &home[i][1]).collect();
    assert_eq!(
        titles,
        [
            &json!("Platform roundtable"),
            &json!("Incident handbook"),
            &json!("Welcome")
        ],
        "{seen:#}"
    );
    let (event_id, article_id, thread_id) = (id_of(home, 0), id_of(home, 1), id_of(home, 2));
    assert_eq!(
        thread_id,
        thread["id"].as_i64().expect("thread id"),
        "{thread}"
    );
    assert!(thread_id < article_id && article_id < event_id, "{seen:#}");

    // The article's status: its card names the article and its page.
    let ap_id = article["ap_id"].as_str().expect("ap_id");
    let a = &seen["article"];
    assert_eq!(a["id"], article_id.to_string());
    assert_eq!(a["url"], ap_id);
    assert_eq!(a["uri"], ap_id);
    assert_eq!(a["account"], "olga");
    assert_eq!(a["visibility"], "public");
    assert_eq!(a["mentions"], json!(["guild"]));
    assert_eq!(a["counts"], json!([0, 0, 0]));
    assert_eq!(a["favourited"], false);
    assert_eq!(
        a["card"],
        json!([
            ap_id,
            "Incident handbook",
            "Incidents Page the on-call.",
            "link",
            node.domain,
            null
        ]),
        "{seen:#}"
    );
    assert_eq!(
        a["content"],
        format!(
            "<p><strong>Incident handbook</strong></p><p>Incidents Page the on-call.</p>\
             <p><a href=\"{ap_id}\">{ap_id}</a></p>"
        ),
        "{seen:#}"
    );
    assert_eq!(a["context"], json!([0, 0]));

    // The event's: its time and place in the summary.
    let event_ap_id = event["ap_id"].as_str().expect("ap_id");
    let e = &seen["event"];
    assert_eq!(e["id"], event_id.to_string());
    assert_eq!(e["url"], event_ap_id);
    assert_eq!(e["account"], "olga");
    assert_eq!(e["card"][0], event_ap_id);
    assert_eq!(e["card"][1], "Platform roundtable");
    let description = e["card"][2].as_str().expect("description");
    assert!(
        description.contains("Europe/Berlin")
            && description.contains("HQ")
            && description.ends_with("Bring a war story."),
        "{seen:#}"
    );
    assert!(
        e["content"]
            .as_str()
            .is_some_and(|c| c.contains("HQ") && c.contains(&format!("href=\"{event_ap_id}\""))),
        "{seen:#}"
    );

    // Paging one status at a time walks through all three, both ways, and the Link header
    // leads to the next one.
    let newest_first = json!([
        event_id.to_string(),
        article_id.to_string(),
        thread_id.to_string()
    ]);
    assert_eq!(seen["walk_max_id"], newest_first, "{seen:#}");
    assert_eq!(
        seen["walk_min_id"],
        json!([
            thread_id.to_string(),
            article_id.to_string(),
            event_id.to_string()
        ]),
        "{seen:#}"
    );
    assert_eq!(
        seen["link_next"],
        json!([[article_id.to_string(), "Incident handbook"]])
    );
    assert_eq!(
        seen["since"],
        json!([
            [event_id.to_string(), "Platform roundtable"],
            [article_id.to_string(), "Incident handbook"]
        ])
    );
    assert_eq!(
        seen["between"],
        json!([[article_id.to_string(), "Incident handbook"]])
    );

    // The guild's account statuses and the public timeline list the same three.
    assert_eq!(seen["guild"], seen["home"], "{seen:#}");
    assert_eq!(seen["guild_pinned"], 0);
    assert_eq!(seen["public"], seen["home"], "{seen:#}");

    // The circle's article: seen by its member, a 404 and absent for olga and anonymous apps.
    assert_eq!(seen["insider_sees"], 1, "{seen:#}");
    assert_eq!(seen["insider_by_id"], "Budget plan");
    assert_eq!(seen["insider_visibility"], "private");
    assert_eq!(seen["outsider_by_id"], 404, "{seen:#}");
    assert_eq!(seen["anonymous_by_id"], 404);
    assert_eq!(seen["outsider_favourite"], 404);
    assert_eq!(seen["outsider_sees_secret"], false);

    // An article's status cannot be favourited or bookmarked: a 422 with an error.
    assert_eq!(seen["favourite"], json!([422, true]), "{seen:#}");
    assert_eq!(seen["bookmark"], 422);

    // Filters: a hiding one leaves the article out, a warning one marks the event.
    assert_eq!(
        seen["filtered_home"],
        json!([
            [event_id.to_string(), "Platform roundtable"],
            [thread_id.to_string(), "Welcome"]
        ]),
        "{seen:#}"
    );
    assert_eq!(
        seen["warned"],
        json!([
            [event_id.to_string(), ["ev"]],
            [article_id.to_string(), []],
            [thread_id.to_string(), []]
        ]),
        "{seen:#}"
    );

    // A thread posted afterwards gets a larger id than the article's and the event's.
    let later: i64 = seen["later"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("later id");
    assert!(later > event_id, "{seen:#}");
    assert_eq!(
        seen["home_after"],
        json!([
            later.to_string(),
            event_id.to_string(),
            article_id.to_string(),
            thread_id.to_string()
        ])
    );
}
