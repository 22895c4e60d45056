//! Partnership handshakes between instance actors, community visibility as replicas learn it,
//! reports (`Flag`) with their moderation state, and instance-level suspensions.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000008_partnerships_reports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (table, column) in [
            ("instances", "peer_actor"),
            ("instances", "follow_id"),
            ("remote_actors", "visibility"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(text_null(column))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table("reports")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(text("reporter"))
                .col(text("object"))
                .col(string("object_kind"))
                .col(text_null("community"))
                .col(text_null("target_actor"))
                .col(text("reason"))
                .col(string("state"))
                .col(boolean("local"))
                .col(text_null("resolved_by"))
                .col(text_null("resolution"))
                .col(big_integer_null("resolved_at"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("reports_state")
                .table("reports")
                .col("state")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("suspensions")
                .col(string("actor").primary_key())
                .col(text_null("reason"))
                .col(text("suspended_by"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["suspensions", "reports"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for (table, column) in [
            ("remote_actors", "visibility"),
            ("instances", "follow_id"),
            ("instances", "peer_actor"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
