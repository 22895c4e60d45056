//! Events in the native API.

use super::{
    author_from, handles, may_read, may_read_view, next_link, nullable, parse_body, parse_id, Auth,
    Caller, MaybeAuth, Write, PAGE_DEFAULT, PAGE_MAX, Q,
};
use crate::domain::RsvpState;
use crate::{
    activitypub::objects::rfc3339,
    db::{events::Event, now_ms},
    error::ApiError,
    markdown,
    node::Node,
    paging::{self, Pair},
    service::{
        calendar,
        discussions::{self as communities, moderates},
        events::{self as svc, EventInput},
    },
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router() -> Router<Node> {
    Router::new()
        .route("/communities/{handle}/events", get(list).post(create))
        .route("/communities/{handle}/events.ics", get(community_ics))
        .route("/me/calendar", post(calendar_token))
        .route("/events/{id}", get(get_event).patch(update).delete(remove))
        .route("/events/{id}/rsvp", post(rsvp))
        .route("/events/{id}/participants", get(participants))
        .route(
            "/events/{id}/participants/{participant}/approve",
            post(approve),
        )
        .route(
            "/events/{id}/participants/{participant}/reject",
            post(reject),
        )
        .route("/events/{id}/invitations", post(invite))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    /// `user`, `user@domain` or an actor id.
    actor: String,
}

async fn invite(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: InviteBody = parse_body(&body)?;
    let event = load(&state, &id).await?;
    let actor = svc::invite(&state, &auth.member, &event, &req.actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"actor": actor, "state": "invited"})),
    )
        .into_response())
}

async fn load(state: &Node, raw: &str) -> Result<Event, ApiError> {
    state
        .db
        .event(parse_id(raw)?)
        .await?
        .ok_or_else(|| ApiError::not_found("no such event"))
}

async fn event_json(state: &Node, e: &Event, viewer: Option<&Caller>) -> Result<Value, ApiError> {
    let community = communities::known(state, &e.community).await?;
    let my_rsvp = match viewer {
        Some(a) => state
            .db
            .participant(e.id, &a.member.ap_id(state))
            .await?
            .map(|p| p.state),
        None => None,
    };
    let organizers = handles(state, [e.organizer.as_str()]).await?;
    Ok(event_value(
        e,
        community.map(|c| c.handle()),
        &organizers,
        my_rsvp,
    ))
}

