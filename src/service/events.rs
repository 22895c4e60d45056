//! Events: roundtables, workshops, webinars. An event belongs to a community and is owned by
//! the community's node, which decides every RSVP (capacity, waitlist, approval) and tells
//! every follower the counts with `Update(Event)`. Members on other nodes RSVP with
//! `Join`/`Leave`; the owner answers `Accept` (going), `TentativeAccept` (waitlisted),
//! `Reject` (with a reason) or `Ignore` (join mode `none`), and tells a waitlisted member who
//! moves up with a fresh `Accept`.

use crate::{
    app::AppState,
    db::{
        events::{Event, JoinRule},
        now_ms, LocalActor,
    },
    error::ApiError,
    federation::{
        activities::Envelope,
        actors::host_of,
        delivery,
        objects::{self, id_of, parse_time, rfc3339, AS_CONTEXT, PUBLIC},
    },
    markdown,
    service::{
        discussions::{
            broadcast_jobs, check_title, inner_kind, known, moderates, require_member,
            CommunityView, Member,
        },
        remote,
    },
};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use std::time::Duration;
use tracing::info;
use url::Url;

pub const JOIN_MODES: [&str; 5] = ["free", "restricted", "invite", "none", "external"];
pub const STATUSES: [&str; 3] = ["confirmed", "tentative", "cancelled"];

/// What an organizer sends to create or change an event; absent fields stay as they are.
#[derive(Debug, Default, Clone)]
pub struct EventInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub timezone: Option<String>,
    pub place_name: Option<Option<String>>,
    pub place_address: Option<Option<String>>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub online_url: Option<Option<String>>,
    pub capacity: Option<Option<i64>>,
    pub join_mode: Option<String>,
    pub external_url: Option<Option<String>>,
    pub status: Option<String>,
    pub category: Option<Option<String>>,
}

/// The earliest instant an event may start: 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 0;
/// The latest instant an event may end: 2200-01-01T00:00:00Z.
pub const LATEST_MS: i64 = 7_258_118_400_000;
/// The longest an event may last: 366 days.
pub const MAX_DURATION_MS: i64 = 366 * 86_400_000;

/// Events live between 1970 and 2200 and last at most 366 days, so the work a feed or a
/// summary does for one event is bounded. The same check runs on local input and on events
/// other servers send.
pub fn check_span(starts_at: i64, ends_at: i64) -> Result<(), String> {
    if !(EARLIEST_MS..=LATEST_MS).contains(&starts_at)
        || !(EARLIEST_MS..=LATEST_MS).contains(&ends_at)
    {
        return Err("events must start and end between 1970 and 2200".into());
    }
    if ends_at - starts_at > MAX_DURATION_MS {
        return Err("an event lasts at most 366 days".into());
    }
    Ok(())
}

fn parse_instant(field: &str, value: &str) -> Result<i64, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| ApiError::unprocessable(format!("{field} must be an RFC 3339 time")))
}

fn check_url(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(Some(u.to_string())),
            _ => Err(ApiError::unprocessable(format!(
                "{field} must be an http(s) URL"
            ))),
        },
    }
}

/// Applies `input` over `event` and checks the result.
fn apply_input(mut event: Event, input: EventInput) -> Result<Event, ApiError> {
    if let Some(t) = input.title {
        event.title = check_title(&t)?;
    }
    if let Some(d) = input.description {
        if d.len() > 100 * 1024 {
            return Err(ApiError::unprocessable(
                "the description is larger than 100 KiB",
            ));
        }
        event.description = d;
    }
    if let Some(tz) = input.timezone {
        tz.parse::<Tz>()
            .map_err(|_| ApiError::unprocessable(format!("unknown time zone {tz:?}")))?;
        event.timezone = tz;
    }
    if let Some(s) = input.starts_at {
        event.starts_at = parse_instant("starts_at", &s)?;
    }
    if let Some(e) = input.ends_at {
        event.ends_at = parse_instant("ends_at", &e)?;
    }
    if event.ends_at <= event.starts_at {
        return Err(ApiError::unprocessable("ends_at must be after starts_at"));
    }
    check_span(event.starts_at, event.ends_at).map_err(ApiError::unprocessable)?;
    if let Some(v) = input.place_name {
        event.place_name = v.filter(|s| !s.trim().is_empty());
    }
    if let Some(v) = input.place_address {
        event.place_address = v.filter(|s| !s.trim().is_empty());
    }
    if let Some(v) = input.latitude {
        if v.is_some_and(|l| !(-90.0..=90.0).contains(&l)) {
            return Err(ApiError::unprocessable(
                "latitude must be between -90 and 90",
            ));
        }
        event.latitude = v;
    }
    if let Some(v) = input.longitude {
        if v.is_some_and(|l| !(-180.0..=180.0).contains(&l)) {
            return Err(ApiError::unprocessable(
                "longitude must be between -180 and 180",
            ));
        }
        event.longitude = v;
    }
    if let Some(v) = input.online_url {
        event.online_url = check_url("online_url", v)?;
    }
    if let Some(v) = input.capacity {
        match v {
            Some(c) if !(1..=100_000).contains(&c) => {
                return Err(ApiError::unprocessable(
                    "capacity must be between 1 and 100000 (or null for no limit)",
                ))
            }
            Some(c) => event.capacity = Some(c as i32),
            None => event.capacity = None,
        }
    }
    if let Some(m) = input.join_mode {
        if !JOIN_MODES.contains(&m.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "join_mode must be one of {}",
                JOIN_MODES.join(", ")
            )));
        }
        event.join_mode = m;
    }
    if let Some(v) = input.external_url {
        event.external_url = check_url("external_url", v)?;
    }
    if event.join_mode == "external" && event.external_url.is_none() {
        return Err(ApiError::unprocessable(
            "join_mode external needs an external_url",
        ));
    }
    if let Some(s) = input.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "status must be one of {}",
                STATUSES.join(", ")
            )));
        }
        event.status = s;
    }
    if let Some(c) = input.category {
        event.category = c.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
    }
    Ok(event)
}

