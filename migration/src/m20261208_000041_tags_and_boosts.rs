//! The hashtags of each post, so apps can open a tag's timeline: one row per post and tag
//! (folded to lower case), written with the post and replaced when it is edited. And members'
//! boosts of posts (Mastodon's reblogs): one row per member and post.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000041_tags_and_boosts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("post_tags")
                .col(big_integer("post_id"))
                .col(string_len("tag", 100))
                .primary_key(Index::create().col("post_id").col("tag"))
                .foreign_key(
                    ForeignKey::create()
                        .from("post_tags", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A tag's timeline: its posts, newest first.
        m.create_index(
            Index::create()
                .name("post_tags_tag_post_id")
                .table("post_tags")
                .col("tag")
                .col("post_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("boosts")
                .col(big_pk_auto("id"))
                .col(big_integer("post_id"))
                .col(big_integer("user_id"))
                .col(string("actor"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("boosts", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("boosts", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("boosts_post_id_actor")
                .table("boosts")
                .col("post_id")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;
        // A member's notifications read the boosts of their posts by time.
        m.create_index(
            Index::create()
                .name("boosts_created_at")
                .table("boosts")
                .col("created_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("boosts").to_owned())
            .await?;
        m.drop_table(Table::drop().table("post_tags").to_owned())
            .await
    }
}
