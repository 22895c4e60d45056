//! An independent request signer for tests: it builds the signing string by hand from any list
//! of headers, so tests can produce exactly the malformed or partial signatures other servers
//! might send. It does not share code with the node's own signer.

use base64::{engine::general_purpose::STANDARD, Engine};
use rsa::{pkcs8::DecodePrivateKey, Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

pub fn http_date(at: SystemTime) -> String {
    httpdate::fmt_http_date(at)
}

pub fn now_plus(secs: i64) -> SystemTime {
    if secs >= 0 {
        SystemTime::now() + Duration::from_secs(secs as u64)
    } else {
        SystemTime::now() - Duration::from_secs(secs.unsigned_abs())
    }
}

/// `Signature` header value over `signed` (name, value) pairs, in order. The pseudo-header
/// `(request-target)` takes its value as `post /path`.
pub fn signature(key_id: &str, private_pem: &str, signed: &[(&str, String)]) -> String {
    let key = RsaPrivateKey::from_pkcs8_pem(private_pem).expect("private key");
    let text = signed
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let sig = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(text.as_bytes()),
        )
        .expect("sign");
    let names = signed.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(" ");
    format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{names}\",signature=\"{}\"",
        STANDARD.encode(sig)
    )
}

/// A signed inbox POST under construction; each field can be bent by a test.
pub struct Post {
    pub url: url::Url,
    pub body: Vec<u8>,
    pub key_id: String,
    pub private_pem: String,
    pub date: String,
    pub digest: String,
    /// Headers covered by the signature.
    pub covered: Vec<&'static str>,
    /// Path used in `(request-target)` (defaults to the URL's path).
    pub signed_path: Option<String>,
    /// `Host` to send and sign (defaults to the URL's host and port), as a node behind a load
    /// balancer sees it.
    pub host_header: Option<String>,
    pub sign: bool,
}

impl Post {
    pub fn new(url: &str, body: &serde_json::Value, key_id: &str, private_pem: &str) -> Post {
        let body = serde_json::to_vec(body).expect("json");
        Post {
            url: url::Url::parse(url).expect("url"),
            digest: digest(&body),
            body,
            key_id: key_id.to_string(),
            private_pem: private_pem.to_string(),
            date: http_date(SystemTime::now()),
            covered: vec!["(request-target)", "host", "date", "digest"],
            signed_path: None,
            host_header: None,
            sign: true,
        }
    }

    pub fn host(&self) -> String {
        if let Some(host) = &self.host_header {
            return host.clone();
        }
        match self.url.port() {
            Some(p) => format!("{}:{p}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_string(),
        }
    }

    pub async fn send(&self, client: &reqwest::Client) -> (u16, serde_json::Value) {
        let (status, _, json) = self.send_full(client).await;
        (status, json)
    }

    /// Like [`Post::send`], with the response headers.
    pub async fn send_full(
        &self,
        client: &reqwest::Client,
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let path = self
            .signed_path
            .clone()
            .unwrap_or_else(|| self.url.path().to_string());
        let mut request = client
            .post(self.url.as_str())
            .header("content-type", "application/activity+json")
            .header("date", &self.date)
            .header("digest", &self.digest)
            .body(self.body.clone());
        if let Some(host) = &self.host_header {
            request = request.header("host", host);
        }
        if self.sign {
            let signed: Vec<(&str, String)> = self
                .covered
                .iter()
                .map(|h| {
                    let value = match *h {
                        "(request-target)" => format!("post {path}"),
                        "host" => self.host(),
                        "date" => self.date.clone(),
                        "digest" => self.digest.clone(),
                        "content-type" => "application/activity+json".to_string(),
                        other => panic!("unknown header {other}"),
                    };
                    (*h, value)
                })
                .collect();
            request = request.header(
                "signature",
                signature(&self.key_id, &self.private_pem, &signed),
            );
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }
}