/// The plain-text line Mastodon shows: "Thu 4 Dec, 15:00–16:30 Europe/Berlin · Online · RSVP:
/// 12 seats left".
pub fn summary_line(e: &Event) -> String {
    let tz: Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
    let start = tz.timestamp_millis_opt(e.starts_at).single();
    let end = tz.timestamp_millis_opt(e.ends_at).single();
    let when = match (start, end) {
        (Some(s), Some(en)) if s.date_naive() == en.date_naive() => format!(
            "{}, {}–{} {}",
            s.format("%a %-d %b"),
            s.format("%H:%M"),
            en.format("%H:%M"),
            e.timezone
        ),
        (Some(s), Some(en)) => format!(
            "{} – {} {}",
            s.format("%a %-d %b, %H:%M"),
            en.format("%a %-d %b, %H:%M"),
            e.timezone
        ),
        _ => String::new(),
    };
    let mut parts = vec![when];
    if e.status == "cancelled" {
        parts.insert(0, "CANCELLED".into());
    }
    match (&e.place_name, &e.online_url) {
        (Some(p), Some(_)) => parts.push(format!("{p} and online")),
        (Some(p), None) => parts.push(p.clone()),
        (None, Some(_)) => parts.push("Online".into()),
        (None, None) => {}
    }
    let rsvp = match (e.join_mode.as_str(), e.capacity) {
        ("external", _) => "RSVP on the organizer's site".to_string(),
        ("none", _) => "no RSVP".to_string(),
        ("invite", _) => "invitation only".to_string(),
        (_, Some(c)) => {
            let left = c.saturating_sub(e.participant_count).max(0);
            if left == 0 {
                "RSVP: full, waitlist open".to_string()
            } else {
                format!("RSVP: {left} seat{} left", if left == 1 { "" } else { "s" })
            }
        }
        (_, None) => "RSVP open".to_string(),
    };
    parts.push(rsvp);
    parts.join(" · ")
}

/// The `Event` document: Mobilizon's fields, FEP-8a8e's, and a Mastodon-friendly summary.
pub fn event_json(e: &Event) -> Value {
    let ical_status = e.status.to_uppercase();
    let mut doc = json!({
        "@context": [AS_CONTEXT, {
            "sc": "http://schema.org#", "ical": "http://www.w3.org/2002/12/cal/ical#",
            "mz": "https://joinmobilizon.org/ns#",
            "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
            "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
            "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
            "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
            "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
            "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
            "externalParticipationUrl": {"@id": "mz:externalParticipationUrl", "@type": "sc:URL"},
            "category": "sc:category", "eventStatus": "sc:eventStatus", "organizers": "sc:organizer",
            "PostalAddress": "sc:PostalAddress", "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
            "VirtualLocation": "sc:VirtualLocation",
        }],
        "id": e.ap_id,
        "type": "Event",
        "name": e.title,
        "summary": summary_line(e),
        "content": markdown::render(&e.description),
        "mediaType": "text/html",
        "source": {"content": e.description, "mediaType": "text/markdown"},
        "url": e.ap_id,
        "startTime": rfc3339(e.starts_at),
        "endTime": rfc3339(e.ends_at),
        "timezone": e.timezone,
        "joinMode": e.join_mode,
        "ical:status": ical_status,
        "eventStatus": match e.status.as_str() {
            "cancelled" => "EventCancelled",
            "tentative" => "EventPostponed",
            _ => "EventScheduled",
        },
        "isOnline": e.online_url.is_some(),
        "participantCount": e.participant_count,
        "attributedTo": e.community,
        "actor": e.organizer,
        "organizers": [e.organizer],
        "audience": e.community,
        "to": [e.community, PUBLIC],
        "cc": [format!("{}/followers", e.community)],
        "commentsEnabled": true,
        "anonymousParticipationEnabled": false,
        "updated": rfc3339(e.updated_at),
        "published": rfc3339(e.created_at),
    });
    if let Some(c) = e.capacity {
        doc["maximumAttendeeCapacity"] = json!(c);
        doc["remainingAttendeeCapacity"] = json!(c.saturating_sub(e.participant_count).max(0));
    }
    if let Some(c) = &e.category {
        doc["category"] = json!(c);
    }
    if let Some(u) = &e.external_url {
        doc["externalParticipationUrl"] = json!(u);
    }
    let mut locations = Vec::new();
    if e.place_name.is_some() || e.place_address.is_some() {
        let mut place = json!({"type": "Place", "name": e.place_name.clone().unwrap_or_default()});
        if let Some(a) = &e.place_address {
            place["address"] = json!({"type": "PostalAddress", "streetAddress": a});
        }
        if let (Some(lat), Some(lon)) = (e.latitude, e.longitude) {
            place["latitude"] = json!(lat);
            place["longitude"] = json!(lon);
        }
        locations.push(place);
    }
    if let Some(u) = &e.online_url {
        doc["attachment"] =
            json!([{"type": "Link", "name": "Website", "href": u, "mediaType": "text/html"}]);
        locations.push(json!({"type": "VirtualLocation", "url": u}));
    }
    match locations.len() {
        0 => {}
        1 => doc["location"] = locations.remove(0),
        _ => doc["location"] = Value::Array(locations),
    }
    doc
}

