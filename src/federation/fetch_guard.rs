//! Authorized fetch: with `federation.authorized_fetch`, ActivityPub documents are served only
//! to GETs signed by a node this node federates with. The instance actor, WebFinger, NodeInfo
//! and HTML pages stay public (other nodes need the instance actor to verify our signatures).

use super::routes::wants_activity_json;
use crate::activitypub::{
    actors::host_of,
    signatures::{header_map, DateWindow, SignedRequest},
};
use crate::{
    error::ApiError,
    node::Node,
    service::{discussions::CommunityView, privacy, remote},
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{collections::BTreeMap, time::SystemTime};

/// Paths whose JSON representations are guarded.
fn guarded(path: &str) -> bool {
    ["/u/", "/c/", "/p/", "/a/", "/e/", "/actor/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The middleware: passes everything it does not guard.
pub async fn guard(State(state): State<Node>, request: Request<Body>, next: Next) -> Response {
    let applies = state.settings.federation.authorized_fetch
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && guarded(request.uri().path())
        && wants_activity_json(request.headers());
    if applies {
        // Owned copies: the request body is not Sync, so it cannot be held across awaits.
        let method = request.method().as_str().to_string();
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let headers = header_map(request.headers());
        if let Err(e) = signer_host(&state, &method, &path, headers).await {
            return e.into_response();
        }
    } else if let Some(host) = (matches!(*request.method(), Method::GET | Method::HEAD)
        && guarded(request.uri().path()))
    .then(|| claimed_signer(request.headers()))
    .flatten()
    {
        // Without authorized fetch, unsigned reads are answered; a read signed by a node the
        // policy refuses is not.
        match state.db.federates_with(&host).await {
            Ok(true) => {}
            Ok(false) => {
                return ApiError::forbidden(format!("this node does not federate with {host}"))
                    .into_response()
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    next.run(request).await
}

/// The host named by a request's `Signature` `keyId`, unverified: enough to refuse it.
fn claimed_signer(headers: &axum::http::HeaderMap) -> Option<String> {
    let signature = headers.get("signature")?.to_str().ok()?;
    let start = signature.find("keyId=\"")? + "keyId=\"".len();
    let end = signature[start..].find('"')? + start;
    url::Url::parse(&signature[start..end])
        .ok()
        .map(|u| host_of(&u))
}

/// The host of a verified signer of a GET, if it is a node this node federates with: 401 when
/// the request is unsigned or the signature does not verify, 403 for a refused host.
pub async fn signer_host(
    state: &Node,
    method: &str,
    path: &str,
    headers: BTreeMap<String, String>,
) -> Result<String, ApiError> {
    let window = DateWindow::of(&state.settings);
    let signed = SignedRequest::parse(method, path, headers, SystemTime::now(), window)
        .map_err(|e| ApiError::unauthorized(format!("this node requires signed fetches: {e}")))?;
    let mut actor = url::Url::parse(signed.key_id())
        .map_err(|_| ApiError::unauthorized("keyId is not a URL"))?;
    let host = host_of(&actor);
    if !state.db.federates_with(&host).await? {
        return Err(ApiError::forbidden(format!(
            "this node does not federate with {host}"
        )));
    }
    actor.set_fragment(None);
    for refresh in [false, true] {
        if refresh {
            super::inbox::refresh_allowed(state, &host).await?;
        }
        let known = remote::actor(state, &actor, refresh)
            .await
            .map_err(|e| ApiError::unauthorized(format!("cannot verify the signer: {e}")))?;
        let verified = known.key_id == signed.key_id()
            && state
                .public_key(&known.public_key_pem)
                .is_ok_and(|key| signed.verify(&key).is_ok());
        if verified {
            return Ok(host);
        }
    }
    Err(ApiError::unauthorized(
        "the fetch is not signed with the signer's key",
    ))
}

/// A GET as the route handler saw it.
pub struct ReadRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
}

/// Decides whether the requester may read content of `community` (an object or collection).
/// Public communities are readable by all (subject to authorized fetch, checked before).
pub async fn authorize_read(
    state: &Node,
    community: &CommunityView,
    request: &ReadRequest<'_>,
) -> Result<(), ApiError> {
    if privacy::is_public(community) {
        return Ok(());
    }
    if !super::routes::wants_activity_json(request.headers) {
        return Err(ApiError::forbidden(
            "this community is confidential; read it through its members' nodes",
        ));
    }
    let headers = crate::activitypub::signatures::header_map(request.headers);
    let host = signer_host(state, request.method.as_str(), request.path, headers).await?;
    if privacy::may_receive(state, community, &host).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{host} has no approved member in this community"
        )))
    }
}
