//! Full-text search over articles and discussions held by this node: an FTS5 table on SQLite,
//! a `tsvector` column with a GIN index on PostgreSQL. The application keeps it in step with
//! the content it indexes, in the same transactions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000004_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE search_documents (
                        kind TEXT NOT NULL,
                        ref_id BIGINT NOT NULL,
                        community TEXT NOT NULL,
                        title TEXT NOT NULL,
                        body TEXT NOT NULL,
                        tsv TSVECTOR NOT NULL,
                        PRIMARY KEY (kind, ref_id)
                    )",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE search_documents USING fts5(
                        kind UNINDEXED, ref_id UNINDEXED, community UNINDEXED, title, body,
                        tokenize = 'unicode61 remove_diacritics 2'
                    )",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE search_documents")
            .await?;
        Ok(())
    }
}
