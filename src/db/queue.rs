//! Queries of the persistent delivery queue.
//!
//! Jobs are delivered strictly in id order per host: only the oldest pending job of a host is
//! eligible, and only while no worker holds a lease on it. A lease (`locked_until`) expires, so
//! a process that dies mid-send leaves its job to be taken over; the receiver's dedupe makes the
//! resend harmless. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several processes
//! share one queue without sending a job twice.

use super::{entities::delivery_job, Db, DbErr, DeliveryJob};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Set, Statement, Value,
};

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
/// together with what caused it. A second job for the same (activity, inbox) is ignored.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    jobs: Vec<NewJob>,
    now: i64,
) -> Result<(), DbErr> {
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
        let model = delivery_job::ActiveModel {
            activity_id: Set(job.activity_id),
            signer_actor_id: Set(job.signer_actor_id),
            inbox: Set(job.inbox),
            host: Set(job.host),
            body: Set(job.body),
            kind: Set(job.kind),
            audience: Set(job.audience),
            state: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            locked_by: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            finished_at: Set(None),
            ..Default::default()
        };
        delivery_job::Entity::insert(model)
            .on_conflict_do_nothing_on([
                delivery_job::Column::ActivityId,
                delivery_job::Column::Inbox,
            ])
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Numbered placeholders: `$1` on PostgreSQL, `?1` on SQLite.
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
        async { enqueue(self.conn(), jobs, super::now_ms()).await }
            .await
            .map(Queued)
    }

    /// Leases the next due job, if any, to `worker` until `lease_until`.
    pub async fn claim_job(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<DeliveryJob>, DbErr> {
        let backend = self.backend();
        let lock = if backend == DbBackend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        // The columns are named, not `*`: SQLite keeps a prepared statement's column list from
        // when it was first prepared, which a `*` can outlive when a migration adds columns.
        let columns = delivery_job::Column::iter()
            .map(|c| c.as_str().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "UPDATE delivery_jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
             WHERE id = (\
               SELECT j.id FROM delivery_jobs j \
               WHERE j.state = 'pending' AND j.next_attempt_at <= $3 \
                 AND (j.locked_until IS NULL OR j.locked_until < $3) \
                 AND j.id IN (SELECT MIN(h.id) FROM delivery_jobs h WHERE h.state = 'pending' GROUP BY h.host) \
                 AND NOT EXISTS (SELECT 1 FROM peers p WHERE p.host = j.host AND p.dead) \
               ORDER BY j.next_attempt_at, j.id LIMIT 1 {lock}) \
             AND (locked_until IS NULL OR locked_until < $3) \
             RETURNING {columns}"
        );
        let stmt = sql(
            backend,
            &text,
            vec![lease_until.into(), worker.into(), now.into()],
        );
        delivery_job::Entity::find()
            .from_raw_sql(stmt)
            .one(self.conn())
            .await
    }

    /// The job arrived (or was refused for good): it leaves the queue, and the peer is healthy.
    pub async fn finish_job(
        &self,
        job: &DeliveryJob,
        state: &str,
        error: Option<String>,
        now: i64,
    ) -> Result<(), DbErr> {
        let stmt = sql(
            self.backend(),
            "UPDATE delivery_jobs SET state = $1, finished_at = $2, locked_until = NULL, last_error = $3 WHERE id = $4",
            vec![state.into(), now.into(), error.into(), job.id.into()],
        );
        self.conn().execute_raw(stmt).await?;
        if state == "delivered" {
            let stmt = sql(
                self.backend(),
                "INSERT INTO peers (host, first_failure_at, last_success_at, last_contact_at, dead) \
                 VALUES ($1, NULL, $2, NULL, $3) \
                 ON CONFLICT (host) DO UPDATE SET first_failure_at = NULL, last_success_at = $2, dead = $3",
                vec![job.host.clone().into(), now.into(), false.into()],
            );
            self.conn().execute_raw(stmt).await?;
        }
        Ok(())
    }

    /// The job failed in a way worth retrying at `next_attempt_at`. Returns true when the host
    /// has now failed for longer than `dead_after_ms` and was marked dead.
    pub async fn retry_job(
        &self,
        job: &DeliveryJob,
        error: &str,
        next_attempt_at: i64,
        now: i64,
        dead_after_ms: i64,
    ) -> Result<bool, DbErr> {
        let stmt = sql(
            self.backend(),
            "UPDATE delivery_jobs SET next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
            vec![next_attempt_at.into(), error.into(), job.id.into()],
        );
        self.conn().execute_raw(stmt).await?;
        let stmt = sql(
            self.backend(),
            "INSERT INTO peers (host, first_failure_at, last_success_at, last_contact_at, dead) \
             VALUES ($1, $2, NULL, NULL, $3) \
             ON CONFLICT (host) DO UPDATE SET first_failure_at = COALESCE(peers.first_failure_at, $2)",
            vec![job.host.clone().into(), now.into(), false.into()],
        );
        self.conn().execute_raw(stmt).await?;
        let stmt = sql(
            self.backend(),
            "UPDATE peers SET dead = $1 WHERE host = $2 AND first_failure_at IS NOT NULL AND first_failure_at <= $3 AND NOT dead",
            vec![true.into(), job.host.clone().into(), (now - dead_after_ms).into()],
        );
        Ok(self.conn().execute_raw(stmt).await?.rows_affected() > 0)
    }

    /// Deletes finished jobs older than `cutoff`.
    /// Drops every job still waiting for `host` (an admin's purge of a peer that is gone);
    /// returns how many.
    pub async fn drop_jobs_for_host(&self, host: &str) -> Result<u64, DbErr> {
        let done = self
            .conn()
            .execute_raw(sql(
                self.backend(),
                "DELETE FROM delivery_jobs WHERE host = $1 AND state = 'pending'",
                vec![host.into()],
            ))
            .await?;
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

/// Makes every pending job of `host` due now (a dead peer came back).
pub(super) async fn release_host<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    now: i64,
) -> Result<(), DbErr> {
    let stmt = sql(
        conn.get_database_backend(),
        "UPDATE delivery_jobs SET next_attempt_at = $1 WHERE host = $2 AND state = 'pending'",
        vec![now.into(), host.into()],
    );
    conn.execute_raw(stmt).await?;
    Ok(())
}