fn event_value(
    e: &Event,
    community: Option<String>,
    organizers: &HashMap<String, String>,
    my_rsvp: Option<RsvpState>,
) -> Value {
    let place = (e.place_name.is_some() || e.place_address.is_some()).then(|| {
        json!({"name": e.place_name, "address": e.place_address, "latitude": e.latitude, "longitude": e.longitude})
    });
    json!({
        "id": e.id,
        "ap_id": e.ap_id,
        "community": community,
        "organizer": author_from(organizers, &e.organizer),
        "title": e.title,
        "description": e.description,
        "html": markdown::render(&e.description),
        "summary": svc::summary_line(e),
        "starts_at": rfc3339(e.starts_at),
        "ends_at": rfc3339(e.ends_at),
        "timezone": e.timezone,
        "local_starts_at": svc::local_time(e, e.starts_at),
        "local_ends_at": svc::local_time(e, e.ends_at),
        "place": place,
        "online_url": e.online_url,
        "capacity": e.capacity,
        "remaining": e.capacity.map(|c| (c - e.participant_count).max(0)),
        "participant_count": e.participant_count,
        "join_mode": e.join_mode,
        "external_url": e.external_url,
        "status": e.status,
        "category": e.category,
        "local": e.local,
        "my_rsvp": my_rsvp,
        "updated_at": rfc3339(e.updated_at),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EventBody {
    title: Option<String>,
    description: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    timezone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    place: Option<Option<PlaceBody>>,
    #[serde(default, deserialize_with = "nullable")]
    online_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    capacity: Option<Option<i64>>,
    join_mode: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    external_url: Option<Option<String>>,
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    category: Option<Option<String>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct PlaceBody {
    name: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl From<EventBody> for EventInput {
    fn from(b: EventBody) -> EventInput {
        let (place_name, place_address, latitude, longitude) = match b.place {
            None => (None, None, None, None),
            Some(None) => (Some(None), Some(None), Some(None), Some(None)),
            Some(Some(p)) => (
                Some(p.name),
                Some(p.address),
                Some(p.latitude),
                Some(p.longitude),
            ),
        };
        EventInput {
            title: b.title,
            description: b.description,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            timezone: b.timezone,
            place_name,
            place_address,
            latitude,
            longitude,
            online_url: b.online_url,
            capacity: b.capacity,
            join_mode: b.join_mode,
            external_url: b.external_url,
            status: b.status,
            category: b.category,
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    past: Option<bool>,
    /// The cursor of upcoming events (soonest first).
    after: Option<Pair<i64, i64>>,
    /// The cursor of past events (latest first).
    before: Option<Pair<i64, i64>>,
    limit: Option<u64>,
}

/// Most events one list answer holds (`?limit=N`, default and maximum).
pub const MAX_EVENTS: u64 = 200;

/// Upcoming events soonest first (`?after=CURSOR`), or past ones latest first
/// (`?past=true&before=CURSOR`), one page at a time.
async fn list(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let community = communities::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &community).await?;
    let past = q.past.unwrap_or(false);
    let (param, cursor) = match (past, q.after, q.before) {
        (false, after, None) => ("after", after),
        (true, None, before) => ("before", before),
        _ => {
            return Err(ApiError::bad_request(
                "upcoming events page with `after`, past ones (past=true) with `before`",
            ))
        }
    };
    let limit = paging::limit(q.limit, MAX_EVENTS, MAX_EVENTS);
    let page = state
        .db
        .events_page(
            &community.ap_id,
            past,
            now_ms(),
            cursor.map(|Pair(at, id)| (at, id)),
            limit,
        )
        .await?;
    // One lookup per kind for the whole list, not per event.
    let organizers = handles(&state, page.items.iter().map(|e| e.organizer.as_str())).await?;
    let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
    let mine = match auth.as_deref() {
        Some(a) => state.db.rsvp_states(&a.member.ap_id(&state), &ids).await?,
        None => Default::default(),
    };
    let handle = Some(community.handle());
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|e| event_value(e, handle.clone(), &organizers, mine.get(&e.id).cloned()))
        .collect();
    let next = page.next(|e| Pair(e.starts_at, e.id));
    Ok(Json(
        json!({"events": out, "next": next_link(&state, &uri, param, next)}),
    ))
}

async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: EventBody = parse_body(&body)?;
    let community = communities::resolve(&state, &handle).await?;
    if community.local().is_none() {
        // Scheduled by the community's node, which announces it back here.
        let activity = svc::propose(&state, &auth.member, &community, req.into()).await?;
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"state": "proposed", "activity": activity})),
        )
            .into_response());
    }
    let event = svc::create(&state, &auth.member, &community, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(event_json(&state, &event, Some(&*auth)).await?),
    )
        .into_response())
}

async fn get_event(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(id) = id.strip_suffix(".ics") {
        let event = load(&state, id).await?;
        may_read(&state, auth.as_deref(), &event.community).await?;
        let title = event.title.clone();
        return Ok(crate::web::ics_response(calendar::calendar(
            &title,
            &[event],
        )));
    }
    let event = load(&state, &id).await?;
    may_read(&state, auth.as_deref(), &event.community).await?;
    Ok(Json(event_json(&state, &event, auth.as_deref()).await?).into_response())
}

#[derive(Deserialize)]
pub struct FeedQuery {
    after: Option<Pair<i64, i64>>,
}

/// A community's upcoming events (hosted here or replicated) as a calendar feed, at most
/// [`calendar::MAX_FEED_EVENTS`] a page.
async fn community_ics(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<FeedQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let community = communities::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &community).await?;
    let page = state
        .db
        .events_page(
            &community.ap_id,
            false,
            crate::web::feed_start(),
            q.after.map(|Pair(at, id)| (at, id)),
            calendar::MAX_FEED_EVENTS,
        )
        .await?;
    Ok(crate::web::ics_page(
        &state,
        &uri,
        &community.title,
        &page.items,
        crate::web::feed_next(&page),
    ))
}

/// Creates a token for the caller's personal calendar feed and returns its URL.
async fn calendar_token(
    State(state): State<Node>,
    auth: Auth<Write>,
) -> Result<Response, ApiError> {
    let token =
        crate::service::accounts::create_token(&state.db, &auth.member.actor.name, "calendar")
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let url = format!("{}/calendar/{token}.ics", state.settings.base_url());
    Ok((StatusCode::CREATED, Json(json!({"url": url}))).into_response())
}

