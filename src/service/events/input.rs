//! Checking an organizer's input: time spans, URLs, join modes and statuses.

use super::*;

pub(super) fn parse_instant(field: &str, value: &str) -> Result<i64, Error> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| Error::refused(format!("{field} must be an RFC 3339 time")))
}

pub(super) fn check_url(field: &str, value: Option<String>) -> Result<Option<String>, Error> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(Some(u.to_string())),
            _ => Err(Error::refused(format!("{field} must be an http(s) URL"))),
        },
    }
}

/// Applies `input` over `event` and checks the result.
pub(super) fn apply_input(mut event: Event, input: EventInput) -> Result<Event, Error> {
    if let Some(t) = input.title {
        event.title = check_title(&t)?;
    }
    if let Some(d) = input.description {
        if d.len() > 100 * 1024 {
            return Err(Error::refused("the description is larger than 100 KiB"));
        }
        event.description = d;
    }
    if let Some(tz) = input.timezone {
        tz.parse::<Tz>()
            .map_err(|_| Error::refused(format!("unknown time zone {tz:?}")))?;
        event.timezone = tz;
    }
    if let Some(s) = input.starts_at {
        event.starts_at = parse_instant("starts_at", &s)?;
    }
    if let Some(e) = input.ends_at {
        event.ends_at = parse_instant("ends_at", &e)?;
    }
    if event.ends_at <= event.starts_at {
        return Err(Error::refused("ends_at must be after starts_at"));
    }
    check_span(event.starts_at, event.ends_at).map_err(Error::refused)?;
    if let Some(v) = input.place_name {
        event.place_name = v.filter(|s| !s.trim().is_empty());
    }
    if let Some(v) = input.place_address {
        event.place_address = v.filter(|s| !s.trim().is_empty());
    }
    if let Some(v) = input.latitude {
        if v.is_some_and(|l| !(-90.0..=90.0).contains(&l)) {
            return Err(Error::refused("latitude must be between -90 and 90"));
        }
        event.latitude = v;
    }
    if let Some(v) = input.longitude {
        if v.is_some_and(|l| !(-180.0..=180.0).contains(&l)) {
            return Err(Error::refused("longitude must be between -180 and 180"));
        }
        event.longitude = v;
    }
    if let Some(v) = input.online_url {
        event.online_url = check_url("online_url", v)?;
    }
    if let Some(v) = input.capacity {
        match v {
            Some(c) if !(1..=100_000).contains(&c) => {
                return Err(Error::refused(
                    "capacity must be between 1 and 100000 (or null for no limit)",
                ))
            }
            Some(c) => event.capacity = Some(c as i32),
            None => event.capacity = None,
        }
    }
    if let Some(m) = input.join_mode {
        event.join_mode = m.parse().map_err(|_| {
            Error::refused(format!(
                "join_mode must be one of {}",
                JOIN_MODES.join(", ")
            ))
        })?;
    }
    if let Some(v) = input.external_url {
        event.external_url = check_url("external_url", v)?;
    }
    if event.join_mode == JoinMode::External && event.external_url.is_none() {
        return Err(Error::refused("join_mode external needs an external_url"));
    }
    if let Some(s) = input.status {
        event.status = s.parse().map_err(|_| {
            Error::refused(format!("status must be one of {}", STATUSES.join(", ")))
        })?;
    }
    if let Some(c) = input.category {
        event.category = c.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each bad field is refused with a message naming it; good input comes out typed.
    #[test]
    fn organizer_input_is_checked_field_by_field() {
        let refused: [(EventInput, &str); 11] = [
            (
                EventInput {
                    timezone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                "unknown time zone",
            ),
            (
                EventInput {
                    starts_at: Some("tomorrow".into()),
                    ..Default::default()
                },
                "starts_at must be an RFC 3339 time",
            ),
            (
                EventInput {
                    ends_at: Some("2027-01-15T07:00:00Z".into()),
                    ..Default::default()
                },
                "ends_at must be after starts_at",
            ),
            (
                EventInput {
                    starts_at: Some("2199-12-31T00:00:00Z".into()),
                    ends_at: Some("2200-01-02T00:00:00Z".into()),
                    ..Default::default()
                },
                "between 1970 and 2200",
            ),
            (
                EventInput {
                    latitude: Some(Some(91.0)),
                    ..Default::default()
                },
                "latitude",
            ),
            (
                EventInput {
                    longitude: Some(Some(-181.0)),
                    ..Default::default()
                },
                "longitude",
            ),
            (
                EventInput {
                    online_url: Some(Some("javascript:alert(1)".into())),
                    ..Default::default()
                },
                "online_url must be an http(s) URL",
            ),
            (
                EventInput {
                    capacity: Some(Some(0)),
                    ..Default::default()
                },
                "capacity must be between 1 and 100000",
            ),
            (
                EventInput {
                    join_mode: Some("lottery".into()),
                    ..Default::default()
                },
                "join_mode must be one of free, restricted, invite, none, external",
            ),
            (
                EventInput {
                    join_mode: Some("external".into()),
                    ..Default::default()
                },
                "join_mode external needs an external_url",
            ),
            (
                EventInput {
                    status: Some("postponed".into()),
                    ..Default::default()
                },
                "status must be one of confirmed, tentative, cancelled",
            ),
        ];
        for (input, message) in refused {
            let err = apply_input(sample_event(), input).expect_err(message);
            assert_eq!(err.kind, crate::service::error::Kind::Refused, "{message}");
            assert!(err.message.contains(message), "{} / {message}", err.message);
        }
        let ok = apply_input(
            sample_event(),
            EventInput {
                join_mode: Some("external".into()),
                external_url: Some(Some("https://tickets.example/1".into())),
                status: Some("cancelled".into()),
                capacity: Some(Some(30)),
                category: Some(Some(" workshop ".into())),
                ..Default::default()
            },
        )
        .expect("valid input");
        assert_eq!(ok.join_mode, JoinMode::External);
        assert_eq!(ok.status, EventStatus::Cancelled);
        assert_eq!(ok.capacity, Some(30));
        assert_eq!(ok.category.as_deref(), Some("WORKSHOP"));
    }
}
