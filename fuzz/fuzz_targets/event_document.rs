//! Remote `Event` documents (Mobilizon, Gancio, Roundtable) read by
//! `service::events::parse_event`, and our own document of what was read (`event_json`, with
//! its summary line) read back again: what a replica reads must be what the owner meant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::service::events::{
    event_json, local_time, parse_event, summary_line, JOIN_MODES, STATUSES,
};
use roundtable_fuzz::{assert_safe_html, documents};

/// 1970-01-01 and 2200-01-01 in ms: the range of event times the node works with.
const SANE: std::ops::RangeInclusive<i64> = 0..=7_258_118_400_000;

fuzz_target!(|data: &[u8]| {
    for doc in documents(data) {
        let Ok(event) = parse_event(&doc) else {
            continue;
        };
        let input = doc.to_string();
        assert!(event.ends_at >= event.starts_at, "{input}");
        assert!(event.capacity.is_none_or(|c| c > 0));
        assert!(JOIN_MODES.contains(&event.join_mode.as_str()));
        assert!(STATUSES.contains(&event.status.as_str()));
        assert!(event.timezone.parse::<chrono_tz::Tz>().is_ok());
        let _ = summary_line(&event);
        let _ = local_time(&event, event.starts_at);

        let ours = event_json(&event);
        assert_safe_html(ours["content"].as_str().unwrap_or_default(), &input);
        if !SANE.contains(&event.starts_at) || !SANE.contains(&event.ends_at) {
            // Times outside the range are refused by the bounds of issue 11, not compared.
            continue;
        }
        let again = parse_event(&ours)
            .unwrap_or_else(|e| panic!("our own Event document does not parse ({e}): {ours}"));
        let second = |ms: i64| ms.div_euclid(1000) * 1000;
        assert_eq!(again.ap_id, event.ap_id);
        assert_eq!(again.starts_at, second(event.starts_at), "{ours}");
        assert_eq!(again.ends_at, second(event.ends_at), "{ours}");
        assert_eq!(again.timezone, event.timezone);
        assert_eq!(again.description, event.description);
        assert_eq!(again.capacity, event.capacity);
        assert_eq!(again.participant_count, event.participant_count, "{ours}");
        assert_eq!(again.join_mode, event.join_mode);
        assert_eq!(again.status, event.status);
        assert_eq!(again.online_url, event.online_url);
        assert_eq!(again.external_url, event.external_url);
        assert_eq!(again.category, event.category);
    }
});
