//! The inbox's durable record: an activity that passed every check of the request (signature,
//! policy, origin, suspension, rate) is kept here, whole, in the statement that also dedupes it,
//! before its sender hears 202. Workers apply the rows in arrival order, one lane per group of
//! the things activities are about, and delete each row in the transaction that records its id as received, so a crash
//! replays exactly the rows it had not finished. `inbox_applier` is the lease that lets one
//! process at a time apply them.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000044_inbox_pending"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("inbox_pending")
                .col(big_pk_auto("id"))
                // SHA-256 of the activity id, as in `received_activity_ids`.
                .col(string_len_uniq("id_hash", 64))
                .col(text("actor"))
                // A hash of what the activity is about: rows about one thing share a lane and
                // keep their order.
                .col(integer("lane"))
                // Only the partnership handshake may be applied (the sender is no partner yet).
                .col(boolean("handshake_only"))
                .col(text("body"))
                .col(big_integer("received_at"))
                .col(integer("attempts").default(0))
                .col(big_integer("due_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("inbox_pending_lane_due")
                .table("inbox_pending")
                .col("lane")
                .col("due_at")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("inbox_applier")
                .col(integer("id").primary_key())
                .col(string_len("holder", 200))
                .col(big_integer("until"))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table("inbox_applier")
                .columns(["id", "holder", "until"])
                .values_panic([1.into(), "".into(), 0i64.into()])
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("inbox_applier").to_owned())
            .await?;
        m.drop_table(Table::drop().table("inbox_pending").to_owned())
            .await
    }
}
