//! The one HTTP client for everything this node sends to other servers.
//!
//! Unless `federation.debug` is on, it refuses `http://` and any target that is, or resolves
//! to, a loopback, private, link-local, CGNAT, unspecified or otherwise non-public address —
//! checked before the request for IP literals, and at connect time for host names (so a DNS
//! answer that changes between check and connect is caught too). Redirects are followed by
//! hand, at most one, and re-checked. Responses are cut off at a size and a time bound.
//!
//! With a policy (`with_policy`, as every node has), every hop of a GET — the first request,
//! a redirect's target, WebFinger and NodeInfo — is refused unless the federation policy lets
//! this node reach its host.

use super::{
    actors::host_of,
    signatures::{sign_request, SignedHeaders},
};
use crate::db::Db;
use activitypub_federation::resolver::ValidatingDnsResolver;
use reqwest::{header, redirect::Policy, StatusCode};
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::Arc,
    time::{Duration, SystemTime},
};
use url::{Host, Url};

/// What `Accept` asks for, and what a fetched ActivityPub document may be labelled as.
pub const AP_ACCEPT: &str = r#"application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;
pub const AP_CONTENT_TYPE: &str = "application/activity+json";

/// Largest document we read from another server.
pub const MAX_FETCH_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused to contact {0}: not a public address")]
    Refused(String),
    #[error("this node does not federate with {0}")]
    NotFederated(String),
    #[error("invalid URL {0}")]
    BadUrl(String),
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("network error talking to {url}: {message}")]
    Network { url: String, message: String },
    #[error("{0} did not answer with an ActivityPub document")]
    NotActivityPub(String),
    #[error("{0} answered with a document whose id is not its URL")]
    WrongId(String),
    #[error("{0} answered with more than 1 MiB")]
    TooLarge(String),
    #[error("{url} answered with invalid JSON: {message}")]
    Json { url: String, message: String },
    #[error("too many redirects from {0}")]
    Redirects(String),
    #[error("cannot sign the request: {0}")]
    Signing(String),
}

impl FetchError {
    /// Whether a delivery that failed this way is worth retrying later.
    pub fn is_temporary(&self) -> bool {
        match self {
            FetchError::Network { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }
}

/// The key that signs requests: `keyId` and the parsed private key.
#[derive(Clone)]
pub struct SigningKey {
    pub key_id: String,
    pub private_key: Arc<super::keys::PrivateKey>,
}

/// Which hosts a GET may reach, checked against the federation policy at every hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Hosts this node federates with.
    Federated,
    /// Any host that is not blocked (the partnership handshake).
    NotBlocked,
}

#[derive(Clone)]
pub struct FederationClient {
    http: reqwest::Client,
    debug: bool,
    user_agent: String,
    /// The federation policy, when the client belongs to a node.
    policy: Option<Db>,
}

impl FederationClient {
    pub fn new(debug: bool, timeout: Duration, domain: &str) -> Result<FederationClient, String> {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .dns_resolver(Arc::new(ValidatingDnsResolver::new(vec![], !debug)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(FederationClient {
            http,
            debug,
            user_agent: format!(
                "Roundtable/{} (+https://{domain}/)",
                env!("CARGO_PKG_VERSION")
            ),
            policy: None,
        })
    }

    /// This client, refusing every hop to a host the node's policy refuses.
    pub fn with_policy(mut self, db: Db) -> FederationClient {
        self.policy = Some(db);
        self
    }

    /// Refuses `url` when the policy does not let this node reach its host.
    async fn check_policy(&self, url: &Url, reach: Reach) -> Result<(), FetchError> {
        let Some(db) = &self.policy else {
            return Ok(());
        };
        let host = host_of(url);
        let allowed = match reach {
            Reach::Federated => db.federates_with(&host).await,
            Reach::NotBlocked => db.is_blocked(&host).await.map(|b| !b),
        };
        match allowed {
            Ok(true) => Ok(()),
            Ok(false) => Err(FetchError::NotFederated(host)),
            Err(e) => Err(FetchError::Network {
                url: url.to_string(),
                message: format!("cannot read the federation policy: {e}"),
            }),
        }
    }

    /// The policy, then the address guard, for one hop.
    async fn check_hop(&self, url: &Url, reach: Reach) -> Result<(), FetchError> {
        self.check_policy(url, reach).await?;
        self.check_url(url).await
    }

    /// Refuses URLs this node must not contact. Host names are resolved here for a clear error
    /// and again, validated, when the connection is made.
    pub async fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(FetchError::BadUrl(url.to_string()));
        }
        if self.debug {
            return Ok(());
        }
        self.check_address(url).await?;
        if url.scheme() != "https" {
            return Err(FetchError::BadUrl(format!(
                "{url} (plain http is allowed only in federation debug mode)"
            )));
        }
        Ok(())
    }

