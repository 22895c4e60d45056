//! Communities and discussions: charters, memberships (local and remote), threads and replies
//! (local and replicated), likes, and bans.
//!
//! Actors are referred to by their ActivityPub id, whether local or remote, so a replica and
//! the origin describe the same relations with the same values.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_discussions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table("communities")
                .add_column(text("charter").default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("communities")
                .add_column(string_null("banner_url"))
                .to_owned(),
        )
        .await?;
        for column in ["name", "summary", "outbox", "followers", "icon_url"] {
            m.alter_table(
                Table::alter()
                    .table("remote_actors")
                    .add_column(text_null(column))
                    .to_owned(),
            )
            .await?;
        }

        // Who belongs to which community. On the community's node: every member, local or
        // remote. On other nodes: their own users' memberships in remote communities.
        m.create_table(
            Table::create()
                .table("memberships")
                .col(big_pk_auto("id"))
                .col(string("community"))
                .col(string("actor"))
                .col(big_integer_null("user_id"))
                .col(string("role"))
                .col(string_null("title"))
                .col(string("state"))
                .col(string_null("follow_id"))
                .col(string_null("inbox"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("memberships", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("memberships_community_actor")
                .table("memberships")
                .col("community")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;

        // Threads (thread_id NULL) and replies, authored here or replicated from elsewhere.
        m.create_table(
            Table::create()
                .table("posts")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("community"))
                .col(string("author"))
                .col(big_integer_null("thread_id"))
                .col(big_integer_null("parent_id"))
                .col(text_null("title"))
                .col(text("content"))
                .col(text_null("source"))
                .col(text_null("summary"))
                .col(big_integer("published"))
                .col(big_integer_null("updated"))
                .col(boolean("deleted").default(false))
                .col(text_null("removed_reason"))
                .col(boolean("locked").default(false))
                .col(boolean("pinned").default(false))
                .col(integer("like_count").default(0))
                .col(boolean("local"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("posts", "thread_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("posts", "parent_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("posts_community_thread")
                .table("posts")
                .col("community")
                .col("thread_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("posts_thread")
                .table("posts")
                .col("thread_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("likes")
                .col(big_pk_auto("id"))
                .col(big_integer("post_id"))
                .col(string("actor"))
                .col(string_uniq("ap_id"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("likes", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("likes_post_actor")
                .table("likes")
                .col("post_id")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("bans")
                .col(big_pk_auto("id"))
                .col(string("community"))
                .col(string("actor"))
                .col(text_null("reason"))
                .col(big_integer_null("expires_at"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("bans_community_actor")
                .table("bans")
                .col("community")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;

        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["bans", "likes", "posts", "memberships"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