/// An event as another server describes it (Mobilizon, Gancio, Roundtable), its links kept
/// when they are `http(s)` URLs.
pub fn parse_event(doc: &Value) -> Result<Event, String> {
    parse_remote_event(doc, true)
}

/// [`parse_event`], its links (online, external participation) kept only when they are
/// `https` URLs, or `http` ones when `allow_http` (federation debug mode).
pub fn parse_remote_event(doc: &Value, allow_http: bool) -> Result<Event, String> {
    let link = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|u| crate::federation::remote_url(u, allow_http))
    };
    if inner_kind(doc) != "Event" {
        return Err("not an Event".into());
    }
    let ap_id = id_of(Some(doc)).ok_or("the event has no id")?.to_string();
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let starts_at = parse_time(doc.get("startTime")).ok_or("the event has no valid startTime")?;
    let ends_at = parse_time(doc.get("endTime")).unwrap_or(starts_at + 3_600_000);
    if ends_at < starts_at {
        return Err("the event ends before it starts".into());
    }
    check_span(starts_at, ends_at)?;
    let timezone = text("timezone")
        .filter(|z| z.parse::<Tz>().is_ok())
        .unwrap_or_else(|| "UTC".into());
    let mut place_name = None;
    let mut place_address = None;
    let (mut latitude, mut longitude) = (None, None);
    let mut online_url = None;
    let locations = match doc.get("location") {
        Some(Value::Array(items)) => items.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    for loc in &locations {
        if inner_kind(loc) == "VirtualLocation" {
            online_url = link(loc.get("url"));
            continue;
        }
        place_name = loc
            .get("name")
            .and_then(Value::as_str)
            .map(markdown::plain_text);
        place_address = match loc.get("address") {
            Some(Value::String(s)) => Some(markdown::plain_text(s)),
            Some(Value::Object(a)) => {
                let parts: Vec<String> = [
                    "streetAddress",
                    "postalCode",
                    "addressLocality",
                    "addressRegion",
                    "addressCountry",
                ]
                .iter()
                .filter_map(|k| a.get(*k).and_then(Value::as_str))
                .map(markdown::plain_text)
                .filter(|s| !s.is_empty())
                .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }
            _ => None,
        };
        latitude = loc.get("latitude").and_then(Value::as_f64);
        longitude = loc.get("longitude").and_then(Value::as_f64);
    }
    if online_url.is_none() {
        online_url = doc
            .get("attachment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| a.get("name").and_then(Value::as_str) == Some("Website"))
            .and_then(|a| link(a.get("href").or_else(|| a.get("url"))));
    }
    let capacity = doc
        .get("maximumAttendeeCapacity")
        .and_then(Value::as_i64)
        .filter(|c| *c > 0)
        .map(|c| c.min(i64::from(i32::MAX)) as i32);
    let status = text("ical:status")
        .map(|s| s.to_lowercase())
        .or_else(|| {
            text("eventStatus").map(|s| match s.as_str() {
                "EventCancelled" => "cancelled".to_string(),
                "EventPostponed" | "EventRescheduled" => "tentative".to_string(),
                _ => "confirmed".to_string(),
            })
        })
        .filter(|s| STATUSES.contains(&s.as_str()))
        .unwrap_or_else(|| "confirmed".into());
    let join_mode = text("joinMode")
        .filter(|m| JOIN_MODES.contains(&m.as_str()))
        .unwrap_or_else(|| "free".into());
    let description = doc
        .get("source")
        .and_then(|s| s.get("content"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| markdown::plain_text(&text("content").unwrap_or_default()));
    let organizer = id_of(doc.get("actor"))
        .or_else(|| id_of(doc.get("attributedTo")))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let community = id_of(doc.get("audience"))
        .or_else(|| id_of(doc.get("attributedTo")))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let now = now_ms();
    Ok(Event {
        id: 0,
        ap_id,
        community,
        organizer,
        title: markdown::plain_text(&text("name").unwrap_or_default()),
        description,
        starts_at,
        ends_at,
        timezone,
        place_name,
        place_address,
        latitude,
        longitude,
        online_url,
        capacity,
        join_mode,
        external_url: link(doc.get("externalParticipationUrl")),
        status,
        category: text("category"),
        participant_count: doc
            .get("participantCount")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .clamp(0, i64::from(i32::MAX)) as i32,
        sequence: 0,
        local: false,
        created_at: parse_time(doc.get("published")).unwrap_or(now),
        updated_at: parse_time(doc.get("updated")).unwrap_or(now),
    })
}

// ----- use cases -----

async fn owner_jobs(
    state: &AppState,
    group: &LocalActor,
    kind: &str,
    event: &Event,
) -> Result<Vec<crate::db::queue::NewJob>, ApiError> {
    let mut inboxes: Vec<Url> = Vec::new();
    // Participants who do not follow the community (e.g. from Mobilizon) hear changes too.
    if kind != "Create" && event.id != 0 {
        let remote: Vec<String> = state
            .db
            .participants(event.id)
            .await?
            .into_iter()
            .filter(|p| p.user_id.is_none())
            .map(|p| p.actor)
            .collect();
        // Their actors in one query, not one per participant.
        let actors: std::collections::HashMap<String, _> = state
            .db
            .remote_actors(&remote)
            .await?
            .into_iter()
            .map(|a| (a.ap_id.clone(), a))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for actor in remote.iter().filter_map(|id| actors.get(id)) {
            let target = actor.shared_inbox.clone().unwrap_or(actor.inbox.clone());
            if let Ok(url) = Url::parse(&target) {
                if seen.insert(url.clone()) {
                    inboxes.push(url);
                }
            }
        }
    }
    let base = state.settings.base_url();
    let object = if kind == "Delete" {
        json!(event.ap_id)
    } else {
        event_json(event)
    };
    let activity = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": event.community,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", event.community)],
        "audience": event.community,
        "object": object,
    });
    let mut activities = vec![activity];
    if kind == "Create" {
        activities.push(objects::announce(
            &base,
            &event.community,
            json!(event.ap_id),
        ));
    }
    broadcast_jobs(state, group, &event.community, activities, inboxes).await
}

