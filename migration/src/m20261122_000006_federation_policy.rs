//! Federation policy: the node's mode (open, allowlist, blocklist) and the instances it lists
//! as partners or blocks.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000006_federation_policy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("node_settings")
                .col(string("key").primary_key())
                .col(text("value"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("instances")
                .col(string("domain").primary_key())
                .col(string("state"))
                .col(text_null("reason"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["instances", "node_settings"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
