//! Domains a member blocks (`/api/v1/domain_blocks`): the posts and notifications of accounts
//! on a blocked domain (or under it: `example.com` covers `social.example.com`), and posts in
//! communities there, are left out of that member's timelines and notifications. Nothing is
//! federated: it is the member's own view, like mutes.

use super::{timelines::Paging, MastodonError};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::discussions::Post,
    node::Node,
    web::{form_or_json, Q},
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, RawQuery, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The most domains a member blocks.
const MAX_BLOCKS: usize = 1000;

/// The caller's blocked domains, loaded once per request.
#[derive(Default)]
pub struct Blocked {
    domains: Vec<String>,
}

impl Blocked {
    pub async fn load(state: &Node, caller: Option<&Caller>) -> Result<Blocked, MastodonError> {
        Ok(match caller {
            Some(c) => Blocked {
                domains: state.db.blocked_domains(c.member.user.id).await?,
            },
            None => Blocked::default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// Whether the actor `ap_id` is on a blocked domain.
    pub fn covers(&self, ap_id: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let Ok(url) = url::Url::parse(ap_id) else {
            return false;
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        self.domains
            .iter()
            .any(|d| *d == authority || *d == host || host.ends_with(&format!(".{d}")))
    }

    /// `posts` without those written by, or in a community on, a blocked domain.
    pub fn keep(&self, posts: Vec<Post>) -> Vec<Post> {
        if self.domains.is_empty() {
            return posts;
        }
        posts
            .into_iter()
            .filter(|p| !self.covers(&p.author) && !self.covers(&p.community))
            .collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DomainForm {
    domain: Option<String>,
}

/// The `domain` of a form, JSON body or query, as stored: lower case, a bare host with an
/// optional port.
fn domain(
    headers: &HeaderMap,
    body: &[u8],
    query: Option<String>,
) -> Result<String, MastodonError> {
    let from_body = if body.is_empty() {
        None
    } else {
        form_or_json::<DomainForm>(headers, body)
            .map_err(MastodonError::unprocessable)?
            .domain
    };
    let asked = from_body.or_else(|| {
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "domain")
            .map(|(_, v)| v.into_owned())
    });
    let d = asked.unwrap_or_default().trim().to_ascii_lowercase();
    let valid = !d.is_empty()
        && d.len() <= 253
        && !d.starts_with('.')
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !valid {
        return Err(MastodonError::unprocessable("domain must be a domain name"));
    }
    Ok(d)
}

/// `POST /api/v1/domain_blocks` (`domain`).
pub async fn block(
    State(state): State<Node>,
    auth: Auth<Write>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let d = domain(&headers, &body, query)?;
    let own = state.settings.instance.domain.to_ascii_lowercase();
    if d == own || own.split(':').next() == Some(d.as_str()) {
        return Err(MastodonError::unprocessable(
            "you cannot block your own server",
        ));
    }
    let user = auth.member.user.id;
    if state.db.blocked_domains(user).await?.len() >= MAX_BLOCKS {
        return Err(MastodonError::unprocessable(format!(
            "a member blocks at most {MAX_BLOCKS} domains"
        )));
    }
    state.db.set_domain_block(user, &d, true).await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/domain_blocks` (`domain`).
pub async fn unblock(
    State(state): State<Node>,
    auth: Auth<Write>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let d = domain(&headers, &body, query)?;
    state
        .db
        .set_domain_block(auth.member.user.id, &d, false)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/domain_blocks`: the domains, newest first (100 by default, at most 200),
/// `Link`-paged.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let rows = state
        .db
        .domain_blocks_page(auth.member.user.id, q.kept(100, 200)?)
        .await?;
    let body: Vec<&str> = rows.iter().map(|k| k.target.as_str()).collect();
    let cursors = (rows.first().map(|k| k.id), rows.last().map(|k| k.id));
    Ok(super::timelines::linked(
        &state,
        &uri,
        Json(body).into_response(),
        cursors,
    ))
}