    /// Refuses hosts that are, or resolve to, non-public addresses.
    async fn check_address(&self, url: &Url) -> Result<(), FetchError> {
        let refused = || FetchError::Refused(url.to_string());
        match url.host() {
            None => Err(FetchError::BadUrl(url.to_string())),
            Some(Host::Ipv4(ip)) => {
                if is_public(IpAddr::V4(ip)) {
                    Ok(())
                } else {
                    Err(refused())
                }
            }
            Some(Host::Ipv6(ip)) => {
                if is_public(IpAddr::V6(ip)) {
                    Ok(())
                } else {
                    Err(refused())
                }
            }
            Some(Host::Domain(name)) => {
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs = tokio::net::lookup_host((name, port)).await.map_err(|e| {
                    FetchError::Network {
                        url: url.to_string(),
                        message: e.to_string(),
                    }
                })?;
                let mut any = false;
                for addr in addrs {
                    any = true;
                    if !is_public(addr.ip()) {
                        return Err(refused());
                    }
                }
                if any {
                    Ok(())
                } else {
                    Err(refused())
                }
            }
        }
    }

    /// GETs an ActivityPub document, signed by `key` when given, and checks its type and id.
    /// Every hop must reach a host this node federates with.
    pub async fn fetch_json(
        &self,
        url: &Url,
        key: Option<&SigningKey>,
    ) -> Result<serde_json::Value, FetchError> {
        self.fetch_json_reaching(url, key, Reach::Federated).await
    }

