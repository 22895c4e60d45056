//! What a member keeps for themselves, driven by Mastodon.py as three members of one node:
//! bookmarks, mutes and blocks (and what they hide), lists and their timeline, dismissing and
//! clearing notifications, reports filed from an app, follow requests as join requests of a
//! community the caller moderates, status search that never shows a confidential community's
//! posts to outsiders, `Idempotency-Key`, followers and following (a confidential
//! community's members hidden from outsiders), moderators pinning threads, and boosts.

use crate::{
    accounts::member,
    harness::{python, Node},
};
use serde_json::{json, Value};

#[tokio::test]
async fn mastodon_py_keeps_bookmarks_mutes_blocks_lists_reports_and_follow_requests() {
    let node = Node::start().await;
    let mut tokens = Vec::new();
    for name in ["bert", "olga", "sam"] {
        member(&node, name, &format!("{name}@example.com")).await;
        tokens.push(
            roundtable::service::accounts::create_token(&node.state.db, name, "read write")
                .await
                .expect("token"),
        );
    }
    let mut bert = node.anonymous();
    bert.token = tokens[0].clone();
    for (slug, visibility) in [("guild", "public"), ("inner", "members")] {
        let (status, body) = bert
            .post(
                "/communities",
                json!({"slug": slug, "title": slug, "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let seen = python::run_client(
        include_str!("personal_client.py"),
        &[
            ("NODE", &node.base),
            ("BERT", &tokens[0]),
            ("OLGA", &tokens[1]),
            ("SAM", &tokens[2]),
        ],
    )
    .await;
    let expected = &seen["expected"];
    let (thread, olga_reply, sam_reply) = (
        expected["thread"].clone(),
        expected["olga_reply"].clone(),
        expected["sam_reply"].clone(),
    );

    // One thread for one key, however often the app sends it.
    assert_eq!(seen["idempotent"], json!([true, true]), "{seen:#}");
    assert_eq!(seen["threads_by_bert"], 2, "{seen:#}");

    assert_eq!(seen["bookmark_flag"], true);
    assert_eq!(seen["bookmarks"], json!([olga_reply, thread]), "{seen:#}");
    assert_eq!(seen["bookmarked_in_status"], true);
    assert_eq!(seen["bookmarks_after"], json!([olga_reply]));
    assert_eq!(seen["olga_bookmarks"], json!([]));

    assert_eq!(seen["notes_before"], json!(["olga", "sam"]), "{seen:#}");
    assert_eq!(seen["home_has_sam"], true);
    assert_eq!(seen["mute_rel"], json!([true, true]));
    assert_eq!(seen["mutes"], json!(["sam"]));
    assert_eq!(seen["notes_muted"], json!(["olga"]), "{seen:#}");
    assert_eq!(seen["home_muted_has_sam"], false);
    assert_eq!(seen["public_muted_has_sam"], false);
    assert_eq!(seen["unmute_rel"], false);
    assert_eq!(
        seen["mute_posts_only"],
        json!([true, false, ["olga", "sam"], false]),
        "{seen:#}"
    );
    assert_eq!(seen["block_rel"], true);
    assert_eq!(seen["blocks"], json!(["sam"]));
    assert_eq!(seen["notes_blocked"], json!(["olga"]));
    assert_eq!(seen["home_blocked_has_sam"], false);
    assert_eq!(
        seen["relationships"],
        json!([
            [true, true, false, false],
            [true, false, false, true],
            [true, false, false, false]
        ]),
        "{seen:#}"
    );
    assert_eq!(
        seen["familiar_followers"],
        json!([[true, []], [true, []]]),
        "{seen:#}"
    );
    assert_eq!(seen["blocks_after"], json!([]));
    assert_eq!(seen["notes_unblocked"], json!(["olga", "sam"]));
    assert_eq!(seen["mute_self"][1], 422, "{seen:#}");
    assert_eq!(seen["mute_bad_duration"][0], 422, "{seen:#}");
    assert!(seen["mute_bad_duration"][1]["error"].is_string());

    assert_eq!(seen["one_note"], "olga");
    assert_eq!(seen["notes_dismissed"], json!(["sam"]), "{seen:#}");
    assert_eq!(seen["dismissed_by_id"], 404);
    assert_eq!(seen["dismiss_bad"][0], 404);
    assert!(seen["dismiss_bad"][1]["error"].is_string());
    assert_eq!(seen["notes_cleared"], json!([]));
    assert_eq!(seen["unread_cleared"], 0);
    assert_eq!(seen["notes_after_clear"], json!(["olga"]), "{seen:#}");

    assert_eq!(seen["list_accounts"], json!(["olga"]));
    assert_eq!(seen["list_timeline_authors"], json!(["olga"]), "{seen:#}");
    assert_eq!(
        seen["list_renamed"],
        json!(["Mentors", ["Mentors"]]),
        "{seen:#}"
    );
    assert_eq!(seen["list_of_others"][1], 404);
    assert_eq!(seen["list_blank"][1], 422);
    assert_eq!(seen["list_bad_policy"][1], 422);
    assert_eq!(seen["list_accounts_after"], json!([]));
    assert_eq!(seen["lists_after"], json!([]));

    assert_eq!(
        seen["report"],
        json!({"comment": "Spam in the guild", "category": "spam", "target": "sam", "status_ids": [sam_reply]}),
        "{seen:#}"
    );
    assert_eq!(seen["report_wrong_status"][1], 422);
    assert_eq!(seen["report_no_account"][0], 422);
    // The report is in the community's moderation queue, about sam's reply.
    let moderator = format!("{}/u/bert", node.base);
    let queue = node
        .state
        .db
        .report_queue(None, Some(&moderator), None, 10)
        .await
        .expect("queue");
    let objects: Vec<String> = queue.items.iter().map(|r| r.object.clone()).collect();
    let sam_reply_uri = node
        .state
        .db
        .post(sam_reply.as_str().expect("id").parse().expect("number"))
        .await
        .expect("db")
        .expect("post")
        .ap_id;
    assert_eq!(objects, vec![sam_reply_uri], "{queue:?}");
    assert_eq!(queue.items[0].reason, "Spam in the guild");

    assert_eq!(seen["olga_requested"], true);
    assert_eq!(seen["follow_requests"], json!(["olga", "sam"]), "{seen:#}");
    assert_eq!(seen["olga_follow_requests"], json!([]));
    assert_eq!(
        seen["follow_request_notes"],
        json!([["follow_request", "olga"], ["follow_request", "sam"]]),
        "{seen:#}"
    );
    assert_eq!(
        seen["follow_request_notes_v2"],
        json!(["follow_request", "follow_request"])
    );
    assert_eq!(seen["olga_follow_request_notes"], 0);
    assert_eq!(seen["authorized"], true);
    assert_eq!(seen["follow_requests_after"], json!([]));

    assert_eq!(
        seen["boost_wrapper"],
        json!([thread, "olga", true]),
        "{seen:#}"
    );
    assert_eq!(seen["boost_count"], json!([2, true, false]), "{seen:#}");
    assert_eq!(seen["reblogged_by"], json!(["olga", "sam"]));
    assert_eq!(
        seen["boost_groups"],
        json!([["reblog", 2, thread]]),
        "{seen:#}"
    );
    assert_eq!(seen["boost_notes"], json!(["olga", "sam"]));
    assert_eq!(seen["unboost"], json!([false, 1]));
    assert_eq!(seen["reblogged_by_after"], json!(["olga"]));
    assert_eq!(seen["boost_missing"][1], 404);
    // Once decided, a request is no longer waiting, and its notification is gone.
    assert_eq!(seen["follow_request_notes_after"], 0);
    assert_eq!(seen["olga_following_inner"], true);
    assert_eq!(seen["sam_inner"], json!([false, false]));
    assert_eq!(seen["authorize_again"][1], 404);

    assert_eq!(seen["search_guild"], json!([thread]), "{seen:#}");
    assert_eq!(seen["search_by_url"], json!([thread]));
    assert_eq!(seen["search_inner_member"], 1, "{seen:#}");
    assert_eq!(seen["search_inner_outsider"], 0);
    assert_eq!(seen["search_anonymous"], Value::Array(Vec::new()));

    assert_eq!(seen["guild_followers"], json!(["bert", "olga", "sam"]));
    assert_eq!(seen["inner_followers_member"], json!(["bert", "olga"]));
    assert_eq!(seen["inner_followers_outsider"], json!([]));
    assert_eq!(
        seen["olga_following_seen_by_bert"],
        json!(["guild", "inner"]),
        "{seen:#}"
    );
    assert_eq!(seen["olga_following_seen_by_sam"], json!(["guild"]));
    assert_eq!(seen["olga_followers"], json!([]));

    assert_eq!(seen["pinned"], true);
    assert_eq!(seen["community_pins"], json!([thread]), "{seen:#}");
    assert_eq!(seen["pin_by_member"][1], 403, "{seen:#}");
    assert_eq!(seen["pin_reply"][1], 422);
    assert_eq!(seen["unpinned"], false);
    assert_eq!(seen["community_pins_after"], json!([]));

    assert_eq!(
        seen["groups"],
        json!([
            ["favourite", 2, thread],
            ["mention", 1, seen["groups"][1][2]]
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["group_samples"], json!(["olga", "sam"]));
    assert_eq!(seen["group_statuses"].as_array().map(Vec::len), Some(2));
    assert_eq!(seen["v1_group_keys"], seen["v2_group_keys"], "{seen:#}");
    assert_eq!(seen["group_by_key"], 2);
    assert_eq!(seen["group_accounts"], json!(["sam", "olga"]));
    assert_eq!(
        seen["ungrouped_when_asked"],
        json!(["favourite", "favourite", "mention"])
    );
    assert_eq!(seen["unread_groups"], 2);
    assert_eq!(seen["groups_after_dismiss"], json!(["mention"]));
    assert_eq!(seen["bad_group_key"], 404);

    assert_eq!(
        seen["streamed_updates"],
        json!(["<p>Streamed answer.</p>\n"]),
        "{seen:#}"
    );
    assert_eq!(
        seen["streamed_notifications"],
        json!([["mention", "olga"]]),
        "{seen:#}"
    );
    assert_eq!(seen["streaming_health"], true);
    assert_eq!(
        seen["socket_updates"],
        json!(["<p>Socket answer.</p>\n"]),
        "{seen:#}"
    );
    assert_eq!(seen["socket_notifications"], json!([["mention", "olga"]]));
    // The anonymous public stream has both replies (mutes are bert's alone), in order.
    assert_eq!(
        seen["socket_public"],
        json!([
            [["public:local"], "update", "<p>Socket spam.</p>\n"],
            [["public:local"], "update", "<p>Socket answer.</p>\n"],
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["socket_anonymous_user"]["status"], 401, "{seen:#}");
    assert_eq!(seen["socket_bad_token"], 401);
    assert_eq!(seen["streaming_anonymous_user"], 401);
}
