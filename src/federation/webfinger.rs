//! WebFinger (`/.well-known/webfinger`), host-meta and NodeInfo 2.1.

use crate::domain::ActorKind;
use crate::error::ApiError;
use crate::node::Node;
use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// Answers `acct:name@domain` (and actor URLs) for users, communities and the instance actor.
pub async fn webfinger(
    State(state): State<Node>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, ApiError> {
    let resource = query
        .resource
        .ok_or_else(|| ApiError::bad_request("the resource parameter is required"))?;
    let domain = &state.settings.instance.domain;
    let base = state.settings.base_url();
    let name = if let Some(acct) = resource.strip_prefix("acct:") {
        let (user, host) = acct
            .rsplit_once('@')
            .ok_or_else(|| ApiError::bad_request("expected acct:name@host"))?;
        if !host.eq_ignore_ascii_case(domain) {
            return Err(ApiError::not_found("that account is not on this node"));
        }
        user.to_lowercase()
    } else if let Some(rest) = resource.strip_prefix(&format!("{base}/")) {
        match rest.split_once('/') {
            Some(("u" | "c", name)) => name.to_string(),
            None if rest == "actor" => domain.to_string(),
            _ => return Err(ApiError::not_found("unknown resource")),
        }
    } else {
        return Err(ApiError::not_found("unknown resource"));
    };

    let (kind, actor) = if name == domain.to_lowercase() {
        let actor = state
            .db
            .instance_actor()
            .await?
            .ok_or_else(|| ApiError::not_found("no instance actor"))?;
        (ActorKind::Application, actor)
    } else {
        let actor = state
            .db
            .local_actor_by_name(&name)
            .await?
            .ok_or_else(|| ApiError::not_found("no such account"))?;
        let kind =
            ActorKind::parse(&actor.kind).ok_or_else(|| ApiError::not_found("no such account"))?;
        (kind, actor)
    };
    let urls = crate::activitypub::actors::actor_urls(&base, kind, &actor.name);
    let subject = match kind {
        ActorKind::Application => format!("acct:{domain}@{domain}"),
        _ => format!("acct:{}@{domain}", actor.name),
    };
    let body = json!({
        "subject": subject,
        "aliases": [urls.id],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": urls.id},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": urls.id},
        ]
    });
    Ok(([(header::CONTENT_TYPE, "application/jrd+json")], Json(body)).into_response())
}

pub async fn host_meta(State(state): State<Node>) -> Response {
    let base = state.settings.base_url();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{base}/.well-known/webfinger?resource={{uri}}\"/>\n</XRD>\n"
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

pub async fn nodeinfo_links(State(state): State<Node>) -> Json<serde_json::Value> {
    let base = state.settings.base_url();
    Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{base}/nodeinfo/2.1")
        }]
    }))
}

pub async fn nodeinfo(State(state): State<Node>) -> Result<Response, ApiError> {
    let users = state.db.count_users().await?;
    let communities = state.db.count_communities().await?;
    let body = json!({
        "version": "2.1",
        "software": {
            "name": "roundtable",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": matches!(
            crate::service::accounts::signup::registration(&state).await?,
            crate::config::Registration::Open | crate::config::Registration::Approval
        ),
        "usage": {"users": {"total": users}, "localPosts": 0},
        "metadata": {
            "nodeName": state.settings.instance.name,
            "nodeDescription": state.settings.instance.description,
            "communities": communities,
        }
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        )],
        Json(body),
    )
        .into_response())
}
