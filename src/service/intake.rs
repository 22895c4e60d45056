//! Applies what the inbox recorded (`db::inbox`), off the request path.
//!
//! One process at a time applies (the `inbox_applier` lease of `federation.inbox_lease_secs`,
//! renewed five times as often, so a crashed holder's lease soon runs out). Its
//! `federation.inbox_appliers` tasks each take their own lanes, so activities about one thing
//! (a post and its edits and deletion, a like and its undoing: `Verified::order_key`) are
//! applied in the order they arrived while others run beside them. A
//! task reads up to [`BATCH`] due rows, applies each with the same functions the inbox always
//! used (`inbound::process`, or `partnership::receive` for a handshake), then, in one
//! transaction, records the applied ones as received and deletes every finished row. A crash
//! before that transaction leaves the rows pending, and they are applied again at the next
//! start; every handler is idempotent (unique ids, upserts), as a sender's retry always
//! required. A failure worth retrying (the database or another server unavailable) leaves the
//! row for a later try, at most [`ATTEMPTS`] times.

use crate::activitypub::activities::parse_envelope;
use crate::db::inbox::{Finished, Outcome, Pending};
use crate::domain::FailureKind;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::service::{self, error::Error};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// Rows one task reads and finishes at once.
const BATCH: u64 = 32;
/// Tries of a row whose failures were worth retrying, before it is dropped.
const ATTEMPTS: i32 = 6;

/// Runs the appliers until `stop` turns true; gives the lease up on the way out.
pub async fn run(node: Node, holder: String, mut stop: watch::Receiver<bool>) {
    let (held_tx, held) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let appliers = node.settings.federation.inbox_appliers;
    let lease = Duration::from_secs(node.settings.federation.inbox_lease_secs);
    for index in 0..appliers {
        tasks.spawn(applier(
            node.clone(),
            index,
            appliers,
            held.clone(),
            stop.clone(),
        ));
    }
    loop {
        let until = crate::db::now_ms() + lease.as_millis() as i64;
        match node.db.hold_inbox_lease(&holder, until).await {
            Ok(holds) => {
                if holds != *held_tx.borrow() {
                    info!(holder, holds, "inbox applier lease");
                }
                held_tx.send_replace(holds);
            }
            Err(e) => {
                warn!(error = %e, "cannot renew the inbox applier lease");
                held_tx.send_replace(false);
            }
        }
        if let Ok(n) = node.db.pending_count().await {
            node.inbox.set_pending(n);
        }
        tokio::select! {
            _ = tokio::time::sleep(lease / 5) => {}
            _ = stop.changed() => break,
        }
    }
    held_tx.send_replace(false);
    while tasks.join_next().await.is_some() {}
    if let Err(e) = node.db.release_inbox_lease(&holder).await {
        warn!(error = %e, "cannot release the inbox applier lease");
    }
}

/// One task: applies the due rows of its lanes while this process holds the lease.
async fn applier(
    node: Node,
    index: u32,
    appliers: u32,
    mut held: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let idle_poll = Duration::from_millis(node.settings.federation.inbox_poll_ms);
    loop {
        if *stop.borrow() {
            return;
        }
        if !*held.borrow() {
            tokio::select! {
                _ = held.changed() => continue,
                _ = stop.changed() => return,
            }
        }
        // Registered before the read, so rows written while it runs wake the next round.
        let written = node.inbox.written.notified();
        let rows = match node.db.due_pending(index, appliers, BATCH).await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "cannot read the inbox's pending activities");
                Vec::new()
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = written => {}
                _ = tokio::time::sleep(idle_poll) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        apply_batch(&node, rows).await;
    }
}

/// Applies rows in order, then finishes them together and tells their waiting requests.
async fn apply_batch(node: &Node, rows: Vec<Pending>) {
    // The policy and suspensions as of now, read once for the batch (as a request read them
    // once for its activity); a change made while it runs applies from the next batch.
    let gate = match node.db.gate().await {
        Ok(gate) => gate,
        Err(e) => {
            warn!(error = %e, "cannot read the federation policy's generation");
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
    };
    let applied = gate
        .within(async {
            let mut applied = Vec::with_capacity(rows.len());
            for row in rows {
                let outcome = apply(node, &row).await;
                applied.push((row, outcome));
            }
            applied
        })
        .await;
    let mut finished = Vec::with_capacity(applied.len());
    let mut outcomes = Vec::with_capacity(applied.len());
    let mut lags = Vec::with_capacity(applied.len());
    for (row, outcome) in applied {
        match outcome {
            Applied::Yes { ap_id, kind } => {
                lags.push(row.received_at);
                finished.push(Finished {
                    pending_id: row.id,
                    received: Some((ap_id, kind, row.actor.clone())),
                });
                outcomes.push((row.id_hash, Outcome::Applied));
            }
            Applied::Refused(e) => {
                finished.push(Finished {
                    pending_id: row.id,
                    received: None,
                });
                outcomes.push((row.id_hash, Outcome::Refused(e.kind, e.message)));
            }
            Applied::Later => {
                let wait = 1_000i64 << (2 * row.attempts.clamp(0, 8));
                if let Err(e) = node
                    .db
                    .defer_pending(row.id, crate::db::now_ms() + wait)
                    .await
                {
                    warn!(error = %e, "cannot defer an inbox activity");
                }
                outcomes.push((row.id_hash, Outcome::Deferred));
            }
        }
    }
    let forget_before = crate::db::now_ms() - node.settings.replay_window_ms();
    if let Err(e) = node.db.finish_pending(&finished, forget_before).await {
        // The rows stay pending and are applied again (idempotently) in the next round.
        warn!(error = %e, "cannot finish the inbox's applied activities");
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    }
    node.inbox.finished(finished.len() as u64);
    Metrics::inc(&node.metrics.inbox_batches);
    let now = crate::db::now_ms();
    for received_at in lags {
        let lag = (now - received_at).max(0) as f64 / 1000.0;
        node.metrics.inbox_lag.observe(lag);
    }
    for (hash, outcome) in outcomes {
        node.inbox.settle(&hash, outcome);
    }
}

enum Applied {
    Yes { ap_id: String, kind: String },
    Refused(Error),
    Later,
}

/// Applies one recorded activity (inside its batch's policy generation).
async fn apply(node: &Node, row: &Pending) -> Applied {
    let envelope = match serde_json::from_str(&row.body)
        .map_err(|e| e.to_string())
        .and_then(parse_envelope)
    {
        Ok(envelope) => envelope,
        Err(e) => return Applied::Refused(Error::invalid(e)),
    };
    let result = if row.handshake_only {
        service::partnership::receive(node, &envelope).await
    } else {
        service::inbound::process(node, &envelope).await
    };
    match result {
        Ok(()) => {
            info!(activity = %envelope.id, kind = envelope.kind.name(), actor = %envelope.actor, "activity applied");
            Metrics::inc(&node.metrics.inbox_accepted);
            Applied::Yes {
                ap_id: envelope.id.to_string(),
                kind: envelope.kind.name().to_string(),
            }
        }
        Err(e)
            if matches!(e.kind, FailureKind::Unavailable | FailureKind::Internal)
                && row.attempts + 1 < ATTEMPTS =>
        {
            warn!(activity = %envelope.id, error = %e.message, attempt = row.attempts + 1, "activity deferred");
            Applied::Later
        }
        Err(e) => {
            warn!(activity = %envelope.id, error = %e.message, "activity rejected");
            Metrics::inc(&node.metrics.inbox_refused);
            Applied::Refused(e)
        }
    }
}
