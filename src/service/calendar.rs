//! iCalendar feeds (RFC 5545) for events: one event, a community's upcoming events, a
//! member's own. Times are written in the zone each event was planned in, with a `VTIMEZONE`
//! built from the IANA database (chrono-tz) for a day around each time the feed writes; `UID` is the
//! event's ActivityPub id, so a cancelled or moved event updates in place in calendar apps.

use crate::db::events::Event;
use chrono::{DateTime, Offset, Utc};
use chrono_tz::{OffsetName, Tz};
use ics::{
    components::{Parameter, Property},
    escape_text,
    properties::{
        Categories, Description, DtEnd, DtStart, Geo, LastModified, Location, Sequence, Status,
        Summary, TzName, URL,
    },
    Daylight, ICalendar, Standard, TimeZone as IcsTimeZone,
};
use std::collections::{BTreeMap, BTreeSet};

/// Most events a community's feed lists (the soonest ones).
pub const MAX_FEED_EVENTS: u64 = 500;

const UTC_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const LOCAL_FORMAT: &str = "%Y%m%dT%H%M%S";

fn utc(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format(UTC_FORMAT)
        .to_string()
}

fn offset_string(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

fn at(tz: &Tz, ms: i64) -> DateTime<Tz> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(tz)
}

fn offset_at(tz: &Tz, ms: i64) -> (i32, String) {
    let t = at(tz, ms);
    let off = t.offset();
    (
        off.fix().local_minus_utc(),
        off.abbreviation().unwrap_or("").to_string(),
    )
}

/// The instants in `[from, to]` where `tz` changes its UTC offset, to the minute.
fn transitions(tz: &Tz, from: i64, to: i64) -> Vec<i64> {
    const HOUR: i64 = 3_600_000;
    let mut found = Vec::new();
    let mut t = from;
    let mut current = offset_at(tz, t).0;
    while t < to {
        let next = (t + HOUR).min(to);
        let off = offset_at(tz, next).0;
        if off != current {
            // Narrow down to the minute.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 60_000 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid).0 == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(hi - hi.rem_euclid(60_000));
            current = off;
        }
        t = next;
    }
    found
}

/// A day each side of every instant a feed writes in local time.
const MARGIN_MS: i64 = 86_400_000;

