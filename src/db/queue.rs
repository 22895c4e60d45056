//! Queries of the persistent delivery queue.
//!
//! Jobs are delivered strictly in id order per host: only the oldest pending job of a host (its
//! head) is eligible, and only while no worker holds a lease on the host. The heads live in
//! `delivery_hosts`, one row per host with pending jobs, so a claim reads the due hosts from one
//! index (`delivery_hosts_due`) and never looks at the jobs behind a head; finishing a job moves
//! its host's head to the next pending job with one lookup in `delivery_jobs_state_host`. A
//! lease is the host row's `due_at` pushed to the lease's end, so a process that dies mid-send
//! leaves its job to be taken over when the lease ends; the receiver's dedupe makes the resend
//! harmless. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several processes share
//! one queue without sending a job twice.
//!
//! Every write of a host row takes its lock before reading the host's jobs (enqueue upserts it
//! with `DO UPDATE`, finishing selects it `FOR UPDATE` first), so a job queued while the host's
//! last job finishes is never left without a head.

mod finish;

use super::{entities::delivery_job, Db, DbErr, DeliveryJob};
pub use finish::Finished;
use finish::{advance_head, next_head};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Statement, Value};
use std::collections::BTreeMap;

/// A dead peer's host row is parked here until the peer contacts us again.
const PARKED: i64 = i64::MAX;

/// What a write that queued delivery jobs gives back. Its value is reached only through
/// [`Queued::wake`], which wakes the delivery workers, so no change can queue jobs and forget
/// to tell them.
#[must_use = "call .wake(&node.delivery_wakeup) so the delivery workers send the new jobs"]
#[derive(Debug)]
pub struct Queued<T>(pub(in crate::db) T);

impl<T> Queued<T> {
    /// Wakes idle delivery workers, then hands over the write's result.
    pub fn wake(self, workers: &tokio::sync::Notify) -> T {
        workers.notify_waiters();
        self.0
    }

    /// The result of a write that was given no jobs (there is nothing to send).
    pub(in crate::db) fn without_jobs(self) -> T {
        self.0
    }
}

/// One job to insert.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub activity_id: String,
    pub signer_actor_id: i64,
    pub inbox: String,
    pub host: String,
    pub body: String,
    /// The activity's `type`.
    pub kind: String,
    /// The community the activity belongs to (its `audience`), if any.
    pub audience: Option<String>,
}

/// Writes jobs inside the caller's transaction (or connection), so an activity is committed
/// together with what caused it. A second job for the same (activity, inbox) is ignored. A host
/// without pending jobs gets a row in `delivery_hosts` with the new job as its head.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    jobs: Vec<NewJob>,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    // The first new job of each host, in host order (two transactions lock host rows in the
    // same order, so they cannot deadlock).
    let mut heads: BTreeMap<String, i64> = BTreeMap::new();
    // The deliveries of an activity in a community's stream carry its position, so a replica
    // sees a gap (see `db::stream`): activity id → the body with its position.
    let mut positioned: std::collections::HashMap<String, String> = Default::default();
    for mut job in jobs {
        if job.inbox == super::stream::STREAM_INBOX {
            let community = job.audience.as_deref().unwrap_or_default();
            let position = super::stream::append(conn, community, &job.body, now).await?;
            if let Some(body) = super::stream::with_position(&job.body, position) {
                positioned.insert(job.activity_id, body);
            }
            continue;
        }
        if let Some(body) = positioned.get(&job.activity_id) {
            job.body = body.clone();
        }
        let stmt = sql(
            backend,
            "INSERT INTO delivery_jobs (activity_id, signer_actor_id, inbox, host, body, kind, \
               audience, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8) \
             ON CONFLICT (activity_id, inbox) DO NOTHING RETURNING id",
            vec![
                job.activity_id.into(),
                job.signer_actor_id.into(),
                job.inbox.into(),
                job.host.clone().into(),
                job.body.into(),
                job.kind.into(),
                job.audience.into(),
                now.into(),
            ],
        );
        if let Some(row) = conn.query_one_raw(stmt).await? {
            let id: i64 = row.try_get("", "id")?;
            heads.entry(job.host).or_insert(id);
        }
    }
    for (host, id) in heads {
        // `DO UPDATE`, not `DO NOTHING`: the update locks an existing row, so a worker
        // finishing the host's last job waits for this transaction and then sees the new job.
        let stmt = sql(
            backend,
            "INSERT INTO delivery_hosts (host, head_id, due_at, locked_by) VALUES ($1, $2, $3, NULL) \
             ON CONFLICT (host) DO UPDATE SET head_id = delivery_hosts.head_id",
            vec![host.into(), id.into(), now.into()],
        );
        conn.execute_raw(stmt).await?;
    }
    Ok(())
}

