//! Events as other servers describe them (Mobilizon, Gancio, Roundtable): read into the
//! node's event record, every field checked, links kept only when they are web URLs.

use super::{
    activities::{Document, DocumentKind},
    objects::{id_of, inner_kind, parse_time},
};
use crate::{
    db::{events::Event, now_ms},
    domain::{events::check_span, EventStatus, JoinMode},
    markdown,
};
use chrono_tz::Tz;
use serde_json::Value;

impl Document {
    /// The event this document is (see [`parse_remote_event`]).
    pub fn event(&self, allow_http: bool) -> Result<Event, String> {
        if self.kind != DocumentKind::Event {
            return Err("not an Event".into());
        }
        parse_remote_event(&self.raw, allow_http)
    }
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
            .and_then(|u| crate::activitypub::remote_url(u, allow_http))
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
    let place = Place::read(doc, &link);
    let capacity = doc
        .get("maximumAttendeeCapacity")
        .and_then(Value::as_i64)
        .filter(|c| *c > 0)
        .map(|c| c.min(i64::from(i32::MAX)) as i32);
    let (status, join_mode) = (status(doc), join_mode(doc));
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
        place_name: place.place_name,
        place_address: place.place_address,
        latitude: place.latitude,
        longitude: place.longitude,
        online_url: place.online_url,
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

/// Where an event takes place: a `Place` (name, address, coordinates) and a
/// `VirtualLocation`, or Gancio's "Website" attachment for the online link.
#[derive(Default)]
struct Place {
    place_name: Option<String>,
    place_address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    online_url: Option<String>,
}

impl Place {
    fn read(doc: &Value, link: &dyn Fn(Option<&Value>) -> Option<String>) -> Place {
        let mut place = Place::default();
        let locations = match doc.get("location") {
            Some(Value::Array(items)) => items.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        for loc in &locations {
            if inner_kind(loc) == "VirtualLocation" {
                place.online_url = link(loc.get("url"));
                continue;
            }
            place.place_name = loc
                .get("name")
                .and_then(Value::as_str)
                .map(markdown::plain_text);
            place.place_address = match loc.get("address") {
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
            place.latitude = loc.get("latitude").and_then(Value::as_f64);
            place.longitude = loc.get("longitude").and_then(Value::as_f64);
        }
        if place.online_url.is_none() {
            place.online_url = doc
                .get("attachment")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a.get("name").and_then(Value::as_str) == Some("Website"))
                .and_then(|a| link(a.get("href").or_else(|| a.get("url"))));
        }
        place
    }
}

fn text(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The event's status: iCalendar's, else schema.org's, else confirmed.
fn status(doc: &Value) -> EventStatus {
    let text = |k: &str| text(doc, k);
    let schema_org = || {
        text("eventStatus").map(|s| match s.as_str() {
            "EventCancelled" => EventStatus::Cancelled,
            "EventPostponed" | "EventRescheduled" => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        })
    };
    match text("ical:status") {
        // An iCalendar status this node does not know means confirmed, as before.
        Some(s) => s.to_lowercase().parse().unwrap_or(EventStatus::Confirmed),
        None => schema_org().unwrap_or(EventStatus::Confirmed),
    }
}

/// Mobilizon's join mode, free when unknown.
fn join_mode(doc: &Value) -> JoinMode {
    text(doc, "joinMode")
        .and_then(|m| m.parse().ok())
        .unwrap_or(JoinMode::Free)
}
