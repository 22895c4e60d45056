//! Process-wide counters and histograms, and their text for `/metrics` (the Prometheus
//! project's `prometheus-client`, OpenMetrics text format). The plain counters are cheap
//! atomics the tests also read; the families carry labels (a peer's host, a route).

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::{
    counter::Counter,
    family::Family,
    gauge::Gauge,
    histogram::{exponential_buckets, Histogram},
};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Peer {
    pub host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub method: String,
    /// The route's pattern (`/c/{name}/inbox`), never the path itself, so the label set stays
    /// bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct State {
    pub state: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms to ~33 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

#[derive(Debug)]
pub struct Metrics {
    /// Every inbox POST received, whatever its fate.
    pub inbox_posts: AtomicU64,
    /// Activities the inbox recorded and then applied.
    pub inbox_accepted: AtomicU64,
    /// Activities the inbox recorded and then refused while applying them (nothing kept).
    pub inbox_refused: AtomicU64,
    /// Batches of recorded activities applied (each finished in one transaction).
    pub inbox_batches: AtomicU64,
    /// Inbox POSTs answered 429 because too much was in flight or pending.
    pub inbox_deferred: AtomicU64,
    /// Verified inbox POSTs carrying an activity id already processed.
    pub inbox_replayed: AtomicU64,
    /// Deliveries answered with 2xx.
    pub deliveries_ok: AtomicU64,
    /// Delivery attempts that failed (retried or final).
    pub deliveries_failed: AtomicU64,
    /// Times a streaming connection's stream read what is new.
    pub stream_looks: AtomicU64,
    /// Inbox POSTs by how they were answered (`accepted`, `replayed`, or the refusal's reason).
    pub inbox_answers: Family<Reason, Counter>,
    /// Seconds from an activity's record to its applying.
    pub inbox_lag: Histogram,
    /// Delivery attempts' durations by peer, and their failures.
    pub delivery_seconds: Histograms<Peer>,
    pub delivery_failures: Family<Peer, Counter>,
    /// HTTP requests' durations by route and status.
    pub http_seconds: Histograms<Route>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            inbox_posts: AtomicU64::new(0),
            inbox_accepted: AtomicU64::new(0),
            inbox_refused: AtomicU64::new(0),
            inbox_batches: AtomicU64::new(0),
            inbox_deferred: AtomicU64::new(0),
            inbox_replayed: AtomicU64::new(0),
            deliveries_ok: AtomicU64::new(0),
            deliveries_failed: AtomicU64::new(0),
            stream_looks: AtomicU64::new(0),
            inbox_answers: Family::default(),
            inbox_lag: seconds(),
            delivery_seconds: Family::new_with_constructor(seconds),
            delivery_failures: Family::default(),
            http_seconds: Family::new_with_constructor(seconds),
        }
    }
}

/// What `/metrics` reads from the database at each scrape.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Activities recorded and not yet applied.
    pub inbox_pending: u64,
    /// Delivery jobs by state.
    pub delivery_jobs: Vec<(String, i64)>,
    /// The database pool's open and idle connections, and its configured maximum.
    pub pool_open: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    /// Statements run by this process.
    pub statements: u64,
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts an inbox answer under `reason`.
    pub fn inbox_answer(&self, reason: &str) {
        self.inbox_answers
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The OpenMetrics text of every metric, with `snapshot`'s gauges.
    pub fn encode(&self, snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
        let mut r = Registry::with_prefix("roundtable");
        let plain = |r: &mut Registry, name: &str, help: &str, value: &AtomicU64| {
            r.register(name, help, counter(Metrics::get(value)));
        };
        plain(
            &mut r,
            "inbox_posts",
            "Inbox POSTs received",
            &self.inbox_posts,
        );
        plain(
            &mut r,
            "inbox_applied",
            "Recorded activities applied",
            &self.inbox_accepted,
        );
        plain(
            &mut r,
            "inbox_refused_on_apply",
            "Recorded activities refused while applying them",
            &self.inbox_refused,
        );
        plain(
            &mut r,
            "stream_looks",
            "Reads of what is new by the streaming API's streams",
            &self.stream_looks,
        );
        plain(
            &mut r,
            "inbox_batches",
            "Batches of recorded activities applied",
            &self.inbox_batches,
        );
        plain(
            &mut r,
            "deliveries",
            "Deliveries answered with 2xx",
            &self.deliveries_ok,
        );
        r.register(
            "inbox_answers",
            "Inbox POSTs by answer: accepted, replayed, or the refusal's reason",
            self.inbox_answers.clone(),
        );
        r.register(
            "inbox_lag_seconds",
            "Seconds from an activity's record to its applying",
            self.inbox_lag.clone(),
        );
        r.register(
            "inbox_pending",
            "Activities recorded and not yet applied",
            gauge(snapshot.inbox_pending as i64),
        );
        let jobs = Family::<State, Gauge>::default();
        for (state, n) in &snapshot.delivery_jobs {
            jobs.get_or_create(&State {
                state: state.clone(),
            })
            .set(*n);
        }
        r.register("delivery_jobs", "Delivery jobs by state", jobs);
        r.register(
            "delivery_seconds",
            "Delivery attempts' durations by peer",
            self.delivery_seconds.clone(),
        );
        r.register(
            "delivery_failures",
            "Failed delivery attempts by peer",
            self.delivery_failures.clone(),
        );
        r.register(
            "http_request_seconds",
            "HTTP requests' durations by route and status",
            self.http_seconds.clone(),
        );
        r.register(
            "db_pool_open",
            "Open database connections",
            gauge(i64::from(snapshot.pool_open)),
        );
        r.register(
            "db_pool_idle",
            "Idle database connections",
            gauge(i64::from(snapshot.pool_idle)),
        );
        r.register(
            "db_pool_max",
            "Most database connections the pool opens",
            gauge(i64::from(snapshot.pool_max)),
        );
        r.register(
            "db_statements",
            "Statements run by this process",
            counter(snapshot.statements),
        );
        let mut text = String::new();
        encode(&mut text, &r)?;
        Ok(text)
    }
}
