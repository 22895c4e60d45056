//! Images: the ones members upload (with their bytes, metadata already stripped, and a preview)
//! and the ones posts from other servers carry (kept as their remote URLs). An upload belongs
//! to its uploader until a post takes it; the post's deletion takes its images with it.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000030_media"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("media")
                .col(big_pk_auto("id"))
                .col(string_uniq("key"))
                .col(string("owner"))
                .col(big_integer_null("post_id"))
                .col(integer("position"))
                .col(text_null("remote_url"))
                .col(string("media_type"))
                .col(text_null("description"))
                .col(double_null("focus_x"))
                .col(double_null("focus_y"))
                .col(integer_null("width"))
                .col(integer_null("height"))
                .col(integer_null("preview_width"))
                .col(integer_null("preview_height"))
                .col(big_integer("size"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("media", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("media_post")
                .table("media")
                .col("post_id")
                .col("position")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("media_owner")
                .table("media")
                .col("owner")
                .to_owned(),
        )
        .await?;
        // The bytes apart from the rows, so listing a post's images never reads them.
        m.create_table(
            Table::create()
                .table("media_files")
                .col(big_integer("media_id").primary_key())
                .col(ColumnDef::new("original").blob().not_null())
                .col(ColumnDef::new("preview").blob().not_null())
                .col(string("preview_type"))
                .foreign_key(
                    ForeignKey::create()
                        .from("media_files", "media_id")
                        .to("media", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("media_files").to_owned())
            .await?;
        m.drop_table(Table::drop().table("media").to_owned()).await
    }
}
