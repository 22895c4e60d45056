//! `received_activities` (with every body) becomes `received_activity_ids`. The inbox keeps only
//! what it needs to answer replays: a hash of each accepted activity's
//! id (unique), a short copy of the id, type and actor for logs, and when it arrived; no
//! bodies. Rows are pruned once the signature window makes a replay impossible.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};
use sha2::{Digest, Sha256};

/// The key of a received id: SHA-256 of the id, in hex (the application computes the same).
fn id_hash(ap_id: &str) -> String {
    Sha256::digest(ap_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first 200 characters, as the application stores them.
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000014_received_ids"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too, so every statement sees the ones before it and a failure
    /// leaves the old table in place.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A new table beside the old one, filled with the ids that still matter; then the old
        // one goes.
        m.create_table(
            Table::create()
                .table("received_activity_ids")
                .col(big_pk_auto("id"))
                .col(string_uniq("id_hash"))
                .col(string("ap_id"))
                .col(string("kind"))
                .col(string("actor"))
                .col(big_integer("received_at"))
                .to_owned(),
        )
        .await?;
        // Ids of the last day may still be replayed within a signature window: keep them,
        // hashed. Older ones are past any window and are dropped with the bodies.
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let since = now_ms() - 86_400_000;
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => "SELECT ap_id, kind, actor, received_at FROM received_activities WHERE received_at >= $1",
                    _ => "SELECT ap_id, kind, actor, received_at FROM received_activities WHERE received_at >= ?",
                },
                [since.into()],
            ))
            .await?;
        for row in rows {
            let ap_id: String = row.try_get("", "ap_id")?;
            let kind: String = row.try_get("", "kind")?;
            let actor: String = row.try_get("", "actor")?;
            let received_at: i64 = row.try_get("", "received_at")?;
            let insert = Query::insert()
                .into_table("received_activity_ids")
                .columns(["id_hash", "ap_id", "kind", "actor", "received_at"])
                .values([
                    id_hash(&ap_id).into(),
                    short(&ap_id).into(),
                    short(&kind).into(),
                    short(&actor).into(),
                    received_at.into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .to_owned();
            m.exec_stmt(insert).await?;
        }
        m.drop_table(Table::drop().table("received_activities").to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_received_activity_ids_received_at")
                .table("received_activity_ids")
                .col("received_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("received_activity_ids").to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table("received_activities")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("kind"))
                .col(string("actor"))
                .col(text("body"))
                .col(big_integer("received_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
