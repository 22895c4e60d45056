//! The `Event` document this node sends: Mobilizon's and FEP-8a8e's fields and a summary line for Mastodon (reading other servers' events is `activitypub::events`).

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
    if e.status == EventStatus::Cancelled {
        parts.insert(0, "CANCELLED".into());
    }
    match (&e.place_name, &e.online_url) {
        (Some(p), Some(_)) => parts.push(format!("{p} and online")),
        (Some(p), None) => parts.push(p.clone()),
        (None, Some(_)) => parts.push("Online".into()),
        (None, None) => {}
    }
    let rsvp = match (e.join_mode, e.capacity) {
        (JoinMode::External, _) => "RSVP on the organizer's site".to_string(),
        (JoinMode::NoRsvp, _) => "no RSVP".to_string(),
        (JoinMode::Invite, _) => "invitation only".to_string(),
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
    let ical_status = e.status.as_str().to_uppercase();
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
        "eventStatus": match e.status {
            EventStatus::Cancelled => "EventCancelled",
            EventStatus::Tentative => "EventPostponed",
            EventStatus::Confirmed => "EventScheduled",
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
