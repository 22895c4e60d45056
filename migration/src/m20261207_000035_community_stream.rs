//! A hosted community's stream: every activity it sends its followers, numbered from 1 in the
//! order it sent them, kept so a node that joins late or was away reads what it missed from a
//! position on; and each replica's place in the stream of a community hosted elsewhere.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000035_community_stream"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("community_stream")
                .col(big_pk_auto("id"))
                .col(string("community"))
                .col(big_integer("position"))
                .col(text("activity"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("community_stream_position")
                .table("community_stream")
                .col("community")
                .col("position")
                .unique()
                .to_owned(),
        )
        .await?;
        // The last position of each hosted community: taken and raised in the transaction that
        // appends, so positions have no gaps and no two appends share one.
        m.create_table(
            Table::create()
                .table("community_stream_heads")
                .col(string("community").primary_key())
                .col(big_integer("position"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("replica_sync")
                .col(string("community").primary_key())
                .col(big_integer("position"))
                .col(big_integer("host_position"))
                .col(big_integer("pages"))
                .col(big_integer("applied"))
                .col(big_integer("skipped"))
                .col(string_null("last_error"))
                .col(big_integer("started_at"))
                .col(big_integer("updated_at"))
                .col(big_integer_null("finished_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["replica_sync", "community_stream_heads", "community_stream"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
