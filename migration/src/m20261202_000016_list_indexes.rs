//! Indexes in the order lists are paged (issue 11): a page of members, bans, participants,
//! replies, tokens, articles or suspensions reads its rows in index order past its cursor,
//! whatever the size of the list.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000016_list_indexes"
    }
}

/// (index, table, columns)
const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "memberships_community_id",
        "memberships",
        &["community", "id"],
    ),
    ("bans_community_id", "bans", &["community", "id"]),
    (
        "event_participants_event_id",
        "event_participants",
        &["event_id", "id"],
    ),
    (
        "posts_thread_published",
        "posts",
        &["thread_id", "published", "id"],
    ),
    ("api_tokens_user_id", "api_tokens", &["user_id", "id"]),
    (
        "articles_community_title",
        "articles",
        &["community", "title", "id"],
    ),
    (
        "suspensions_created_actor",
        "suspensions",
        &["created_at", "actor"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(*table);
            for column in *columns {
                index.col(*column);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