/// The statement that leases up to `limit` due hosts to `worker` and returns their heads.
fn lease_hosts(
    backend: DbBackend,
    worker: &str,
    now: i64,
    lease_until: i64,
    limit: u64,
) -> Statement {
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let text = format!(
        "UPDATE delivery_hosts SET due_at = $1, locked_by = $2 \
         WHERE host IN (\
           SELECT h.host FROM delivery_hosts h \
           WHERE h.due_at <= $3 \
             AND NOT EXISTS (SELECT 1 FROM peers p WHERE p.host = h.host AND p.dead) \
           ORDER BY h.due_at LIMIT $4 {lock}) \
         AND due_at <= $3 \
         RETURNING host, head_id"
    );
    sql(
        backend,
        &text,
        vec![
            lease_until.into(),
            worker.into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    )
}

/// The statement that marks the leased heads `ids` as taken and returns them. By primary key
/// only: a condition on `state` here makes both databases read `delivery_jobs_state_host`
/// for every pending job instead.
fn lease_jobs(backend: DbBackend, worker: &str, lease_until: i64, ids: &[i64]) -> Statement {
    // The columns are named, not `*`: SQLite keeps a prepared statement's column list from
    // when it was first prepared, which a `*` can outlive when a migration adds columns.
    let columns = delivery_job::Column::iter()
        .map(|c| c.as_str().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let placeholders = placeholders(3, ids.len());
    let text = format!(
        "UPDATE delivery_jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
         WHERE id IN ({placeholders}) \
         RETURNING {columns}"
    );
    let mut values: Vec<Value> = vec![lease_until.into(), worker.into()];
    values.extend(ids.iter().map(|&id| Value::from(id)));
    sql(backend, &text, values)
}

/// Numbered placeholders: `$1` on PostgreSQL, `?1` on SQLite.
/// `$first, $first+1, …`: the placeholders of `n` values, for an `IN (…)` list.
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn sql(backend: DbBackend, text: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Postgres => text.to_string(),
        _ => text.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, text, values)
}

impl Db {
    /// Writes jobs outside any other transaction.
    pub async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<Queued<()>, DbErr> {
        // One transaction: a fan-out's jobs are one commit, not one per inbox.
        let txn = self.begin().await?;
        enqueue(&txn, jobs, super::now_ms()).await?;
        txn.commit().await.map(Queued)
    }

    /// Leases the next due job, if any, to `worker` until `lease_until`.
    pub async fn claim_job(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<DeliveryJob>, DbErr> {
        Ok(self
            .claim_jobs(worker, now, lease_until, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Leases up to `limit` due jobs, each the head of a different host whose peer is not
    /// dead, to `worker` until `lease_until`; the hosts due longest come first. Two statements
    /// whatever the queue's length: one leases the hosts (from `delivery_hosts_due`), one marks
    /// their heads (by primary key).
    /// Delivery jobs by state (`pending`, `delivered`, `failed`), for `/metrics`.
    pub async fn jobs_by_state(&self) -> Result<Vec<(String, i64)>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sea_orm::Statement::from_string(
                self.backend(),
                "SELECT state, COUNT(*) AS n FROM delivery_jobs GROUP BY state ORDER BY state",
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "state")?, r.try_get("", "n")?)))
            .collect()
    }

    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        limit: u64,
    ) -> Result<Vec<DeliveryJob>, DbErr> {
        let backend = self.backend();
        let rows = self
            .conn()
            .query_all_raw(lease_hosts(backend, worker, now, lease_until, limit.max(1)))
            .await?;
        let mut heads = Vec::with_capacity(rows.len());
        for row in rows {
            heads.push((
                row.try_get::<String>("", "host")?,
                row.try_get::<i64>("", "head_id")?,
            ));
        }
        if heads.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = heads.iter().map(|(_, id)| *id).collect();
        let mut jobs = delivery_job::Entity::find()
            .from_raw_sql(lease_jobs(backend, worker, lease_until, &ids))
            .all(self.conn())
            .await?;
        jobs.retain(|j| j.state == "pending");
        // A head that is gone (its signer's account was deleted, taking its jobs along) or no
        // longer pending: the host's head moves on to its next pending job.
        for (host, id) in &heads {
            if !jobs.iter().any(|j| j.id == *id) {
                let txn = self.begin().await?;
                let stmt = sql(
                    backend,
                    "UPDATE delivery_hosts SET locked_by = NULL WHERE host = $1",
                    vec![host.clone().into()],
                );
                txn.execute_raw(stmt).await?;
                advance_head(&txn, host, *id).await?;
                txn.commit().await?;
            }
        }
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// The query plans of the claim's statements and of the lookup of a host's next head
    /// (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite), one line each, for tests
    /// that check they read indexes and not whole tables.
    pub async fn claim_plans(&self) -> Result<Vec<String>, DbErr> {
        let backend = self.backend();
        let mut lines = Vec::new();
        for stmt in [
            lease_hosts(backend, "w", 0, 1, 8),
            lease_jobs(backend, "w", 1, &[1, 2, 3]),
            next_head(backend, "peer.example"),
        ] {
            let explained = match backend {
                DbBackend::Postgres => format!("EXPLAIN {}", stmt.sql),
                _ => format!("EXPLAIN QUERY PLAN {}", stmt.sql),
            };
            let stmt = Statement::from_sql_and_values(
                backend,
                explained,
                stmt.values.map(|v| v.0).unwrap_or_default(),
            );
            for row in self.conn().query_all_raw(stmt).await? {
                let line: String = match backend {
                    DbBackend::Postgres => row.try_get("", "QUERY PLAN")?,
                    _ => row.try_get("", "detail")?,
                };
                lines.push(line);
            }
            lines.push(String::new());
        }
        Ok(lines)
    }

    /// Deletes finished jobs older than `cutoff`.
    /// Drops every job still waiting for `host` (an admin's purge of a peer that is gone), and
    /// the host's place in the queue; returns how many jobs.
    pub async fn drop_jobs_for_host(&self, host: &str) -> Result<u64, DbErr> {
        let txn = sea_orm::TransactionTrait::begin(self.conn()).await?;
        let backend = self.backend();
        // The host row first: a write that takes the lock before anything is read.
        txn.execute_raw(sql(
            backend,
            "DELETE FROM delivery_hosts WHERE host = $1",
            vec![host.into()],
        ))
        .await?;
        let done = txn
            .execute_raw(sql(
                backend,
                "DELETE FROM delivery_jobs WHERE host = $1 AND state = 'pending'",
                vec![host.into()],
            ))
            .await?;
        txn.commit().await?;
        Ok(done.rows_affected())
    }

    pub async fn purge_finished_jobs(&self, cutoff: i64) -> Result<u64, DbErr> {
        let stmt = sql(
            self.backend(),
            "DELETE FROM delivery_jobs WHERE state <> 'pending' AND finished_at < $1",
            vec![cutoff.into()],
        );
        Ok(self.conn().execute_raw(stmt).await?.rows_affected())
    }

    /// Every job in queue order, for tests and the admin view.
    pub async fn delivery_jobs(&self) -> Result<Vec<DeliveryJob>, DbErr> {
        use sea_orm::QueryOrder;
        delivery_job::Entity::find()
            .order_by_asc(delivery_job::Column::Id)
            .all(self.conn())
            .await
    }

    /// Counts jobs per state, for tests and health reporting.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>, DbErr> {
        let stmt = sql(
            self.backend(),
            "SELECT state, COUNT(*) AS n FROM delivery_jobs GROUP BY state ORDER BY state",
            vec![],
        );
        let rows = self.conn().query_all_raw(stmt).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String>("", "state")?,
                    r.try_get::<i64>("", "n")?,
                ))
            })
            .collect()
    }
}