async fn organizer_of(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
) -> Result<LocalActor, ApiError> {
    let Some((group, _)) = &community.local else {
        return Err(ApiError::forbidden(
            "events are scheduled on the community's own node",
        ));
    };
    if !moderates(state, &community.ap_id, &member.ap_id(state)).await? {
        return Err(ApiError::forbidden(
            "only the community's moderators schedule events",
        ));
    }
    Ok(group.clone())
}

pub async fn create(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    input: EventInput,
) -> Result<Event, ApiError> {
    let group = organizer_of(state, member, community).await?;
    let event = draft(state, community, &member.ap_id(state), input)?;
    let jobs = owner_jobs(state, &group, "Create", &event).await?;
    let saved = state.db.save_event(event, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    Ok(saved)
}

/// A moderator on another node schedules an event: the proposal goes to the community's node,
/// which creates the event (with its own id) and announces it to every member node, this one
/// included. Returns the proposal's activity id.
pub async fn propose(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    input: EventInput,
) -> Result<String, ApiError> {
    let event = draft(state, community, &member.ap_id(state), input)?;
    send_to_host(state, member, community, "Create", event_json(&event)).await
}

/// Sends a moderator's `kind` of an event (`Create`, `Update`, `Delete`) to the inbox of the
/// community's node, which checks and applies it (see [`hosted_event_change`]). The role is
/// checked here first. Returns the activity's id.
async fn send_to_host(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    kind: &str,
    object: Value,
) -> Result<String, ApiError> {
    let remote = community.remote.as_ref().ok_or_else(ApiError::internal)?;
    let me = member.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(ApiError::forbidden(
            "only the community's moderators schedule, change or delete events",
        ));
    }
    let base = state.settings.base_url();
    let id = objects::new_id(&base, &format!("activities/{}", kind.to_lowercase()));
    let mut activity = json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": kind,
        "actor": me,
        "to": [community.ap_id],
        "audience": community.ap_id,
        "object": object,
    });
    crate::service::privacy::address(&mut activity, community);
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| ApiError::bad_request("the community has no valid inbox"))?;
    delivery::send(state, &member.actor, &activity, [inbox]).await?;
    Ok(id)
}

/// The local community `community` and its actor, when `actor` (a moderator on another node)
/// moderates it: the check every remote moderator's event change passes on the host.
async fn hosted_event_change(
    state: &AppState,
    community: &str,
    actor: &str,
) -> Result<(CommunityView, LocalActor), ApiError> {
    let Some((view, group)) = known(state, community)
        .await?
        .and_then(|c| c.local.clone().map(|(group, _)| (c, group)))
    else {
        return Err(ApiError::forbidden(
            "events are proposed to a community of this node",
        ));
    };
    if !moderates(state, &view.ap_id, actor).await? {
        return Err(ApiError::forbidden(
            "only the community's moderators schedule, change or delete events",
        ));
    }
    Ok((view, group))
}

/// A moderator on another node changes (or cancels) an event: checked here, sent to the
/// community's node as an `Update`, applied and announced there. Returns the event as it will
/// be once applied.
async fn propose_update(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    event: &Event,
    input: EventInput,
) -> Result<Event, ApiError> {
    let changed = apply_input(event.clone(), input)?;
    send_to_host(state, member, community, "Update", event_json(&changed)).await?;
    Ok(changed)
}

