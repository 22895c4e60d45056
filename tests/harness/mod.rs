//! Test harness: real nodes in this process, each on `127.0.0.1:<port>` with its own database
//! and the domain `localhost:<port>`, talking to each other over real HTTP.
//!
//! Databases: a fresh SQLite file per node by default; when `ROUNDTABLE_TEST_DATABASE_URL`
//! names a PostgreSQL server, a fresh database is created there for each node and dropped
//! when the test ends (also when it fails).

#![allow(dead_code)]

pub mod browser;
pub mod chromium;
pub mod fake;
pub mod python;
pub mod sign;
pub mod smtp;
// The OpenID provider of the single sign-on tests.
pub mod oidc;

use roundtable::{app::App, config::Settings, node::Node as NodeState};
use sea_orm::{ConnectionTrait, Database};
use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// A database owned by one test; removed on drop.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

pub fn on_postgres() -> bool {
    std::env::var("ROUNDTABLE_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

impl TestDb {
    pub async fn create() -> Arc<TestDb> {
        match std::env::var("ROUNDTABLE_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("rt_test_{}", unique_suffix());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("connect to ROUNDTABLE_TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("database URL");
                url.set_path(&format!("/{name}"));
                Arc::new(TestDb {
                    url: url.to_string(),
                    cleanup: Cleanup::Postgres { admin_url, name },
                })
            }
            _ => {
                let path =
                    std::env::temp_dir().join(format!("roundtable-test-{}.db", unique_suffix()));
                Arc::new(TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    cleanup: Cleanup::Sqlite(path),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            admin.close().await.ok();
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// How to start a node.
#[derive(Default)]
pub struct NodeOptions {
    pub db: Option<Arc<TestDb>>,
    /// Listen on this port (0 = any free port).
    pub port: u16,
    /// Domain; defaults to `localhost:<port>`.
    pub domain: Option<String>,
    /// Extra `ROUNDTABLE__…` settings.
    pub env: Vec<(String, String)>,
}

/// A running node.
pub struct Node {
    pub addr: SocketAddr,
    pub domain: String,
    pub base: String,
    pub state: NodeState,
    pub db: Arc<TestDb>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    stop: Option<oneshot::Sender<()>>,
}

/// Settings under which a node's background tasks leave the database alone between two reads
/// of a test that counts statements: the delivery workers and the inbox's appliers look for
/// work only when told of it, and the appliers' lease is renewed every 12 minutes.
pub fn quiet_env() -> Vec<(String, String)> {
    [
        ("DELIVERY__POLL_INTERVAL_MS", "3600000"),
        ("FEDERATION__INBOX_POLL_MS", "3600000"),
        ("FEDERATION__INBOX_LEASE_SECS", "3600"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string()))
    .collect()
}

pub fn test_env(domain: &str, db_url: &str) -> Vec<(String, String)> {
    [
        ("INSTANCE__DOMAIN", domain),
        ("DATABASE__URL", db_url),
        ("DATABASE__MAX_CONNECTIONS", "5"),
        ("FEDERATION__DEBUG", "true"),
        ("FEDERATION__REQUEST_TIMEOUT_SECS", "5"),
        ("DELIVERY__WORKERS", "2"),
        ("DELIVERY__POLL_INTERVAL_MS", "50"),
        ("DELIVERY__RETRY_BASE_MS", "100"),
        ("DELIVERY__RETRY_MAX_MS", "400"),
        ("DELIVERY__LEASE_SECS", "10"),
        ("HTTP__SHUTDOWN_GRACE_SECS", "5"),
        ("ARTICLES__EDIT_WAIT_MS", "5000"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string()))
    .chain([(
        "ROUNDTABLE__EMAIL__OUTBOX_DIR".to_string(),
        std::env::temp_dir()
            .join("roundtable-test-mail")
            .display()
            .to_string(),
    )])
    .collect()
}

impl Node {
    pub async fn start() -> Node {
        Node::start_with(NodeOptions::default()).await
    }

    pub async fn start_with(options: NodeOptions) -> Node {
        let db = match options.db {
            Some(db) => db,
            None => TestDb::create().await,
        };
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let domain = options
            .domain
            .unwrap_or_else(|| format!("localhost:{}", addr.port()));
        let mut env = test_env(&domain, &db.url);
        env.extend(options.env);
        let settings = Settings::load_from(None, env).expect("test settings");
        if std::env::var("ROUNDTABLE_TEST_LOG").is_ok() {
            roundtable::telemetry::init(&settings.log);
        }
        let app = App::build(settings, listener).await.expect("node starts");
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Node {
            addr,
            base: format!("http://{domain}"),
            domain,
            state,
            db,
            task: Some(task),
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful stop, as on SIGTERM.
    pub async fn stop(mut self) -> Arc<TestDb> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.db.clone()
    }

    /// Abrupt stop: the server and its workers are dropped mid-flight, as in a crash.
    pub async fn crash(mut self) -> Arc<TestDb> {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.db.clone()
    }

    pub async fn user(&self, name: &str) -> roundtable::db::LocalActor {
        roundtable::service::accounts::create_user(&self.state.db, name, None, false)
            .await
            .expect("create user")
            .0
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Polls `check` until it returns Some or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub fn fixture(path: &str) -> serde_json::Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A user of a node with an API token, calling `/api/roundtable/v1/`.
#[derive(Clone)]
pub struct ApiUser {
    pub name: String,
    pub node_base: String,
    pub domain: String,
    pub token: String,
    client: reqwest::Client,
}

/// What a `roundtable` command printed, and whether it succeeded.
#[derive(Debug)]
pub struct CliOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Node {
    /// Runs the `roundtable` command line with this node's settings and database, as its admin
    /// would on the node's machine while it serves.
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
            .args(args)
            .envs(test_env(&self.domain, &self.db.url))
            .env("ROUNDTABLE__LOG__FILTER", "warn")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run roundtable");
        CliOutput {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }
    }

    /// Creates a local user with a read/write token.
    pub async fn api_user(&self, name: &str) -> ApiUser {
        self.user(name).await;
        let token = roundtable::service::accounts::create_token(&self.state.db, name, "read write")
            .await
            .expect("token");
        ApiUser {
            name: name.to_string(),
            node_base: self.base.clone(),
            domain: self.domain.clone(),
            token,
            client: http(),
        }
    }

    /// Anonymous API access.
    pub fn anonymous(&self) -> ApiUser {
        ApiUser {
            name: String::new(),
            node_base: self.base.clone(),
            domain: self.domain.clone(),
            token: String::new(),
            client: http(),
        }
    }
}

impl ApiUser {
    pub fn ap_id(&self) -> String {
        format!("{}/u/{}", self.node_base, self.name)
    }

    pub fn handle(&self) -> String {
        format!("{}@{}", self.name, self.domain)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}/api/roundtable/v1{path}", self.node_base);
        let mut request = self.client.request(method, &url);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Threads of a community as this node shows them.
    pub async fn threads(&self, handle: &str) -> Vec<serde_json::Value> {
        let (status, body) = self.get(&format!("/communities/{handle}/threads")).await;
        assert_eq!(status, 200, "{body}");
        body["threads"].as_array().cloned().unwrap_or_default()
    }

    /// The thread with ActivityPub id `ap_id` on this node, with its replies, if present.
    pub async fn thread_by_ap_id(&self, handle: &str, ap_id: &str) -> Option<serde_json::Value> {
        let found = self
            .threads(handle)
            .await
            .into_iter()
            .find(|t| t["ap_id"] == ap_id)?;
        let (status, body) = self.get(&format!("/threads/{}", found["id"])).await;
        (status == 200).then_some(body)
    }
}