/// How one peer's deliveries stand: jobs waiting and jobs that failed for good, the most
/// attempts a waiting job has had, and the last error.
pub struct PeerQueue {
    pub host: String,
    pub pending: i64,
    pub failed: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
}

impl Db {
    /// The peers with waiting or failed deliveries, those with most waiting first: one grouped
    /// query, at most `limit` peers.
    pub async fn queue_health(&self, limit: u64) -> Result<Vec<PeerQueue>, DbErr> {
        let stmt = sql(
            self.backend(),
            "SELECT host, \
               CAST(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending, \
               CAST(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
               CAST(MAX(CASE WHEN state = 'pending' THEN attempts ELSE 0 END) AS BIGINT) AS max_attempts, \
               MAX(last_error) AS last_error \
             FROM delivery_jobs WHERE state IN ('pending', 'failed') \
             GROUP BY host ORDER BY pending DESC, failed DESC, host LIMIT $1",
            vec![i64::try_from(limit).unwrap_or(i64::MAX).into()],
        );
        let rows = self.conn().query_all_raw(stmt).await?;
        rows.iter()
            .map(|r| {
                Ok(PeerQueue {
                    host: r.try_get("", "host")?,
                    pending: r.try_get::<Option<i64>>("", "pending")?.unwrap_or(0),
                    failed: r.try_get::<Option<i64>>("", "failed")?.unwrap_or(0),
                    max_attempts: r.try_get::<Option<i64>>("", "max_attempts")?.unwrap_or(0),
                    last_error: r.try_get("", "last_error")?,
                })
            })
            .collect()
    }
}

/// Makes every pending job of `host` due now (a dead peer came back), and its head claimable
/// unless a worker holds it.
pub(super) async fn release_host<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let stmt = sql(
        backend,
        "UPDATE delivery_jobs SET next_attempt_at = $1 WHERE host = $2 AND state = 'pending'",
        vec![now.into(), host.into()],
    );
    conn.execute_raw(stmt).await?;
    let stmt = sql(
        backend,
        "UPDATE delivery_hosts SET due_at = $1 WHERE host = $2 AND due_at > $1 AND locked_by IS NULL",
        vec![now.into(), host.into()],
    );
    conn.execute_raw(stmt).await?;
    Ok(())
}
