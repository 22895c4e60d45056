//! Jobs leaving the queue: delivered or refused for good (one by one, or a worker's batch
//! together), or put back for a retry; each moves its host's head on.

use super::{placeholders, sql, PARKED};
use crate::db::{Db, DbErr, DeliveryJob};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use std::collections::BTreeMap;

/// A job that left the queue: delivered, or failed for good with its reason.
#[derive(Debug)]
pub struct Finished<'a> {
    pub job: &'a DeliveryJob,
    pub delivered: bool,
    pub error: Option<String>,
}

/// The statement that finds a host's oldest pending job (its next head).
pub(super) fn next_head(backend: DbBackend, host: &str) -> Statement {
    sql(
        backend,
        "SELECT id, next_attempt_at FROM delivery_jobs \
         WHERE state = 'pending' AND host = $1 ORDER BY id LIMIT 1",
        vec![host.into()],
    )
}

/// Moves `host`'s head past a job that left the queue: to the host's oldest pending job, due
/// when it is, or removes the host's row when it has none. Only when `finished` is still the
/// head (a worker whose lease ran out leaves the host to whoever holds it now).
pub(super) async fn advance_head<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    finished: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE"
    } else {
        ""
    };
    // The row's lock first, then the jobs: a transaction queueing a job for this host holds
    // the row until it commits, and the read below (a new statement) then sees its job.
    let stmt = sql(
        backend,
        &format!("SELECT head_id FROM delivery_hosts WHERE host = $1 {lock}"),
        vec![host.into()],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else {
        return Ok(());
    };
    if row.try_get::<i64>("", "head_id")? != finished {
        return Ok(());
    }
    let stmt = match conn.query_one_raw(next_head(backend, host)).await? {
        Some(next) => sql(
            backend,
            "UPDATE delivery_hosts SET head_id = $1, due_at = $2, locked_by = NULL WHERE host = $3",
            vec![
                next.try_get::<i64>("", "id")?.into(),
                next.try_get::<i64>("", "next_attempt_at")?.into(),
                host.into(),
            ],
        ),
        None => sql(
            backend,
            "DELETE FROM delivery_hosts WHERE host = $1",
            vec![host.into()],
        ),
    };
    conn.execute_raw(stmt).await?;
    Ok(())
}

