//! Inbox rate limits kept in the database, so every process of a node shares one budget per
//! sending host.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000009_inbox_rate"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("inbox_rate")
                .col(string("host").primary_key())
                .col(double("tokens"))
                .col(boolean("taken"))
                .col(big_integer("updated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("inbox_rate").to_owned())
            .await?;
        Ok(())
    }
}
