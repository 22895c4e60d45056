//! Solved questions and community insights: the reply a thread's author (or a moderator)
//! marked as its answer, and the indexes that let insights read a community's posts and
//! memberships over a window of time in one range scan each.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000036_insights"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("posts")
                .add_column(big_integer_null("answer_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("posts_community_published")
                .table("posts")
                .col("community")
                .col("published")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("memberships_community_created")
                .table("memberships")
                .col("community")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("article_revisions_article_created")
                .table("article_revisions")
                .col("article_id")
                .col("created_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("posts_community_published", "posts"),
            ("memberships_community_created", "memberships"),
            ("article_revisions_article_created", "article_revisions"),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table("posts")
                .drop_column("answer_id")
                .to_owned(),
        )
        .await
    }
}
