//! Classes 3, 4 and 5: the community's node applies one rule to local and remote actors; a ban
//! ends access everywhere; moderators elsewhere can do no more than moderators here.

use super::{admit, approve, board, held, signed_by, thread, until_held, Board, WAIT};
use crate::harness::{eventually, fake::FakeServer, http, ApiUser};
use serde_json::{json, Value};

fn in_days(days: i64, hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `user` RSVPs to the event with local id `id` and gets a seat at once.
async fn going(user: &ApiUser, id: &Value) {
    let (status, body) = user
        .post(&format!("/events/{id}/rsvp"), json!({"going": true}))
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("going")),
        "{body}"
    );
}

async fn event(olga: &ApiUser, title: &str, capacity: Option<u32>) -> Value {
    event_in(olga, "board", title, capacity).await
}

async fn event_in(olga: &ApiUser, slug: &str, title: &str, capacity: Option<u32>) -> Value {
    event_with(olga, slug, title, json!({"capacity": capacity})).await
}

/// An event in five days, with `fields` (capacity, join mode…) added to its input.
async fn event_with(olga: &ApiUser, slug: &str, title: &str, fields: Value) -> Value {
    let mut input = json!({"title": title, "starts_at": in_days(5, 0), "ends_at": in_days(5, 2),
                           "timezone": "Europe/Berlin"});
    for (k, v) in fields.as_object().into_iter().flatten() {
        input[k] = v.clone();
    }
    let (status, body) = olga
        .post(&format!("/communities/{slug}/events"), input)
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// The id of `who`'s membership of `board`, as alpha lists it.
async fn member_id(olga: &ApiUser, who: &str) -> Value {
    let (_, members) = olga.get("/communities/board/members").await;
    members["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["actor"]["ap_id"] == who))
        .map(|m| m["id"].clone())
        .unwrap_or(Value::Null)
}

/// olga makes bert a moderator; beta learns it.
async fn bert_moderates(t: &Board) {
    let id = member_id(&t.olga, &t.bert.ap_id()).await;
    let (status, body) = t
        .olga
        .post(
            &format!("/communities/board/members/{id}/role"),
            json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually(WAIT, "beta knows bert moderates", || async {
        let (_, c) = t.bert.get(&format!("/communities/{}", t.handle)).await;
        (c["membership"]["role"] == "moderator").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_stranger_cannot_post_like_or_take_seats_in_a_members_community() {
    let t = board().await;
    let post = thread(&t.olga, "/communities/board/threads", "Roadmap").await;
    let seat = event(&t.olga, "Strategy day", Some(1)).await;
    let event_id = seat["ap_id"].as_str().expect("ap_id").to_string();
    let stranger = FakeServer::start("stranger").await;
    let inbox = t.alpha.url("/c/board/inbox");

    // A signed Create of a thread, from someone who never joined.
    let page = json!({
        "id": format!("{}/pages/1", stranger.base), "type": "Page",
        "attributedTo": stranger.actor, "name": "Buy our product",
        "content": "<p>spam</p>", "audience": t.community, "to": [t.community],
    });
    stranger.publish(&page);
    let create = json!({"id": format!("{}/create/1", stranger.base), "type": "Create",
        "actor": stranger.actor, "to": [t.community], "object": page});
    let (status, body) = stranger.deliver(&inbox, &create).await;
    assert_eq!(status, 403, "{body}");
    assert!(!held(&t.alpha, &t.community)
        .await
        .contains(&format!("{}/pages/1", stranger.base)));

    // A like.
    let like = json!({"id": format!("{}/like/1", stranger.base), "type": "Like",
        "actor": stranger.actor, "object": post});
    let (status, body) = stranger.deliver(&inbox, &like).await;
    assert_eq!(status, 403, "{body}");
    let stored = t
        .alpha
        .state
        .db
        .post_by_ap_id(&post)
        .await
        .expect("db")
        .expect("post");
    assert_eq!(stored.like_count, 0);

    // RSVPs, Mobilizon's Join and Friendica's Accept: each answered with an explicit Reject.
    for (n, kind) in ["Join", "Accept"].iter().enumerate() {
        let rsvp = json!({"id": format!("{}/rsvp/{n}", stranger.base), "type": kind,
            "actor": stranger.actor, "object": event_id, "to": [t.community]});
        let (status, body) = stranger.deliver(&inbox, &rsvp).await;
        assert_eq!(status, 202, "{body}");
        let reject = eventually(WAIT, "the stranger's node gets a Reject", || async {
            stranger.received().into_iter().find(|a| {
                a["type"] == "Reject" && a["object"]["id"] == format!("{}/rsvp/{n}", stranger.base)
            })
        })
        .await;
        assert_eq!(reject["actor"], t.community.as_str());
    }
    // The only seat is still free for a member.
    let (status, body) = t
        .bert
        .post(
            &format!(
                "/events/{}/rsvp",
                local_event(&t.bert, &t.handle, &event_id).await
            ),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let state = eventually(WAIT, "alpha decides bert's RSVP", || async {
        let (_, e) = t.olga.get(&format!("/events/{}", seat["id"])).await;
        (e["participant_count"].as_i64() == Some(1)).then_some(e)
    })
    .await;
    assert_eq!(state["remaining"], 0, "{state}");
}

/// The id of the event `ap_id` on `user`'s own node, once it is there.
async fn local_event(user: &ApiUser, handle: &str, ap_id: &str) -> Value {
    eventually(WAIT, &format!("{} has the event", user.domain), || async {
        let (_, list) = user.get(&format!("/communities/{handle}/events")).await;
        list["events"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["ap_id"] == ap_id))
            .map(|e| e["id"].clone())
    })
    .await
}

#[tokio::test]
async fn a_ban_by_a_moderator_elsewhere_ends_the_membership_on_every_node() {
    let t = board().await;
    admit(&t.olga, &t.gina, &t.handle).await;
    bert_moderates(&t).await;
    let day = event(&t.olga, "Offsite", None).await;
    let day_ap = day["ap_id"].as_str().expect("ap_id").to_string();
    let posted = thread(&t.olga, "/communities/board/threads", "Minutes").await;
    until_held(&t.gamma, &t.community, &posted).await;
    // gina is going, and her personal calendar shows it.
    let gina_event = local_event(&t.gina, &t.handle, &day_ap).await;
    let (status, body) = t
        .gina
        .post(
            &format!("/events/{gina_event}/rsvp"),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, cal) = t.gina.post("/me/calendar", json!({})).await;
    let feed = cal["url"].as_str().expect("url").to_string();
    let ics = || async {
        http()
            .get(&feed)
            .send()
            .await
            .expect("feed")
            .text()
            .await
            .expect("text")
    };
    assert!(ics().await.contains("Offsite"));

    // bert, a moderator on beta, bans gina.
    let (status, body) = t
        .bert
        .post(
            &format!("/communities/{}/bans", t.handle),
            json!({"actor": t.gina.ap_id(), "reason": "leaked the minutes"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The community's node ends her membership…
    eventually(WAIT, "alpha ends gina's membership", || async {
        t.alpha
            .state
            .db
            .membership(&t.community, &t.gina.ap_id())
            .await
            .expect("db")
            .is_none()
            .then_some(())
    })
    .await;
    // …and tells gamma, which had no other member: its copy goes.
    eventually(WAIT, "gamma drops its copy", || async {
        held(&t.gamma, &t.community).await.is_empty().then_some(())
    })
    .await;
    let (status, _) = t
        .gina
        .get(&format!("/communities/{}/threads", t.handle))
        .await;
    assert_eq!(status, 403);
    assert!(
        !ics().await.contains("Offsite"),
        "the calendar forgets the event"
    );
    // New content no longer reaches gamma.
    let later = thread(&t.olga, "/communities/board/threads", "After the ban").await;
    until_held(&t.beta, &t.community, &later).await;
    assert!(held(&t.gamma, &t.community).await.is_empty());
}

#[tokio::test]
async fn a_banned_reader_of_a_replica_sees_nothing() {
    let t = board().await;
    let lee = t.beta.api_user("lee").await;
    admit(&t.olga, &lee, &t.handle).await;
    let posted = thread(&t.olga, "/communities/board/threads", "Budget").await;
    until_held(&t.beta, &t.community, &posted).await;
    assert_eq!(
        lee.get(&format!("/communities/{}/threads", t.handle))
            .await
            .0,
        200
    );
    // The replica learns of the ban before (or without) the end of the membership.
    t.beta
        .state
        .db
        .ban(&t.community, &lee.ap_id(), Some("test".into()), None)
        .await
        .expect("ban");
    let (status, body) = lee.get(&format!("/communities/{}/threads", t.handle)).await;
    assert_eq!(status, 403, "{body}");
    // bert, not banned, still reads.
    assert_eq!(
        t.bert
            .get(&format!("/communities/{}/threads", t.handle))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn moderators_elsewhere_cannot_demote_or_ban_the_owner_or_promote_strangers() {
    let t = board().await;
    bert_moderates(&t).await;
    // gina asks to join and waits.
    let (status, _) = t
        .gina
        .post(&format!("/communities/{}/join", t.handle), json!({}))
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "alpha has gina's request", || async {
        t.alpha
            .state
            .db
            .membership(&t.community, &t.gina.ap_id())
            .await
            .expect("db")
            .filter(|m| m.state == "pending")
    })
    .await;
    let inbox = t.alpha.url("/c/board/inbox");
    let moderators = format!("{}/moderators", t.community);
    let olga = t.olga.ap_id();
    let tries = [
        ("Remove", olga.clone(), 403),
        ("Block", olga.clone(), 403),
        ("Add", t.gina.ap_id(), 409),
    ];
    for (n, (kind, target, expected)) in tries.into_iter().enumerate() {
        let mut activity = json!({
            "id": t.beta.url(&format!("/activities/mod/{n}")),
            "type": kind, "actor": t.bert.ap_id(), "object": target,
            "audience": t.community, "to": [t.community],
        });
        activity["target"] = if kind == "Block" {
            json!(t.community)
        } else {
            json!(moderators)
        };
        let (status, body) = signed_by(&t.beta, "bert", false, &inbox, &activity).await;
        assert_eq!(status, expected, "{kind} {target}: {body}");
    }
    let owner = t
        .alpha
        .state
        .db
        .membership(&t.community, &olga)
        .await
        .expect("db")
        .expect("olga");
    assert_eq!(owner.role, "owner");
    assert!(t
        .alpha
        .state
        .db
        .active_ban(&t.community, &olga, chrono::Utc::now().timestamp_millis())
        .await
        .expect("db")
        .is_none());
    let gina = t
        .alpha
        .state
        .db
        .membership(&t.community, &t.gina.ap_id())
        .await
        .expect("db")
        .expect("gina");
    assert_eq!(
        (gina.role.as_str(), gina.state.as_str()),
        ("member", "pending")
    );
}

/// Three people wait for the one seat of an event, on three nodes; each seat that opens goes to
/// the one who has waited longest, and their node hears it.
#[tokio::test]
async fn the_waitlist_promotes_strictly_in_order_across_nodes() {
    let t = board().await;
    admit(&t.olga, &t.gina, &t.handle).await;
    let lee = t.alpha.api_user("lee").await;
    let (status, _) = lee.post("/communities/board/join", json!({})).await;
    assert_eq!(status, 202, "a members community waits for a moderator");
    approve(&t.olga, &lee).await;
    let seat = event(&t.olga, "Dinner", Some(1)).await;
    let ap_id = seat["ap_id"].as_str().expect("ap_id").to_string();
    going(&t.olga, &seat["id"]).await;

    let waiting = [t.bert.clone(), t.gina.clone(), lee.clone()];
    let mut ids = Vec::new();
    for user in &waiting {
        let id = local_event(user, &t.handle, &ap_id).await;
        let (status, body) = user
            .post(&format!("/events/{id}/rsvp"), json!({"going": true}))
            .await;
        assert_eq!(status, 200, "{body}");
        // Each is on the waitlist, as alpha decides, before the next one asks.
        eventually(WAIT, "alpha waitlists the RSVP", || async {
            let p = t
                .alpha
                .state
                .db
                .participant(seat["id"].as_i64().expect("id"), &user.ap_id())
                .await
                .expect("db")?;
            (p.state == "waitlisted").then_some(())
        })
        .await;
        ids.push(id);
    }

    the_seat_passes_down(
        &t,
        &seat,
        (t.olga.clone(), seat["id"].clone()),
        &waiting,
        ids,
    )
    .await;
}

/// The one seat of `seat` passes down `waiting` (each with the event's id on their node), one
/// leaver at a time, starting with `first`: each time the next in line gets it, their node
/// hears it, and nobody else in line is going.
async fn the_seat_passes_down(
    t: &Board,
    seat: &Value,
    first: (ApiUser, Value),
    waiting: &[ApiUser],
    ids: Vec<Value>,
) {
    let mut leaver = first;
    for (user, id) in waiting.iter().zip(ids) {
        let (status, body) = leaver
            .0
            .post(
                &format!("/events/{}/rsvp", leaver.1),
                json!({"going": false}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        eventually(WAIT, &format!("{} gets the seat", user.name), || async {
            let (_, e) = user.get(&format!("/events/{id}")).await;
            (e["my_rsvp"] == "going").then_some(())
        })
        .await;
        for other in waiting.iter().filter(|o| o.name != user.name) {
            let p = t
                .alpha
                .state
                .db
                .participant(seat["id"].as_i64().expect("id"), &other.ap_id())
                .await
                .expect("db");
            assert_ne!(
                p.map(|p| p.state.to_string()),
                Some("going".to_string()),
                "{} is not going",
                other.name
            );
        }
        leaver = (user.clone(), id);
    }
}

/// An event whose organizer approves every RSVP, with one seat: three people on three nodes
/// ask, and the organizer approves them in another order than they asked. Each joins the
/// waitlist when approved, and the seat goes strictly in the order they joined it.
#[tokio::test]
async fn approved_rsvps_are_promoted_in_the_order_they_joined_the_waitlist() {
    let t = board().await;
    admit(&t.olga, &t.gina, &t.handle).await;
    let lee = t.alpha.api_user("lee").await;
    let (status, _) = lee.post("/communities/board/join", json!({})).await;
    assert_eq!(status, 202, "a members community waits for a moderator");
    approve(&t.olga, &lee).await;
    let seat = event_with(
        &t.olga,
        "board",
        "Workshop",
        json!({"capacity": 1, "join_mode": "restricted"}),
    )
    .await;
    let event_id = seat["id"].as_i64().expect("id");
    let ap_id = seat["ap_id"].as_str().expect("ap_id").to_string();
    let on_alpha = |who: String| {
        let db = t.alpha.state.db.clone();
        async move {
            db.participant(event_id, &who)
                .await
                .expect("db")
                .map(|p| (p.id, p.state))
        }
    };
    let (olga, on_alpha) = (&t.olga, &on_alpha);
    let decide = |who: String| async move {
        let (id, _) = on_alpha(who).await.expect("a participant");
        let (status, body) = olga
            .post(
                &format!("/events/{event_id}/participants/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["state"].as_str().unwrap_or_default().to_string()
    };
    // The organizer takes the seat herself, by approval like everyone.
    let (status, body) = t
        .olga
        .post(&format!("/events/{event_id}/rsvp"), json!({"going": true}))
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("pending")));
    assert_eq!(decide(t.olga.ap_id()).await, "going");

    // bert, gina and lee ask in that order; all wait for the organizer.
    let asking = [t.bert.clone(), t.gina.clone(), lee.clone()];
    let mut local_ids = std::collections::HashMap::new();
    for user in &asking {
        let id = local_event(user, &t.handle, &ap_id).await;
        let (status, body) = user
            .post(&format!("/events/{id}/rsvp"), json!({"going": true}))
            .await;
        assert_eq!((status, body["state"].as_str()), (200, Some("pending")));
        eventually(WAIT, "alpha holds the request", || async {
            let (_, st) = on_alpha(user.ap_id()).await?;
            (st == "pending").then_some(())
        })
        .await;
        local_ids.insert(user.name.clone(), id);
    }
    // She approves lee, then bert, then gina: the event is full, so each joins the waitlist
    // then, and hears it on their node before the next is approved.
    let waiting = [lee.clone(), t.bert.clone(), t.gina.clone()];
    for user in &waiting {
        assert_eq!(decide(user.ap_id()).await, "waitlisted");
        let id = &local_ids[&user.name];
        eventually(
            WAIT,
            &format!("{} hears of the waitlist", user.name),
            || async {
                let (_, e) = user.get(&format!("/events/{id}")).await;
                (e["my_rsvp"] == "waitlisted").then_some(())
            },
        )
        .await;
    }
    let ids = waiting.iter().map(|u| local_ids[&u.name].clone()).collect();
    the_seat_passes_down(
        &t,
        &seat,
        (t.olga.clone(), seat["id"].clone()),
        &waiting,
        ids,
    )
    .await;
}

/// The personal calendar follows the rule every RSVP follows: a public community's event is
/// there without joining; a suspended account's feed is gone.
#[tokio::test]
async fn the_personal_calendar_follows_the_rsvp_rule() {
    let t = board().await;
    let (status, _) = t
        .olga
        .post("/communities", json!({"slug": "open", "title": "Open"}))
        .await;
    assert_eq!(status, 201);
    let picnic = event_in(&t.olga, "open", "Picnic", None).await;
    let lee = t.alpha.api_user("lee").await;
    going(&lee, &picnic["id"]).await;
    let (_, cal) = lee.post("/me/calendar", json!({})).await;
    let feed = cal["url"].as_str().expect("url").to_string();
    let get = || async { http().get(&feed).send().await.expect("feed") };
    let ics = get().await.text().await.expect("text");
    assert!(ics.contains("Picnic"), "{ics}");
    let out = t
        .alpha
        .cli(&["user", "suspend", "lee", "--reason", "spam"])
        .await;
    assert!(out.ok, "{out:?}");
    assert_eq!(get().await.status(), 404);
}
