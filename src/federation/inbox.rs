//! The shared inbox and per-actor inboxes: every POST is size-checked, signature-checked,
//! checked against the policy and only then parsed into an activity, recorded durably and
//! deduplicated in one group write (`db::inbox`), and applied by `service::intake`; the
//! request waits a bounded time for the outcome, so a refusal still reaches the sender.

use crate::activitypub::{
    activities::{parse_envelope, Verified},
    actors::host_of,
    signatures::{digest_matches, header_map, DateWindow, SignatureError, SignedRequest},
};
use crate::db::inbox::{Arrival, Outcome};
use crate::{db::memo::Gate, error::ApiError, metrics::Metrics, node::Node, service};
use axum::{
    body::{to_bytes, Body},
    extract::{OriginalUri, Path, State},
    http::{HeaderMap, Method, StatusCode},
};
use std::time::{Duration, SystemTime};
use tracing::info;

/// Seconds a sender is asked to wait when the inbox has too much work in flight.
const INBOX_RETRY_AFTER_SECS: u64 = 2;

/// `POST /inbox`.
pub async fn shared_inbox(
    State(state): State<Node>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    receive(&state, &method, &uri, &headers, body).await
}

/// `POST /u/{name}/inbox`, `POST /c/{name}/inbox`: the same, for an actor that must exist.
pub async fn actor_inbox(
    State(state): State<Node>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    if state
        .db
        .local_actor_by_name(&name.to_lowercase())
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("no such actor"));
    }
    receive(&state, &method, &uri, &headers, body).await
}

/// `POST /actor/inbox`.
pub async fn instance_inbox(
    State(state): State<Node>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    receive(&state, &method, &uri, &headers, body).await
}

fn unauthorized(e: SignatureError) -> ApiError {
    ApiError::unauthorized(e.to_string())
}

/// Takes one of a host's key refreshes (a fresh fetch of a key after a signature failed to
/// verify with the cached one): 401 once the host has used its budget.
pub async fn refresh_allowed(state: &Node, host: &str) -> Result<(), ApiError> {
    if state.may_refresh_key(host).await? {
        Ok(())
    } else {
        Err(ApiError::unauthorized(format!(
            "the signature does not verify with the cached key of {host}, which was refreshed recently"
        )))
    }
}

/// How an inbox POST that was not refused ended.
enum Answer {
    Accepted,
    Replayed,
}

/// Takes a POST and counts its answer by reason (`/metrics`).
async fn receive(
    state: &Node,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let answer = take(state, method, uri, headers, body).await;
    state.metrics.inbox_answer(match &answer {
        Ok(Answer::Accepted) => "accepted",
        Ok(Answer::Replayed) => "replayed",
        Err(e) => refusal_reason(e.status),
    });
    answer.map(|_| StatusCode::ACCEPTED)
}

fn refusal_reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        408 => "timeout",
        409 => "conflict",
        410 => "gone",
        413 => "too_large",
        422 => "refused",
        429 => "too_many",
        500.. => "error",
        _ => "other",
    }
}

