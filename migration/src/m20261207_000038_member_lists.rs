//! What a member keeps for themselves through their apps: bookmarked posts, muted and blocked
//! accounts, lists of accounts, notifications dismissed one by one, and the `Idempotency-Key`s
//! of the posts they sent, so an app that retries a post does not post it twice.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000038_member_lists"
    }
}

/// The user a row belongs to, removed with the user.
fn owner(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "user_id")
        .to("users", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn unique(
    m: &SchemaManager<'_>,
    table: &'static str,
    cols: [&'static str; 2],
) -> Result<(), DbErr> {
    m.create_index(
        Index::create()
            .name(format!("{table}_{}_{}", cols[0], cols[1]))
            .table(table)
            .col(cols[0])
            .col(cols[1])
            .unique()
            .to_owned(),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("bookmarks")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(big_integer("post_id"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("bookmarks"))
                .foreign_key(
                    ForeignKey::create()
                        .from("bookmarks", "post_id")
                        .to("posts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "bookmarks", ["user_id", "post_id"]).await?;

        // Mutes hide an account's posts (and, with `notifications`, its notifications) from the
        // member; blocks hide both. `target` is the account's ActivityPub id.
        m.create_table(
            Table::create()
                .table("account_mutes")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("target"))
                .col(boolean("notifications"))
                .col(big_integer_null("expires_at"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("account_mutes"))
                .to_owned(),
        )
        .await?;
        unique(m, "account_mutes", ["user_id", "target"]).await?;
        m.create_table(
            Table::create()
                .table("account_blocks")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("target"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("account_blocks"))
                .to_owned(),
        )
        .await?;
        unique(m, "account_blocks", ["user_id", "target"]).await?;

        m.create_table(
            Table::create()
                .table("member_lists")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("title"))
                .col(string("replies_policy"))
                .col(boolean("exclusive"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("member_lists"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("member_list_accounts")
                .col(big_pk_auto("id"))
                .col(big_integer("list_id"))
                .col(string("target"))
                .foreign_key(
                    ForeignKey::create()
                        .from("member_list_accounts", "list_id")
                        .to("member_lists", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "member_list_accounts", ["list_id", "target"]).await?;

        m.create_table(
            Table::create()
                .table("notification_dismissals")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(big_integer("note_id"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("notification_dismissals"))
                .to_owned(),
        )
        .await?;
        unique(m, "notification_dismissals", ["user_id", "note_id"]).await?;

        // A key is taken before the post is made (`post_id` empty until then), so two requests
        // with one key cannot both post.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("key"))
                .col(big_integer_null("post_id"))
                .col(big_integer("created_at"))
                .foreign_key(&mut owner("idempotency_keys"))
                .to_owned(),
        )
        .await?;
        unique(m, "idempotency_keys", ["user_id", "key"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "notification_dismissals",
            "member_list_accounts",
            "member_lists",
            "account_blocks",
            "account_mutes",
            "bookmarks",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
