//! A change stamp per community for its insights: `insight_stamps.stamp` grows in the same
//! transaction as every insert, delete, or update of a column insights read, in each table
//! they read (posts, memberships, articles, article revisions, events, RSVPs), by triggers,
//! so no write path (the inbox, the API, the CLI, another process) can change a figure
//! without moving the stamp. A closed window's figures are remembered under the stamp they
//! were computed at (`db::insights`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000040_insight_stamps"
    }
}

/// Each table insights read: the columns they read, and how a row names its community
/// (`{R}` is `NEW` or `OLD`).
const TABLES: [(&str, &str, &str); 6] = [
    (
        "posts",
        "ap_id, community, author, thread_id, title, content, published, deleted, removed_reason, answer_id",
        "{R}.community",
    ),
    ("memberships", "community, actor, state, created_at", "{R}.community"),
    (
        "articles",
        "ap_id, community, review_interval_days, last_reviewed_at, created_at",
        "{R}.community",
    ),
    (
        "article_revisions",
        "article_id, author, seq, created_at",
        "(SELECT community FROM articles WHERE id = {R}.article_id)",
    ),
    ("events", "community, capacity, starts_at, status", "{R}.community"),
    (
        "event_participants",
        "event_id, actor, state, created_at",
        "(SELECT community FROM events WHERE id = {R}.event_id)",
    ),
];

/// SQLite: bumps the stamp of the community `expr` names, if `condition` holds. The row is
/// made only when it is missing. `INSERT OR IGNORE` is not enough: SQLite lets the firing
/// statement's conflict handling override a trigger statement's, and a membership upsert from
/// the inbox then failed on the existing row with a UNIQUE error.
fn sqlite_bump(expr: &str, condition: &str) -> String {
    format!(
        "INSERT INTO insight_stamps (community, stamp) SELECT {expr}, 0 \
           WHERE {expr} IS NOT NULL AND {condition} \
           AND NOT EXISTS (SELECT 1 FROM insight_stamps WHERE community = {expr}); \
         UPDATE insight_stamps SET stamp = stamp + 1 WHERE community = {expr} AND {condition};"
    )
}

fn sqlite(table: &str, columns: &str, community: &str) -> Vec<String> {
    let new = community.replace("{R}", "NEW");
    let old = community.replace("{R}", "OLD");
    vec![
        format!(
            "CREATE TRIGGER insight_stamp_{table}_insert AFTER INSERT ON {table} BEGIN {} END",
            sqlite_bump(&new, "1 = 1")
        ),
        format!(
            "CREATE TRIGGER insight_stamp_{table}_delete AFTER DELETE ON {table} BEGIN {} END",
            sqlite_bump(&old, "1 = 1")
        ),
        format!(
            "CREATE TRIGGER insight_stamp_{table}_update AFTER UPDATE OF {columns} ON {table} \
             BEGIN {} {} END",
            sqlite_bump(&new, "1 = 1"),
            sqlite_bump(&old, &format!("{old} IS NOT {new}"))
        ),
    ]
}

/// PostgreSQL: one trigger per statement and kind of write, over the rows it wrote (a
/// row-level trigger would update the stamp row once per row, and many updates of one row in
/// one transaction grow slower and slower there). An update counts when a column insights read
/// changed, in the community before or after it.
fn postgres(table: &str, columns: &str, community: &str) -> Vec<String> {
    let of = |alias: &str| community.replace("{R}", alias);
    let changed: Vec<String> = columns
        .split(", ")
        .map(|c| format!("o.{c} IS DISTINCT FROM n.{c}"))
        .collect();
    let changed = changed.join(" OR ");
    let cases = [
        (
            "insert",
            "INSERT",
            "REFERENCING NEW TABLE AS n",
            format!("SELECT {} FROM n", of("n")),
        ),
        (
            "delete",
            "DELETE",
            "REFERENCING OLD TABLE AS o",
            format!("SELECT {} FROM o", of("o")),
        ),
        (
            "update",
            "UPDATE",
            "REFERENCING OLD TABLE AS o NEW TABLE AS n",
            format!(
                "SELECT {} FROM n JOIN o ON o.id = n.id WHERE {changed} \
                 UNION SELECT {} FROM n JOIN o ON o.id = n.id WHERE {changed}",
                of("n"),
                of("o")
            ),
        ),
    ];
    let mut statements = Vec::new();
    for (op, event, referencing, communities) in cases {
        statements.push(format!(
            "CREATE FUNCTION insight_stamp_{table}_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               INSERT INTO insight_stamps (community, stamp)
                 SELECT DISTINCT c, 1 FROM ({communities}) AS written(c) WHERE c IS NOT NULL
               ON CONFLICT (community) DO UPDATE SET stamp = insight_stamps.stamp + 1;
               RETURN NULL;
             END $$"
        ));
        statements.push(format!(
            "CREATE TRIGGER insight_stamp_{op} AFTER {event} ON {table} {referencing} \
             FOR EACH STATEMENT EXECUTE FUNCTION insight_stamp_{table}_{op}()"
        ));
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE TABLE insight_stamps (community TEXT NOT NULL PRIMARY KEY, stamp BIGINT NOT NULL)",
        )
        .await?;
        for (table, columns, community) in TABLES {
            let statements = match m.get_database_backend() {
                DbBackend::Postgres => postgres(table, columns, community),
                _ => sqlite(table, columns, community),
            };
            for sql in statements {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (table, _, _) in TABLES {
            let statements: Vec<String> = match m.get_database_backend() {
                DbBackend::Postgres => ["insert", "delete", "update"]
                    .iter()
                    .flat_map(|op| {
                        [
                            format!("DROP TRIGGER insight_stamp_{op} ON {table}"),
                            format!("DROP FUNCTION insight_stamp_{table}_{op}()"),
                        ]
                    })
                    .collect(),
                _ => ["insert", "delete", "update"]
                    .iter()
                    .map(|op| format!("DROP TRIGGER insight_stamp_{table}_{op}"))
                    .collect(),
            };
            for sql in statements {
                db.execute_unprepared(&sql).await?;
            }
        }
        db.execute_unprepared("DROP TABLE insight_stamps").await?;
        Ok(())
    }
}
