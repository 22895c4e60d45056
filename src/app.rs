//! Building and running a node: `App::build(settings, listener)` connects the database,
//! applies migrations and assembles the router; `run_until_stopped(shutdown)` serves HTTP and
//! runs the delivery workers until the shutdown future completes. Tests build the same `App`.

use crate::{
    config::Settings,
    db::Db,
    delivery,
    error::ApiError,
    federation::{self},
    node::Node,
    service::accounts::ensure_instance_actor,
};
use axum::{
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, State},
    http::{HeaderName, Method, Request, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde_json::json;
use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tower::{limit::GlobalConcurrencyLimitLayer, ServiceBuilder};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};
use tracing::{info, warn};

/// The node's state for `settings` over `db`, with the instance actor (created on first use).
pub async fn node(settings: Settings, db: Db) -> Result<Node, BuildError> {
    let instance = ensure_instance_actor(&db, &settings.instance.domain)
        .await
        .map_err(|e| BuildError::InstanceActor(e.to_string()))?;
    Node::new(
        settings,
        db,
        &instance.private_key_pem,
        Arc::new(crate::service::privacy::DeliveryGate),
    )
    .map_err(BuildError::Client)
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot open the database: {0}")]
    Database(sea_orm::DbErr),
    #[error("cannot apply migrations: {0}")]
    Migration(sea_orm::DbErr),
    #[error("cannot create the instance actor: {0}")]
    InstanceActor(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
    #[error("cannot set up outgoing mail: {0}")]
    Mail(String),
}

pub struct App {
    state: Node,
    listener: TcpListener,
    addr: SocketAddr,
}

impl App {
    pub async fn build(settings: Settings, listener: TcpListener) -> Result<App, BuildError> {
        let addr = listener.local_addr().map_err(BuildError::Listener)?;
        // A mail setting that cannot work (an unreadable CA file) stops the start, not the mail.
        crate::mail::worker::Sender::from_settings(&settings.email, settings.federation.debug)
            .map_err(BuildError::Mail)?;
        let db = Db::connect(&settings.database.url, settings.database.max_connections)
            .await
            .map_err(BuildError::Database)?;
        db.migrate().await.map_err(BuildError::Migration)?;
        let state = node(settings, db).await?;
        let moved = state
            .db
            .normalize_policy_keys()
            .await
            .map_err(BuildError::Migration)?;
        if moved > 0 {
            info!(
                listings = moved,
                "federation policy listings moved to normalized keys"
            );
        }
        // Events stored before events were searchable join the index once.
        let indexed = state
            .db
            .index_unindexed_events()
            .await
            .map_err(BuildError::Migration)?;
        if indexed > 0 {
            info!(events = indexed, "events added to the search index");
        }
        Ok(App {
            state,
            listener,
            addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> Node {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests and
    /// deliveries finish (within `http.shutdown_grace_secs`) and returns. Unsent jobs stay
    /// queued. Dropping the returned future aborts the workers too (a crash, as tests use it).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let App {
            state,
            listener,
            addr,
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = JoinSet::new();
        let process = format!("{}-{}", std::process::id(), addr.port());
        workers.spawn(housekeeping(state.clone(), stop_rx.clone()));
        workers.spawn(crate::service::replication::run(
            state.clone(),
            stop_rx.clone(),
        ));
        workers.spawn(crate::service::intake::run(
            state.clone(),
            format!("{process}-{}", crate::db::random_key()),
            stop_rx.clone(),
        ));
        for i in 0..state.settings.email.workers {
            workers.spawn(crate::mail::worker::run_worker(
                state.clone(),
                format!("{process}-mail-{i}"),
                stop_rx.clone(),
            ));
        }
        for i in 0..state.settings.delivery.workers {
            workers.spawn(delivery::run_worker(
                state.clone(),
                format!("{process}-{i}"),
                stop_rx.clone(),
            ));
        }
        let grace = Duration::from_secs(state.settings.http.shutdown_grace_secs);
        let header_timeout = Duration::from_secs(state.settings.http.header_read_timeout_secs);
        let stopping = state.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let router = router(state);
        info!(%addr, "roundtable node listening");
        let served = serve(listener, router, header_timeout, grace, shutdown).await;
        let _ = stop_tx.send(true);
        if tokio::time::timeout(grace, async {
            while workers.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            warn!("delivery workers did not stop in time; their jobs stay queued");
            workers.abort_all();
        }
        info!("stopped");
        served
    }
}

/// Every ten minutes (and at start), forgets expired browser sessions, old mail and expired
/// authorization codes.
async fn housekeeping(state: Node, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = crate::service::accounts::signin::sweep(&state).await {
            warn!(error = %e, "account housekeeping failed");
        }
        if let Err(e) = crate::service::accounts::oauth::sweep(&state).await {
            warn!(error = %e, "authorization code housekeeping failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The HTTP/1.1 server: hyper with a timer, so a client that sends its headers too slowly
/// (or keeps a connection idle that long between requests) is cut off after
/// `header_timeout`. Stops accepting when `shutdown` completes, then lets open connections
/// finish their requests (within `grace`).
async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        service::TowerToHyperService,
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // Each connection is a task that, once the server is closing, finishes its request and
    // closes. (Written out because hyper-util's graceful watcher does not take connections
    // that can be upgraded, which the streaming API's WebSocket needs.)
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let http = http.clone();
        let mut closing = closing_rx.clone();
        connections.spawn(async move {
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = closing.wait_for(|c| *c).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    info!("shutting down: no new connections");
    drop(listener);
    let _ = closing.send(true);
    if tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!("open connections did not finish in time");
        connections.abort_all();
    }
    Ok(())
}

/// Request ids: a per-process random prefix and a counter, short and unique enough for logs.
#[derive(Clone)]
struct RequestIds {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n}", self.prefix)
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

pub fn router(state: Node) -> Router {
    use federation::{collections, inbox, routes, webfinger};
    let request_id = HeaderName::from_static("x-request-id");
    let http = state.settings.http.clone();
    let max_body = http.max_body_bytes;
    Router::new()
        .merge(crate::ui::router(&state))
        .nest(
            "/api/roundtable/v1",
            crate::api::router().layer(crate::api::oauth::cors()),
        )
        .merge(crate::api::oauth::router().layer(crate::api::oauth::cors()))
        .merge(crate::api::mastodon::router(&state).layer(crate::api::oauth::cors()))
        .route("/p/{key}", get(routes::post_object))
        .route("/a/{key}", get(routes::article_object))
        .route("/e/{key}", get(routes::event_object))
        .route("/calendar/{file}", get(crate::api::events::personal_ics))
        .route("/a/{key}/history", get(routes::article_history))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
        .route("/.well-known/webfinger", get(webfinger::webfinger))
        .route("/.well-known/host-meta", get(webfinger::host_meta))
        .route("/.well-known/nodeinfo", get(webfinger::nodeinfo_links))
        .route("/nodeinfo/2.1", get(webfinger::nodeinfo))
        .route("/inbox", post(inbox::shared_inbox))
        .route("/", get(routes::instance_actor))
        .route("/actor", get(routes::instance_actor))
        .route("/actor/inbox", post(inbox::instance_inbox))
        .route("/actor/{which}", get(routes::instance_collection))
        .route("/u/{name}", get(routes::person))
        .route("/u/{name}/inbox", post(inbox::actor_inbox))
        .route("/u/{name}/{which}", get(routes::person_collection))
        .route("/c/{name}", get(routes::group))
        .route("/c/{name}/inbox", post(inbox::actor_inbox))
        .route("/c/{name}/{which}", get(collections::group_collection))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            federation::fetch_guard::guard,
        ))
        // Innermost of the outer layers, so the route the request matched is known.
        .layer(axum::middleware::from_fn_with_state(state.clone(), timed))
        // Browsers following an ActivityPub id get its page; ActivityPub clients the JSON.
        .layer(axum::middleware::from_fn_with_state(
            crate::ui::id_pages(&state),
            pages_for_browsers,
        ))
        // Outside `pages_for_browsers`, so the pages it answers see it too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::ui::pages::offering_sign_up,
        ))
        // The inbox enforces its own limit with a 413; this guards every other route.
        .layer(DefaultBodyLimit::max(max_body))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        // Bounded work per request and in all: a body must arrive in time, a request must be
        // answered in time, and past `max_concurrent_requests` in flight new ones get 503 at
        // once (load shedding) rather than queueing.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(http.max_concurrent_requests))
                .timeout(Duration::from_secs(http.request_timeout_secs))
                .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
                    http.body_timeout_secs,
                ))),
        )
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(
            request_id,
            RequestIds {
                prefix: rand::random(),
                next: Arc::new(AtomicU64::new(1)),
            },
        ))
        .with_state(state)
}

