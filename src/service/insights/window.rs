//! The window insights cover: the last 30, 90 or 365 days, or whole days `from` … `to`
//! (both included, UTC).

use crate::service::error::Error;
use chrono::{NaiveDate, NaiveTime};

pub const DAY_MS: i64 = 86_400_000;
/// The longest from/to window, in days.
const MAX_DAYS: i64 = 3_660;

/// `[from, to)` in epoch milliseconds, and how it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    /// `30d`, `90d`, `365d` or `YYYY-MM-DD..YYYY-MM-DD`.
    pub label: String,
}

fn day(text: &str, name: &str) -> Result<i64, Error> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=2200).contains(&chrono::Datelike::year(d)))
        .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
        .ok_or_else(|| Error::invalid(format!("{name} must be a date YYYY-MM-DD")))
}

impl Window {
    /// From the query: `window` (default `90d`) ending `now`, or `from` and `to` together.
    pub fn parse(
        window: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        now: i64,
    ) -> Result<Window, Error> {
        match (window, from, to) {
            (None, Some(from), Some(to)) => {
                let start = day(from, "from")?;
                let end = day(to, "to")? + DAY_MS;
                if end <= start {
                    return Err(Error::invalid("to must not be before from"));
                }
                if end - start > MAX_DAYS * DAY_MS {
                    return Err(Error::invalid(format!(
                        "a window is at most {MAX_DAYS} days"
                    )));
                }
                Ok(Window {
                    from: start,
                    to: end,
                    label: format!("{from}..{to}"),
                })
            }
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::invalid(
                "give either window or from and to, not both",
            )),
            (_, Some(_), None) | (_, None, Some(_)) => {
                Err(Error::invalid("from and to go together"))
            }
            (window, None, None) => {
                let label = window.unwrap_or("90d");
                let days = match label {
                    "30d" => 30,
                    "90d" => 90,
                    "365d" => 365,
                    _ => return Err(Error::invalid("window must be 30d, 90d or 365d")),
                };
                Ok(Window {
                    from: now - days * DAY_MS,
                    to: now,
                    label: label.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let now = 100 * DAY_MS;
        let w = Window::parse(Some("30d"), None, None, now).expect("30d");
        assert_eq!((w.from, w.to), (70 * DAY_MS, now));
        assert_eq!(
            Window::parse(None, None, None, now).expect("default").label,
            "90d"
        );
        let w = Window::parse(None, Some("1970-01-02"), Some("1970-01-03"), now).expect("range");
        assert_eq!((w.from, w.to), (DAY_MS, 3 * DAY_MS));
        for (window, from, to) in [
            (Some("7d"), None, None),
            (None, Some("1970-01-03"), Some("1970-01-02")),
            (None, Some("yesterday"), Some("1970-01-02")),
            (None, Some("1970-01-02"), None),
            (Some("30d"), Some("1970-01-02"), Some("1970-01-03")),
            (None, Some("1970-01-01"), Some("2100-01-01")),
        ] {
            assert!(
                Window::parse(window, from, to, now).is_err(),
                "{window:?} {from:?} {to:?}"
            );
        }
    }
}
