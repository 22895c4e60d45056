//! HTTP signatures (draft-cavage, as Mastodon speaks them): signing our requests and verifying
//! incoming ones under Roundtable's rules.
//!
//! http-signature-normalization builds and parses signing strings; the policy is ours, because
//! the federation library's verifier accepts a signature over `digest` alone, a `Date` a year in
//! the future and an unparseable `Date`. Here every POST must sign `(request-target)`, `host`,
//! `date` and `digest`, every GET `(request-target)`, `host` and `date`, and the `Date` must parse
//! and lie within the configured window of a clock the caller passes in (so captured requests
//! verify in tests). Keys are parsed once by the caller (`keys::KeyCache`) and used through
//! OpenSSL (`keys`).

use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use http_signature_normalization::Config;
use sha2::{Digest, Sha256};
use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

/// A request's headers as the signature checks read them: lowercase names, text values
/// (headers whose value is not text are left out). Owned, so it can be held across awaits.
pub fn header_map(headers: &reqwest::header::HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

pub use super::keys::{generate_key_pair, KeyPair, PrivateKey, PublicKey};

/// `SHA-256=<base64>` of a body, the value of a `Digest` header.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// True when one of the `Digest` header's SHA-256 entries matches `body`.
pub fn digest_matches(header: &str, body: &[u8]) -> bool {
    let expected = BASE64.encode(Sha256::digest(body));
    header.split(',').any(|part| {
        let part = part.trim();
        match part.split_once('=') {
            Some((alg, value)) => alg.eq_ignore_ascii_case("sha-256") && value == expected,
            None => false,
        }
    })
}

/// Headers to add to an outgoing request, `Signature` included.
pub struct SignedHeaders {
    pub date: String,
    pub digest: Option<String>,
    pub signature: String,
}

/// Signs a request to `url`. With a `body` (POST), `digest` and `content-type` are signed too.
pub fn sign_request(
    method: &str,
    url: &url::Url,
    body: Option<&[u8]>,
    content_type: &str,
    key_id: &str,
    key: &PrivateKey,
    now: SystemTime,
) -> Result<SignedHeaders, String> {
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let date = httpdate::fmt_http_date(now);
    let mut headers = BTreeMap::new();
    headers.insert("host".to_string(), host);
    headers.insert("date".to_string(), date.clone());
    let digest = body.map(digest_header);
    if let Some(digest) = &digest {
        headers.insert("digest".to_string(), digest.clone());
        headers.insert("content-type".to_string(), content_type.to_string());
    }
    let mut path = url.path().to_string();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let signature = Config::new()
        .mastodon_compat()
        .begin_sign(method, &path, headers)
        .map_err(|e| e.to_string())?
        .sign(key_id.to_string(), |signing_string| {
            key.sign(signing_string.as_bytes())
                .map(|sig| BASE64.encode(sig))
        })?
        .signature_header();
    Ok(SignedHeaders {
        date,
        digest,
        signature,
    })
}

/// Why a signed request was refused. Every variant answers 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the Signature header cannot be read: {0}")]
    Malformed(String),
    #[error("the signature must cover {0}")]
    NotCovered(String),
    #[error("the Date header is missing or not an HTTP date")]
    BadDate,
    #[error("the Date header is too old")]
    Stale,
    #[error("the Date header is in the future")]
    Future,
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    #[error("the signature does not verify with the key of {0}")]
    Invalid(String),
    #[error("the signed host {0:?} is not this node")]
    WrongHost(String),
}

/// What a signed request must satisfy besides its signature: the clock window for `Date`, and
/// the host it was signed for (this node's domain, port included). Binding the signature to the
/// host means a signature another server received cannot be replayed here.
#[derive(Debug, Clone, Copy)]
pub struct DateWindow<'a> {
    pub max_age: Duration,
    pub max_future: Duration,
    pub host: &'a str,
}

/// A request whose signature header parsed and whose date and coverage passed the policy;
/// the key is not checked yet (fetching it may take a network round trip).
pub struct SignedRequest {
    key_id: String,
    signing_string: String,
    signature: String,
}

