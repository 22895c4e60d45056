//! Event pages: a community's upcoming events, an event (its time in the event's zone and the
//! viewer's, place or online link, seats left, the viewer's RSVP and waitlist position,
//! participants and their requests for organizers, invitations), RSVPs and withdrawals, the
//! event as a `.ics` file, and scheduling a new event. Every page and action asks
//! `service::privacy::may_read` first; the changes are `service::events`' use cases.

use super::{
    accounts::to_sign_in,
    communities::member_of,
    pages::{render, Field, FormPage},
    views::{community_href, encode, People, PersonLink},
    Browser, PageError, Posted,
};
use crate::{
    db::events::Event,
    domain::{EventStatus, MemberState, Role, RsvpState},
    markdown,
    node::Node,
    service::{
        calendar,
        discussions::{self as svc, CommunityView, Member},
        error::Error,
        events::{self, EventInput},
    },
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// Participants an event page lists for its organizers.
const PARTICIPANTS_SHOWN: u64 = 500;

/// An event in a list.
pub struct EventRow {
    pub href: String,
    pub title: String,
    pub when: String,
    pub status: String,
}

/// The next `limit` events of `view`, soonest first (the community page's list).
pub(super) async fn upcoming(
    state: &Node,
    view: &CommunityView,
    viewer_zone: &str,
    limit: u64,
) -> Result<Vec<EventRow>, Error> {
    let page = state
        .db
        .events_page(&view.ap_id, false, crate::db::now_ms(), None, limit)
        .await?;
    Ok(rows(&page.items, viewer_zone))
}

/// List rows of `events`, their times in `viewer_zone`.
pub(super) fn rows(events: &[Event], viewer_zone: &str) -> Vec<EventRow> {
    events
        .iter()
        .map(|e| EventRow {
            href: format!("/events/{}", e.id),
            title: e.title.clone(),
            when: in_zone(e.starts_at, viewer_zone),
            status: e.status.to_string(),
        })
        .collect()
}

/// `ms` as wall-clock time in `zone` (UTC when the zone is unknown), with the zone's name.
fn in_zone(ms: i64, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| format!("{} ({})", t.format("%a %-d %b %Y, %H:%M"), tz.name()))
        .unwrap_or_default()
}

/// The viewer's time zone: their setting, or UTC for visitors.
fn viewer_zone(member: Option<&Member>) -> String {
    member
        .map(|m| m.user.time_zone.clone())
        .filter(|z| z.parse::<Tz>().is_ok())
        .unwrap_or_else(|| "UTC".into())
}

pub struct ParticipantRow {
    pub id: i64,
    pub person: PersonLink,
    pub state: String,
}

#[derive(Template)]
#[template(path = "ui/event.html")]
struct EventPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    id: i64,
    community_href: String,
    community_title: String,
    organizer: PersonLink,
    description_html: String,
    status: String,
    in_event_zone: String,
    ends_in_event_zone: String,
    in_viewer_zone: Option<String>,
    place: Option<String>,
    online_url: Option<String>,
    external_url: Option<String>,
    capacity: Option<i32>,
    going: i32,
    remaining: Option<i32>,
    join_mode: String,
    my_state: String,
    waitlist_position: Option<u64>,
    can_rsvp: bool,
    is_organizer: bool,
    participants: Vec<ParticipantRow>,
    origin: Option<String>,
    notice: Option<String>,
    invite_error: Option<String>,
}

async fn load(state: &Node, id: i64) -> Result<Event, PageError> {
    state
        .db
        .event(id)
        .await?
        .ok_or_else(|| Error::not_found("There is no such event on this node.").into())
}

/// The event's community, after the one read check (an event the viewer may not read is
/// "not found", as if it did not exist).
async fn readable(
    state: &Node,
    member: Option<&Member>,
    event: &Event,
) -> Result<CommunityView, PageError> {
    super::views::readable_in(
        state,
        member,
        &event.community,
        "There is no such event on this node.",
    )
    .await
}

/// `GET /events/{id}`.
pub async fn event(State(state): State<Node>, browser: Browser, Path(id): Path<i64>) -> PageResult {
    event_page(&state, &browser, id, None, None, StatusCode::OK).await
}

