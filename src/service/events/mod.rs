//! Events: roundtables, workshops, webinars. An event belongs to a community and is owned by
//! the community's node, which decides every RSVP (capacity, waitlist, approval) and tells
//! every follower the counts with `Update(Event)`. Members on other nodes RSVP with
//! `Join`/`Leave`; the owner answers `Accept` (going), `TentativeAccept` (waitlisted),
//! `Reject` (with a reason) or `Ignore` (join mode `none`), and tells a waitlisted member who
//! moves up with a fresh `Accept`.

use crate::{
    activitypub::{
        activities::{ActivityKind, Document, DocumentKind, Object, Verified},
        actors::host_of,
        objects::{self, rfc3339, AS_CONTEXT, PUBLIC},
    },
    db::{
        events::{Event, JoinRule},
        now_ms, LocalActor,
    },
    delivery,
    domain::{EventStatus, JoinMode, MemberState, RsvpState},
    markdown,
    node::Node,
    service::error::Error,
    service::{
        discussions::{
            broadcast_jobs, check_title, known, moderates, require_member, CommunityView, Member,
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

mod document;
mod inbound;
mod input;
mod manage;
mod rsvp;
pub use document::*;
pub use inbound::*;
use input::*;
pub use manage::*;
pub use rsvp::*;

pub use crate::activitypub::events::{parse_event, parse_remote_event};
pub use crate::domain::events::{
    check_span, EARLIEST_MS, JOIN_MODES, LATEST_MS, MAX_DURATION_MS, STATUSES,
};

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

/// Local wall-clock time of an instant in the event's zone.
pub fn local_time(e: &Event, ms: i64) -> String {
    let tz: Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| Utc::now().to_rfc3339())
}

/// An event for unit tests: free, confirmed, an hour long in 2027.
#[cfg(test)]
pub(super) fn sample_event() -> Event {
    Event {
        id: 0,
        ap_id: "https://a.example/e/1".into(),
        community: "https://a.example/c/guild".into(),
        organizer: "https://a.example/u/olga".into(),
        title: "Roundtable".into(),
        description: String::new(),
        starts_at: 1_800_000_000_000,
        ends_at: 1_800_003_600_000,
        timezone: "UTC".into(),
        place_name: None,
        place_address: None,
        latitude: None,
        longitude: None,
        online_url: None,
        capacity: None,
        join_mode: JoinMode::Free,
        external_url: None,
        status: EventStatus::Confirmed,
        category: None,
        participant_count: 0,
        sequence: 0,
        local: true,
        created_at: 0,
        updated_at: 0,
    }
}