/// The community's node receives a remote moderator's change to one of its events.
async fn receive_update_proposal(
    state: &AppState,
    env: &Envelope,
    doc: &Value,
) -> Result<(), ApiError> {
    let proposed =
        parse_remote_event(doc, state.settings.federation.debug).map_err(ApiError::bad_request)?;
    let Some(event) = state
        .db
        .event_by_ap_id(&proposed.ap_id)
        .await?
        .filter(|e| e.local)
    else {
        return Err(ApiError::not_found("no such event on this node"));
    };
    let actor = env.actor.as_str();
    let (_, group) = hosted_event_change(state, &event.community, actor).await?;
    let mut changed = apply_input(event.clone(), input_from(proposed, true))?;
    changed.sequence += 1;
    changed.updated_at = now_ms();
    let jobs = owner_jobs(state, &group, "Update", &changed).await?;
    let saved = state.db.save_event(changed, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    state
        .db
        .audit(
            actor,
            "remote.event.update",
            &saved.ap_id,
            Some(&saved.status),
        )
        .await?;
    Ok(())
}

/// The fields of an event received from another node, as if typed into the API (so they get
/// the same checks); `with_status` for changes, where cancelling is one.
fn input_from(e: Event, with_status: bool) -> EventInput {
    EventInput {
        title: Some(e.title),
        description: Some(e.description),
        starts_at: Some(rfc3339(e.starts_at)),
        ends_at: Some(rfc3339(e.ends_at)),
        timezone: Some(e.timezone),
        place_name: Some(e.place_name),
        place_address: Some(e.place_address),
        latitude: Some(e.latitude),
        longitude: Some(e.longitude),
        online_url: Some(e.online_url),
        capacity: Some(e.capacity.map(i64::from)),
        join_mode: Some(e.join_mode),
        external_url: Some(e.external_url),
        status: with_status.then_some(e.status),
        category: Some(e.category),
    }
}

/// The community's node receives a remote moderator's proposed event and schedules it.
async fn receive_proposal(state: &AppState, env: &Envelope, doc: &Value) -> Result<(), ApiError> {
    let proposed =
        parse_remote_event(doc, state.settings.federation.debug).map_err(ApiError::bad_request)?;
    let actor = env.actor.as_str();
    let (community, group) = hosted_event_change(state, &proposed.community, actor).await?;
    // The same checks as a local organizer's request.
    let event = draft(state, &community, actor, input_from(proposed, false))?;
    let jobs = owner_jobs(state, &group, "Create", &event).await?;
    let saved = state.db.save_event(event, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    state
        .db
        .audit(
            actor,
            "remote.event.create",
            &saved.ap_id,
            Some(&saved.title),
        )
        .await?;
    Ok(())
}

/// A new event of `community` organized by `organizer`, checked, not yet stored.
fn draft(
    state: &AppState,
    community: &CommunityView,
    organizer: &str,
    input: EventInput,
) -> Result<Event, ApiError> {
    for (field, present) in [
        ("title", input.title.is_some()),
        ("starts_at", input.starts_at.is_some()),
        ("ends_at", input.ends_at.is_some()),
        ("timezone", input.timezone.is_some()),
    ] {
        if !present {
            return Err(ApiError::unprocessable(format!("{field} is required")));
        }
    }
    let now = now_ms();
    let blank = Event {
        id: 0,
        ap_id: objects::new_id(&state.settings.base_url(), "e"),
        community: community.ap_id.clone(),
        organizer: organizer.to_string(),
        title: String::new(),
        description: String::new(),
        starts_at: 0,
        ends_at: 0,
        timezone: "UTC".into(),
        place_name: None,
        place_address: None,
        latitude: None,
        longitude: None,
        online_url: None,
        capacity: None,
        join_mode: "free".into(),
        external_url: None,
        status: "confirmed".into(),
        category: None,
        participant_count: 0,
        sequence: 0,
        local: true,
        created_at: now,
        updated_at: now,
    };
    apply_input(blank, input)
}

/// An organizer or moderator changes the event (moving it, cancelling it…).
pub async fn update(
    state: &AppState,
    member: &Member,
    event: &Event,
    input: EventInput,
) -> Result<Event, ApiError> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the event's community is unknown"))?;
    if community.local.is_none() {
        return propose_update(state, member, &community, event, input).await;
    }
    let group = organizer_of(state, member, &community).await?;
    let mut changed = apply_input(event.clone(), input)?;
    changed.sequence += 1;
    changed.updated_at = now_ms();
    let jobs = owner_jobs(state, &group, "Update", &changed).await?;
    let saved = state.db.save_event(changed, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    Ok(saved)
}

/// Deletes an event. Returns false when the deletion was sent to the community's node (an
/// event of a community elsewhere), which deletes it and tells every member node.
pub async fn delete(state: &AppState, member: &Member, event: &Event) -> Result<bool, ApiError> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the event's community is unknown"))?;
    if community.local.is_none() {
        send_to_host(state, member, &community, "Delete", json!(event.ap_id)).await?;
        return Ok(false);
    }
    let group = organizer_of(state, member, &community).await?;
    let jobs = owner_jobs(state, &group, "Delete", event).await?;
    state.db.delete_event(event.id, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    Ok(true)
}

/// Why an RSVP cannot be taken from someone (`invited` to an invitation-only event or not).
fn rsvp_closed(event: &Event, invited: bool) -> Option<String> {
    if event.status == "cancelled" {
        return Some("the event is cancelled".into());
    }
    if event.ends_at < now_ms() {
        return Some("the event is over".into());
    }
    match event.join_mode.as_str() {
        "none" => Some("this event takes no RSVPs".into()),
        "invite" if !invited => Some("this event is by invitation only".into()),
        "external" => Some(format!(
            "RSVP on the organizer's site: {}",
            event.external_url.clone().unwrap_or_default()
        )),
        _ => None,
    }
}

async fn is_invited(state: &AppState, event: &Event, actor: &str) -> Result<bool, ApiError> {
    Ok(state
        .db
        .participant(event.id, actor)
        .await?
        .is_some_and(|p| p.state == "invited"))
}

/// An organizer invites a member of the community to an event (any join mode; the only way
/// into an invitation-only one). A remote invitee's node hears it as an `Invite` from the
/// community, so the invitee sees the invitation there.
pub async fn invite(
    state: &AppState,
    member: &Member,
    event: &Event,
    who: &str,
) -> Result<String, ApiError> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the event's community is unknown"))?;
    let group = organizer_of(state, member, &community).await?;
    if event.status == "cancelled" || event.ends_at < now_ms() {
        return Err(ApiError::unprocessable("the event is cancelled or over"));
    }
    let invitee = crate::service::discussions::resolve_actor(state, who).await?;
    let membership = state.db.membership(&community.ap_id, &invitee).await?;
    if membership.as_ref().is_none_or(|m| m.state != "accepted") {
        return Err(ApiError::unprocessable(format!(
            "{invitee} is not a member of the community; invite members only"
        )));
    }
    if let Some(p) = state.db.participant(event.id, &invitee).await? {
        if matches!(p.state.as_str(), "going" | "waitlisted" | "pending") {
            return Err(ApiError::conflict(format!(
                "{invitee} has already answered ({})",
                p.state
            )));
        }
    }
    let user_id = membership.and_then(|m| m.user_id);
    state
        .db
        .set_participant(event.id, &invitee, user_id, "invited", None)
        .await?;
    state
        .db
        .audit(
            &member.ap_id(state),
            "event.invite",
            &invitee,
            Some(&event.ap_id),
        )
        .await?;
    if user_id.is_none() {
        let base = state.settings.base_url();
        let invite = json!({
            "@context": AS_CONTEXT,
            "id": objects::new_id(&base, "activities/invite"),
            "type": "Invite",
            "actor": event.community,
            "object": event.ap_id,
            "target": invitee,
            "to": [invitee],
        });
        let inbox = crate::service::remote::personal_inbox(state, &invitee).await?;
        delivery::send(state, &group, &invite, [inbox]).await?;
    }
    Ok(invitee)
}

/// An `Invite` to an event from its community, for a user of this node.
pub async fn receive_invite(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let Some(event) = (match id_of(env.body.get("object")) {
        Some(id) => state.db.event_by_ap_id(id.as_str()).await?,
        None => None,
    }) else {
        info!(activity = %env.id, "invitation to an event unknown here ignored");
        return Ok(());
    };
    if event.local || event.community != env.actor.as_str() {
        return Err(ApiError::forbidden(
            "only the event's community sends its invitations",
        ));
    }
    let Some(target) = id_of(env.body.get("target")) else {
        return Err(ApiError::bad_request("an Invite needs a target"));
    };
    let Some(name) = crate::service::discussions::local_user_name(state, target.as_str()) else {
        return Err(ApiError::bad_request(
            "the invitee is not a user of this node",
        ));
    };
    let user = match state.db.local_actor_by_name(name).await? {
        Some(actor) => state.db.user_by_actor(actor.id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("no such user"))?;
    let current = state.db.participant(event.id, target.as_str()).await?;
    if current.is_none_or(|p| matches!(p.state.as_str(), "rejected" | "ignored" | "invited")) {
        state
            .db
            .set_participant(event.id, target.as_str(), Some(user.id), "invited", None)
            .await?;
    }
    Ok(())
}

fn join_rule(event: &Event) -> JoinRule {
    if event.join_mode == "restricted" {
        JoinRule::Approval
    } else {
        JoinRule::Open
    }
}

/// A member RSVPs (`going` true) or withdraws. Returns the member's state (`going`,
/// `pending`, `waitlisted`, `rejected`, or `none` after withdrawing).
pub async fn rsvp(
    state: &AppState,
    member: &Member,
    event: &Event,
    going: bool,
) -> Result<String, ApiError> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the event's community is unknown"))?;
    let me = member.ap_id(state);
    if going {
        let invited = is_invited(state, event, &me).await?;
        if let Some(why) = rsvp_closed(event, invited) {
            return Err(ApiError::unprocessable(why));
        }
        require_member(state, member, &community).await?;
    }
    match &community.local {
        Some((group, _)) => {
            if going {
                let st = state
                    .db
                    .join_event(event.id, &me, Some(member.user.id), None, join_rule(event))
                    .await?;
                counts_changed(state, group, event.id).await?;
                Ok(st)
            } else {
                leave_local(state, group, event, &me).await?;
                Ok("none".into())
            }
        }
        None => {
            let remote = community.remote.as_ref().ok_or_else(ApiError::internal)?;
            let inbox = Url::parse(&remote.inbox)
                .map_err(|_| ApiError::bad_request("the community has no valid inbox"))?;
            let base = state.settings.base_url();
            if !going {
                state.db.remove_participant(event.id, &me).await?;
                let leave = json!({
                    "@context": AS_CONTEXT,
                    "id": objects::new_id(&base, "activities/leave"),
                    "type": "Leave", "actor": me, "object": event.ap_id, "to": [event.community],
                });
                delivery::send(state, &member.actor, &leave, [inbox]).await?;
                return Ok("none".into());
            }
            let join_id = objects::new_id(&base, "activities/join");
            let join = json!({
                "@context": AS_CONTEXT,
                "id": join_id, "type": "Join", "actor": me, "object": event.ap_id,
                "to": [event.community],
            });
            state
                .db
                .set_participant(
                    event.id,
                    &me,
                    Some(member.user.id),
                    "pending",
                    Some(join_id.clone()),
                )
                .await?;
            delivery::send(state, &member.actor, &join, [inbox]).await?;
            if event.join_mode == "restricted" {
                // An organizer decides later; the answer arrives as Accept or Reject.
                return Ok("pending".into());
            }
            // Wait briefly for the owner's answer, as for article edits.
            let deadline = tokio::time::Instant::now()
                + Duration::from_millis(state.settings.articles.edit_wait_ms);
            loop {
                let p = state.db.participant(event.id, &me).await?;
                let st = p.map(|p| p.state).unwrap_or_else(|| "none".into());
                if st != "pending" || tokio::time::Instant::now() >= deadline {
                    return Ok(st);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn leave_local(
    state: &AppState,
    group: &LocalActor,
    event: &Event,
    actor: &str,
) -> Result<(), ApiError> {
    if let Some(promoted) = state.db.leave_event(event.id, actor).await? {
        info!(event = %event.ap_id, promoted = %promoted.actor, "moved up from the waitlist");
        if promoted.user_id.is_none() {
            tell(
                state,
                group,
                event,
                &promoted.actor,
                "Accept",
                promoted.join_id.as_deref(),
                None,
            )
            .await?;
        }
    }
    counts_changed(state, group, event.id).await
}

/// Followers learn the new counts.
async fn counts_changed(
    state: &AppState,
    group: &LocalActor,
    event_id: i64,
) -> Result<(), ApiError> {
    let Some(event) = state.db.event(event_id).await? else {
        return Ok(());
    };
    let jobs = owner_jobs(state, group, "Update", &event).await?;
    if !jobs.is_empty() {
        state.db.enqueue(jobs).await?;
        state.delivery_wakeup.notify_waiters();
    }
    Ok(())
}

/// The owner answers a participant at their inbox.
async fn tell(
    state: &AppState,
    group: &LocalActor,
    event: &Event,
    actor: &str,
    kind: &str,
    join_id: Option<&str>,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    let inbox = remote::personal_inbox(state, actor).await?;
    let join = json!({"id": join_id, "type": "Join", "actor": actor, "object": event.ap_id});
    let mut answer = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": event.community,
        "to": [actor],
        "object": join,
    });
    if let Some(r) = reason {
        answer["summary"] = json!(r);
    }
    delivery::send(state, group, &answer, [inbox]).await?;
    Ok(())
}

/// An organizer approves or rejects a pending participant.
pub async fn decide(
    state: &AppState,
    member: &Member,
    event: &Event,
    participant_id: i64,
    accept: bool,
) -> Result<String, ApiError> {
    let community = known(state, &event.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the event's community is unknown"))?;
    let group = organizer_of(state, member, &community).await?;
    let p = state
        .db
        .participant_by_id(participant_id)
        .await?
        .filter(|p| p.event_id == event.id)
        .ok_or_else(|| ApiError::not_found("no such participant"))?;
    if p.state != "pending" {
        return Err(ApiError::conflict(format!(
            "the participant is {}, not pending",
            p.state
        )));
    }
    let st = state
        .db
        .decide_participant(event.id, &p.actor, accept)
        .await?;
    let action = if accept {
        "event.approve"
    } else {
        "event.reject"
    };
    state
        .db
        .audit(&member.ap_id(state), action, &p.actor, Some(&event.ap_id))
        .await?;
    if p.user_id.is_none() {
        let (kind, reason) = match st.as_str() {
            "going" => ("Accept", None),
            "waitlisted" => ("TentativeAccept", Some("full: you are on the waitlist")),
            _ => ("Reject", Some("the organizer declined")),
        };
        tell(
            state,
            &group,
            event,
            &p.actor,
            kind,
            p.join_id.as_deref(),
            reason,
        )
        .await?;
    }
    counts_changed(state, &group, event.id).await?;
    Ok(st)
}

// ----- federation -----

/// Whether an incoming activity is about events: handled here rather than as discussions.
pub async fn concerns_events(state: &AppState, env: &Envelope) -> Result<bool, ApiError> {
    let object = env.body.get("object");
    if object.is_some_and(|o| inner_kind(o) == "Event")
        || matches!(env.type_name.as_str(), "Join" | "Leave")
    {
        return Ok(true);
    }
    // Answers to our Joins, or Friendica-style RSVPs whose object is an event.
    if matches!(
        env.type_name.as_str(),
        "Accept" | "TentativeAccept" | "Reject" | "Ignore" | "Delete"
    ) {
        if let Some(id) = id_of(object) {
            if state.db.event_by_ap_id(id.as_str()).await?.is_some() {
                return Ok(true);
            }
            if state.db.participant_by_join(id.as_str()).await?.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub async fn receive(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let object = env.body.get("object");
    let actor = env.actor.as_str();
    let kind = env.type_name.as_str();
    // The owning community telling followers about an event.
    if matches!(kind, "Create" | "Update") && object.is_some_and(|o| inner_kind(o) == "Event") {
        let from_community = known(state, actor).await?.is_some();
        return match (from_community, object) {
            (false, Some(doc)) if kind == "Create" => receive_proposal(state, env, doc).await,
            (false, Some(doc)) => receive_update_proposal(state, env, doc).await,
            _ => receive_from_owner(state, env).await,
        };
    }
    if kind == "Delete" {
        if let Some(id) = id_of(object) {
            if let Some(event) = state.db.event_by_ap_id(id.as_str()).await? {
                if !event.local && event.community == actor {
                    state.db.delete_event(event.id, Vec::new()).await?;
                    return Ok(());
                }
                // A moderator on another node deletes an event of a community hosted here.
                if event.local {
                    let (_, group) = hosted_event_change(state, &event.community, actor).await?;
                    let jobs = owner_jobs(state, &group, "Delete", &event).await?;
                    state.db.delete_event(event.id, jobs).await?;
                    state.delivery_wakeup.notify_waiters();
                    state
                        .db
                        .audit(
                            actor,
                            "remote.event.delete",
                            &event.ap_id,
                            Some(&event.title),
                        )
                        .await?;
                    return Ok(());
                }
                return Err(ApiError::forbidden(
                    "only the owning community deletes an event",
                ));
            }
        }
        return Ok(());
    }
    // An answer to one of our members' Joins.
    if matches!(kind, "Accept" | "TentativeAccept" | "Reject" | "Ignore") {
        let join_id = id_of(object);
        if let Some(p) = match &join_id {
            Some(j) => state.db.participant_by_join(j.as_str()).await?,
            None => None,
        } {
            let event = state
                .db
                .event(p.event_id)
                .await?
                .ok_or_else(ApiError::internal)?;
            if event.community != actor {
                return Err(ApiError::forbidden("only the event's community answers"));
            }
            let st = match kind {
                "Accept" => "going",
                "TentativeAccept" => "waitlisted",
                "Ignore" => "ignored",
                _ => "rejected",
            };
            state
                .db
                .set_participant(event.id, &p.actor, p.user_id, st, p.join_id.clone())
                .await?;
            return Ok(());
        }
    }
    // RSVPs to an event owned here: Join/Leave, or Friendica's Accept/TentativeAccept/Reject
    // of the event itself.
    let event_url = match kind {
        "Join" | "Leave" => id_of(object),
        _ => id_of(object)
            .filter(|_| object.is_some_and(|o| o.is_string() || inner_kind(o) == "Event")),
    };
    let Some(event_url) = event_url else {
        return Ok(());
    };
    let Some(event) = state
        .db
        .event_by_ap_id(event_url.as_str())
        .await?
        .filter(|e| e.local)
    else {
        return Err(ApiError::not_found("no such event on this node"));
    };
    let community = known(state, &event.community)
        .await?
        .ok_or_else(ApiError::internal)?;
    let Some((group, _)) = community.local.clone() else {
        return Err(ApiError::internal());
    };
    let wants = matches!(kind, "Join" | "Accept" | "TentativeAccept");
    if !wants {
        return leave_local(state, &group, &event, actor).await;
    }
    let join_id = Some(env.id.to_string());
    // The same rule as for a local member: accepted and not banned.
    if let Err(refusal) = crate::service::access::participant(state, &community, actor).await {
        return tell(
            state,
            &group,
            &event,
            actor,
            "Reject",
            join_id.as_deref(),
            Some(&refusal.message),
        )
        .await;
    }
    if event.join_mode == "none" {
        return tell(
            state,
            &group,
            &event,
            actor,
            "Ignore",
            join_id.as_deref(),
            None,
        )
        .await;
    }
    let invited = is_invited(state, &event, actor).await?;
    if let Some(why) = rsvp_closed(&event, invited) {
        return tell(
            state,
            &group,
            &event,
            actor,
            "Reject",
            join_id.as_deref(),
            Some(&why),
        )
        .await;
    }
    let st = state
        .db
        .join_event(event.id, actor, None, join_id.clone(), join_rule(&event))
        .await?;
    match st.as_str() {
        "going" => {
            tell(
                state,
                &group,
                &event,
                actor,
                "Accept",
                join_id.as_deref(),
                None,
            )
            .await?
        }
        "waitlisted" => {
            tell(
                state,
                &group,
                &event,
                actor,
                "TentativeAccept",
                join_id.as_deref(),
                Some("full: you are on the waitlist"),
            )
            .await?
        }
        _ => {}
    }
    counts_changed(state, &group, event.id).await
}

async fn receive_from_owner(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let doc = env
        .body
        .get("object")
        .ok_or_else(|| ApiError::bad_request("no object"))?;
    let mut incoming =
        parse_remote_event(doc, state.settings.federation.debug).map_err(ApiError::bad_request)?;
    let Some(community) = known(state, env.actor.as_str()).await? else {
        return Err(ApiError::forbidden(
            "events are only accepted from their community",
        ));
    };
    let event_url =
        Url::parse(&incoming.ap_id).map_err(|_| ApiError::bad_request("bad event id"))?;
    if community.local.is_some()
        || incoming.community != community.ap_id
        || host_of(&event_url) != host_of(&env.actor)
    {
        return Err(ApiError::forbidden(
            "an event is only accepted from the community that owns it",
        ));
    }
    if !state.db.has_local_membership(&community.ap_id).await? {
        return Ok(());
    }
    incoming.local = false;
    if let Some(existing) = state.db.event_by_ap_id(&incoming.ap_id).await? {
        incoming.sequence = existing.sequence + 1;
    }
    state.db.save_event(incoming, Vec::new()).await?;
    Ok(())
}

/// Local wall-clock time of an instant in the event's zone.
pub fn local_time(e: &Event, ms: i64) -> String {
    let tz: Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| Utc::now().to_rfc3339())
}
