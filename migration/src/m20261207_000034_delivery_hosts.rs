//! The delivery queue keeps the head of each host's queue in a small table of its own, so a
//! claim reads the hosts that are due from one index instead of grouping every pending job.
//!
//! `delivery_hosts` has one row per host with pending jobs: `head_id` is the host's oldest
//! pending job (the only one that may be sent), `due_at` when it may next be claimed (the
//! head's `next_attempt_at`, or while a worker holds it, the end of that worker's lease; far in
//! the future while the peer is dead), `locked_by` the worker holding the lease.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000034_delivery_hosts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("delivery_hosts")
                .col(string("host").primary_key())
                .col(big_integer("head_id"))
                .col(big_integer("due_at"))
                .col(string_null("locked_by"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("delivery_hosts_due")
                .table("delivery_hosts")
                .col("due_at")
                .to_owned(),
        )
        .await?;
        // The hosts with pending jobs today: the head is the oldest pending job, due when it
        // is due or, if a worker holds it, when that lease ends.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO delivery_hosts (host, head_id, due_at, locked_by) \
                 SELECT j.host, j.id, \
                   CASE WHEN j.locked_until IS NOT NULL AND j.locked_until > j.next_attempt_at \
                        THEN j.locked_until ELSE j.next_attempt_at END, \
                   j.locked_by \
                 FROM delivery_jobs j \
                 WHERE j.id IN (SELECT MIN(h.id) FROM delivery_jobs h WHERE h.state = 'pending' GROUP BY h.host)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("delivery_hosts").to_owned())
            .await
    }
}
