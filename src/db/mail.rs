//! The outgoing mail queue: messages are written here first and sent by the mail workers, so a
//! crash or an unreachable SMTP server loses none. A claim is a compare-and-set on the row's
//! lease, so several processes share the queue and each message is sent by one of them.

use crate::db::{entities::outgoing_mail, now_ms, Db, DbErr};
use sea_orm::{
    sea_query::{Condition, Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

pub use outgoing_mail::Model as QueuedMail;

/// A message to queue.
pub struct NewMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Db {
    pub async fn enqueue_mail(&self, mail: NewMail) -> Result<i64, DbErr> {
        let now = now_ms();
        let row = outgoing_mail::ActiveModel {
            to_addr: Set(mail.to),
            subject: Set(mail.subject),
            text_body: Set(mail.text),
            html_body: Set(mail.html),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            sent_at: Set(None),
            failed_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(self.conn())
        .await?;
        Ok(row.id)
    }

    /// Claims the oldest due message for `lease_ms`, if any.
    pub async fn claim_mail(&self, lease_ms: i64) -> Result<Option<QueuedMail>, DbErr> {
        let now = now_ms();
        let free = Condition::any()
            .add(outgoing_mail::Column::LockedUntil.is_null())
            .add(outgoing_mail::Column::LockedUntil.lt(now));
        let candidates = outgoing_mail::Entity::find()
            .filter(outgoing_mail::Column::SentAt.is_null())
            .filter(outgoing_mail::Column::FailedAt.is_null())
            .filter(outgoing_mail::Column::NextAttemptAt.lte(now))
            .filter(free.clone())
            .order_by_asc(outgoing_mail::Column::NextAttemptAt)
            .order_by_asc(outgoing_mail::Column::Id)
            .limit(5)
            .all(self.conn())
            .await?;
        for mail in candidates {
            let done = outgoing_mail::Entity::update_many()
                .col_expr(
                    outgoing_mail::Column::LockedUntil,
                    Expr::value(Some(now + lease_ms)),
                )
                .filter(outgoing_mail::Column::Id.eq(mail.id))
                .filter(outgoing_mail::Column::SentAt.is_null())
                .filter(free.clone())
                .exec(self.conn())
                .await?;
            if done.rows_affected == 1 {
                return Ok(Some(mail));
            }
        }
        Ok(None)
    }

    pub async fn mail_sent(&self, id: i64) -> Result<(), DbErr> {
        outgoing_mail::Entity::update_many()
            .col_expr(outgoing_mail::Column::SentAt, Expr::value(Some(now_ms())))
            .col_expr(
                outgoing_mail::Column::LockedUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                outgoing_mail::Column::Attempts,
                Expr::col(outgoing_mail::Column::Attempts).add(1),
            )
            .filter(outgoing_mail::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `next_attempt_at`, or given up when None.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<i64>,
    ) -> Result<(), DbErr> {
        let error: String = error.chars().take(1000).collect();
        let mut update = outgoing_mail::Entity::update_many()
            .col_expr(outgoing_mail::Column::LastError, Expr::value(Some(error)))
            .col_expr(
                outgoing_mail::Column::LockedUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                outgoing_mail::Column::Attempts,
                Expr::col(outgoing_mail::Column::Attempts).add(1),
            );
        update = match next_attempt_at {
            Some(at) => update.col_expr(outgoing_mail::Column::NextAttemptAt, Expr::value(at)),
            None => update.col_expr(outgoing_mail::Column::FailedAt, Expr::value(Some(now_ms()))),
        };
        update
            .filter(outgoing_mail::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Messages queued for `to`, oldest first (for admins and tests).
    pub async fn mail_to(&self, to: &str) -> Result<Vec<QueuedMail>, DbErr> {
        outgoing_mail::Entity::find()
            .filter(outgoing_mail::Column::ToAddr.eq(to))
            .order_by_asc(outgoing_mail::Column::Id)
            .all(self.conn())
            .await
    }

    /// Forgets messages sent or given up before `before` (Unix ms).
    pub async fn purge_mail(&self, before: i64) -> Result<u64, DbErr> {
        let done = outgoing_mail::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(outgoing_mail::Column::SentAt.lt(before))
                    .add(outgoing_mail::Column::FailedAt.lt(before)),
            )
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }
}
