//! What a member keeps to shape their own reading from apps: filters (a title, the contexts
//! they apply in, warn or hide, an optional end), their keywords and the statuses they name;
//! the hashtags they follow (their posts join the home timeline); and the domains they block
//! (their accounts' posts and notifications are left out for them).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000042_filters"
    }
}

fn owned_by_user(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "user_id")
        .to("users", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("filters")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string_len("title", 200))
                // The contexts, comma-separated: home, notifications, public, thread, account.
                .col(string_len("context", 100))
                .col(string_len("action", 10))
                .col(big_integer_null("expires_at"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owned_by_user("filters"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("filters_user_id")
                .table("filters")
                .col("user_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("filter_keywords")
                .col(big_pk_auto("id"))
                .col(big_integer("filter_id"))
                .col(string_len("keyword", 200))
                .col(boolean("whole_word"))
                .foreign_key(
                    ForeignKey::create()
                        .from("filter_keywords", "filter_id")
                        .to("filters", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("filter_keywords_filter_id")
                .table("filter_keywords")
                .col("filter_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("filter_statuses")
                .col(big_pk_auto("id"))
                .col(big_integer("filter_id"))
                .col(big_integer("post_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("filter_statuses", "filter_id")
                        .to("filters", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("filter_statuses", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("filter_statuses_filter_id_post_id")
                .table("filter_statuses")
                .col("filter_id")
                .col("post_id")
                .unique()
                .to_owned(),
        )
        .await?;
        for (table, column, len) in [
            ("followed_tags", "tag", 100),
            ("domain_blocks", "domain", 255),
        ] {
            m.create_table(
                Table::create()
                    .table(table)
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string_len(column, len))
                    .col(big_integer("created_at"))
                    .foreign_key(&mut owned_by_user(table))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name(format!("{table}_user_id_{column}"))
                    .table(table)
                    .col("user_id")
                    .col(column)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "domain_blocks",
            "followed_tags",
            "filter_statuses",
            "filter_keywords",
            "filters",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
