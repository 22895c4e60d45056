//! Single sign-on: the identities people sign in with at an OpenID Connect provider, each
//! (issuer, subject) linked to one local user.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000028_sso"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("user_identities")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("issuer"))
                .col(string("subject"))
                .col(string_null("email"))
                .col(big_integer("created_at"))
                .col(big_integer("last_used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("user_identities", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("user_identities_issuer_subject")
                .table("user_identities")
                .col("issuer")
                .col("subject")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("user_identities_user")
                .table("user_identities")
                .col("user_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("user_identities").to_owned())
            .await
    }
}