async fn event_page(
    state: &Node,
    browser: &Browser,
    id: i64,
    notice: Option<String>,
    invite_error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let member = member_of(browser);
    let e = load(state, id).await?;
    let view = readable(state, member.as_ref(), &e).await?;
    let me = member.as_ref().map(|m| m.ap_id(state));
    let membership = match &me {
        Some(me) => state.db.membership(&view.ap_id, me).await?,
        None => None,
    };
    let accepted = membership
        .as_ref()
        .is_some_and(|m| m.state == MemberState::Accepted);
    let is_organizer = accepted
        && membership
            .as_ref()
            .is_some_and(|m| matches!(m.role, Role::Owner | Role::Moderator));
    let (my_state, waitlist_position) = match &me {
        Some(me) => {
            let mine = state.db.rsvp_states(me, &[e.id]).await?.remove(&e.id);
            let position = match mine {
                Some(RsvpState::Waitlisted) if view.local().is_some() => {
                    state.db.waitlist_position(e.id, me).await?
                }
                _ => None,
            };
            (mine.map(|s| s.to_string()).unwrap_or_default(), position)
        }
        None => (String::new(), None),
    };
    let participants = if is_organizer {
        let page = state
            .db
            .participants_page(e.id, None, PARTICIPANTS_SHOWN)
            .await?;
        let people = People::load(state, page.items.iter().map(|p| p.actor.as_str())).await?;
        page.items
            .iter()
            .map(|p| ParticipantRow {
                id: p.id,
                person: people.link(&p.actor),
                state: p.state.to_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let people = People::load(state, [e.organizer.as_str()]).await?;
    let zone = viewer_zone(member.as_ref());
    let place = match (&e.place_name, &e.place_address) {
        (Some(n), Some(a)) => Some(format!("{n}, {a}")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(a)) => Some(a.clone()),
        (None, None) => None,
    };
    let ended = e.ends_at < crate::db::now_ms();
    Ok(render(
        status,
        &EventPage {
            title: e.title.clone(),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            id: e.id,
            community_href: community_href(&view),
            community_title: view.title.clone(),
            organizer: people.link(&e.organizer),
            description_html: match e.local {
                true => markdown::render(&e.description),
                false => markdown::sanitize(&markdown::render(&e.description)),
            },
            status: e.status.to_string(),
            in_event_zone: in_zone(e.starts_at, &e.timezone),
            ends_in_event_zone: in_zone(e.ends_at, &e.timezone),
            in_viewer_zone: (zone != e.timezone).then(|| in_zone(e.starts_at, &zone)),
            place,
            online_url: e.online_url.clone(),
            external_url: e.external_url.clone(),
            capacity: e.capacity,
            going: e.participant_count,
            remaining: e.capacity.map(|c| (c - e.participant_count).max(0)),
            join_mode: match e.join_mode.to_string().as_str() {
                "free" => "Open to the community's members",
                "restricted" => "The organizers accept each person",
                "invite" => "By invitation",
                "external" => "Registration on another site",
                _ => "No sign-up",
            }
            .to_string(),
            my_state,
            waitlist_position,
            can_rsvp: accepted && !ended && e.status != EventStatus::Cancelled,
            is_organizer,
            participants,
            origin: (!e.local).then(|| e.ap_id.clone()),
            notice,
            invite_error,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RsvpForm {
    going: bool,
}

/// `POST /events/{id}/rsvp` (`going=true` to take part, `false` to withdraw).
pub async fn rsvp(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<RsvpForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/events/{id}")));
    };
    let e = load(&state, id).await?;
    readable(&state, Some(&member), &e).await?;
    match events::rsvp(&state, &member, &e, form.going).await {
        Ok(_) => Ok(Redirect::to(&format!("/events/{id}")).into_response()),
        Err(err) => {
            let status = super::status_of(err.kind);
            event_page(&state, &browser, id, Some(err.message), None, status).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    participant: i64,
    accept: bool,
}

/// `POST /events/{id}/decide`: an organizer accepts or declines a request.
pub async fn decide(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<DecideForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/events/{id}")));
    };
    let e = load(&state, id).await?;
    readable(&state, Some(&member), &e).await?;
    events::decide(&state, &member, &e, form.participant, form.accept).await?;
    Ok(Redirect::to(&format!("/events/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    who: String,
}

/// `POST /events/{id}/invite`: an organizer invites someone by handle.
pub async fn invite(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<InviteForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/events/{id}")));
    };
    let e = load(&state, id).await?;
    readable(&state, Some(&member), &e).await?;
    let who = form.who.trim();
    let result = if who.is_empty() {
        Err(Error::invalid(
            "Name who to invite, such as ada@example.org.",
        ))
    } else {
        match svc::resolve_actor(&state, who).await {
            Ok(actor) => events::invite(&state, &member, &e, &actor)
                .await
                .map(|_| ()),
            Err(err) => Err(err),
        }
    };
    match result {
        Ok(()) => {
            event_page(
                &state,
                &browser,
                id,
                Some(format!("{who} is invited.")),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(err) => {
            let status = super::status_of(err.kind);
            event_page(&state, &browser, id, None, Some(err.message), status).await
        }
    }
}

/// `GET /events/{id}/calendar.ics`: the event for a calendar app.
pub async fn ics(State(state): State<Node>, browser: Browser, Path(id): Path<i64>) -> PageResult {
    let e = load(&state, id).await?;
    readable(&state, member_of(&browser).as_ref(), &e).await?;
    let title = e.title.clone();
    Ok(crate::web::ics_response(calendar::calendar(&title, &[e])))
}

// ----- scheduling -----

fn new_event_form(handle: &str, csrf: String, zone: &str) -> FormPage {
    let mut page = FormPage::new(
        "Schedule an event",
        &format!("/communities/{}/events/new", encode(handle)),
        csrf,
        "Schedule it",
    );
    page.fields = vec![
        Field::new("title", "Title", "text", "off"),
        Field::new("description", "What it is about", "textarea", "off"),
        Field::new("starts_at", "Starts", "datetime-local", "off"),
        Field::new("ends_at", "Ends", "datetime-local", "off"),
        Field::new("timezone", "Time zone", "text", "off")
            .value(zone)
            .hint("The zone the times above are in, such as Europe/Berlin."),
        Field::new("place", "Place (optional)", "text", "off"),
        Field::new("online_url", "Online link (optional)", "url", "off"),
        Field::new("capacity", "Seats (optional)", "number", "off")
            .hint("Leave empty for no limit; when full, people join a waitlist."),
    ];
    page
}

/// `GET /communities/{handle}/events/new` (the community's moderators).
pub async fn new_event_page(browser: Browser, Path(handle): Path<String>) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/events/new",
            encode(&handle)
        )));
    };
    let mut page = new_event_form(&handle, browser.csrf().await?, &viewer_zone(Some(&member)));
    page.signed_in = Some(member.actor.name.clone());
    Ok(page.render_with(StatusCode::OK))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NewEventForm {
    title: String,
    description: String,
    starts_at: String,
    ends_at: String,
    timezone: String,
    place: String,
    online_url: String,
    capacity: String,
}

/// A `datetime-local` value in `zone` as RFC 3339.
fn local_input(field: &'static str, value: &str, zone: &str) -> Result<String, Error> {
    let tz: Tz = zone
        .parse()
        .map_err(|_| Error::invalid(format!("Unknown time zone {zone:?}.")).on("timezone"))?;
    let naive = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| Error::invalid("Enter a date and time.").on(field))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.to_rfc3339())
        .ok_or_else(|| Error::invalid("That time does not exist in this zone.").on(field))
}

fn event_input(form: &NewEventForm) -> Result<EventInput, Error> {
    if form.title.trim().is_empty() {
        return Err(Error::invalid("Give the event a title.").on("title"));
    }
    let zone = form.timezone.trim();
    let starts_at = local_input("starts_at", &form.starts_at, zone)?;
    let ends_at = local_input("ends_at", &form.ends_at, zone)?;
    let capacity =
        match form.capacity.trim() {
            "" => None,
            n => Some(n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid("Seats are a whole number above 0.").on("capacity")
            })?),
        };
    let online = Some(form.online_url.trim().to_string()).filter(|u| !u.is_empty());
    Ok(EventInput {
        title: Some(form.title.trim().to_string()),
        description: Some(form.description.clone()),
        starts_at: Some(starts_at),
        ends_at: Some(ends_at),
        timezone: Some(zone.to_string()),
        place_name: Some(Some(form.place.trim().to_string()).filter(|p| !p.is_empty())),
        online_url: Some(online),
        capacity: Some(capacity),
        ..EventInput::default()
    })
}

/// `POST /communities/{handle}/events/new`.
pub async fn create_event(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<NewEventForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/events/new",
            encode(&handle)
        )));
    };
    let view = svc::resolve(&state, &handle).await?;
    let result = match event_input(&form) {
        Err(e) => Err(e),
        Ok(input) if view.local().is_some() => events::create(&state, &member, &view, input)
            .await
            .map(|e| Some(e.id)),
        Ok(input) => events::propose(&state, &member, &view, input)
            .await
            .map(|_| None),
    };
    match result {
        Ok(Some(id)) => Ok(Redirect::to(&format!("/events/{id}")).into_response()),
        Ok(None) => Ok(super::pages::message(
            StatusCode::ACCEPTED,
            "Sent to the community's node",
            "The community's node schedules the event and shares it with every member node; it appears on the community's page in a moment.",
            Some((&community_href(&view), "Back to the community")),
        )),
        Err(e) => {
            let mut page = new_event_form(&handle, browser.csrf().await?, &form.timezone);
            page.signed_in = Some(member.actor.name.clone());
            for f in &mut page.fields {
                f.value = match f.name {
                    "title" => form.title.clone(),
                    "description" => form.description.clone(),
                    "starts_at" => form.starts_at.clone(),
                    "ends_at" => form.ends_at.clone(),
                    "timezone" => form.timezone.clone(),
                    "place" => form.place.clone(),
                    "online_url" => form.online_url.clone(),
                    _ => form.capacity.clone(),
                };
            }
            // The service names times and URLs in its messages; put them beside their field.
            let e = match e.field {
                Some(_) => e,
                None if e.message.contains("ends_at") => e.on("ends_at"),
                None if e.message.contains("starts_at") => e.on("starts_at"),
                None if e.message.contains("online_url") => e.on("online_url"),
                None if e.message.contains("time zone") => e.on("timezone"),
                None => e,
            };
            Ok(page.with_error(&e).render_with(super::status_of(e.kind)))
        }
    }
}
