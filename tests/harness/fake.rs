//! A stand-in for another fediverse server (Mastodon-like): one actor with a real key pair,
//! documents it serves by path, and inboxes that record what they receive. Used to replay
//! captured activities from other software against a real node. It records the GETs it
//! answers and can answer a path with a redirect, for tests that prove a host is never asked.

use super::sign::Post;
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use roundtable::activitypub::signatures::{generate_key_pair, KeyPair};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
struct Shared {
    documents: Arc<Mutex<HashMap<String, Value>>>,
    received: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<Mutex<Vec<Fetch>>>,
    /// Paths answered with `302 Found` to a location.
    redirects: Arc<Mutex<HashMap<String, String>>>,
}

/// A GET this server answered: its path and headers (lowercase names), as sent.
#[derive(Clone, Debug)]
pub struct Fetch {
    pub path: String,
    pub headers: HashMap<String, String>,
}

pub struct FakeServer {
    pub base: String,
    pub actor: String,
    pub keys: KeyPair,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

async fn serve_document(
    State(shared): State<Shared>,
    Path(path): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Ok(mut fetches) = shared.fetches.lock() {
        fetches.push(Fetch {
            path: format!("/{path}"),
            headers: headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
        });
    }
    let redirect = shared
        .redirects
        .lock()
        .ok()
        .and_then(|r| r.get(&format!("/{path}")).cloned());
    if let Some(location) = redirect {
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    let doc = shared
        .documents
        .lock()
        .ok()
        .and_then(|d| d.get(&format!("/{path}")).cloned());
    match doc {
        Some(doc) => (
            [(header::CONTENT_TYPE, "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn inbox(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    if let (Ok(value), Ok(mut received)) = (serde_json::from_slice(&body), shared.received.lock()) {
        received.push(value);
    }
    StatusCode::ACCEPTED
}

impl FakeServer {
    pub async fn start(username: &str) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://localhost:{port}");
        let actor = format!("{base}/users/{username}");
        let keys = generate_key_pair().expect("keys");
        let shared = Shared::default();
        if let Ok(mut docs) = shared.documents.lock() {
            docs.insert(
                format!("/users/{username}"),
                person(&base, username, &keys.public_pem),
            );
        }
        let app = Router::new()
            .route("/inbox", post(inbox))
            .route("/users/{name}/inbox", post(inbox))
            .route("/{*path}", get(serve_document))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer {
            base,
            actor,
            keys,
            shared,
            task,
        }
    }

    /// Replaces the actor's key pair with a new one (a key rotation): the actor document
    /// publishes the new public key from now on, and [`FakeServer::deliver`] signs with it.
    /// Returns the old pair.
    pub fn rotate_key(&mut self) -> KeyPair {
        let new = generate_key_pair().expect("keys");
        let username = self
            .actor
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        self.serve(
            &format!("/users/{username}"),
            &person(&self.base, &username, &new.public_pem),
        );
        std::mem::replace(&mut self.keys, new)
    }

    /// Serves `doc` at its id (which must be on this server).
    pub fn publish(&self, doc: &Value) {
        let id = doc["id"].as_str().expect("id");
        let path = id.strip_prefix(&self.base).expect("own id").to_string();
        if let Ok(mut docs) = self.shared.documents.lock() {
            docs.insert(path, doc.clone());
        }
    }

    /// Serves `doc` at `path` (any path, e.g. `/.well-known/webfinger`, whatever the query).
    pub fn serve(&self, path: &str, doc: &Value) {
        if let Ok(mut docs) = self.shared.documents.lock() {
            docs.insert(path.to_string(), doc.clone());
        }
    }

    /// Answers GETs of `path` with `302 Found` to `location`.
    pub fn redirect(&self, path: &str, location: &str) {
        if let Ok(mut redirects) = self.shared.redirects.lock() {
            redirects.insert(path.to_string(), location.to_string());
        }
    }

    /// How many GETs this server answered whose path starts with `prefix`.
    pub fn hits(&self, prefix: &str) -> usize {
        self.fetches()
            .iter()
            .filter(|f| f.path.starts_with(prefix))
            .count()
    }

    /// Every GET this server answered, oldest first.
    pub fn fetches(&self) -> Vec<Fetch> {
        self.shared
            .fetches
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    pub fn received(&self) -> Vec<Value> {
        self.shared
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// POSTs `activity` to `inbox`, signed by this server's actor.
    pub async fn deliver(&self, inbox: &str, activity: &Value) -> (u16, Value) {
        Post::new(
            inbox,
            activity,
            &format!("{}#main-key", self.actor),
            &self.keys.private_pem,
        )
        .send(&super::http())
        .await
    }
}

/// The actor document of `username` on the server at `base`, publishing `public_pem`.
fn person(base: &str, username: &str, public_pem: &str) -> Value {
    let actor = format!("{base}/users/{username}");
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor,
        "type": "Person",
        "preferredUsername": username,
        "name": username,
        "inbox": format!("{actor}/inbox"),
        "outbox": format!("{actor}/outbox"),
        "followers": format!("{actor}/followers"),
        "endpoints": {"sharedInbox": format!("{base}/inbox")},
        "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": public_pem},
    })
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
