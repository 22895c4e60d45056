//! What notifications need that no other row records: who a post mentions (the people the
//! node notifies, and the tags its documents carry), and when an event's organizer or its node answered
//! someone's RSVP (so the participant hears of the decision).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000032_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("post_mentions")
                .col(big_pk_auto("id"))
                .col(big_integer("post_id"))
                .col(string("actor"))
                .col(string("name"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("post_mentions", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("post_mentions_post_actor")
                .table("post_mentions")
                .col("post_id")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("post_mentions_actor_time")
                .table("post_mentions")
                .col("actor")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("event_participants")
                .add_column(big_integer_null("decided_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("event_participants_user_decided")
                .table("event_participants")
                .col("user_id")
                .col("decided_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("event_participants_user_decided")
                .table("event_participants")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("event_participants")
                .drop_column("decided_at")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("post_mentions").to_owned())
            .await
    }
}
