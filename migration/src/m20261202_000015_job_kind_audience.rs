//! A delivery job names its activity's type and the community it belongs to (`audience`), so
//! the delivery worker decides without reading the body: whether the job is a handshake step,
//! and whether a confidential community's content may still go to the receiving host.
//! Jobs already queued get both from their bodies.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000015_job_kind_audience"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("delivery_jobs")
                .add_column(string("kind").default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("delivery_jobs")
                .add_column(string_null("audience"))
                .to_owned(),
        )
        .await?;
        let fill = match m.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE delivery_jobs SET kind = COALESCE(body::json->>'type', ''), \
                 audience = CASE WHEN json_typeof(body::json->'audience') = 'string' \
                 THEN body::json->>'audience' END"
            }
            _ => {
                "UPDATE delivery_jobs SET kind = COALESCE(json_extract(body, '$.type'), ''), \
                 audience = CASE WHEN json_type(body, '$.audience') = 'text' \
                 THEN json_extract(body, '$.audience') END \
                 WHERE json_valid(body)"
            }
        };
        m.get_connection().execute_unprepared(fill).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["kind", "audience"] {
            m.alter_table(
                Table::alter()
                    .table("delivery_jobs")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