async fn take(
    state: &Node,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Answer, ApiError> {
    Metrics::inc(&state.metrics.inbox_posts);
    // Backpressure: past the bound of inbox work in flight, the sender is told to come back
    // (429, which servers retry) rather than queued behind the others or refused with a 5xx.
    let Ok(_slot) = state.inbox_slots.try_acquire() else {
        Metrics::inc(&state.metrics.inbox_deferred);
        return Err(ApiError::too_many(
            "this node is receiving too many activities; try again shortly",
            INBOX_RETRY_AFTER_SECS,
        ));
    };
    // Past the bound of recorded activities not yet applied, the same.
    if state.inbox.pending() >= state.settings.federation.inbox_max_pending {
        Metrics::inc(&state.metrics.inbox_deferred);
        return Err(ApiError::too_many(
            "this node has too many activities to apply; try again shortly",
            INBOX_RETRY_AFTER_SECS,
        ));
    }
    let body = read_body(state, headers, body).await?;

    // Cheap checks first: signature header shape, coverage, date window, digest.
    let header_map = header_map(headers);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let window = DateWindow::of(&state.settings);
    let signed = SignedRequest::parse(method.as_str(), path, header_map, SystemTime::now(), window)
        .map_err(unauthorized)?;
    // The federation policy is applied to the signer's host before anything is fetched.
    let signer_host = url::Url::parse(signed.key_id())
        .map(|u| host_of(&u))
        .map_err(|_| unauthorized(SignatureError::Malformed("keyId is not a URL".into())))?;
    // The one exception: a partnership handshake from a node that is not (yet) a partner, at
    // the instance actor's inbox, from a host that is not blocked.
    // The policy and suspensions as of now (one read; see `db::memo`).
    let gate = state.db.gate().await?;
    // Everything after the generation's read may use the rows remembered for it.
    gate.within(admit(
        state,
        &gate,
        uri,
        headers,
        &body,
        &signed,
        &signer_host,
    ))
    .await
}

/// The rest of [`receive`], under the policy generation `gate` read: the policy's verdict on
/// the signer, the activity's parsing, origin and signature, the rate limit and the
/// suspension, then the activity's record.
async fn admit(
    state: &Node,
    gate: &Gate<'_>,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    signed: &SignedRequest,
    signer_host: &str,
) -> Result<Answer, ApiError> {
    let (federates, blocked) = gate.verdict(signer_host).await?;
    let handshake_only = if federates {
        false
    } else if uri.path() == "/actor/inbox" && !blocked {
        true
    } else {
        return Err(ApiError::forbidden(format!(
            "this node does not federate with {signer_host}"
        )));
    };

    let digest = headers
        .get("digest")
        .and_then(|d| d.to_str().ok())
        .unwrap_or_default();
    if !digest_matches(digest, body) {
        return Err(unauthorized(SignatureError::DigestMismatch));
    }

    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    let envelope = parse_envelope(value).map_err(ApiError::bad_request)?;
    if handshake_only && !envelope.kind.is_handshake() {
        return Err(ApiError::forbidden(format!(
            "this node does not federate with {signer_host}"
        )));
    }
    let actor_host = check_origin(state, &envelope, signed)?;
    verify_actor(state, &envelope, signed, handshake_only, &actor_host).await?;
    // Rate limits count verified requests only, so nobody can spend another host's budget by
    // naming it in a forged keyId.
    if let Err(wait) = state.inbox_limiter.check(&state.db, &actor_host).await? {
        return Err(ApiError::too_many(
            format!("too many activities from {actor_host}; slow down"),
            wait.as_millis().div_ceil(1000).max(1) as u64,
        ));
    }
    state.db.peer_contacted_now_and_then(&actor_host).await?;
    if gate.suspension(envelope.actor.as_str()).await?.is_some() {
        return Err(ApiError::forbidden("this actor is suspended on this node"));
    }

    record(state, envelope, body, handshake_only).await
}

/// Reads the body within the size cap (413) and the body timeout (408).
async fn read_body(
    state: &Node,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    let limit = state.settings.http.max_body_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large("the activity is larger than 1 MiB"));
    }
    to_bytes(body, limit).await.map_err(|e| {
        // Either the body passed the size cap, or it did not arrive within the body timeout.
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return ApiError::too_large("the activity is larger than 1 MiB");
            }
            cause = c.source();
        }
        ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "the activity was not received in time",
        )
    })
}

/// The activity's id, actor and signing key must share one host, which is not this node's; the
/// key must be one the actor owns. Returns the actor's host.
fn check_origin(
    state: &Node,
    envelope: &Verified,
    signed: &SignedRequest,
) -> Result<String, ApiError> {
    let actor_host = host_of(&envelope.actor);
    if host_of(&envelope.id) != actor_host {
        return Err(ApiError::bad_request(
            "the activity id is not on its actor's host",
        ));
    }
    if actor_host.eq_ignore_ascii_case(&state.settings.instance.domain) {
        return Err(ApiError::forbidden(
            "activities of this node's own actors are not accepted from outside",
        ));
    }
    let key_url = url::Url::parse(signed.key_id())
        .map_err(|_| unauthorized(SignatureError::Malformed("keyId is not a URL".into())))?;
    if host_of(&key_url) != actor_host {
        return Err(ApiError::unauthorized(
            "the request is signed by another host than the activity's actor",
        ));
    }
    // Only the activity's actor's own key is looked up: the key must be one the actor owns
    // (`actor#…`, or a path below the actor), so no request makes this node fetch any other URL.
    if !crate::activitypub::signatures::key_owned_by(&key_url, &envelope.actor) {
        return Err(ApiError::unauthorized(
            "the request is not signed with a key of the activity's actor",
        ));
    }

    Ok(actor_host)
}

