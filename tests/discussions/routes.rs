//! The inbound router: every captured activity, and the cases only a node can tell apart, go
//! where the order in `service::inbound` says. Then Mobilizon's group dialect end to end.

use super::fixtures::activity_fixtures;
use crate::harness::{eventually, fake::FakeServer, ApiUser, Node};
use roundtable::{
    activitypub::activities::parse_envelope,
    service::inbound::{route, Route},
};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The route's name, for a table.
fn name(route: &Route) -> &'static str {
    match route {
        Route::Handshake => "handshake",
        Route::ActorUpdated => "actor updated",
        Route::Report => "report",
        Route::EventInvitation => "event invitation",
        Route::CommunityInvitation => "community invitation",
        Route::Event => "event",
        Route::EditAnswered(_) => "edit answered",
        Route::ArticleFromOwner => "article from owner",
        Route::ArticleProposal(..) => "article proposal",
        Route::ArticleElsewhere => "article elsewhere",
        Route::FromCommunity => "from community",
        Route::MembershipAnswered => "membership answered",
        Route::ToCommunity(..) => "to community",
        Route::Ignored(_) => "ignored",
    }
}

async fn route_of(node: &Node, activity: &Value) -> &'static str {
    let env = parse_envelope(activity.clone()).expect("envelope");
    name(&route(&node.state, &env).await.expect("route"))
}

#[tokio::test]
async fn every_captured_activity_has_its_route() {
    let alpha = Node::start().await;
    // Nothing captured names a community of this node: content is ignored, relays and reports
    // and events are recognised by what they are.
    let mut seen = Vec::new();
    for (file, activity) in activity_fixtures() {
        let kind = activity["type"].as_str().unwrap_or_default().to_string();
        let expected = match kind.as_str() {
            "Announce" => "from community",
            "Flag" => "report",
            "Join" | "Leave" => "event",
            "Create" if activity["object"]["type"] == "Event" => "event",
            "Follow" | "Like" | "Delete" | "Create" | "Update" => "ignored",
            other => panic!("{file}: no expectation for {other}"),
        };
        assert_eq!(route_of(&alpha, &activity).await, expected, "{file}");
        seen.push(kind);
    }
    for kind in [
        "Announce", "Flag", "Join", "Leave", "Follow", "Like", "Delete",
    ] {
        assert!(
            seen.iter().any(|k| k == kind),
            "a captured {kind} was routed"
        );
    }
}

#[tokio::test]
async fn what_only_this_node_can_tell_apart() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "board"})).await;
    assert_eq!(status, 201);
    let board = alpha.url("/c/board");
    let them = "https://peer.example/u/ana";
    let act = |kind: &str, object: Value| {
        json!({"id": format!("https://peer.example/activities/{kind}/1"), "type": kind,
               "actor": them, "object": object, "to": [board.clone()]})
    };
    let table = [
        (act("Follow", json!(alpha.url("/actor"))), "handshake"),
        (act("Follow", json!(board)), "to community"),
        // Mobilizon joins and leaves groups with Join and Leave.
        (act("Join", json!(board)), "to community"),
        (act("Leave", json!(board)), "to community"),
        // A Join of anything else is an RSVP.
        (act("Join", json!("https://peer.example/events/1")), "event"),
        (
            act("Update", json!({"id": them, "type": "Person"})),
            "actor updated",
        ),
        (
            act(
                "Update",
                json!({"id": "https://peer.example/u/bob", "type": "Person"}),
            ),
            "to community",
        ),
        (act("Dislike", json!(alpha.url("/p/1"))), "ignored"),
        (
            act("Invite", json!("https://peer.example/events/1")),
            "event invitation",
        ),
        // An answer to nothing this node asked for is a membership answer (which then finds
        // no membership and is dropped).
        (
            act("Accept", json!("https://peer.example/follows/9")),
            "membership answered",
        ),
        (
            act(
                "Create",
                json!({"id": "https://peer.example/a/1", "type": "Article",
                                 "audience": board}),
            ),
            "article proposal",
        ),
        (
            // Addressed to no community of this node.
            json!({"id": "https://peer.example/activities/create/2", "type": "Create",
                   "actor": them, "object": {"id": "https://peer.example/a/1", "type": "Article"}}),
            "article elsewhere",
        ),
        (
            act(
                "Create",
                json!({"id": "https://peer.example/e/1", "type": "Event"}),
            ),
            "event",
        ),
    ];
    for (activity, expected) in &table {
        assert_eq!(route_of(&alpha, activity).await, *expected, "{activity}");
    }
}