/// Content negotiation of ActivityPub ids: a `GET` of an id (`/`, `/c/…`, `/u/…`, `/p/…`,
/// `/e/…`, `/a/…`, `/actor`) that does not ask for ActivityPub JSON goes to its page (`ui::id_pages`); every
/// other request goes on to the router.
async fn pages_for_browsers(
    axum::extract::State(pages): axum::extract::State<Router>,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && crate::ui::is_id_page(request.uri().path())
        && !federation::routes::wants_activity_json(request.headers())
    {
        // A fresh request: the outer router's match (its path parameters, kept in the
        // request's extensions) must not add to the pages router's own.
        let (parts, body) = request.into_parts();
        let mut fresh = Request::new(body);
        *fresh.method_mut() = parts.method;
        *fresh.uri_mut() = parts.uri;
        *fresh.version_mut() = parts.version;
        *fresh.headers_mut() = parts.headers;
        return match tower::ServiceExt::oneshot(pages, fresh).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    next.run(request).await
}

/// The answer when the load-shedding or timeout layer refuses a request.
async fn overloaded(error: tower::BoxError) -> ApiError {
    if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::unavailable("the node is serving too many requests; try again shortly")
    } else if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::unavailable("the request took too long and was stopped")
    } else {
        tracing::error!(%error, "a request failed in the service stack");
        ApiError::internal()
    }
}

