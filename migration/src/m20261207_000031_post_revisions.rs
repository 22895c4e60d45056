//! The earlier versions of edited posts (threads and replies), so apps can show a post's
//! history: each edit keeps the version it replaces, in the edit's transaction.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000031_post_revisions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("post_revisions")
                .col(big_pk_auto("id"))
                .col(big_integer("post_id"))
                .col(text_null("title"))
                .col(text("content"))
                .col(text_null("source"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("post_revisions", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("post_revisions_post")
                .table("post_revisions")
                .col("post_id")
                .col("id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("post_revisions").to_owned())
            .await
    }
}
