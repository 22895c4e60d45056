//! A post written on another node keeps the document its author's node signed (with its
//! integrity proof), so the community's node can serve it to replicas exactly as signed.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000013_signed_objects"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("posts")
                .add_column(text_null("signed_object"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("posts")
                .drop_column("signed_object")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
