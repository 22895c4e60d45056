//! Events: roundtables, workshops, webinars, owned by their community's node, with RSVPs,
//! capacity and a waitlist.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000005_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("events")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("community"))
                .col(string("organizer"))
                .col(text("title"))
                .col(text("description"))
                .col(big_integer("starts_at"))
                .col(big_integer("ends_at"))
                .col(string("timezone"))
                .col(text_null("place_name"))
                .col(text_null("place_address"))
                .col(double_null("latitude"))
                .col(double_null("longitude"))
                .col(text_null("online_url"))
                .col(integer_null("capacity"))
                .col(string("join_mode"))
                .col(text_null("external_url"))
                .col(string("status"))
                .col(string_null("category"))
                .col(integer("participant_count").default(0))
                .col(integer("sequence").default(0))
                .col(boolean("local"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("events_community_start")
                .table("events")
                .col("community")
                .col("starts_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("event_participants")
                .col(big_pk_auto("id"))
                .col(big_integer("event_id"))
                .col(string("actor"))
                .col(big_integer_null("user_id"))
                .col(string("state"))
                .col(string_null("join_id"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("event_participants", "event_id")
                        .to("events", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("event_participants_event_actor")
                .table("event_participants")
                .col("event_id")
                .col("actor")
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["event_participants", "events"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
