//! The `Event` document: Mobilizon's and FEP-8a8e's fields, a summary line for Mastodon, and parsing events from Mobilizon and Gancio.

use super::*;

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
