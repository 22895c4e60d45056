//! Reports (`Flag`) and their moderation state, and instance-level suspensions.

use super::queue::Queued;
use super::{
    now_ms,
    queue::{enqueue, sql, NewJob},
    Db, DbErr,
};
use crate::domain::ReportState;
use crate::paging::{rows_for, Page};
use sea_orm::{ConnectionTrait, QueryResult};

/// A report in this node's moderation queue.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: i64,
    pub ap_id: String,
    pub reporter: String,
    pub object: String,
    /// `thread`, `reply`, `article`, `event` or `user`.
    pub object_kind: String,
    pub community: Option<String>,
    pub target_actor: Option<String>,
    pub reason: String,
    pub state: ReportState,
    /// Filed by a user of this node (otherwise received from another node).
    pub local: bool,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub resolved_at: Option<i64>,
    pub created_at: i64,
}

pub struct NewReport {
    pub ap_id: String,
    pub reporter: String,
    pub object: String,
    pub object_kind: String,
    pub community: Option<String>,
    pub target_actor: Option<String>,
    pub reason: String,
    pub local: bool,
    /// `Open`, or `Forwarded` when another node acts on it.
    pub state: ReportState,
}

const COLUMNS: &str = "id, ap_id, reporter, object, object_kind, community, target_actor, reason, \
                       state, local, resolved_by, resolution, resolved_at, created_at";

fn report_from_row(r: &QueryResult) -> Result<Report, DbErr> {
    Ok(Report {
        id: r.try_get("", "id")?,
        ap_id: r.try_get("", "ap_id")?,
        reporter: r.try_get("", "reporter")?,
        object: r.try_get("", "object")?,
        object_kind: r.try_get("", "object_kind")?,
        community: r.try_get("", "community")?,
        target_actor: r.try_get("", "target_actor")?,
        reason: r.try_get("", "reason")?,
        state: r.try_get("", "state")?,
        local: r.try_get("", "local")?,
        resolved_by: r.try_get("", "resolved_by")?,
        resolution: r.try_get("", "resolution")?,
        resolved_at: r.try_get("", "resolved_at")?,
        created_at: r.try_get("", "created_at")?,
    })
}

fn suspension_from_row(r: &QueryResult) -> Result<Suspension, DbErr> {
    Ok(Suspension {
        actor: r.try_get("", "actor")?,
        reason: r.try_get("", "reason")?,
        suspended_by: r.try_get("", "suspended_by")?,
        created_at: r.try_get("", "created_at")?,
    })
}

/// One actor's suspension on this node.
#[derive(Debug, Clone)]
pub struct Suspension {
    pub actor: String,
    pub reason: Option<String>,
    pub suspended_by: String,
    pub created_at: i64,
}

impl Db {
    /// Stores a report; a second one with the same id is ignored. Returns the stored report.
    pub async fn insert_report(&self, new: NewReport) -> Result<Report, DbErr> {
        Ok(self
            .insert_report_and_enqueue(new, Vec::new())
            .await?
            .without_jobs())
    }

