//! Knowledge articles: each owned by its community's node, with every revision stored as full
//! text (so reading any revision is one row), slugs that survive renames, and the edits this
//! node's members proposed to articles owned elsewhere.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_articles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("articles")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("community"))
                .col(text("title"))
                .col(string("slug"))
                .col(string("current_rev"))
                .col(boolean("protected").default(false))
                .col(integer_null("review_interval_days"))
                .col(big_integer_null("last_reviewed_at"))
                .col(string_null("last_reviewed_by"))
                .col(boolean("local"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("articles_community_slug")
                .table("articles")
                .col("community")
                .col("slug")
                .unique()
                .to_owned(),
        )
        .await?;

        // Every slug an article ever had, so old links keep working after a rename.
        m.create_table(
            Table::create()
                .table("article_slugs")
                .col(big_pk_auto("id"))
                .col(big_integer("article_id"))
                .col(string("community"))
                .col(string("slug"))
                .foreign_key(
                    ForeignKey::create()
                        .from("article_slugs", "article_id")
                        .to("articles", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("article_slugs_community_slug")
                .table("article_slugs")
                .col("community")
                .col("slug")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("article_revisions")
                .col(big_pk_auto("id"))
                .col(big_integer("article_id"))
                .col(string_uniq("rev_id"))
                .col(string_null("parent_rev"))
                .col(string("author"))
                .col(text("message"))
                .col(text("title"))
                .col(text("content"))
                .col(integer("seq"))
                .col(string_null("edit_id"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("article_revisions", "article_id")
                        .to("articles", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("article_revisions_article_seq")
                .table("article_revisions")
                .col("article_id")
                .col("seq")
                .unique()
                .to_owned(),
        )
        .await?;

        // Edits (and new articles) this node's members proposed to a community elsewhere.
        m.create_table(
            Table::create()
                .table("article_edits")
                .col(big_pk_auto("id"))
                .col(string_uniq("edit_id"))
                .col(string_null("article"))
                .col(string("community"))
                .col(big_integer("user_id"))
                .col(string_null("base_rev"))
                .col(text_null("title"))
                .col(text("content"))
                .col(text("message"))
                .col(string("state"))
                .col(string_null("result_rev"))
                .col(text_null("conflict"))
                .col(string_null("latest_rev"))
                .col(text_null("reason"))
                .col(big_integer("created_at"))
                .col(big_integer_null("decided_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("article_edits", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "article_edits",
            "article_revisions",
            "article_slugs",
            "articles",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
