//! Fan-out receivers: many remote servers in this one process, each on its own port (so its
//! own host, as the node sees it: one delivery job and one signature per receiver), each with
//! an actor that follows a community and a shared inbox that verifies every delivery's
//! signature with the community's published key before counting it.
//!
//! The receivers share one key pair (generating a thousand RSA keys would take longer than the
//! measurement); the node still fetches each actor once.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    routing::{get, post},
    Router,
};
use roundtable::activitypub::signatures::{
    digest_matches, DateWindow, KeyPair, PublicKey, SignedRequest,
};
use serde_json::json;
use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::{Duration, SystemTime},
};

/// What every receiver shares.
#[derive(Default)]
pub struct Tally {
    /// The community's key, set before any delivery is expected.
    pub community_key: OnceLock<PublicKey>,
    /// Deliveries whose body names this text (the thread being fanned out) are counted.
    pub watch: Mutex<String>,
    /// Receivers (by host) that verified a watched delivery.
    pub verified: Mutex<HashSet<String>>,
    pub refused: AtomicUsize,
    pub accepts: AtomicUsize,
}

impl Tally {
    /// How many receivers verified a watched delivery.
    pub fn verified(&self) -> usize {
        self.verified.lock().map(|h| h.len()).unwrap_or(0)
    }
}

#[derive(Clone)]
struct Receiver {
    host: String,
    person: Arc<String>,
    tally: Arc<Tally>,
}

pub struct Receivers {
    pub actors: Vec<String>,
    pub tally: Arc<Tally>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn serve_actor(
    State(r): State<Receiver>,
) -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "application/activity+json")],
        r.person.as_str().to_string(),
    )
}

async fn inbox(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let text = String::from_utf8_lossy(&body);
    if text.contains("\"Accept\"") {
        r.tally.accepts.fetch_add(1, Ordering::Relaxed);
        return StatusCode::ACCEPTED;
    }
    let watched = r
        .tally
        .watch
        .lock()
        .map(|w| !w.is_empty() && text.contains(w.as_str()))
        .unwrap_or(false);
    if !watched {
        return StatusCode::ACCEPTED;
    }
    let headers: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let window = DateWindow {
        max_age: Duration::from_secs(3600),
        max_future: Duration::from_secs(300),
        host: &r.host,
    };
    let digest = headers.get("digest").cloned().unwrap_or_default();
    let verified = SignedRequest::parse("POST", uri.path(), headers, SystemTime::now(), window)
        .ok()
        .filter(|_| digest_matches(&digest, &body))
        .zip(r.tally.community_key.get())
        .is_some_and(|(signed, key)| signed.verify(key).is_ok());
    if verified {
        if let Ok(mut hosts) = r.tally.verified.lock() {
            hosts.insert(r.host.clone());
        }
        StatusCode::ACCEPTED
    } else {
        r.tally.refused.fetch_add(1, Ordering::Relaxed);
        StatusCode::UNAUTHORIZED
    }
}

impl Receivers {
    /// Starts `n` receivers, each an actor `/users/r` on its own port, all with `keys`.
    pub async fn start(n: usize, keys: &KeyPair) -> Receivers {
        let tally = Arc::new(Tally::default());
        let mut actors = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a receiver");
            let port = listener.local_addr().expect("address").port();
            let host = format!("localhost:{port}");
            let actor = format!("http://{host}/users/r");
            let person = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": actor,
                "type": "Person",
                "preferredUsername": "r",
                "inbox": format!("{actor}/inbox"),
                "outbox": format!("{actor}/outbox"),
                "followers": format!("{actor}/followers"),
                "endpoints": {"sharedInbox": format!("http://{host}/inbox")},
                "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": keys.public_pem},
            });
            let state = Receiver {
                host,
                person: Arc::new(person.to_string()),
                tally: tally.clone(),
            };
            let app = Router::new()
                .route("/users/r", get(serve_actor))
                .route("/inbox", post(inbox))
                .route("/users/r/inbox", post(inbox))
                .with_state(state);
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            actors.push(format!("http://localhost:{port}/users/r"));
        }
        Receivers {
            actors,
            tally,
            tasks,
        }
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
