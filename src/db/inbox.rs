//! The inbox's durable record (`inbox_pending`): what the inbox accepted and has not yet
//! applied, and the group commit that writes it.
//!
//! Accepting an activity costs the request no transaction of its own: [`Intake::admit`] queues
//! it, and whichever request finds no write in progress writes every queued arrival in two
//! statements (which of them were already received, then one multi-row insert that skips the
//! ones already pending), so many requests share one commit. The appliers
//! (`service::intake`) read the rows lane by lane in arrival order and delete each one in the
//! transaction that records its id as received ([`Db::finish_pending`]), so a crash replays
//! exactly the rows that were not finished. The request that brought a row may wait for its
//! outcome ([`Intake::wait_for`]) and answer with it.

use super::{now_ms, received_id_hash, Db, RECEIVED_TEXT_CHARS};
use crate::domain::FailureKind;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use std::collections::HashMap;
use std::sync::{atomic::Ordering, Arc, Mutex};
use tokio::sync::{oneshot, Notify};

/// Rows written by one statement at most (7 values each, well below either database's limit
/// of bound values).
const ARRIVALS_PER_STATEMENT: usize = 256;

/// Lanes rows are spread over: a row's lane is its order key's hash modulo this, and a process
/// with `n` appliers gives applier `i` the lanes whose number modulo `n` is `i`.
pub const LANES: u32 = 1024;

/// An activity that passed every check of its request, to be recorded.
pub struct Arrival {
    /// The activity's id.
    pub ap_id: String,
    pub actor: String,
    /// What the activity is about (`Verified::order_key`): arrivals with the same key share a
    /// lane and are applied in order.
    pub order_key: String,
    /// Only the partnership handshake may be applied (the sender is no partner yet).
    pub handshake_only: bool,
    /// The body as received.
    pub body: String,
}

/// A recorded activity, as the appliers read it.
#[derive(Debug)]
pub struct Pending {
    pub id: i64,
    pub id_hash: String,
    pub actor: String,
    pub handshake_only: bool,
    pub body: String,
    pub attempts: i32,
    /// When it was recorded (Unix ms).
    pub received_at: i64,
}

/// How a recorded activity ended, for the request waiting on it.
#[derive(Clone, Debug)]
pub enum Outcome {
    Applied,
    /// Refused while applying: nothing of it was kept.
    Refused(FailureKind, String),
    /// Failed for a reason worth retrying; still recorded, tried again later.
    Deferred,
}

/// A finished row: its id in `inbox_pending`, and what `received_activity_ids` keeps of it when
/// it was applied (`None` when it was refused: a refused activity may come again and be
/// applied then, as before the record existed).
pub struct Finished {
    pub pending_id: i64,
    pub received: Option<(String, String, String)>,
}

type Reply = oneshot::Sender<Result<bool, String>>;

/// The group commit of arrivals, and the requests waiting for their rows' outcomes.
#[derive(Default)]
pub struct Intake {
    queued: Mutex<Vec<(Arrival, Reply)>>,
    writing: Arc<tokio::sync::Mutex<()>>,
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Wakes the appliers when rows were written.
    pub written: Notify,
    /// Rows pending as this process last counted them, plus its own arrivals since, minus
    /// what it finished: what the inbox's bound (`federation.inbox_max_pending`) is checked
    /// against without a query per request.
    pending: std::sync::atomic::AtomicU64,
    /// Group writes made, and the arrivals they carried (`arrivals / writes` is the mean
    /// group).
    pub writes: std::sync::atomic::AtomicU64,
    pub arrivals: std::sync::atomic::AtomicU64,
}

impl Intake {
    /// Records `arrival` in the next group write (which this call performs if no other is
    /// under way). True when it is new; false when its id was already received or is
    /// already pending (a replay).
    pub async fn admit(self: &Arc<Self>, db: &Db, arrival: Arrival) -> Result<bool, DbErr> {
        let (reply, answer) = oneshot::channel();
        self.queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((arrival, reply));
        let mut answer = answer;
        loop {
            tokio::select! {
                // Another request's write took this arrival: no need to wait for the lock.
                biased;
                result = &mut answer => return match result {
                    Ok(Ok(new)) => Ok(new),
                    Ok(Err(message)) => Err(DbErr::Custom(message)),
                    Err(_) => Err(DbErr::Custom("the inbox's write was dropped".into())),
                },
                writer = self.writing.clone().lock_owned() => {
                    let batch = std::mem::take(
                        &mut *self.queued.lock().unwrap_or_else(|e| e.into_inner()),
                    );
                    if !batch.is_empty() {
                        // A task of its own, so the other requests' answers do not depend on
                        // this request staying connected.
                        let (intake, db) = (self.clone(), db.clone());
                        let write = tokio::spawn(async move {
                            intake.write(&db, batch).await;
                            drop(writer);
                        });
                        let _ = write.await;
                    }
                }
            }
        }
    }

