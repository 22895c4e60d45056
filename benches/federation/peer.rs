//! The remote server the benchmark plays: one actor (`/users/bench`) with a real key pair,
//! served so the node can fetch its key, and an inbox that counts what the node delivers.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, StatusCode},
    routing::{get, post},
    Router,
};
use roundtable::activitypub::signatures::{generate_key_pair, PrivateKey};
use serde_json::{json, Value};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[derive(Default)]
pub struct Counts {
    pub accepts: AtomicUsize,
    pub announces: AtomicUsize,
}

pub struct Peer {
    pub actor: String,
    pub private_key: PrivateKey,
    pub counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

async fn inbox(State(counts): State<Arc<Counts>>, body: Bytes) -> StatusCode {
    let kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string));
    match kind.as_deref() {
        Some("Accept") => counts.accepts.fetch_add(1, Ordering::Relaxed),
        Some("Announce") => counts.announces.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
    StatusCode::ACCEPTED
}

impl Peer {
    pub async fn start() -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the peer");
        let port = listener.local_addr().expect("peer address").port();
        let base = format!("http://localhost:{port}");
        let actor = format!("{base}/users/bench");
        let keys = generate_key_pair().expect("peer keys");
        let person = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": "bench",
            "name": "Benchmark peer",
            "inbox": format!("{actor}/inbox"),
            "outbox": format!("{actor}/outbox"),
            "followers": format!("{actor}/followers"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": keys.public_pem},
        })
        .to_string();
        let counts = Arc::new(Counts::default());
        let app = Router::new()
            .route(
                "/users/bench",
                get(move || {
                    let person = person.clone();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "application/activity+json")],
                            person,
                        )
                    }
                }),
            )
            .route("/inbox", post(inbox))
            .route("/users/bench/inbox", post(inbox))
            .with_state(counts.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Peer {
            actor,
            private_key: PrivateKey::from_pem(&keys.private_pem).expect("peer key"),
            counts,
            task,
        }
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