/// A Mobilizon account joins a community with `Join{Group}` and leaves it with `Leave`, as
/// Mobilizon does (`../shared/INTEROP.md` §6), shaped like Mobilizon's own captured Join.
#[tokio::test]
async fn a_mobilizon_person_joins_and_leaves_a_community() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "board"})).await;
    assert_eq!(status, 201);
    let mobilizon = FakeServer::start("tcit").await;
    let board = alpha.url("/c/board");
    let captured = crate::harness::fixture("mobilizon/mobilizon-join-activity.json");
    let mut join = captured.clone();
    join["id"] = json!(format!("{}/join/group/1", mobilizon.base));
    join["actor"] = json!(mobilizon.actor);
    join["object"] = json!(board);
    let (status, body) = mobilizon.deliver(&alpha.url("/c/board/inbox"), &join).await;
    assert_eq!(status, 202, "{body}");
    let answer = eventually(WAIT, "alpha answers the Join", || async {
        mobilizon
            .received()
            .into_iter()
            .find(|a| a["type"] == "Accept" || a["type"] == "Reject")
    })
    .await;
    assert_eq!(answer["type"], "Accept", "{answer}");
    assert_eq!(answer["actor"], board);
    assert_eq!(
        answer["object"]["id"], join["id"],
        "the Accept names the Join"
    );
    let listed = members(&olga).await;
    assert!(
        listed
            .iter()
            .any(|m| m.to_string().contains(&mobilizon.actor)),
        "the Mobilizon person is a member: {listed:?}"
    );

    let mut leave = crate::harness::fixture("mobilizon/mobilizon-leave-activity.json");
    leave["id"] = json!(format!("{}/leave/group/1", mobilizon.base));
    leave["actor"] = json!(mobilizon.actor);
    leave["object"] = json!(board);
    let (status, body) = mobilizon
        .deliver(&alpha.url("/c/board/inbox"), &leave)
        .await;
    assert_eq!(status, 202, "{body}");
    let m = alpha
        .state
        .db
        .membership(&board, &mobilizon.actor)
        .await
        .expect("db");
    assert!(m.is_none(), "Leave ends the membership: {m:?}");
    assert!(!members(&olga)
        .await
        .iter()
        .any(|m| m.to_string().contains(&mobilizon.actor)));
}

async fn members(user: &ApiUser) -> Vec<Value> {
    let (status, body) = user.get("/communities/board/members").await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .cloned()
        .or_else(|| body["members"].as_array().cloned())
        .expect("a list of members")
}

#[tokio::test]
async fn a_mobilizon_group_invites_a_member_who_accepts_by_joining() {
    let alpha = Node::start().await;
    let ana = alpha.api_user("ana").await;
    let mobilizon = FakeServer::start("tcit").await;
    let group = format!("{}/@tech", mobilizon.base);
    mobilizon.publish(&json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": group, "type": "Group", "preferredUsername": "tech", "name": "Tech",
        "inbox": format!("{}/inbox", mobilizon.base),
        "outbox": format!("{group}/outbox"), "followers": format!("{group}/followers"),
        "publicKey": {"id": format!("{group}#main-key"), "owner": group,
                      "publicKeyPem": mobilizon.keys.public_pem},
    }));
    let ana_id = alpha.url("/u/ana");
    let invite = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/invite/1", mobilizon.base), "type": "Invite",
        "actor": mobilizon.actor, "object": group, "target": ana_id, "to": [ana_id],
    });
    let (status, body) = mobilizon.deliver(&alpha.url("/inbox"), &invite).await;
    assert_eq!(status, 202, "{body}");
    // The group is known now: its invitations go straight to the community route.
    assert_eq!(route_of(&alpha, &invite).await, "community invitation");
    let held = alpha
        .state
        .db
        .membership(&group, &ana_id)
        .await
        .expect("db")
        .expect("the invitation is kept");
    assert_eq!(held.state, "invited");
    assert_eq!(
        alpha.state.db.local_member_count(&group).await.expect("db"),
        0,
        "an invitation is no membership"
    );

    // Someone on another host cannot invite to the group.
    let stranger = FakeServer::start("mallory").await;
    let forged = json!({
        "id": format!("{}/invite/2", stranger.base), "type": "Invite",
        "actor": stranger.actor, "object": group, "target": ana_id,
    });
    let (status, body) = stranger.deliver(&alpha.url("/inbox"), &forged).await;
    assert_eq!(status, 403, "{body}");

    // Ana accepts by joining: the Invite is accepted, and the group is followed.
    let handle: String = url::form_urlencoded::byte_serialize(group.as_bytes()).collect();
    let (status, body) = ana
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert!(status == 200 || status == 202, "{status} {body}");
    let accept = eventually(WAIT, "the group hears the Accept", || async {
        mobilizon
            .received()
            .into_iter()
            .find(|a| a["type"] == "Accept")
    })
    .await;
    assert_eq!(accept["object"], invite["id"], "{accept}");
    assert_eq!(accept["actor"], ana_id.as_str());
    let follow = eventually(WAIT, "the group is followed", || async {
        mobilizon
            .received()
            .into_iter()
            .find(|a| a["type"] == "Follow")
    })
    .await;
    assert_eq!(follow["object"], group.as_str());
    let m = alpha
        .state
        .db
        .membership(&group, &ana_id)
        .await
        .expect("db")
        .expect("membership");
    assert_eq!(
        m.state, "pending",
        "waiting for the group's answer to the Follow"
    );
}