    /// [`FederationClient::fetch_json`], with every hop checked against `reach`.
    pub async fn fetch_json_reaching(
        &self,
        url: &Url,
        key: Option<&SigningKey>,
        reach: Reach,
    ) -> Result<serde_json::Value, FetchError> {
        let mut target = url.clone();
        for _ in 0..2 {
            self.check_hop(&target, reach).await?;
            let mut request = self
                .http
                .get(target.as_str())
                .header(header::ACCEPT, AP_ACCEPT)
                .header(header::USER_AGENT, &self.user_agent);
            if let Some(key) = key {
                let signed = self.sign("GET", &target, None, key)?;
                request = request
                    .header(header::DATE, signed.date)
                    .header("signature", signed.signature);
            }
            let response = request.send().await.map_err(|e| network(&target, e))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| target.join(l).ok())
                    .ok_or_else(|| FetchError::BadUrl(target.to_string()))?;
                target = location;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: target.to_string(),
                    status: status.as_u16(),
                });
            }
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !is_activitypub_type(&content_type) {
                return Err(FetchError::NotActivityPub(target.to_string()));
            }
            let body = read_limited(response, &target).await?;
            let value: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| FetchError::Json {
                    url: target.to_string(),
                    message: e.to_string(),
                })?;
            let id = value.get("id").and_then(|i| i.as_str());
            if id != Some(target.as_str()) {
                return Err(FetchError::WrongId(target.to_string()));
            }
            return Ok(value);
        }
        Err(FetchError::Redirects(url.to_string()))
    }

    /// Resolves `acct:user@domain` by WebFinger to the actor id of its `self` link; nothing is
    /// sent to a host the policy refuses.
    pub async fn webfinger(&self, user: &str, domain: &str) -> Result<Url, FetchError> {
        let domain = crate::domain::host::policy_key(domain, true)
            .map_err(|_| FetchError::BadUrl(domain.to_string()))?;
        let domain = domain.as_str();
        let scheme = if self.debug { "http" } else { "https" };
        let mut url = Url::parse(&format!("{scheme}://{domain}/.well-known/webfinger"))
            .map_err(|_| FetchError::BadUrl(domain.to_string()))?;
        url.query_pairs_mut()
            .append_pair("resource", &format!("acct:{user}@{domain}"));
        let jrd = self
            .get_plain_json(&url, "application/jrd+json, application/json")
            .await?;
        jrd.get("links")
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
            .filter(|l| l.get("rel").and_then(|r| r.as_str()) == Some("self"))
            .filter(|l| {
                l.get("type")
                    .and_then(|t| t.as_str())
                    .is_some_and(is_activitypub_type)
            })
            .find_map(|l| l.get("href").and_then(|h| h.as_str()))
            .and_then(|h| Url::parse(h).ok())
            .ok_or_else(|| FetchError::NotActivityPub(url.to_string()))
    }

    /// An unsigned GET of a plain JSON document (WebFinger, NodeInfo) from a host this node
    /// federates with, redirects not followed.
    async fn get_plain_json(
        &self,
        url: &Url,
        accept: &str,
    ) -> Result<serde_json::Value, FetchError> {
        self.check_hop(url, Reach::Federated).await?;
        let response = self
            .http
            .get(url.as_str())
            .header(header::ACCEPT, accept)
            .header(header::USER_AGENT, &self.user_agent)
            .send()
            .await
            .map_err(|e| network(url, e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let body = read_limited(response, url).await?;
        serde_json::from_slice(&body).map_err(|e| FetchError::Json {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// The software a host runs, lowercased, from its NodeInfo (`software.name`).
    pub async fn nodeinfo_software(&self, host: &str) -> Result<String, FetchError> {
        let scheme = if self.debug { "http" } else { "https" };
        let index = Url::parse(&format!("{scheme}://{host}/.well-known/nodeinfo"))
            .map_err(|_| FetchError::BadUrl(host.to_string()))?;
        let links = self.get_plain_json(&index, "application/json").await?;
        let href = links
            .get("links")
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("href").and_then(|h| h.as_str()))
            .filter_map(|h| Url::parse(h).ok())
            .find(|u| u.host_str() == index.host_str())
            .ok_or_else(|| FetchError::NotActivityPub(index.to_string()))?;
        let info = self.get_plain_json(&href, "application/json").await?;
        info.get("software")
            .and_then(|s| s.get("name"))
            .and_then(|n| n.as_str())
            .map(|n| n.trim().to_lowercase())
            .ok_or_else(|| FetchError::NotActivityPub(href.to_string()))
    }

    /// POSTs a signed activity to an inbox and returns the status.
    pub async fn post_activity(
        &self,
        inbox: &Url,
        body: &[u8],
        key: &SigningKey,
    ) -> Result<StatusCode, FetchError> {
        self.check_url(inbox).await?;
        let signed = self.sign("POST", inbox, Some(body), key)?;
        let response = self
            .http
            .post(inbox.as_str())
            .header(header::CONTENT_TYPE, AP_CONTENT_TYPE)
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::DATE, signed.date)
            .header("digest", signed.digest.unwrap_or_default())
            .header("signature", signed.signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| network(inbox, e))?;
        Ok(response.status())
    }

    fn sign(
        &self,
        method: &str,
        url: &Url,
        body: Option<&[u8]>,
        key: &SigningKey,
    ) -> Result<SignedHeaders, FetchError> {
        sign_request(
            method,
            url,
            body,
            AP_CONTENT_TYPE,
            &key.key_id,
            &key.private_key,
            SystemTime::now(),
        )
        .map_err(FetchError::Signing)
    }
}

fn network(url: &Url, e: reqwest::Error) -> FetchError {
    // The validating resolver reports refused addresses as connect errors.
    let message = format!("{e:?}");
    if message.contains("ResolveInternalIpError") || message.contains("internal IP") {
        return FetchError::Refused(url.to_string());
    }
    FetchError::Network {
        url: url.to_string(),
        message: e.to_string(),
    }
}

async fn read_limited(mut response: reqwest::Response, url: &Url) -> Result<Vec<u8>, FetchError> {
    if response.content_length().unwrap_or(0) as usize > MAX_FETCH_BYTES {
        return Err(FetchError::TooLarge(url.to_string()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| network(url, e))? {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err(FetchError::TooLarge(url.to_string()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `application/activity+json` or `application/ld+json` with the ActivityStreams profile,
/// parameters (charset) allowed.
pub fn is_activitypub_type(content_type: &str) -> bool {
    let content_type = content_type.to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    match parts.next() {
        Some("application/activity+json") => true,
        Some("application/ld+json") => {
            content_type.contains("https://www.w3.org/ns/activitystreams")
        }
        _ => false,
    }
}

/// Whether `ip` is a public unicast address this node may contact.
pub fn is_public(ip: IpAddr) -> bool {
    let bad = match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_forbidden(v4),
            None => v6_forbidden(v6),
        },
    };
    !bad
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 can reach private IPv4
        || s[0] == 0x2002 // 6to4 embeds IPv4
        || ip.to_ipv4().is_some_and(v4_forbidden) // IPv4-compatible ::a.b.c.d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                !is_public(bad.parse().expect("ip")),
                "{bad} must be refused"
            );
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "100.128.0.1"] {
            assert!(
                is_public(good.parse().expect("ip")),
                "{good} must be allowed"
            );
        }
    }

    #[test]
    fn content_types() {
        assert!(is_activitypub_type(
            "application/activity+json; charset=utf-8"
        ));
        assert!(is_activitypub_type(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        ));
        assert!(!is_activitypub_type("application/ld+json"));
        assert!(!is_activitypub_type("text/html"));
    }
}