/// The stretches of time a `VTIMEZONE` has to describe: a day around each of `instants`,
/// sorted and merged. Only these are searched for offset changes, so the work is bounded by
/// the number of events in the feed, not by how far apart they are.
fn windows(mut instants: Vec<i64>) -> Vec<(i64, i64)> {
    instants.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for t in instants {
        let (from, to) = (t - MARGIN_MS, t + MARGIN_MS);
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// A `VTIMEZONE` for `tz` that gives the right offset inside each of `windows` (sorted, not
/// overlapping): the offset changes within them, and one observance at the start of a window
/// whose offset differs from the one before it.
fn vtimezone(name: &str, tz: &Tz, windows: &[(i64, i64)]) -> Option<IcsTimeZone<'static>> {
    let local = |ms: i64, offset: i32| {
        DateTime::<Utc>::from_timestamp_millis(ms + i64::from(offset) * 1000)
            .unwrap_or_default()
            .format(LOCAL_FORMAT)
            .to_string()
    };
    let observance = |instant: i64, before: i32, after: i32, abbreviation: String| {
        let start = local(instant, before);
        if after > before {
            let mut d = Daylight::new(start, offset_string(before), offset_string(after));
            if !abbreviation.is_empty() {
                d.push(TzName::new(abbreviation));
            }
            Err(d)
        } else {
            let mut s = Standard::new(start, offset_string(before), offset_string(after));
            if !abbreviation.is_empty() {
                s.push(TzName::new(abbreviation));
            }
            Ok(s)
        }
    };
    let (first_from, _) = *windows.first()?;
    let (initial, initial_name) = offset_at(tz, first_from);
    let mut first = Standard::new(
        local(first_from, initial),
        offset_string(initial),
        offset_string(initial),
    );
    if !initial_name.is_empty() {
        first.push(TzName::new(initial_name));
    }
    let mut zone = IcsTimeZone::standard(name.to_string(), first);
    let mut before = initial;
    for &(from, to) in windows {
        let (at_start, abbreviation) = offset_at(tz, from);
        let mut changes = Vec::new();
        if at_start != before {
            changes.push((from, at_start, abbreviation));
        }
        for instant in transitions(tz, from, to) {
            let (after, abbreviation) = offset_at(tz, instant);
            changes.push((instant, after, abbreviation));
        }
        for (instant, after, abbreviation) in changes {
            match observance(instant, before, after, abbreviation) {
                Ok(s) => zone.add_standard(s),
                Err(d) => zone.add_daylight(d),
            }
            before = after;
        }
    }
    Some(zone)
}

/// A calendar of `events`, named `name`.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut cal = ICalendar::new("2.0", "-//Roundtable//Roundtable events//EN");
    cal.push(Property::new("CALSCALE", "GREGORIAN"));
    cal.push(Property::new("METHOD", "PUBLISH"));
    cal.push(Property::new("X-WR-CALNAME", escape_text(name.to_string())));
    // One VTIMEZONE per zone, covering a day around each start and end written in it.
    let mut instants: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in events {
        if e.timezone.parse::<Tz>().is_ok() && e.timezone != "UTC" {
            instants
                .entry(e.timezone.clone())
                .or_default()
                .extend([e.starts_at, e.ends_at]);
        }
    }
    let mut zoned_names: BTreeSet<String> = BTreeSet::new();
    for (name, list) in instants {
        if let Ok(tz) = name.parse::<Tz>() {
            if let Some(zone) = vtimezone(&name, &tz, &windows(list)) {
                cal.add_timezone(zone);
                zoned_names.insert(name);
            }
        }
    }
    let stamp = utc(crate::db::now_ms());
    for e in events {
        let mut ev = ics::Event::new(e.ap_id.clone(), stamp.clone());
        let zoned = zoned_names.contains(&e.timezone);
        let when = |ms: i64| -> (String, Option<Parameter<'static>>) {
            match e.timezone.parse::<Tz>() {
                Ok(tz) if zoned => (
                    at(&tz, ms).format(LOCAL_FORMAT).to_string(),
                    Some(Parameter::new("TZID", e.timezone.clone())),
                ),
                _ => (utc(ms), None),
            }
        };
        let (start, param) = when(e.starts_at);
        let mut dtstart = DtStart::new(start);
        if let Some(p) = param.clone() {
            dtstart.add(p);
        }
        ev.push(dtstart);
        let (end, param) = when(e.ends_at);
        let mut dtend = DtEnd::new(end);
        if let Some(p) = param {
            dtend.add(p);
        }
        ev.push(dtend);
        ev.push(Summary::new(escape_text(e.title.clone())));
        let mut description = crate::markdown::plain_text(&crate::markdown::render(&e.description));
        if let Some(u) = &e.online_url {
            description.push_str(&format!("\n\nJoin online: {u}"));
        }
        description.push_str(&format!("\n\n{}", e.ap_id));
        ev.push(Description::new(escape_text(description)));
        let location = match (&e.place_name, &e.place_address, &e.online_url) {
            (Some(n), Some(a), _) => Some(format!("{n}, {a}")),
            (Some(n), None, _) => Some(n.clone()),
            (None, Some(a), _) => Some(a.clone()),
            (None, None, Some(u)) => Some(u.clone()),
            (None, None, None) => None,
        };
        if let Some(l) = location {
            ev.push(Location::new(escape_text(l)));
        }
        if let (Some(lat), Some(lon)) = (e.latitude, e.longitude) {
            ev.push(Geo::new(format!("{lat:.6};{lon:.6}")));
        }
        if let Some(c) = &e.category {
            ev.push(Categories::new(escape_text(c.clone())));
        }
        ev.push(URL::new(e.ap_id.clone()));
        ev.push(Status::new(e.status.as_str().to_uppercase()));
        ev.push(Sequence::new(e.sequence.to_string()));
        ev.push(LastModified::new(utc(e.updated_at)));
        ev.push(Property::new("ORGANIZER", e.organizer.clone()));
        cal.add_event(ev);
    }
    cal.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_transitions() {
        assert_eq!(offset_string(7200), "+0200");
        assert_eq!(offset_string(-12600), "-0330");
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let from = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .expect("t")
            .timestamp_millis();
        let to = DateTime::parse_from_rfc3339("2027-12-31T00:00:00Z")
            .expect("t")
            .timestamp_millis();
        let found: Vec<String> = transitions(&berlin, from, to)
            .into_iter()
            .map(utc)
            .collect();
        assert_eq!(found, vec!["20270328T010000Z", "20271031T010000Z"]);
        let text = vtimezone("Europe/Berlin", &berlin, &[(from, to)])
            .expect("zone")
            .to_string();
        assert!(text.contains("DTSTART:20271031T030000"), "{text}");
        // Far apart windows: the offset in each is right, and only what lies in them is
        // searched.
        let summer = DateTime::parse_from_rfc3339("2030-07-01T12:00:00Z")
            .expect("t")
            .timestamp_millis();
        let text = vtimezone("Europe/Berlin", &berlin, &windows(vec![from, summer]))
            .expect("zone")
            .to_string();
        assert_eq!(text.matches("BEGIN:DAYLIGHT").count(), 1, "{text}");
        assert!(text.contains("DTSTART:20300630T130000"), "{text}");
    }
}
