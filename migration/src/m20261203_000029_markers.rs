//! Where each user stopped reading a timeline (Mastodon's markers: `home`, `notifications`),
//! so their apps resume there on every device.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000029_markers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("read_markers")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("timeline"))
                .col(string("last_read_id"))
                .col(integer("version"))
                .col(big_integer("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("read_markers", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("read_markers_user_timeline")
                .table("read_markers")
                .col("user_id")
                .col("timeline")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("read_markers").to_owned())
            .await
    }
}
