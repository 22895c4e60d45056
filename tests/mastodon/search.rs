//! Mastodon.py completing mentions through `/api/v1/accounts/search` (and the accounts of
//! `/api/v2/search`): prefixes of this node's people and communities and of the other servers'
//! actors it knows, any case, `%` and `_` taken literally, `limit`/`offset`, `following`; a
//! members-only community is listed only to its members (its whole handle still finds it).
//! And the start-up lists answered with nothing yet, read by Mastodon.py.

use super::cards::seed;
use crate::harness::{python, Node};
use roundtable::db::NewRemoteActor;
use serde_json::json;

#[tokio::test]
async fn mastodon_py_completes_mentions_of_people_and_communities_it_may_see() {
    let node = Node::start().await;
    let seeded = seed(&node).await;
    let (olga, gina) = (&seeded.olga, &seeded.gina);
    // Gina joins the guild; a person elsewhere is known to the node.
    let (status, body) = gina
        .post("/communities/guild/join", serde_json::json!({}))
        .await;
    assert!(status < 300, "{status} {body}");
    node.state
        .db
        .upsert_remote_actor(NewRemoteActor {
            ap_id: "https://far.example/users/Gustav".into(),
            kind: "Person".into(),
            host: "far.example".into(),
            preferred_username: "Gustav".into(),
            inbox: "https://far.example/users/Gustav/inbox".into(),
            shared_inbox: None,
            key_id: "https://far.example/users/Gustav#main-key".into(),
            public_key_pem: "-".into(),
            name: Some("Gustav".into()),
            summary: None,
            outbox: None,
            followers: None,
            icon_url: None,
            visibility: None,
        })
        .await
        .expect("remote actor");
    let env = [
        ("NODE", node.base.as_str()),
        ("TOKEN", olga.token.as_str()),
        ("INSIDER", gina.token.as_str()),
        ("PEER_NAME", "Gustav"),
        ("PEER_HOST", "far.example"),
    ];
    let seen = python::run_client(include_str!("search_client.py"), &env).await;

    // "g": the guild and gina here first, then gustav elsewhere; the circle never matches "g".
    // (Sorted as Python sorts: capitals first.)
    let g = json!(["Gustav@far.example", "gina", "guild"]);
    assert_eq!(seen["olga_g"], g, "{seen:#}");
    assert_eq!(seen["gina_g"], g, "{seen:#}");
    assert_eq!(seen["olga_GU"], json!(["Gustav@far.example", "guild"]));
    // The members-only circle: listed to gina, its member, not to olga.
    assert_eq!(seen["gina_ci"], json!(["circle"]), "{seen:#}");
    assert_eq!(seen["olga_ci"], json!([]), "{seen:#}");
    assert_eq!(seen["olga_circle_whole"], json!(["circle"]), "{seen:#}");
    assert_eq!(seen["olga_ol"], json!(["olga"]));
    assert_eq!(seen["olga_@gin"], json!(["gina"]));
    // Wildcards are letters like any other.
    assert_eq!(seen["olga_%"], json!([]), "{seen:#}");
    assert_eq!(seen["olga__"], json!([]), "{seen:#}");
    assert_eq!(seen["olga_Gus"], json!(["Gustav@far.example"]));
    assert_eq!(seen["olga_peer_host"], json!(["Gustav@far.example"]));
    assert_eq!(seen["olga_peer_wrong_host"], json!([]));
    // Paging: one at a time, in the same order.
    assert_eq!(seen["olga_g_limit_1"], json!(["gina"]), "{seen:#}");
    assert_eq!(seen["olga_g_offset_1"], json!(["guild"]), "{seen:#}");
    // following=true: the communities each joined (olga runs the guild, gina joined it).
    assert_eq!(seen["gina_g_following"], json!(["guild"]), "{seen:#}");
    assert_eq!(seen["olga_g_following"], json!(["guild"]), "{seen:#}");
    assert_eq!(seen["gina_left"], json!([false, []]), "{seen:#}");
    assert_eq!(seen["gina_again"], json!([true, ["guild"]]), "{seen:#}");
    assert_eq!(seen["olga_v2_gu"], json!(["Gustav@far.example", "guild"]));
    assert_eq!(
        seen["anonymous"][0], 401,
        "the search is for signed-in members"
    );
    assert!(seen["anonymous"][1]["error"].is_string(), "{seen:#}");
    assert_eq!(seen["empty"][0], 400, "{seen:#}");
    assert!(seen["empty"][1]["error"].is_string(), "{seen:#}");

    for list in [
        "trending_tags",
        "trending_statuses",
        "announcements",
        "suggestions",
    ] {
        assert_eq!(seen[list], json!([]), "{list}: {seen:#}");
    }
}
