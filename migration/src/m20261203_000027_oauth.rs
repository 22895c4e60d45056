//! The OAuth 2 authorization server: registered apps (Mastodon's `POST /api/v1/apps`), their
//! short-lived single-use authorization codes, and the access and refresh tokens they were
//! given. Secrets, codes and tokens are stored as SHA-256 hashes only.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000027_oauth"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("oauth_apps")
                .col(big_pk_auto("id"))
                .col(string_uniq("client_id"))
                .col(string("secret_hash"))
                .col(string("name"))
                .col(string_null("website"))
                // One exact URI per line.
                .col(text("redirect_uris"))
                .col(string("scopes"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("oauth_codes")
                .col(big_pk_auto("id"))
                .col(string_uniq("code_hash"))
                .col(big_integer("app_id"))
                .col(big_integer("user_id"))
                .col(text("redirect_uri"))
                .col(string("scopes"))
                // The PKCE S256 challenge, when the app sent one.
                .col(string_null("challenge"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("used_at"))
                .col(big_integer("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_codes", "app_id")
                        .to("oauth_apps", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_codes", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("oauth_tokens")
                .col(big_pk_auto("id"))
                .col(string_uniq("token_hash"))
                .col(ColumnDef::new("refresh_hash").string().null().unique_key())
                .col(big_integer("app_id"))
                // None for an app-only token (`client_credentials`).
                .col(big_integer_null("user_id"))
                // The authorization code it came from: a replayed code revokes its tokens.
                .col(big_integer_null("code_id"))
                .col(string("scopes"))
                .col(big_integer("created_at"))
                .col(big_integer_null("expires_at"))
                .col(big_integer_null("last_used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_tokens", "app_id")
                        .to("oauth_apps", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, table, cols) in [
            (
                "oauth_tokens_user",
                "oauth_tokens",
                &["user_id", "app_id"][..],
            ),
            ("oauth_tokens_code", "oauth_tokens", &["code_id"][..]),
            ("oauth_codes_expiry", "oauth_codes", &["expires_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(*col);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["oauth_tokens", "oauth_codes", "oauth_apps"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