/// `GET /calendar/{token}.ics`: the events a member is going to, soonest first, at most
/// [`calendar::MAX_FEED_EVENTS`] a page.
pub async fn personal_ics(
    State(state): State<Node>,
    Path(file): Path<String>,
    Q(q): Q<FeedQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let token = file
        .strip_suffix(".ics")
        .ok_or_else(|| ApiError::not_found("no such calendar"))?;
    let (user, scopes) = state
        .db
        .token_owner(&crate::service::accounts::token_hash(token))
        .await?
        .ok_or_else(|| ApiError::not_found("no such calendar"))?;
    if !scopes.split_whitespace().any(|s| s == "calendar") {
        return Err(ApiError::not_found("no such calendar"));
    }
    let actor = state
        .db
        .local_actor(user.actor_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such calendar"))?;
    let me = crate::service::discussions::user_ap_id(&state, &actor.name);
    if state.db.suspension(&me).await?.is_some() {
        return Err(ApiError::not_found("no such calendar"));
    }
    let page = state
        .db
        .events_of_user(
            user.id,
            q.after.map(|Pair(at, id)| (at, id)),
            calendar::MAX_FEED_EVENTS,
        )
        .await?;
    // Only events of communities the user may still take part in (the rule every RSVP
    // follows): none after a ban, none of a confidential community after leaving it. Looked
    // up once for the page, not per event or community.
    let views =
        communities::known_many(&state, page.items.iter().map(|e| e.community.as_str())).await?;
    let allowed = crate::service::access::participant_in_each(
        &state,
        &views.values().collect::<Vec<_>>(),
        &me,
    )
    .await?;
    let shown: Vec<Event> = page
        .items
        .iter()
        .filter(|e| allowed.get(&e.community).copied().unwrap_or(false))
        .cloned()
        .collect();
    // The next page starts after the last event read, shown or not.
    let response = crate::web::ics_page(
        &state,
        &uri,
        "My events",
        &shown,
        crate::web::feed_next(&page),
    );
    Ok(response)
}

async fn update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: EventBody = parse_body(&body)?;
    let event = load(&state, &id).await?;
    let updated = svc::update(&state, &auth.member, &event, req.into()).await?;
    // An event of a community elsewhere changes once its node has applied the change.
    let status = if event.local {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(event_json(&state, &updated, Some(&*auth)).await?),
    )
        .into_response())
}

async fn remove(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let event = load(&state, &id).await?;
    // An event of a community elsewhere goes once its node has deleted it.
    Ok(if svc::delete(&state, &auth.member, &event).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RsvpBody {
    going: bool,
}

async fn rsvp(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RsvpBody = parse_body(&body)?;
    let event = load(&state, &id).await?;
    let st = svc::rsvp(&state, &auth.member, &event, req.going).await?;
    let event = load(&state, &id).await?;
    Ok(Json(
        json!({"state": st.map_or("none", RsvpState::as_str), "event": event_json(&state, &event, Some(&*auth)).await?}),
    ))
}

#[derive(Deserialize)]
struct ParticipantsQuery {
    after: Option<i64>,
    limit: Option<u64>,
}

/// An event's participants in the order they answered, one page at a time
/// (`?after=ID&limit=N`).
async fn participants(
    State(state): State<Node>,
    auth: Auth,
    Path(id): Path<String>,
    Q(q): Q<ParticipantsQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let event = load(&state, &id).await?;
    if !moderates(&state, &event.community, &auth.member.ap_id(&state)).await? {
        return Err(ApiError::forbidden(
            "only organizers see the participant list",
        ));
    }
    let limit = paging::limit(q.limit, PAGE_DEFAULT, PAGE_MAX);
    let page = state.db.participants_page(event.id, q.after, limit).await?;
    let actors = handles(&state, page.items.iter().map(|p| p.actor.as_str())).await?;
    let out: Vec<Value> = page
        .items
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "actor": author_from(&actors, &p.actor),
                "state": p.state,
                "since": rfc3339(p.created_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "participants": out,
        "next": next_link(&state, &uri, "after", page.next(|p| p.id)),
    })))
}

async fn decide(
    state: &Node,
    auth: &Auth<Write>,
    id: &str,
    participant: &str,
    accept: bool,
) -> Result<Json<Value>, ApiError> {
    let event = load(state, id).await?;
    // The participant's id, or the actor itself (its URL or `name@domain`).
    let participant_id = match participant.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let actor = communities::resolve_actor(state, participant).await?;
            state
                .db
                .participant(event.id, &actor)
                .await?
                .ok_or_else(|| ApiError::not_found("no such participant"))?
                .id
        }
    };
    let st = svc::decide(state, &auth.member, &event, participant_id, accept).await?;
    Ok(Json(json!({"state": st})))
}

async fn approve(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((id, participant)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &id, &participant, true).await
}

async fn reject(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path((id, participant)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    decide(&state, &auth, &id, &participant, false).await
}