    /// Writes a batch of arrivals and answers each.
    async fn write(&self, db: &Db, batch: Vec<(Arrival, Reply)>) {
        let (arrivals, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.arrivals
            .fetch_add(arrivals.len() as u64, Ordering::Relaxed);
        match db.record_arrivals(&arrivals).await {
            Ok(new) => {
                let added = new.iter().filter(|n| **n).count() as u64;
                self.pending.fetch_add(added, Ordering::Relaxed);
                for (reply, new) in replies.into_iter().zip(new) {
                    let _ = reply.send(Ok(new));
                }
                self.written.notify_waiters();
            }
            Err(e) => {
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }

    /// Rows pending, as this process knows.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// The count as read from the database.
    pub fn set_pending(&self, n: u64) {
        self.pending.store(n, Ordering::Relaxed);
    }

    /// `n` rows were finished.
    pub fn finished(&self, n: u64) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(n))
            });
    }

    /// Registers interest in the outcome of the activity `ap_id` (before admitting it, so an
    /// applier that finishes first still finds the waiter).
    pub fn wait_for(&self, ap_id: &str) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(received_id_hash(ap_id), tx);
        rx
    }

    /// Stops waiting for `ap_id` (the request answered without its outcome).
    pub fn stop_waiting(&self, ap_id: &str) {
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&received_id_hash(ap_id));
    }

    /// Tells the request waiting for the row with `id_hash`, if any, how it ended.
    pub fn settle(&self, id_hash: &str, outcome: Outcome) {
        let waiter = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id_hash);
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
        }
    }
}

/// A stable hash of an order key (FNV-1a), so rows about one thing keep one lane across
/// restarts and builds.
pub fn lane_of(key: &str) -> i32 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % u64::from(LANES)) as i32
}