/// Times every request by method, route pattern and status (`/metrics`).
async fn timed(
    State(state): State<Node>,
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = match *req.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => req.method().as_str().to_string(),
        _ => "other".to_string(),
    };
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(req).await;
    state
        .metrics
        .http_seconds
        .get_or_create(&crate::metrics::Route {
            method,
            route,
            status: response.status().as_u16(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the OpenMetrics text, when `metrics.enabled` (404 otherwise), to the
/// bearer of `metrics.token` when one is set (401 otherwise).
async fn metrics(
    State(state): State<Node>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let settings = &state.settings.metrics;
    if !settings.enabled {
        return Err(ApiError::not_found("metrics are not enabled on this node"));
    }
    if !settings.token.is_empty() {
        use sha2::Digest;
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Compared as digests, so the time taken says nothing of the token.
        if sha2::Sha256::digest(given.as_bytes()) != sha2::Sha256::digest(settings.token.as_bytes())
        {
            return Err(ApiError::unauthorized(
                "metrics need the configured bearer token",
            ));
        }
    }
    let (pool_open, pool_idle, pool_max) = state.db.pool_stats();
    let snapshot = crate::metrics::Snapshot {
        inbox_pending: state.db.pending_count().await?,
        delivery_jobs: state.db.jobs_by_state().await?,
        pool_open,
        pool_idle,
        pool_max,
        statements: state.db.query_count(),
    };
    let text = state
        .metrics
        .encode(&snapshot)
        .map_err(|_| ApiError::internal())?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Node>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.db.ping().await {
        Ok(Json(json!({"status": "ready"})))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable",
        ))
    }
}