/// [`advance_head`] for several finished jobs at once (each `(host, job id)`), in a fixed
/// number of statements when the hosts have no further jobs (a fan-out's), plus one per host
/// that has.
async fn advance_heads<C: ConnectionTrait>(conn: &C, jobs: &[(&str, i64)]) -> Result<(), DbErr> {
    if let [(host, id)] = jobs {
        return advance_head(conn, host, *id).await;
    }
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE"
    } else {
        ""
    };
    let hosts: Vec<Value> = jobs.iter().map(|(h, _)| Value::from(*h)).collect();
    // The rows' locks first, as in `advance_head`, in the order of the hosts' names, as
    // `enqueue` takes them, so the two never wait for each other in a circle.
    let rows = conn
        .query_all_raw(sql(
            backend,
            &format!(
                "SELECT host, head_id FROM delivery_hosts WHERE host IN ({}) ORDER BY host {lock}",
                placeholders(1, hosts.len())
            ),
            hosts,
        ))
        .await?;
    let mut moved: Vec<String> = Vec::new();
    for row in rows {
        let host: String = row.try_get("", "host")?;
        let head: i64 = row.try_get("", "head_id")?;
        if jobs.iter().any(|(h, id)| *h == host && *id == head) {
            moved.push(host);
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    let values: Vec<Value> = moved.iter().map(|h| Value::from(h.as_str())).collect();
    let next = conn
        .query_all_raw(sql(
            backend,
            &format!(
                "SELECT j.host, j.id, j.next_attempt_at FROM delivery_jobs j \
                 WHERE j.state = 'pending' AND j.host IN ({}) AND j.id = \
                 (SELECT MIN(k.id) FROM delivery_jobs k WHERE k.state = 'pending' AND k.host = j.host)",
                placeholders(1, values.len())
            ),
            values,
        ))
        .await?;
    let mut gone: Vec<Value> = Vec::new();
    let mut heads: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in next {
        heads.insert(
            row.try_get("", "host")?,
            (row.try_get("", "id")?, row.try_get("", "next_attempt_at")?),
        );
    }
    for host in moved {
        match heads.get(&host) {
            Some((id, due)) => {
                conn.execute_raw(sql(
                    backend,
                    "UPDATE delivery_hosts SET head_id = $1, due_at = $2, locked_by = NULL WHERE host = $3",
                    vec![(*id).into(), (*due).into(), host.into()],
                ))
                .await?;
            }
            None => gone.push(host.into()),
        }
    }
    if !gone.is_empty() {
        conn.execute_raw(sql(
            backend,
            &format!(
                "DELETE FROM delivery_hosts WHERE host IN ({})",
                placeholders(1, gone.len())
            ),
            gone,
        ))
        .await?;
    }
    Ok(())
}

impl Db {
    /// Records that `job` left the queue (`delivered` or `failed` for good, with the reason).
    pub async fn finish_job(
        &self,
        job: &DeliveryJob,
        state: &str,
        error: Option<String>,
        now: i64,
    ) -> Result<(), DbErr> {
        self.finish_jobs(
            &[Finished {
                job,
                delivered: state == "delivered",
                error,
            }],
            now,
        )
        .await
    }

    /// Records that `finished` jobs left the queue, in one transaction of a few statements
    /// whatever their number (a worker's batch: each the head of its own host): the jobs'
    /// states, their hosts' heads moved on (or their rows removed), and the delivered hosts'
    /// contact as peers.
    pub async fn finish_jobs(&self, finished: &[Finished<'_>], now: i64) -> Result<(), DbErr> {
        if finished.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        // The writes come first (SQLite: a transaction that reads before it writes can fail
        // with "database is locked" instead of waiting).
        let txn = self.begin().await?;
        let delivered: Vec<i64> = finished
            .iter()
            .filter(|f| f.delivered)
            .map(|f| f.job.id)
            .collect();
        if !delivered.is_empty() {
            let mut values: Vec<Value> = vec![now.into()];
            values.extend(delivered.iter().map(|id| Value::from(*id)));
            txn.execute_raw(sql(
                backend,
                &format!(
                    "UPDATE delivery_jobs SET state = 'delivered', finished_at = $1, locked_until = NULL, last_error = NULL WHERE id IN ({})",
                    placeholders(2, delivered.len())
                ),
                values,
            ))
            .await?;
        }
        for f in finished.iter().filter(|f| !f.delivered) {
            txn.execute_raw(sql(
                backend,
                "UPDATE delivery_jobs SET state = 'failed', finished_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
                vec![now.into(), f.error.clone().into(), f.job.id.into()],
            ))
            .await?;
        }
        let jobs: Vec<(&str, i64)> = finished
            .iter()
            .map(|f| (f.job.host.as_str(), f.job.id))
            .collect();
        advance_heads(&txn, &jobs).await?;
        let mut hosts: Vec<&str> = finished
            .iter()
            .filter(|f| f.delivered)
            .map(|f| f.job.host.as_str())
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        if !hosts.is_empty() {
            let rows: Vec<String> = (0..hosts.len())
                .map(|i| format!("(${}, NULL, $1, NULL, $2)", i + 3))
                .collect();
            let mut values: Vec<Value> = vec![now.into(), false.into()];
            values.extend(hosts.iter().map(|h| Value::from(*h)));
            txn.execute_raw(sql(
                backend,
                &format!(
                    "INSERT INTO peers (host, first_failure_at, last_success_at, last_contact_at, dead) \
                     VALUES {} \
                     ON CONFLICT (host) DO UPDATE SET first_failure_at = NULL, last_success_at = $1, dead = $2",
                    rows.join(", ")
                ),
                values,
            ))
            .await?;
        }
        txn.commit().await
    }

    /// The job failed in a way worth retrying at `next_attempt_at`: it stays its host's head,
    /// due then. Returns true when the host has now failed for longer than `dead_after_ms` and
    /// was marked dead (its jobs are held until it contacts us).
    pub async fn retry_job(
        &self,
        job: &DeliveryJob,
        error: &str,
        next_attempt_at: i64,
        now: i64,
        dead_after_ms: i64,
    ) -> Result<bool, DbErr> {
        let backend = self.backend();
        let txn = self.begin().await?;
        let stmt = sql(
            backend,
            "UPDATE delivery_jobs SET next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
            vec![next_attempt_at.into(), error.into(), job.id.into()],
        );
        txn.execute_raw(stmt).await?;
        let stmt = sql(
            backend,
            "UPDATE delivery_hosts SET due_at = $1, locked_by = NULL WHERE host = $2 AND head_id = $3",
            vec![next_attempt_at.into(), job.host.clone().into(), job.id.into()],
        );
        txn.execute_raw(stmt).await?;
        let stmt = sql(
            backend,
            "INSERT INTO peers (host, first_failure_at, last_success_at, last_contact_at, dead) \
             VALUES ($1, $2, NULL, NULL, $3) \
             ON CONFLICT (host) DO UPDATE SET first_failure_at = COALESCE(peers.first_failure_at, $2)",
            vec![job.host.clone().into(), now.into(), false.into()],
        );
        txn.execute_raw(stmt).await?;
        let stmt = sql(
            backend,
            "UPDATE peers SET dead = $1 WHERE host = $2 AND first_failure_at IS NOT NULL AND first_failure_at <= $3 AND NOT dead",
            vec![true.into(), job.host.clone().into(), (now - dead_after_ms).into()],
        );
        let dead = txn.execute_raw(stmt).await?.rows_affected() > 0;
        if dead {
            // Parked: the claim's index no longer offers a dead peer's host.
            let stmt = sql(
                backend,
                "UPDATE delivery_hosts SET due_at = $1, locked_by = NULL WHERE host = $2",
                vec![PARKED.into(), job.host.clone().into()],
            );
            txn.execute_raw(stmt).await?;
        }
        txn.commit().await?;
        if dead {
            // Its next verified request must bring it back at once.
            self.memo.forget_contact(&job.host);
        }
        Ok(dead)
    }
}
