//! The node foundation: local actors (one namespace for users, communities and the instance
//! actor), users and their API tokens, known remote actors, the inbox's dedupe log, the
//! persistent delivery queue and the health of peers.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Every local actor: `name` is unique across kinds, so a user and a community can never
        // share a WebFinger name.
        m.create_table(
            Table::create()
                .table("local_actors")
                .col(big_pk_auto("id"))
                .col(string("kind"))
                .col(string_uniq("name"))
                .col(string("display_name"))
                .col(text("summary"))
                .col(string_null("icon_url"))
                .col(text("public_key_pem"))
                .col(text("private_key_pem"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(big_pk_auto("id"))
                .col(big_integer_uniq("actor_id"))
                .col(text_null("password_hash"))
                .col(boolean("is_admin"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("users", "actor_id")
                        .to("local_actors", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("communities")
                .col(big_pk_auto("id"))
                .col(big_integer_uniq("actor_id"))
                .col(string("visibility"))
                .col(big_integer("owner_user_id"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("communities", "actor_id")
                        .to("local_actors", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("communities", "owner_user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string_uniq("token_hash"))
                .col(string("scopes"))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("api_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        // Actors of other servers, as last fetched and verified.
        m.create_table(
            Table::create()
                .table("remote_actors")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("kind"))
                .col(string("host"))
                .col(string("preferred_username"))
                .col(string("inbox"))
                .col(string_null("shared_inbox"))
                .col(string("key_id"))
                .col(text("public_key_pem"))
                .col(big_integer("fetched_at"))
                .to_owned(),
        )
        .await?;

        // Every activity id the inbox accepted: replays are answered without being processed.
        m.create_table(
            Table::create()
                .table("received_activities")
                .col(big_pk_auto("id"))
                .col(string_uniq("ap_id"))
                .col(string("kind"))
                .col(string("actor"))
                .col(text("body"))
                .col(big_integer("received_at"))
                .to_owned(),
        )
        .await?;

        // The persistent delivery queue: one row per (activity, inbox).
        m.create_table(
            Table::create()
                .table("delivery_jobs")
                .col(big_pk_auto("id"))
                .col(string("activity_id"))
                .col(big_integer("signer_actor_id"))
                .col(string("inbox"))
                .col(string("host"))
                .col(text("body"))
                .col(string("state"))
                .col(integer("attempts"))
                .col(big_integer("next_attempt_at"))
                .col(big_integer_null("locked_until"))
                .col(string_null("locked_by"))
                .col(text_null("last_error"))
                .col(big_integer("created_at"))
                .col(big_integer_null("finished_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("delivery_jobs", "signer_actor_id")
                        .to("local_actors", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("delivery_jobs_state_host")
                .table("delivery_jobs")
                .col("state")
                .col("host")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("delivery_jobs_activity_inbox")
                .table("delivery_jobs")
                .col("activity_id")
                .col("inbox")
                .unique()
                .to_owned(),
        )
        .await?;

        // Health of each remote host we deliver to.
        m.create_table(
            Table::create()
                .table("peers")
                .col(string("host").primary_key())
                .col(big_integer_null("first_failure_at"))
                .col(big_integer_null("last_success_at"))
                .col(big_integer_null("last_contact_at"))
                .col(boolean("dead"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "peers",
            "delivery_jobs",
            "received_activities",
            "remote_actors",
            "api_tokens",
            "communities",
            "users",
            "local_actors",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
