//! Issue: events with RSVP, capacity and a waitlist, federated between nodes.

use crate::{
    discussions::federation::{bert_moderates, three_nodes, Three},
    harness::{eventually, ApiUser},
};
use roundtable::{
    activitypub::activities::parse_envelope,
    service::events::{event_json, parse_event, summary_line},
};
use serde_json::{json, Value};
use std::{future::Future, time::Duration};

const WAIT: Duration = Duration::from_secs(20);

fn in_days(days: i64, hour_offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(hour_offset))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn event_on(
    user: &ApiUser,
    handle: &str,
    ap_id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(WAIT, &format!("event on {}", user.domain), || async {
        let (_, list) = user
            .get(&format!("/communities/{handle}/events?past=false"))
            .await;
        let found = list["events"]
            .as_array()?
            .iter()
            .find(|e| e["ap_id"] == ap_id)?
            .clone();
        check(&found).then_some(found)
    })
    .await
}

#[tokio::test]
async fn capacity_waitlist_and_promotion_agree_on_every_node() {
    let t = three_nodes().await;
    let greta = t.gamma.api_user("greta").await;
    let (status, _) = greta
        .post(&format!("/communities/{}/join", t.handle), json!({}))
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "greta accepted", || async {
        let (_, c) = greta.get(&format!("/communities/{}", t.handle)).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;

    let (status, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Platform roundtable", "description": "Bring a war story.",
                   "starts_at": in_days(7, 0), "ends_at": in_days(7, 2), "timezone": "Europe/Berlin",
                   "online_url": "https://meet.example/roundtable", "capacity": 2}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(
        created["summary"]
            .as_str()
            .is_some_and(|s| s.contains("Online") && s.contains("2 seats left")),
        "{created}"
    );
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();

    let mut states = Vec::new();
    for user in [&t.bert, &t.gina, &greta] {
        let e = event_on(user, &t.handle, &ap_id, |_| true).await;
        let (status, body) = user
            .post(&format!("/events/{}/rsvp", e["id"]), json!({"going": true}))
            .await;
        assert_eq!(status, 200, "{body}");
        states.push(body["state"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(states, vec!["going", "going", "waitlisted"]);
    for user in [&t.olga, &t.bert, &t.gina] {
        let e = event_on(user, &t.handle, &ap_id, |e| e["participant_count"] == 2).await;
        assert_eq!(e["remaining"], 0);
    }

    // gina leaves: greta moves up, and her node hears it.
    let on_gamma = event_on(&t.gina, &t.handle, &ap_id, |_| true).await;
    let (status, body) = t
        .gina
        .post(
            &format!("/events/{}/rsvp", on_gamma["id"]),
            json!({"going": false}),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("none")),
        "{body}"
    );
    eventually(WAIT, "greta promoted on gamma", || async {
        let (_, e) = greta.get(&format!("/events/{}", on_gamma["id"])).await;
        (e["my_rsvp"] == "going").then_some(())
    })
    .await;
    let (_, parts) = t
        .olga
        .get(&format!("/events/{}/participants", created["id"]))
        .await;
    let going: Vec<&str> = parts["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["state"] == "going")
        .filter_map(|p| p["actor"]["ap_id"].as_str())
        .collect();
    assert_eq!(going.len(), 2);
    assert!(going.contains(&greta.ap_id().as_str()) && going.contains(&t.bert.ap_id().as_str()));
    for user in [&t.olga, &t.bert, &t.gina] {
        event_on(user, &t.handle, &ap_id, |e| {
            e["participant_count"] == 2 && e["remaining"] == 0
        })
        .await;
    }
}

#[tokio::test]
async fn restricted_events_wait_for_the_organizer() {
    let t = three_nodes().await;
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Closed workshop", "starts_at": in_days(3, 0), "ends_at": in_days(3, 3),
                   "timezone": "America/New_York", "join_mode": "restricted",
                   "place": {"name": "HQ", "address": "1 Main St, Springfield"}}),
        )
        .await;
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = event_on(&t.bert, &t.handle, &ap_id, |_| true).await;
    let on_gamma = event_on(&t.gina, &t.handle, &ap_id, |_| true).await;
    for (user, e) in [(&t.bert, &on_beta), (&t.gina, &on_gamma)] {
        let (status, body) = user
            .post(&format!("/events/{}/rsvp", e["id"]), json!({"going": true}))
            .await;
        assert_eq!(
            (status, body["state"].as_str()),
            (200, Some("pending")),
            "{body}"
        );
    }
    let pending = eventually(WAIT, "two pending at alpha", || async {
        let (_, p) = t
            .olga
            .get(&format!("/events/{}/participants", created["id"]))
            .await;
        let list = p["participants"].as_array().cloned().unwrap_or_default();
        (list.len() == 2 && list.iter().all(|p| p["state"] == "pending")).then_some(list)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, still) = t.bert.get(&format!("/events/{}", on_beta["id"])).await;
    assert_eq!(still["my_rsvp"], "pending", "nothing decided yet");
    let id_of = |user: &ApiUser| {
        pending
            .iter()
            .find(|p| p["actor"]["ap_id"] == user.ap_id().as_str())
            .map(|p| p["id"].clone())
            .expect("pending")
    };
    let (status, _) = t
        .olga
        .post(
            &format!(
                "/events/{}/participants/{}/approve",
                created["id"],
                id_of(&t.bert)
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // By actor handle rather than id.
    let (status, _) = t
        .olga
        .post(
            &format!(
                "/events/{}/participants/{}/reject",
                created["id"],
                t.gina.handle()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    eventually(WAIT, "answers reach beta and gamma", || async {
        let (_, b) = t.bert.get(&format!("/events/{}", on_beta["id"])).await;
        let (_, g) = t.gina.get(&format!("/events/{}", on_gamma["id"])).await;
        (b["my_rsvp"] == "going" && g["my_rsvp"] == "rejected").then_some(())
    })
    .await;
}

#[tokio::test]
async fn moving_and_cancelling_reach_every_node_and_bad_input_is_refused() {
    let t = three_nodes().await;
    let (start, end) = (in_days(10, 0), in_days(10, 1));
    let (_, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Lightning talks", "starts_at": start, "ends_at": end, "timezone": "Europe/Berlin"}),
        )
        .await;
    let id = created["id"].clone();
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let (moved_start, moved_end) = (in_days(10, 1), in_days(10, 2));
    let (status, moved) = t
        .olga
        .patch(
            &format!("/events/{id}"),
            json!({"starts_at": moved_start, "ends_at": moved_end}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    for user in [&t.bert, &t.gina] {
        event_on(user, &t.handle, &ap_id, |e| {
            e["starts_at"] == moved["starts_at"] && e["ends_at"] == moved["ends_at"]
        })
        .await;
    }
    let (status, cancelled) = t
        .olga
        .patch(&format!("/events/{id}"), json!({"status": "cancelled"}))
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let on_beta = event_on(&t.bert, &t.handle, &ap_id, |e| e["status"] == "cancelled").await;
    event_on(&t.gina, &t.handle, &ap_id, |e| e["status"] == "cancelled").await;
    assert!(on_beta["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("CANCELLED")));
    let (status, body) = t
        .bert
        .post(
            &format!("/events/{}/rsvp", on_beta["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("cancelled")));

    // Bad input.
    let base = json!({"title": "x", "starts_at": in_days(1, 0), "ends_at": in_days(1, 1), "timezone": "Europe/Berlin"});
    for (patch, what) in [
        (json!({"timezone": "Mars/Olympus_Mons"}), "time zone"),
        (json!({"ends_at": in_days(1, -1)}), "after"),
        (json!({"capacity": 0}), "capacity"),
        (json!({"capacity": -3}), "capacity"),
        (json!({"join_mode": "lottery"}), "join_mode"),
        (json!({"join_mode": "external"}), "external_url"),
        (json!({"starts_at": "tomorrow"}), "RFC 3339"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (status, answer) = t.olga.post("/communities/practice/events", body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.contains(what)),
            "{what}: {answer}"
        );
    }
    // Members cannot schedule; a past event takes no RSVPs.
    let (status, _) = t
        .bert
        .post(&format!("/communities/{}/events", t.handle), base.clone())
        .await;
    assert_eq!(status, 403);
    let (_, past) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Yesterday", "starts_at": in_days(-1, 0), "ends_at": in_days(-1, 1), "timezone": "UTC"}),
        )
        .await;
    let (status, body) = t
        .olga
        .post(
            &format!("/events/{}/rsvp", past["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, listed) = t.olga.get("/communities/practice/events?past=true").await;
    assert!(listed["events"]
        .as_array()
        .is_some_and(|l| l.iter().any(|e| e["title"] == "Yesterday")));
}

/// Found while writing the `event_document` fuzz target: a remote event with a negative
/// `participantCount` and a huge capacity overflowed the seats-left arithmetic (a panic, so a
/// 500 for every API read of the event, in builds with overflow checks).
#[test]
fn remote_event_counts_stay_in_range() {
    let doc = json!({
        "id": "https://mobilizon.example/events/1", "type": "Event", "name": "Odd counts",
        "startTime": "2030-05-01T10:00:00Z", "endTime": "2030-05-01T11:00:00Z",
        "attributedTo": "https://mobilizon.example/@group",
        "maximumAttendeeCapacity": i64::from(i32::MAX), "participantCount": -1
    });
    let event = parse_event(&doc).expect("parses");
    assert_eq!(event.participant_count, 0);
    assert!(summary_line(&event).ends_with("RSVP: 2147483647 seats left"));
    assert_eq!(event_json(&event)["remainingAttendeeCapacity"], i32::MAX);
    let huge = parse_event(&json!({
        "id": "https://mobilizon.example/events/2", "type": "Event",
        "startTime": "2030-05-01T10:00:00Z", "participantCount": 1_i64 << 40
    }))
    .expect("parses");
    assert_eq!(huge.participant_count, i32::MAX, "clamped, not truncated");
}

#[test]
fn captured_events_parse_and_ours_round_trip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{p}")).expect("fixture"))
            .expect("json")
    };
    let mobilizon =
        parse_event(&read("activitypub/mobilizon/objects/event.json")).expect("mobilizon event");
    assert_eq!(mobilizon.title, "Caledonian scottish dance class");
    assert_eq!(mobilizon.timezone, "Europe/London");
    assert_eq!(mobilizon.place_name.as_deref(), Some("The Kenn Centre"));
    assert!(mobilizon
        .place_address
        .as_deref()
        .is_some_and(|a| a.contains("EX6 7TW")));
    assert_eq!(mobilizon.capacity, None, "Mobilizon's 0 means no limit");
    assert_eq!(mobilizon.status, "confirmed");
    assert!(mobilizon.latitude.is_some());

    let gancio = read("mobilizon/gancio-event-activity.json");
    let gancio = parse_event(&gancio["object"]).expect("gancio event");
    assert_eq!(gancio.title, "Demo event");
    assert_eq!(gancio.place_name.as_deref(), Some("Colosseo"));
    assert_eq!(gancio.ends_at - gancio.starts_at, 3_600_000);
    assert_eq!(gancio.timezone, "UTC", "no zone given");

    for f in [
        "mobilizon/mobilizon-join-activity.json",
        "mobilizon/mobilizon-leave-activity.json",
    ] {
        let env = parse_envelope(read(f)).expect(f);
        assert!(matches!(env.type_name.as_str(), "Join" | "Leave"));
    }

    // Our own Event, through our own parser.
    let mut ours = mobilizon.clone();
    ours.ap_id = "https://a.example/e/1".into();
    ours.community = "https://a.example/c/guild".into();
    ours.organizer = "https://a.example/u/olga".into();
    ours.capacity = Some(20);
    ours.participant_count = 5;
    ours.online_url = Some("https://meet.example/x".into());
    ours.status = "cancelled".parse().expect("a status");
    let back = parse_event(&event_json(&ours)).expect("round trip");
    for (a, b, what) in [
        (back.title.clone(), ours.title.clone(), "title"),
        (back.timezone.clone(), ours.timezone.clone(), "timezone"),
        (back.status.to_string(), ours.status.to_string(), "status"),
        (back.community.clone(), ours.community.clone(), "community"),
        (back.organizer.clone(), ours.organizer.clone(), "organizer"),
    ] {
        assert_eq!(a, b, "{what}");
    }
    assert_eq!(
        (back.starts_at, back.ends_at),
        (
            ours.starts_at - ours.starts_at % 1000,
            ours.ends_at - ours.ends_at % 1000
        )
    );
    assert_eq!((back.capacity, back.participant_count), (Some(20), 5));
    assert_eq!(back.online_url, ours.online_url);
    assert_eq!(back.place_name, ours.place_name);

    // Across a DST change: 25 Oct 2026, Berlin falls back from 03:00 CEST to 02:00 CET.
    let mut dst = ours.clone();
    dst.timezone = "Europe/Berlin".into();
    dst.starts_at = chrono::DateTime::parse_from_rfc3339("2026-10-24T23:30:00Z")
        .expect("t")
        .timestamp_millis();
    dst.ends_at = chrono::DateTime::parse_from_rfc3339("2026-10-25T03:00:00Z")
        .expect("t")
        .timestamp_millis();
    assert_eq!(
        roundtable::service::events::local_time(&dst, dst.starts_at),
        "2026-10-25T01:30:00+02:00"
    );
    assert_eq!(
        roundtable::service::events::local_time(&dst, dst.ends_at),
        "2026-10-25T04:00:00+01:00"
    );
}

/// Parses iCalendar text with the `ical` crate (not the writer's crate).
fn parse_ics(text: &str) -> ical::parser::ical::component::IcalCalendar {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    parser
        .next()
        .expect("one calendar")
        .expect("valid iCalendar")
}

fn prop<'a>(
    props: &'a [ical::property::Property],
    name: &str,
) -> Option<&'a ical::property::Property> {
    props.iter().find(|p| p.name == name)
}

fn value(props: &[ical::property::Property], name: &str) -> String {
    prop(props, name)
        .and_then(|p| p.value.clone())
        .unwrap_or_default()
}

fn tzid(props: &[ical::property::Property], name: &str) -> Option<String> {
    prop(props, name)?
        .params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == "TZID")
        .and_then(|(_, v)| v.first().cloned())
}

#[tokio::test]
async fn calendar_feeds_follow_moves_and_cancellations_in_the_event_zone() {
    let t = three_nodes().await;
    let http = crate::harness::http();
    let get_ics = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.expect("GET");
            let status = r.status().as_u16();
            if status != 200 {
                panic!("{status}: {}", r.text().await.unwrap_or_default());
            }
            let ctype = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert!(ctype.starts_with("text/calendar"), "{ctype}");
            r.text().await.expect("text")
        }
    };
    let (id, uid) = a_night_shift_across_the_end_of_dst_keeps_its_zone(&t, &get_ics).await;
    moves_and_cancellations_reach_every_feed(&t, &http, &get_ics, id, uid).await;
    a_personal_feed_lists_what_its_owner_goes_to(&t, &http, &get_ics).await;
}

/// Across the end of DST in Berlin (25 Oct 2027, 03:00 CEST → 02:00 CET).
async fn a_night_shift_across_the_end_of_dst_keeps_its_zone<F: Future<Output = String>>(
    t: &Three,
    get_ics: impl Fn(String) -> F,
) -> (Value, String) {
    let (status, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Night shift retro; with commas, and semicolons", "starts_at": "2027-10-30T23:30:00Z",
                   "ends_at": "2027-10-31T03:00:00Z", "timezone": "Europe/Berlin",
                   "place": {"name": "Ops room", "address": "Hauptstr. 1, Berlin", "latitude": 52.5, "longitude": 13.4}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].clone();
    let uid = created["ap_id"].as_str().expect("ap_id").to_string();

    let one =
        parse_ics(&get_ics(t.alpha.url(&format!("/api/roundtable/v1/events/{id}.ics"))).await);
    let ev = &one.events[0].properties;
    assert_eq!(value(ev, "UID"), uid);
    assert_eq!(
        value(ev, "SUMMARY"),
        "Night shift retro\\; with commas\\, and semicolons"
    );
    assert_eq!(
        value(ev, "DTSTART"),
        "20271031T013000",
        "local time before the change (+02:00)"
    );
    assert_eq!(
        value(ev, "DTEND"),
        "20271031T040000",
        "local time after the change (+01:00)"
    );
    assert_eq!(tzid(ev, "DTSTART").as_deref(), Some("Europe/Berlin"));
    assert_eq!(value(ev, "STATUS"), "CONFIRMED");
    assert_eq!(value(ev, "GEO"), "52.500000;13.400000");
    let zone = &one.timezones[0];
    assert_eq!(value(&zone.properties, "TZID"), "Europe/Berlin");
    let change = zone
        .transitions
        .iter()
        .find(|tr| {
            value(&tr.properties, "TZOFFSETFROM") == "+0200"
                && value(&tr.properties, "TZOFFSETTO") == "+0100"
        })
        .expect("the fall-back transition");
    assert_eq!(value(&change.properties, "DTSTART"), "20271031T030000");
    (id, uid)
}

/// Move by an hour, then cancel: every feed on every node follows, with the same UID.
async fn moves_and_cancellations_reach_every_feed<F: Future<Output = String>>(
    t: &Three,
    http: &reqwest::Client,
    get_ics: impl Fn(String) -> F,
    id: Value,
    uid: String,
) {
    let (status, body) = t
        .olga
        .patch(
            &format!("/events/{id}"),
            json!({"starts_at": "2027-10-31T00:30:00Z", "ends_at": "2027-10-31T04:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = t
        .olga
        .patch(&format!("/events/{id}"), json!({"status": "cancelled"}))
        .await;
    assert_eq!(status, 200);
    for node in [&t.alpha, &t.beta, &t.gamma] {
        let feed = eventually(
            WAIT,
            &format!("cancelled in the feed on {}", node.domain),
            || {
                let url = node.url(&format!(
                    "/api/roundtable/v1/communities/{}/events.ics",
                    t.handle
                ));
                let http = http.clone();
                async move {
                    let text = http.get(url).send().await.ok()?.text().await.ok()?;
                    text.contains("STATUS:CANCELLED").then_some(text)
                }
            },
        )
        .await;
        let cal = parse_ics(&feed);
        let ev = cal
            .events
            .iter()
            .find(|e| value(&e.properties, "UID") == uid)
            .expect("same UID");
        assert_eq!(
            value(&ev.properties, "DTSTART"),
            "20271031T023000",
            "moved by an hour: 00:30Z is still 02:30 CEST"
        );
        assert_eq!(
            value(&ev.properties, "DTEND"),
            "20271031T050000",
            "04:00Z is 05:00 CET"
        );
        assert_eq!(value(&ev.properties, "STATUS"), "CANCELLED");
        assert!(value(&ev.properties, "SEQUENCE")
            .parse::<i32>()
            .is_ok_and(|s| s >= 1));
    }
    let community_feed = get_ics(t.alpha.url("/c/practice/events.ics")).await;
    assert!(parse_ics(&community_feed)
        .events
        .iter()
        .any(|e| value(&e.properties, "UID") == uid));
}

/// A personal feed lists what its owner is going to, behind an unguessable token.
async fn a_personal_feed_lists_what_its_owner_goes_to<F: Future<Output = String>>(
    t: &Three,
    http: &reqwest::Client,
    get_ics: impl Fn(String) -> F,
) {
    let (_, going_to) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Demo day", "starts_at": in_days(5, 0), "ends_at": in_days(5, 1), "timezone": "Asia/Tokyo"}),
        )
        .await;
    let on_beta = event_on(
        &t.bert,
        &t.handle,
        going_to["ap_id"].as_str().expect("id"),
        |_| true,
    )
    .await;
    let (status, _) = t
        .bert
        .post(
            &format!("/events/{}/rsvp", on_beta["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, feed) = t.bert.post("/me/calendar", json!({})).await;
    assert_eq!(status, 201);
    let url = feed["url"].as_str().expect("url").to_string();
    let personal = parse_ics(&get_ics(url.clone()).await);
    assert_eq!(personal.events.len(), 1);
    assert_eq!(value(&personal.events[0].properties, "SUMMARY"), "Demo day");
    assert_eq!(
        tzid(&personal.events[0].properties, "DTSTART").as_deref(),
        Some("Asia/Tokyo")
    );
    let wrong = http
        .get(url.replace("/calendar/rt_", "/calendar/rt_x"))
        .send()
        .await
        .expect("GET");
    assert_eq!(wrong.status(), 404);
}

#[tokio::test]
async fn friendica_style_rsvps_count_and_participants_hear_changes() {
    let alpha = crate::harness::Node::start().await;
    let olga = alpha.api_user("olga").await;
    olga.post("/communities", json!({"slug": "meetups"})).await;
    let (_, event) = olga
        .post(
            "/communities/meetups/events",
            json!({"title": "Meetup", "starts_at": in_days(2, 0), "ends_at": in_days(2, 2), "timezone": "Europe/Paris", "capacity": 10}),
        )
        .await;
    let ap_id = event["ap_id"].as_str().expect("id").to_string();
    let friendica = crate::harness::fake::FakeServer::start("fred").await;
    // Friendica RSVPs with an Accept whose object is the event itself.
    let rsvp = json!({
        "id": format!("{}/activity/1", friendica.base),
        "type": "Accept",
        "actor": friendica.actor,
        "object": ap_id,
    });
    let (status, body) = friendica.deliver(&alpha.url("/inbox"), &rsvp).await;
    assert_eq!(status, 202, "{body}");
    let (_, after) = olga.get(&format!("/events/{}", event["id"])).await;
    assert_eq!(after["participant_count"], 1);
    let accepted = eventually(WAIT, "Accept at Friendica", || async {
        friendica
            .received()
            .into_iter()
            .find(|a| a["type"] == "Accept")
    })
    .await;
    assert_eq!(accepted["object"]["object"], ap_id.as_str());

    // Cancelling reaches the participant even though it does not follow the community.
    let (status, _) = olga
        .patch(
            &format!("/events/{}", event["id"]),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(status, 200);
    let update = eventually(WAIT, "Update at Friendica", || async {
        friendica
            .received()
            .into_iter()
            .find(|a| a["type"] == "Update" && a["object"]["ical:status"] == "CANCELLED")
    })
    .await;
    assert_eq!(update["object"]["ical:status"], "CANCELLED");
    assert_eq!(update["object"]["eventStatus"], "EventCancelled");

    // A Reject of the event withdraws the RSVP.
    let withdraw = json!({
        "id": format!("{}/activity/2", friendica.base),
        "type": "Reject",
        "actor": friendica.actor,
        "object": ap_id,
    });
    let (status, _) = friendica.deliver(&alpha.url("/inbox"), &withdraw).await;
    assert_eq!(status, 202);
    let (_, after) = olga.get(&format!("/events/{}", event["id"])).await;
    assert_eq!(after["participant_count"], 0);
}

#[tokio::test]
async fn invitation_only_events_take_rsvps_from_invited_members() {
    let t = three_nodes().await;
    let (status, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Leads dinner", "starts_at": in_days(5, 0), "ends_at": in_days(5, 3),
                   "timezone": "Europe/Paris", "join_mode": "invite"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = event_on(&t.bert, &t.handle, &ap_id, |_| true).await;
    let on_gamma = event_on(&t.gina, &t.handle, &ap_id, |_| true).await;

    // Nobody gets in uninvited.
    let (status, body) = t
        .bert
        .post(
            &format!("/events/{}/rsvp", on_beta["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("invitation")));

    // Only organizers invite, and only members.
    let (status, _) = t
        .bert
        .post(
            &format!("/events/{}/invitations", on_beta["id"]),
            json!({"actor": t.gina.handle()}),
        )
        .await;
    assert_eq!(status, 403);
    let stranger = t.gamma.api_user("stranger").await;
    let (status, body) = t
        .olga
        .post(
            &format!("/events/{}/invitations", created["id"]),
            json!({"actor": stranger.handle()}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = t
        .olga
        .post(
            &format!("/events/{}/invitations", created["id"]),
            json!({"actor": t.bert.handle()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["actor"], t.bert.ap_id().as_str());

    // bert's node hears the invitation; bert accepts it from there.
    eventually(WAIT, "beta shows the invitation", || async {
        let (_, e) = t.bert.get(&format!("/events/{}", on_beta["id"])).await;
        (e["my_rsvp"] == "invited").then_some(())
    })
    .await;
    let (status, body) = t
        .bert
        .post(
            &format!("/events/{}/rsvp", on_beta["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("going")),
        "{body}"
    );
    let (status, _) = t
        .olga
        .post(
            &format!("/events/{}/invitations", created["id"]),
            json!({"actor": t.bert.handle()}),
        )
        .await;
    assert_eq!(status, 409, "bert already answered");

    // gina, not invited, is still refused; the count is the same on every node.
    let (status, _) = t
        .gina
        .post(
            &format!("/events/{}/rsvp", on_gamma["id"]),
            json!({"going": true}),
        )
        .await;
    assert_eq!(status, 422);
    for user in [&t.olga, &t.bert, &t.gina] {
        event_on(user, &t.handle, &ap_id, |e| e["participant_count"] == 1).await;
    }
}

#[tokio::test]
async fn moderators_on_other_nodes_schedule_events_through_the_community() {
    let t = three_nodes().await;
    let input = json!({"title": "Incident review", "description": "What we learned.",
                       "starts_at": in_days(3, 0), "ends_at": in_days(3, 1),
                       "timezone": "America/New_York", "capacity": 10});

    // Not a moderator: refused on the member's own node.
    let (status, _) = t
        .gina
        .post(&format!("/communities/{}/events", t.handle), input.clone())
        .await;
    assert_eq!(status, 403);

    bert_moderates(&t, None).await;

    // Bad input is refused on beta before anything is sent.
    let mut bad = input.clone();
    bad["timezone"] = json!("Mars/Olympus");
    let (status, _) = t
        .bert
        .post(&format!("/communities/{}/events", t.handle), bad)
        .await;
    assert_eq!(status, 422);

    let (status, body) = t
        .bert
        .post(&format!("/communities/{}/events", t.handle), input)
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (202, Some("proposed")),
        "{body}"
    );

    // alpha schedules it under its own id, organized by bert, and every node shows it.
    let on_alpha = eventually(WAIT, "alpha schedules bert's event", || async {
        let (_, list) = t.olga.get("/communities/practice/events").await;
        list["events"]
            .as_array()?
            .iter()
            .find(|e| e["title"] == "Incident review")
            .cloned()
    })
    .await;
    let ap_id = on_alpha["ap_id"].as_str().expect("ap_id").to_string();
    assert!(ap_id.starts_with(&t.alpha.url("/e/")), "{ap_id}");
    assert_eq!(on_alpha["organizer"]["ap_id"], t.bert.ap_id().as_str());
    assert_eq!(on_alpha["timezone"], "America/New_York");
    assert_eq!(on_alpha["capacity"], 10);
    for user in [&t.bert, &t.gina] {
        let e = event_on(user, &t.handle, &ap_id, |_| true).await;
        assert_eq!(e["organizer"]["ap_id"], t.bert.ap_id().as_str());
    }
    let log = t.alpha.state.db.audit_log(None, 20).await.expect("audit");
    assert!(log
        .iter()
        .any(|e| e.action == "remote.event.create" && e.actor == t.bert.ap_id()));

    // A forged proposal from someone who is not a moderator is refused by alpha.
    let gina_key = t
        .gamma
        .state
        .db
        .local_actor_by_name("gina")
        .await
        .expect("db")
        .expect("gina")
        .private_key_pem;
    let community = t.alpha.url("/c/practice");
    let forged = json!({
        "id": t.gamma.url("/activities/create/forged-event"),
        "type": "Create",
        "actor": t.gina.ap_id(),
        "audience": community,
        "object": {"id": t.gamma.url("/e/forged"), "type": "Event", "name": "Free pizza",
                   "startTime": in_days(2, 0), "endTime": in_days(2, 1),
                   "audience": community, "actor": t.gina.ap_id()},
    });
    let (status, body) = crate::harness::sign::Post::new(
        &t.alpha.url("/c/practice/inbox"),
        &forged,
        &t.gamma.url("/u/gina#main-key"),
        &gina_key,
    )
    .send(&crate::harness::http())
    .await;
    assert_eq!(status, 403, "{body}");
    let (_, list) = t.olga.get("/communities/practice/events").await;
    assert!(!list.to_string().contains("Free pizza"));
}

#[tokio::test]
async fn a_remote_moderator_moves_and_cancels_an_event_through_the_community() {
    let t = three_nodes().await;
    bert_moderates(&t, None).await;
    let (status, created) = t
        .olga
        .post(
            "/communities/practice/events",
            json!({"title": "Quarterly sync", "starts_at": in_days(4, 0), "ends_at": in_days(4, 1),
                   "timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let ap_id = created["ap_id"].as_str().expect("ap_id").to_string();
    let on_beta = event_on(&t.bert, &t.handle, &ap_id, |_| true).await;
    let on_gamma = event_on(&t.gina, &t.handle, &ap_id, |_| true).await;

    // gina is no moderator: refused at home.
    let (status, _) = t
        .gina
        .patch(
            &format!("/events/{}", on_gamma["id"]),
            json!({"title": "Mine"}),
        )
        .await;
    assert_eq!(status, 403);

    // bert moves it a day later from beta; every node follows.
    let (status, body) = t
        .bert
        .patch(
            &format!("/events/{}", on_beta["id"]),
            json!({"starts_at": in_days(5, 0), "ends_at": in_days(5, 1)}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let moved = body["starts_at"].clone();
    for user in [&t.olga, &t.bert, &t.gina] {
        event_on(user, &t.handle, &ap_id, |e| e["starts_at"] == moved).await;
    }
    // ...and cancels it.
    let (status, _) = t
        .bert
        .patch(
            &format!("/events/{}", on_beta["id"]),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(status, 202);
    for user in [&t.olga, &t.gina] {
        event_on(user, &t.handle, &ap_id, |e| e["status"] == "cancelled").await;
    }
    // gina cannot delete it; bert can, from beta, and it goes everywhere.
    let (status, _) = t.gina.delete(&format!("/events/{}", on_gamma["id"])).await;
    assert_eq!(status, 403);
    let (status, _) = t.bert.delete(&format!("/events/{}", on_beta["id"])).await;
    assert_eq!(status, 202);
    for user in [&t.olga, &t.bert, &t.gina] {
        eventually(WAIT, &format!("deleted on {}", user.domain), || async {
            let (_, list) = user
                .get(&format!("/communities/{}/events?past=false", t.handle))
                .await;
            let listed = list["events"].as_array()?;
            (!listed.iter().any(|e| e["ap_id"] == ap_id.as_str())).then_some(())
        })
        .await;
    }
    let log = t.alpha.state.db.audit_log(None, 20).await.expect("audit");
    let by_bert = |action: &str| {
        log.iter()
            .filter(|e| e.action == action && e.actor == t.bert.ap_id())
            .count()
    };
    assert_eq!(by_bert("remote.event.update"), 2);
    assert_eq!(by_bert("remote.event.delete"), 1);
}