fn placeholders(backend: sea_orm::DbBackend, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| match backend {
            sea_orm::DbBackend::Postgres => format!("${}", i + 1),
            _ => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    /// Records arrivals (two statements per 256): for each, whether it is new.
    async fn record_arrivals(&self, arrivals: &[Arrival]) -> Result<Vec<bool>, DbErr> {
        let backend = self.backend();
        let mut new = Vec::with_capacity(arrivals.len());
        let now = now_ms();
        for chunk in arrivals.chunks(ARRIVALS_PER_STATEMENT) {
            let hashes: Vec<String> = chunk.iter().map(|a| received_id_hash(&a.ap_id)).collect();
            let seen: std::collections::HashSet<String> = self
                .conn()
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT id_hash FROM received_activity_ids WHERE id_hash IN ({})",
                        placeholders(backend, 0, hashes.len())
                    ),
                    hashes.iter().map(|h| Value::from(h.clone())),
                ))
                .await?
                .iter()
                .filter_map(|row| row.try_get::<String>("", "id_hash").ok())
                .collect();
            let mut rows = Vec::new();
            let mut values: Vec<Value> = Vec::new();
            let mut in_batch = std::collections::HashSet::new();
            for (arrival, hash) in chunk.iter().zip(&hashes) {
                if seen.contains(hash) || !in_batch.insert(hash.clone()) {
                    continue;
                }
                rows.push(format!("({})", placeholders(backend, values.len(), 7)));
                values.extend([
                    Value::from(hash.clone()),
                    Value::from(arrival.actor.clone()),
                    Value::from(lane_of(&arrival.order_key)),
                    Value::from(arrival.handshake_only),
                    Value::from(arrival.body.clone()),
                    Value::from(now),
                    Value::from(now),
                ]);
            }
            let inserted: std::collections::HashSet<String> = if rows.is_empty() {
                Default::default()
            } else {
                self.conn()
                    .query_all_raw(Statement::from_sql_and_values(
                        backend,
                        format!(
                            "INSERT INTO inbox_pending \
                             (id_hash, actor, lane, handshake_only, body, received_at, due_at) \
                             VALUES {} ON CONFLICT (id_hash) DO NOTHING RETURNING id_hash",
                            rows.join(", ")
                        ),
                        values,
                    ))
                    .await?
                    .iter()
                    .filter_map(|row| row.try_get::<String>("", "id_hash").ok())
                    .collect()
            };
            // A hash inserted by this statement is new for the first arrival that carried it;
            // a second copy in the same batch is a replay.
            let mut answered = std::collections::HashSet::new();
            for hash in hashes {
                new.push(inserted.contains(&hash) && answered.insert(hash));
            }
        }
        Ok(new)
    }

    /// Rows not yet applied (all lanes, due or not).
    pub async fn pending_count(&self) -> Result<u64, DbErr> {
        let row = self
            .conn()
            .query_one_raw(Statement::from_string(
                self.backend(),
                "SELECT COUNT(*) AS n FROM inbox_pending",
            ))
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// Up to `limit` due rows of applier `index` of `appliers`, oldest first.
    pub async fn due_pending(
        &self,
        index: u32,
        appliers: u32,
        limit: u64,
    ) -> Result<Vec<Pending>, DbErr> {
        let backend = self.backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "SELECT id, id_hash, actor, handshake_only, body, attempts, received_at FROM inbox_pending \
                 WHERE lane % $1 = $2 AND due_at <= $3 ORDER BY id LIMIT $4"
            }
            _ => {
                "SELECT id, id_hash, actor, handshake_only, body, attempts, received_at FROM inbox_pending \
                 WHERE lane % ? = ? AND due_at <= ? ORDER BY id LIMIT ?"
            }
        };
        let rows = self
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    Value::from(appliers as i32),
                    Value::from(index as i32),
                    Value::from(now_ms()),
                    Value::from(limit as i64),
                ],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Pending {
                    id: r.try_get("", "id")?,
                    id_hash: r.try_get("", "id_hash")?,
                    actor: r.try_get("", "actor")?,
                    handshake_only: r.try_get("", "handshake_only")?,
                    body: r.try_get("", "body")?,
                    attempts: r.try_get("", "attempts")?,
                    received_at: r.try_get("", "received_at")?,
                })
            })
            .collect()
    }

    /// In one transaction: records the applied rows' ids as received (forgetting ids received
    /// before `forget_before` now and then) and deletes the finished rows.
    pub async fn finish_pending(
        &self,
        finished: &[Finished],
        forget_before: i64,
    ) -> Result<(), DbErr> {
        if finished.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let now = now_ms();
        let short = |s: &str| s.chars().take(RECEIVED_TEXT_CHARS).collect::<String>();
        let txn = self.begin().await?;
        // The delete first: a write transaction starts with a write (invariant 11).
        let ids: Vec<Value> = finished.iter().map(|f| Value::from(f.pending_id)).collect();
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "DELETE FROM inbox_pending WHERE id IN ({})",
                placeholders(backend, 0, ids.len())
            ),
            ids,
        ))
        .await?;
        let mut rows = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        for (ap_id, kind, actor) in finished.iter().filter_map(|f| f.received.as_ref()) {
            rows.push(format!("({})", placeholders(backend, values.len(), 5)));
            values.extend([
                Value::from(received_id_hash(ap_id)),
                Value::from(short(ap_id)),
                Value::from(short(kind)),
                Value::from(short(actor)),
                Value::from(now),
            ]);
        }
        if !rows.is_empty() {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO received_activity_ids (id_hash, ap_id, kind, actor, received_at) \
                     VALUES {} ON CONFLICT (id_hash) DO NOTHING",
                    rows.join(", ")
                ),
                values,
            ))
            .await?;
        }
        if self.memo.prune_due(now, (now - forget_before) / 4) {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "DELETE FROM received_activity_ids WHERE received_at < $1"
                    }
                    _ => "DELETE FROM received_activity_ids WHERE received_at < ?",
                },
                [Value::from(forget_before)],
            ))
            .await?;
        }
        txn.commit().await
    }

    /// Leaves a row for a later try at `due_at`, counting the attempt.
    pub async fn defer_pending(&self, id: i64, due_at: i64) -> Result<(), DbErr> {
        let backend = self.backend();
        self.conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE inbox_pending SET attempts = attempts + 1, due_at = $1 WHERE id = $2"
                    }
                    _ => "UPDATE inbox_pending SET attempts = attempts + 1, due_at = ? WHERE id = ?",
                },
                [Value::from(due_at), Value::from(id)],
            ))
            .await?;
        Ok(())
    }

    /// Takes or keeps the lease to apply the inbox's rows until `until` (Unix ms): true when
    /// `holder` has it (it held it, or the last holder's lease ran out).
    pub async fn hold_inbox_lease(&self, holder: &str, until: i64) -> Result<bool, DbErr> {
        let backend = self.backend();
        let result = self
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE inbox_applier SET holder = $1, until = $2 \
                         WHERE id = 1 AND (holder = $1 OR until < $3)"
                    }
                    _ => {
                        "UPDATE inbox_applier SET holder = ?1, until = ?2 \
                         WHERE id = 1 AND (holder = ?1 OR until < ?3)"
                    }
                },
                [
                    Value::from(holder.to_string()),
                    Value::from(until),
                    Value::from(now_ms()),
                ],
            ))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives the lease up (a graceful stop), so another process may apply at once.
    pub async fn release_inbox_lease(&self, holder: &str) -> Result<(), DbErr> {
        let backend = self.backend();
        self.conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE inbox_applier SET until = 0 WHERE id = 1 AND holder = $1"
                    }
                    _ => "UPDATE inbox_applier SET until = 0 WHERE id = 1 AND holder = ?",
                },
                [Value::from(holder.to_string())],
            ))
            .await?;
        Ok(())
    }
}
