//! Process-wide counters: cheap atomics read by tests today and by a metrics endpoint later.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    /// Every inbox POST received, whatever its fate.
    pub inbox_posts: AtomicU64,
    /// Activities the inbox recorded and then applied.
    pub inbox_accepted: AtomicU64,
    /// Activities the inbox recorded and then refused while applying them (nothing kept).
    pub inbox_refused: AtomicU64,
    /// Batches of recorded activities applied (each finished in one transaction).
    pub inbox_batches: AtomicU64,
    /// Inbox POSTs answered 429 because `federation.inbox_max_in_flight` were in flight.
    pub inbox_deferred: AtomicU64,
    /// Verified inbox POSTs carrying an activity id already processed.
    pub inbox_replayed: AtomicU64,
    /// Deliveries answered with 2xx.
    pub deliveries_ok: AtomicU64,
    /// Delivery attempts that failed (retried or final).
    pub deliveries_failed: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
