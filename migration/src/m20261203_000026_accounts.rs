//! Accounts people sign in to: users gain an email (verified or not), a state (active, pending
//! approval, suspended), a locale, a time zone and a sign-in lockout; mailed single-use links
//! (email verification, password reset) and invitation links, stored as hashes; browser
//! sessions shared by every process of the node; and the outgoing mail queue.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000026_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            string_null("email"),
            boolean("email_verified").default(false).to_owned(),
            string("state").default("active").to_owned(),
            string("locale").default("en").to_owned(),
            string("time_zone").default("UTC").to_owned(),
            integer("failed_sign_ins").default(0).to_owned(),
            big_integer_null("locked_until"),
        ];
        for column in columns {
            m.alter_table(Table::alter().table("users").add_column(column).to_owned())
                .await?;
        }
        // Emails are stored lowercased; one account per address.
        m.create_index(
            Index::create()
                .name("users_email")
                .table("users")
                .col("email")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("account_links")
                .col(big_pk_auto("id"))
                .col(string("kind"))
                .col(big_integer("user_id"))
                .col(string_uniq("token_hash"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("used_at"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("account_links", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("invitations")
                .col(big_pk_auto("id"))
                .col(string_uniq("token_hash"))
                .col(string("created_by"))
                .col(integer("max_uses"))
                .col(integer("uses"))
                .col(big_integer("expires_at"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("browser_sessions")
                .col(big_pk_auto("id"))
                .col(string_uniq("id_hash"))
                .col(big_integer_null("user_id"))
                .col(text("data"))
                .col(big_integer("expires_at"))
                .col(big_integer("created_at"))
                .col(big_integer("last_seen_at"))
                .col(text_null("user_agent"))
                .foreign_key(
                    ForeignKey::create()
                        .from("browser_sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("browser_sessions_user")
                .table("browser_sessions")
                .col("user_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("outgoing_mail")
                .col(big_pk_auto("id"))
                .col(string("to_addr"))
                .col(text("subject"))
                .col(text("text_body"))
                .col(text("html_body"))
                .col(integer("attempts"))
                .col(big_integer("next_attempt_at"))
                .col(big_integer_null("locked_until"))
                .col(big_integer_null("sent_at"))
                .col(big_integer_null("failed_at"))
                .col(text_null("last_error"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("outgoing_mail_due")
                .table("outgoing_mail")
                .col("sent_at")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "outgoing_mail",
            "browser_sessions",
            "invitations",
            "account_links",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.drop_index(Index::drop().name("users_email").table("users").to_owned())
            .await?;
        for column in [
            "email",
            "email_verified",
            "state",
            "locale",
            "time_zone",
            "failed_sign_ins",
            "locked_until",
        ] {
            m.alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
