//! The rules every event keeps, wherever it comes from: its join modes, its statuses, and the
//! span of time it may take.

pub const JOIN_MODES: [&str; 5] = ["free", "restricted", "invite", "none", "external"];
pub const STATUSES: [&str; 3] = ["confirmed", "tentative", "cancelled"];

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
