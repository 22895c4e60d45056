//! A member's filters and followed hashtags, driven by Mastodon.py on one node: filters v2 and
//! v1 created, read, updated and deleted; a `warn` filter marking the statuses it matches in
//! home, a conversation and notifications with the keyword or status that matched (a
//! `whole_word` keyword only as a whole word), a `hide` filter leaving them out, an expired
//! filter no longer applying; another member neither seeing nor touching them; bad input
//! answered with Mastodon-shaped 422s and 404s. A followed hashtag brings its posts into home
//! and unfollowing takes them out, never a members-only community's post to a non-member.

use crate::harness::{eventually, python, Node};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn mastodon_py_keeps_filters_and_followed_tags_and_they_shape_what_it_reads() {
    let node = Node::start().await;
    let olga = node.api_user("olga").await;
    let bert = node.api_user("bert").await;
    let sam = node.api_user("sam").await;
    for (slug, visibility) in [
        ("guild", "public"),
        ("garden", "public"),
        ("inner", "members"),
    ] {
        let (status, body) = olga
            .post(
                "/communities",
                json!({"slug": slug, "title": slug, "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for (community, title, content) in [
        ("guild", "Weekly digest", "The carpet cleaning schedule."),
        ("guild", "Show talk", "The finale was great."),
        ("guild", "Plain news", "Nothing to see here."),
        ("garden", "Open day", "Open gardening day #gardening"),
        ("inner", "Budget", "Secret gardening plans #gardening"),
    ] {
        let (status, body) = olga
            .post(
                &format!("/communities/{community}/threads"),
                json!({"title": title, "content": content}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let run = |step: &str| {
        let env: Vec<(String, String)> = vec![
            ("NODE".into(), node.base.clone()),
            ("STEP".into(), step.into()),
            ("TOKEN".into(), bert.token.clone()),
            ("SAM".into(), sam.token.clone()),
        ];
        async move {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            python::run_client(include_str!("filters_client.py"), &env).await
        }
    };

    // bert joins the guild and starts a thread; olga answers it twice.
    let joined = run("join").await;
    let uri = joined["thread_uri"].as_str().expect("uri").to_string();
    let thread = eventually(Duration::from_secs(20), "bert's thread", || {
        let olga = olga.clone();
        let uri = uri.clone();
        async move { olga.thread_by_ap_id("guild", &uri).await }
    })
    .await;
    for reply in ["Please ignore me.", "A finale reply."] {
        let (status, body) = olga
            .post(
                &format!("/threads/{}/replies", thread["id"]),
                json!({"content": reply}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let seen = run("filters").await;
    assert_eq!(seen["before"], json!([0, 0]), "{seen:#}");
    assert_eq!(
        seen["created"],
        json!([
            "Spoilers",
            ["home", "thread", "notifications"],
            "warn",
            [["FINALE", true]],
            null,
            []
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["read"], "Spoilers");
    assert_eq!(
        seen["updated"],
        json!([
            "Show spoilers",
            ["home", "thread", "notifications"],
            ["FINALE", "car"]
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["keywords"], json!([3, "temporary", false]));
    assert_eq!(seen["keywords_after_delete"], json!(["FINALE", "car"]));
    assert_eq!(seen["list"], json!(["Show spoilers"]));
    let contexts = json!(["home", "thread", "notifications"]);
    assert_eq!(
        seen["v1"],
        json!([
            ["FINALE", contexts, true, false],
            ["car", contexts, true, false]
        ]),
        "{seen:#}"
    );
    assert_eq!(
        seen["v1_created"],
        json!(["digest", ["public"], true, false]),
        "{seen:#}"
    );
    assert_eq!(seen["v1_read"], "digest");
    assert_eq!(
        seen["v1_as_v2"],
        json!([["Show spoilers", "warn"], ["digest", "hide"]])
    );
    assert_eq!(
        seen["v1_updated"],
        json!(["digests", false, ["public"]]),
        "{seen:#}"
    );
    assert_eq!(seen["after_v1_delete"], json!(["Show spoilers"]));

    // Home: the finale status is marked with the keyword that matched, the others are not;
    // "car" as a whole word leaves "carpet" alone, as part of a word it does not.
    let finale = json!([["Show spoilers", ["FINALE"], null]]);
    assert_eq!(
        seen["home_warn"],
        json!({"carpet cleaning": [], "finale was great": finale, "Nothing to see": [], "Notify me": []}),
        "{seen:#}"
    );
    assert_eq!(
        seen["home_part_word"],
        json!({
            "carpet cleaning": [["Show spoilers", ["car"], null]],
            "finale was great": finale,
            "Nothing to see": [],
            "Notify me": [],
        }),
        "{seen:#}"
    );
    // A status named by the filter is marked as such.
    let digest = seen["digest_id"].clone();
    assert_eq!(
        seen["filter_status"],
        json!([digest, 1, digest]),
        "{seen:#}"
    );
    assert_eq!(
        seen["home_status"]["carpet cleaning"],
        json!([["Show spoilers", null, [digest]]]),
        "{seen:#}"
    );
    assert_eq!(seen["filter_statuses_after_delete"], 0);
    // In the conversation of bert's thread, the reply about the finale is marked.
    assert_eq!(
        seen["context"],
        json!([
            ["<p>A finale reply.</p>\n", finale],
            ["<p>Please ignore me.</p>\n", []]
        ]),
        "{seen:#}"
    );
    // A hide filter leaves the status out of home.
    assert_eq!(
        seen["home_hide"],
        json!({"carpet cleaning": [], "finale was great": finale, "Nothing to see": null, "Notify me": []}),
        "{seen:#}"
    );
    // After its end a filter no longer applies; one whose end is ahead still does.
    assert_eq!(seen["expires_set"], true);
    assert_eq!(
        seen["home_expired"],
        json!({"carpet cleaning": [], "finale was great": finale, "Nothing to see": null, "Notify me": []}),
        "{seen:#}"
    );
    // Notifications: the reply the hide filter matches is gone (and not counted), the other
    // is marked.
    assert_eq!(
        seen["notifications"],
        json!([["<p>A finale reply.</p>\n", finale]]),
        "{seen:#}"
    );
    assert_eq!(
        seen["grouped"],
        json!([1, [["<p>A finale reply.</p>\n", finale]]]),
        "{seen:#}"
    );
    assert_eq!(seen["unread"], 1);

    // Another member sees none of bert's filters and cannot reach them.
    assert_eq!(seen["sam_list"], json!([0, 0]));
    assert_eq!(seen["sam"], json!(vec![json!([404, true]); 7]), "{seen:#}");
    assert_eq!(seen["sam_home"], json!([]), "{seen:#}");
    assert_eq!(seen["still_there"], "Show spoilers");

    assert_eq!(
        seen["form"],
        json!([
            200,
            "Form made",
            ["public"],
            "hide",
            [["Tusky", false], ["Ivory", true]]
        ]),
        "{seen:#}"
    );

    // Bad input: 422 for what cannot be a filter, 404 for what is not the caller's.
    let unprocessable = json!([422, true]);
    let not_found = json!([404, true]);
    let mut bad = vec![unprocessable.clone(); 7];
    bad.extend([not_found.clone()]);
    bad.extend([unprocessable.clone(), unprocessable]);
    bad.extend(vec![not_found; 6]);
    assert_eq!(seen["bad"], Value::Array(bad), "{seen:#}");
    assert_eq!(
        seen["after"],
        json!(["Later", "Quiet", "Show spoilers", "Soon over"]),
        "{seen:#}"
    );

    // Followed tags: the garden's public post joins bert's home; the members-only one never.
    let tags = run("tags").await;
    assert_eq!(tags["before"], json!([false, false, false]), "{tags:#}");
    assert_eq!(tags["follow"], json!(["gardening", true, true]), "{tags:#}");
    assert_eq!(tags["home"], json!([true, false]), "{tags:#}");
    assert_eq!(
        tags["followed"],
        json!([["seeds", "compost"], ["gardening"]]),
        "{tags:#}"
    );
    assert_eq!(
        tags["after_unfollow"],
        json!([false, false, ["compost", "seeds"]]),
        "{tags:#}"
    );
    assert_eq!(tags["bad_tag"], json!([404, true]));
}

/// A member blocks another node's domain from Mastodon.py: that node's member's thread in a
/// community here and answer to the member's thread leave their home timeline and their
/// notifications, and come back when they unblock it; the list pages; their own server and
/// what is not a domain cannot be blocked.
#[tokio::test]
async fn mastodon_py_blocks_a_domain_and_its_accounts_leave_home_and_notifications() {
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "title": "guild", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let bert = alpha.api_user("bert").await;
    let remi = beta.api_user("remi").await;
    let community = format!("guild@{}", alpha.domain);
    let run = |node: &Node, step: &str, token: &str| {
        let env: Vec<(String, String)> = vec![
            ("NODE".into(), node.base.clone()),
            ("STEP".into(), step.into()),
            ("TOKEN".into(), token.into()),
            ("SAM".into(), String::new()),
            ("COMMUNITY".into(), community.clone()),
            ("OTHER".into(), beta.domain.clone()),
        ];
        async move {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            python::run_client(include_str!("filters_client.py"), &env).await
        }
    };
    run(&beta, "remote_join", &remi.token).await;
    run(&alpha, "join", &bert.token).await;
    run(&beta, "remote_post", &remi.token).await;

    let seen = run(&alpha, "domains", &bert.token).await;
    let remi_acct = format!("remi@{}", beta.domain);
    assert_eq!(seen["before"], json!([true, true, [remi_acct]]), "{seen:#}");
    assert_eq!(seen["before_blocks"], json!([]));
    // Blocked: remi's thread and answer are gone for bert, his own thread stays.
    assert_eq!(seen["blocked"], json!([false, true, []]), "{seen:#}");
    assert_eq!(seen["unread_blocked"], 0);
    // Newest first, one a page.
    assert_eq!(
        seen["blocks"],
        json!([["other.example"], [beta.domain]]),
        "{seen:#}"
    );
    assert_eq!(
        seen["unblocked"],
        json!([true, true, [remi_acct]]),
        "{seen:#}"
    );
    assert_eq!(seen["after_blocks"], json!(["other.example"]));
    assert_eq!(seen["bad"], json!([[422, true], [422, true], [422, true]]));
}