    /// [`Db::insert_report`] and the jobs that deliver it, in one transaction.
    pub async fn insert_report_and_enqueue(
        &self,
        new: NewReport,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<Report>, DbErr> {
        async {
        let txn = self.begin().await?;
        txn.execute_raw(sql(
                self.backend(),
                "INSERT INTO reports (ap_id, reporter, object, object_kind, community, target_actor, \
                 reason, state, local, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9) \
                 ON CONFLICT (ap_id) DO NOTHING",
                vec![
                    new.ap_id.clone().into(),
                    new.reporter.into(),
                    new.object.into(),
                    new.object_kind.into(),
                    new.community.into(),
                    new.target_actor.into(),
                    new.reason.into(),
                    new.local.into(),
                    now_ms().into(),
                    new.state.into(),
                ],
            ))
            .await?;
        enqueue(&txn, jobs, now_ms()).await?;
        txn.commit().await?;
        self.report_by_ap_id(&new.ap_id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("report".into()))
        }
        .await
        .map(Queued)
    }

    pub async fn report_by_ap_id(&self, ap_id: &str) -> Result<Option<Report>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {COLUMNS} FROM reports WHERE ap_id = $1"),
                vec![ap_id.into()],
            ))
            .await?;
        rows.first().map(report_from_row).transpose()
    }

    pub async fn report(&self, id: i64) -> Result<Option<Report>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {COLUMNS} FROM reports WHERE id = $1"),
                vec![id.into()],
            ))
            .await?;
        rows.first().map(report_from_row).transpose()
    }

    /// A page of this node's queue: reports in `state` (every state but `forwarded` when
    /// `None`), newest first, below report id `before`; with `moderator`, only those about
    /// communities that actor moderates.
    pub async fn report_queue(
        &self,
        state: Option<ReportState>,
        moderator: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Page<Report>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!(
                    "SELECT {COLUMNS} FROM reports WHERE state <> 'forwarded' \
                     AND ($1 = '' OR state = $1) \
                     AND ($2 = '' OR community IN (SELECT community FROM memberships \
                          WHERE actor = $2 AND state = 'accepted' AND role IN ('owner', 'moderator'))) \
                     AND id < $4 ORDER BY id DESC LIMIT $3"
                ),
                vec![
                    state.map_or("", ReportState::as_str).into(),
                    moderator.unwrap_or_default().into(),
                    i64::try_from(rows_for(limit)).unwrap_or(i64::MAX).into(),
                    before.unwrap_or(i64::MAX).into(),
                ],
            ))
            .await?;
        let rows = rows
            .iter()
            .map(report_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(rows, limit))
    }

    /// Closes an open report; false when it was not open any more.
    pub async fn close_report(
        &self,
        id: i64,
        state: ReportState,
        by: &str,
        resolution: Option<&str>,
    ) -> Result<bool, DbErr> {
        let done = self
            .conn()
            .execute_raw(sql(
                self.backend(),
                "UPDATE reports SET state = $1, resolved_by = $2, resolution = $3, resolved_at = $4 \
                 WHERE id = $5 AND state = 'open'",
                vec![
                    state.into(),
                    by.into(),
                    resolution.map(str::to_string).into(),
                    now_ms().into(),
                    id.into(),
                ],
            ))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn suspend(&self, actor: &str, reason: Option<&str>, by: &str) -> Result<(), DbErr> {
        self.policy_write(sql(
                self.backend(),
                "INSERT INTO suspensions (actor, reason, suspended_by, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (actor) DO UPDATE SET reason = EXCLUDED.reason",
                vec![
                    actor.into(),
                    reason.map(str::to_string).into(),
                    by.into(),
                    now_ms().into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Lifts a suspension; false when there was none.
    pub async fn unsuspend(&self, actor: &str) -> Result<bool, DbErr> {
        let done = self
            .policy_write(sql(
                self.backend(),
                "DELETE FROM suspensions WHERE actor = $1",
                vec![actor.into()],
            ))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every suspension, newest first.
    pub async fn suspensions(&self) -> Result<Vec<Suspension>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT actor, reason, suspended_by, created_at FROM suspensions ORDER BY created_at DESC",
                vec![],
            ))
            .await?;
        rows.iter().map(suspension_from_row).collect()
    }

    /// A page of suspensions, newest first (ties by actor): at most `limit` after the one
    /// made at `after.0` of actor `after.1`.
    pub async fn suspensions_page(
        &self,
        after: Option<(i64, &str)>,
        limit: u64,
    ) -> Result<Page<Suspension>, DbErr> {
        let (at, actor) = after.unwrap_or((i64::MAX, ""));
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT actor, reason, suspended_by, created_at FROM suspensions \
                 WHERE created_at < $1 OR (created_at = $1 AND actor > $2) \
                 ORDER BY created_at DESC, actor LIMIT $3",
                vec![
                    at.into(),
                    actor.into(),
                    i64::try_from(rows_for(limit)).unwrap_or(i64::MAX).into(),
                ],
            ))
            .await?;
        let rows = rows
            .iter()
            .map(suspension_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn suspension(&self, actor: &str) -> Result<Option<Suspension>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT actor, reason, suspended_by, created_at FROM suspensions WHERE actor = $1",
                vec![actor.into()],
            ))
            .await?;
        rows.first().map(suspension_from_row).transpose()
    }
}