impl<'a> DateWindow<'a> {
    /// The node's policy: its configured window and its own domain.
    pub fn of(settings: &'a crate::config::Settings) -> DateWindow<'a> {
        DateWindow {
            max_age: Duration::from_secs(settings.federation.signature_max_age_secs),
            max_future: Duration::from_secs(settings.federation.signature_max_future_secs),
            host: &settings.instance.domain,
        }
    }
}

impl SignedRequest {
    /// Parses and checks a request. `headers` are name → value; names in any case.
    pub fn parse(
        method: &str,
        path_and_query: &str,
        headers: BTreeMap<String, String>,
        now: SystemTime,
        window: DateWindow<'_>,
    ) -> Result<SignedRequest, SignatureError> {
        let headers: BTreeMap<String, String> = headers
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        if !headers.contains_key("signature") && !headers.contains_key("authorization") {
            return Err(SignatureError::Missing);
        }
        // `host` is among the covered headers (checked below), so the value compared here is
        // the one the signer signed.
        let host = headers.get("host").map(|h| h.trim()).unwrap_or_default();
        if !host.eq_ignore_ascii_case(window.host) {
            return Err(SignatureError::WrongHost(host.chars().take(100).collect()));
        }
        let date = headers
            .get("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .ok_or(SignatureError::BadDate)?;
        if date + window.max_age < now {
            return Err(SignatureError::Stale);
        }
        if date > now + window.max_future {
            return Err(SignatureError::Future);
        }
        let is_post = !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD");
        let mut required = vec!["(request-target)", "host", "date"];
        if is_post {
            required.push("digest");
        }
        let mut config = Config::new()
            .dont_use_created_field()
            // The window is enforced above, against the injected clock.
            .set_expiration(Duration::from_secs(100 * 365 * 24 * 3600));
        for header in &required {
            config = config.require_header(header);
        }
        let unverified = config
            .begin_verify(method, path_and_query, headers)
            .map_err(|e| match e {
                http_signature_normalization::PrepareVerifyError::Required(_) => {
                    SignatureError::NotCovered(required.join(", "))
                }
                other => SignatureError::Malformed(other.to_string()),
            })?;
        Ok(SignedRequest {
            key_id: unverified.key_id().to_string(),
            signing_string: unverified.signing_string().to_string(),
            signature: unverified.signature().to_string(),
        })
    }

    /// The `keyId` the request claims to be signed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks the signature against the signer's public key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        let invalid = || SignatureError::Invalid(self.key_id.clone());
        let signature = BASE64
            .decode(self.signature.trim())
            .map_err(|_| invalid())?;
        if key.verify(self.signing_string.as_bytes(), &signature) {
            Ok(())
        } else {
            Err(invalid())
        }
    }
}

/// Whether `key` is a key of `actor`: the actor's URL with a fragment (`…/u/ada#main-key`, as
/// Mastodon and Lemmy name keys) or a path below it (`…/users/ada/main-key`, as GoToSocial does).
pub fn key_owned_by(key: &url::Url, actor: &url::Url) -> bool {
    let mut owner = key.clone();
    owner.set_fragment(None);
    if owner == *actor {
        return true;
    }
    key.fragment().is_none()
        && key.origin() == actor.origin()
        && key.query().is_none()
        && key
            .path()
            .strip_prefix(actor.path())
            .is_some_and(|rest| rest.starts_with('/') && !rest[1..].contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The captured request was sent to this host.
    const WINDOW: DateWindow = DateWindow {
        max_age: Duration::from_secs(3600),
        max_future: Duration::from_secs(300),
        host: "testing.pleroma.lol",
    };
    const LOCAL: DateWindow = DateWindow {
        host: "localhost:9",
        ..WINDOW
    };

    fn fixture() -> serde_json::Value {
        let text =
            include_str!("../../tests/fixtures/http-signatures/mastodon-2.2.0-inbox-post.json");
        serde_json::from_str(text).expect("fixture parses")
    }

    fn fixture_parts() -> (String, String, BTreeMap<String, String>, String, SystemTime) {
        let f = fixture();
        let req = &f["request"];
        let headers: BTreeMap<String, String> = req["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_string()))
            .collect();
        let now =
            httpdate::parse_http_date(&headers["date"]).expect("date") + Duration::from_secs(30);
        (
            req["method"].as_str().expect("method").to_string(),
            req["path"].as_str().expect("path").to_string(),
            headers,
            f["public_key_pem"].as_str().expect("pem").to_string(),
            now,
        )
    }

    #[test]
    fn mastodon_2_2_request_verifies_at_its_date() {
        let (method, path, headers, pem, now) = fixture_parts();
        let req = SignedRequest::parse(&method, &path, headers, now, WINDOW).expect("parses");
        assert_eq!(req.key_id(), "https://niu.moe/users/rye#main-key");
        assert_eq!(
            req.signing_string,
            fixture()["signing_string"].as_str().expect("s")
        );
        req.verify(&PublicKey::from_pem(&pem).expect("key"))
            .expect("valid signature");
    }

    #[test]
    fn mastodon_2_2_request_fails_when_tampered() {
        let (method, path, headers, pem, now) = fixture_parts();
        let pem = PublicKey::from_pem(&pem).expect("key");
        let mut tampered = headers.clone();
        tampered.insert("digest".into(), digest_header(b"something else"));
        let req = SignedRequest::parse(&method, &path, tampered, now, WINDOW).expect("parses");
        assert!(matches!(req.verify(&pem), Err(SignatureError::Invalid(_))));

        let req = SignedRequest::parse(&method, "/users/other/inbox", headers.clone(), now, WINDOW)
            .expect("parses");
        assert!(matches!(req.verify(&pem), Err(SignatureError::Invalid(_))));

        // Signed for another server, it does not verify here, whatever its Host header says.
        let elsewhere = DateWindow {
            host: "roundtable.example",
            ..WINDOW
        };
        assert!(matches!(
            SignedRequest::parse(&method, &path, headers.clone(), now, elsewhere),
            Err(SignatureError::WrongHost(h)) if h == "testing.pleroma.lol"
        ));
        // The comparison ignores case, but not the port.
        let upper = DateWindow {
            host: "TESTING.pleroma.LOL",
            ..WINDOW
        };
        assert!(SignedRequest::parse(&method, &path, headers.clone(), now, upper).is_ok());
        let port = DateWindow {
            host: "testing.pleroma.lol:8443",
            ..WINDOW
        };
        assert!(SignedRequest::parse(&method, &path, headers.clone(), now, port).is_err());

        // Today, the same request is far too old.
        let stale = SignedRequest::parse(&method, &path, headers, SystemTime::now(), WINDOW);
        assert!(matches!(stale, Err(SignatureError::Stale)));
    }

    #[test]
    fn own_signatures_round_trip_and_policy_holds() {
        let keys = generate_key_pair().expect("keys");
        let url = url::Url::parse("http://localhost:9/inbox?x=1").expect("url");
        let now = SystemTime::now();
        let body = br#"{"type":"Follow"}"#;
        let signed = sign_request(
            "POST",
            &url,
            Some(body),
            "application/activity+json",
            "http://a/u/x#main-key",
            &PrivateKey::from_pem(&keys.private_pem).expect("private key"),
            now,
        )
        .expect("sign");
        let mut headers = BTreeMap::new();
        headers.insert("Host".into(), "localhost:9".into());
        headers.insert("Date".into(), signed.date.clone());
        headers.insert("Digest".into(), signed.digest.clone().expect("digest"));
        headers.insert("Content-Type".into(), "application/activity+json".into());
        headers.insert("Signature".into(), signed.signature.clone());
        let req =
            SignedRequest::parse("POST", "/inbox?x=1", headers.clone(), now, LOCAL).expect("parse");
        let public = PublicKey::from_pem(&keys.public_pem).expect("public key");
        req.verify(&public).expect("verifies");
        let other = generate_key_pair().expect("keys");
        assert!(matches!(
            req.verify(&PublicKey::from_pem(&other.public_pem).expect("key")),
            Err(SignatureError::Invalid(_))
        ));
        assert!(digest_matches(headers["Digest"].as_str(), body));
        assert!(!digest_matches(headers["Digest"].as_str(), b"other"));

        let future = now - Duration::from_secs(600);
        assert!(matches!(
            SignedRequest::parse("POST", "/inbox?x=1", headers.clone(), future, LOCAL),
            Err(SignatureError::Future)
        ));
        let mut no_date = headers.clone();
        no_date.insert("Date".into(), "yesterday".into());
        assert!(matches!(
            SignedRequest::parse("POST", "/inbox?x=1", no_date, now, LOCAL),
            Err(SignatureError::BadDate)
        ));
        let mut unsigned = headers;
        unsigned.remove("Signature");
        assert!(matches!(
            SignedRequest::parse("POST", "/inbox?x=1", unsigned, now, LOCAL),
            Err(SignatureError::Missing)
        ));
    }
}