/// The signer must be the activity's actor: its published key must be the one that signed (with
/// one rate-limited refresh of a cached key).
async fn verify_actor(
    state: &Node,
    envelope: &Verified,
    signed: &SignedRequest,
    handshake_only: bool,
    actor_host: &str,
) -> Result<(), ApiError> {
    // The signer must be the activity's actor: its published key must be the one that signed.
    let fetch_actor = |refresh: bool| {
        let url = envelope.actor.clone();
        async move {
            if handshake_only {
                service::remote::handshake_actor(state, &url, refresh).await
            } else {
                service::remote::actor(state, &url, refresh).await
            }
        }
    };
    let actor = fetch_actor(false)
        .await
        .map_err(|e| ApiError::unauthorized(format!("cannot verify the actor: {e}")))?;
    if actor.key_id != signed.key_id() {
        return Err(ApiError::unauthorized(
            "the request is not signed with the actor's key",
        ));
    }
    if verify_with(state, signed, &actor.public_key_pem).is_err() {
        // The actor may have rotated its key since we cached it; a host whose signatures keep
        // failing does not get a fresh fetch every time.
        refresh_allowed(state, actor_host).await?;
        let fresh = fetch_actor(true)
            .await
            .map_err(|e| ApiError::unauthorized(format!("cannot verify the actor: {e}")))?;
        if fresh.key_id != signed.key_id() {
            return Err(ApiError::unauthorized(
                "the request is not signed with the actor's key",
            ));
        }
        verify_with(state, signed, &fresh.public_key_pem).map_err(unauthorized)?;
    }
    Ok(())
}

/// Verifies with a published key, parsed once per process; a key that does not parse fails
/// like a wrong one.
fn verify_with(state: &Node, signed: &SignedRequest, pem: &str) -> Result<(), SignatureError> {
    let key = state
        .public_key(pem)
        .map_err(|_| SignatureError::Invalid(signed.key_id().to_string()))?;
    signed.verify(&key)
}

/// Records the activity (its dedupe and durable record in one group write; a replay answers
/// 202 at once), then waits up to `federation.inbox_wait_ms` for `service::intake` to apply
/// it: a refusal is answered with its status, anything else with 202, as the activity is
/// recorded and will be applied whatever happens to this process.
async fn record(
    state: &Node,
    envelope: Verified,
    body: &[u8],
    handshake_only: bool,
) -> Result<Answer, ApiError> {
    let ap_id = envelope.id.as_str();
    let outcome = state.inbox.wait_for(ap_id);
    let arrival = Arrival {
        ap_id: ap_id.to_string(),
        actor: envelope.actor.to_string(),
        order_key: envelope.order_key().to_string(),
        handshake_only,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let new = match state.inbox.admit(&state.db, arrival).await {
        Ok(new) => new,
        Err(e) => {
            state.inbox.stop_waiting(ap_id);
            return Err(e.into());
        }
    };
    if !new {
        state.inbox.stop_waiting(ap_id);
        info!(activity = %envelope.id, "replayed activity ignored");
        Metrics::inc(&state.metrics.inbox_replayed);
        return Ok(Answer::Replayed);
    }
    let wait = Duration::from_millis(state.settings.federation.inbox_wait_ms);
    match tokio::time::timeout(wait, outcome).await {
        Ok(Ok(Outcome::Refused(kind, message))) => {
            Err(service::error::Error::new(kind, message).into())
        }
        Ok(Ok(Outcome::Applied | Outcome::Deferred)) | Ok(Err(_)) => Ok(Answer::Accepted),
        Err(_) => {
            state.inbox.stop_waiting(ap_id);
            Ok(Answer::Accepted)
        }
    }
}
