//! Knowledge articles and events as statuses, driven by Mastodon.py on one node: a member's
//! thread, article and event (made in that order through the native API) are three statuses
//! with numeric ids in that order; the article and the event carry a `card` with their title
//! and page, their author as account, the community as mention; home, the public timeline and
//! the community's account statuses list them merged with posts by id, and paging one at a
//! time walks through all three with `max_id`, with `min_id` and through the `Link` header;
//! filters hide and mark them; favouriting one is a 422; a members-only community's article
//! is a 404 by id for a non-member and in none of their timelines; a thread posted afterwards
//! gets a larger id. The migration gives the articles and events stored before it their
//! status ids, oldest first, and posts made afterwards larger ones. A replica's members see
//! the articles and events of a community on another node as statuses too, with ids of their
//! own node.

use crate::harness::{eventually, http, python, ApiUser, Node, TestDb};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};
use std::time::Duration;

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

/// What the card tests start from: olga's public guild with a thread, then an article, then
/// an event (made in that order); gina's members-only circle with an article, "Budget plan".
pub(super) struct Seeded {
    pub olga: ApiUser,
    pub gina: ApiUser,
    pub thread: Value,
    pub article: Value,
    pub event: Value,
    pub secret: Value,
}

pub(super) async fn seed(node: &Node) -> Seeded {
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
    Seeded {
        olga,
        gina,
        thread,
        article,
        event,
        secret,
    }
}

#[tokio::test]
async fn mastodon_py_reads_articles_and_events_as_statuses_with_cards() {
    let node = Node::start().await;
    let Seeded {
        olga,
        gina,
        thread,
        article,
        event,
        ..
    } = seed(&node).await;

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

/// A `status_refs` row: id, article, event, community, created_at.
type RefRow = (i64, Option<i64>, Option<i64>, String, i64);

#[tokio::test]
async fn the_migration_gives_existing_articles_and_events_status_ids_oldest_first() {
    let db = TestDb::create().await;
    let conn = Database::connect(db.url.as_str()).await.expect("connect");
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261209_000043_status_refs")
        .expect("the status_refs migration");
    let before = u32::try_from(before).expect("count");
    Migrator::up(&conn, Some(before))
        .await
        .expect("migrate to before status_refs");
    // No post yet: an article stored first, an event created earlier stored second.
    for sql in [
        "INSERT INTO articles (ap_id, community, title, slug, current_rev, protected, local, \
           created_at, updated_at) VALUES ('https://a.test/a/1', 'https://a.test/c/guild', \
           'Handbook', 'handbook', 'r1', FALSE, TRUE, 3000, 3000)",
        "INSERT INTO events (ap_id, community, organizer, title, description, starts_at, \
           ends_at, timezone, join_mode, status, participant_count, sequence, local, \
           created_at, updated_at) VALUES ('https://a.test/e/1', 'https://a.test/c/guild', \
           'https://a.test/u/olga', 'Meetup', '', 5000, 6000, 'UTC', 'free', 'confirmed', 0, \
           0, TRUE, 2000, 2000)",
    ] {
        conn.execute_unprepared(sql).await.expect("insert");
    }
    Migrator::up(&conn, None).await.expect("migrate");
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, article_id, event_id, community, created_at FROM status_refs ORDER BY id",
        ))
        .await
        .expect("status_refs");
    let refs: Vec<RefRow> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "id").expect("id"),
                r.try_get("", "article_id").expect("article_id"),
                r.try_get("", "event_id").expect("event_id"),
                r.try_get("", "community").expect("community"),
                r.try_get("", "created_at").expect("created_at"),
            )
        })
        .collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    let guild = "https://a.test/c/guild".to_string();
    // The older event first, then the article.
    assert_eq!(
        (refs[0].1, refs[0].2, &refs[0].3, refs[0].4),
        (None, Some(1), &guild, 2000)
    );
    assert_eq!(
        (refs[1].1, refs[1].2, &refs[1].3, refs[1].4),
        (Some(1), None, &guild, 3000)
    );
    assert!(0 < refs[0].0 && refs[0].0 < refs[1].0, "{refs:?}");
    // A post stored afterwards gets a larger id than both.
    conn.execute_unprepared(
        "INSERT INTO posts (ap_id, community, author, content, published, local, created_at) \
         VALUES ('https://a.test/p/1', 'https://a.test/c/guild', 'https://a.test/u/olga', \
         'Hello', 7000, TRUE, 7000)",
    )
    .await
    .expect("post");
    let post = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT MAX(id) AS id FROM posts",
        ))
        .await
        .expect("post id")
        .expect("a row");
    let post: i64 = post.try_get("", "id").expect("id");
    assert!(post > refs[1].0, "post {post}, {refs:?}");
    conn.close().await.ok();
}

#[tokio::test]
async fn a_replica_shows_another_nodes_articles_and_events_as_statuses() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "title": "guild", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let handle = format!("guild@{}", alpha.domain);
    let (status, body) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    eventually(Duration::from_secs(20), "bert accepted", || async {
        let (_, c) = bert.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;
    let (status, article) = olga
        .post(
            "/communities/guild/articles",
            json!({"title": "Incident handbook", "content": "Page the on-call."}),
        )
        .await;
    assert_eq!(status, 201, "{article}");
    let (status, event) = olga
        .post(
            "/communities/guild/events",
            json!({"title": "Platform roundtable", "starts_at": in_days(7, 0),
                   "ends_at": in_days(7, 2), "timezone": "UTC"}),
        )
        .await;
    assert_eq!(status, 201, "{event}");

    // On beta, bert's home shows both, as beta's own statuses, newest first.
    let home: Vec<Value> = eventually(Duration::from_secs(20), "both on beta", || async {
        let home: Value = http()
            .get(beta.url("/api/v1/timelines/home"))
            .bearer_auth(&bert.token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let home = home.as_array()?.clone();
        (home.len() == 2).then_some(home)
    })
    .await;
    let cards: Vec<(&Value, &Value, &Value)> = home
        .iter()
        .map(|s| {
            (
                &s["card"]["title"],
                &s["card"]["url"],
                &s["account"]["acct"],
            )
        })
        .collect();
    let olga_acct = json!(format!("olga@{}", alpha.domain));
    assert_eq!(
        cards,
        [
            (&json!("Platform roundtable"), &event["ap_id"], &olga_acct),
            (&json!("Incident handbook"), &article["ap_id"], &olga_acct)
        ],
        "{home:#?}"
    );
    assert_eq!(home[0]["mentions"][0]["acct"], json!(handle));
    let ids: Vec<i64> = home
        .iter()
        .map(|s| s["id"].as_str().and_then(|i| i.parse().ok()).expect("id"))
        .collect();
    assert!(ids[0] > ids[1], "{ids:?}");
    let one: Value = http()
        .get(beta.url(&format!("/api/v1/statuses/{}", ids[1])))
        .bearer_auth(&bert.token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(one["card"]["url"], article["ap_id"], "{one:#}");
}
