//! Knowledge articles and events as statuses in Mastodon apps: each gets a status id from the
//! posts' own sequence, so Mastodon ids stay numeric, unique across the three kinds and ordered
//! by arrival among posts. `status_refs` holds those ids; every existing article and event gets
//! one here, the oldest first (the application reserves one in the transaction that stores
//! each new article or event, with the same statements).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000043_status_refs"
    }
}

/// Takes the next id of the posts' sequence (PostgreSQL: the `bigserial` sequence; SQLite:
/// the `AUTOINCREMENT` counter in `sqlite_sequence`, created from the largest post id if no
/// post was ever stored).
async fn reserve<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = match backend {
        DbBackend::Postgres => {
            db.query_one_raw(Statement::from_string(
                backend,
                "SELECT nextval(pg_get_serial_sequence('posts', 'id')) AS id",
            ))
            .await?
        }
        _ => {
            db.execute_unprepared(
                "INSERT OR IGNORE INTO sqlite_sequence(name, seq) \
                 SELECT 'posts', COALESCE(MAX(id), 0) FROM posts \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'posts')",
            )
            .await?;
            db.query_one_raw(Statement::from_string(
                backend,
                "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'posts' RETURNING seq AS id",
            ))
            .await?
        }
    };
    row.ok_or_else(|| DbErr::Custom("no id from the posts' sequence".into()))?
        .try_get("", "id")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("status_refs")
                .col(big_integer("id").primary_key())
                .col(big_integer_null("article_id").unique_key())
                .col(big_integer_null("event_id").unique_key())
                .col(string("community"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("status_refs", "article_id")
                        .to("articles", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("status_refs", "event_id")
                        .to("events", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("status_refs_community_id")
                .table("status_refs")
                .col("community")
                .col("id")
                .to_owned(),
        )
        .await?;
        // Every article and event stored so far, the oldest first.
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT 'a' AS kind, id, community, created_at FROM articles \
                 UNION ALL SELECT 'e' AS kind, id, community, created_at FROM events \
                 ORDER BY created_at, kind, id",
            ))
            .await?;
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            let id: i64 = row.try_get("", "id")?;
            let community: String = row.try_get("", "community")?;
            let created_at: i64 = row.try_get("", "created_at")?;
            let status_id = reserve(db).await?;
            let (article, event) = if kind == "a" {
                (Some(id), None)
            } else {
                (None, Some(id))
            };
            let insert = Query::insert()
                .into_table("status_refs")
                .columns(["id", "article_id", "event_id", "community", "created_at"])
                .values([
                    status_id.into(),
                    article.into(),
                    event.into(),
                    community.into(),
                    created_at.into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .to_owned();
            m.exec_stmt(insert).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("status_refs").to_owned())
            .await
    }
}
