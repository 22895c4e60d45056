//! The OAuth 2 store: apps, authorization codes and the tokens given to apps. Every secret is
//! looked up by its SHA-256 hash. Using a code and rotating a refresh token are compare-and-set
//! updates, so two requests racing with the same secret never both succeed.

use crate::db::{
    entities::{oauth_app, oauth_code, oauth_token},
    now_ms, Db, DbErr,
};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

pub use oauth_app::Model as OAuthApp;
pub use oauth_code::Model as OAuthCode;
pub use oauth_token::Model as OAuthToken;

/// An app to register.
pub struct NewApp<'a> {
    pub client_id: &'a str,
    pub secret_hash: &'a str,
    pub name: &'a str,
    pub website: Option<&'a str>,
    pub redirect_uris: &'a [String],
    pub scopes: &'a str,
}

/// An authorization code to store.
pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub app_id: i64,
    pub user_id: i64,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub challenge: Option<&'a str>,
    pub expires_at: i64,
}

/// A token to store for an app.
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub refresh_hash: Option<&'a str>,
    pub app_id: i64,
    pub user_id: Option<i64>,
    pub code_id: Option<i64>,
    pub scopes: &'a str,
    pub expires_at: Option<i64>,
}

/// What presenting a code found.
pub enum CodeUse {
    /// Unused until now: it is used from here on.
    First(OAuthCode),
    /// Used before: a replay.
    Again(OAuthCode),
    Unknown,
}

/// One app a user has authorized, with how many live tokens it holds.
pub struct Authorized {
    pub app: OAuthApp,
    pub tokens: u64,
    pub scopes: String,
    pub since: i64,
}

impl Db {
    pub async fn insert_app(&self, new: NewApp<'_>) -> Result<OAuthApp, DbErr> {
        oauth_app::ActiveModel {
            client_id: Set(new.client_id.to_string()),
            secret_hash: Set(new.secret_hash.to_string()),
            name: Set(new.name.to_string()),
            website: Set(new.website.map(str::to_string)),
            redirect_uris: Set(new.redirect_uris.join("\n")),
            scopes: Set(new.scopes.to_string()),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(self.conn())
        .await
    }

    pub async fn app_by_client_id(&self, client_id: &str) -> Result<Option<OAuthApp>, DbErr> {
        oauth_app::Entity::find()
            .filter(oauth_app::Column::ClientId.eq(client_id))
            .one(self.conn())
            .await
    }

    pub async fn app(&self, id: i64) -> Result<Option<OAuthApp>, DbErr> {
        oauth_app::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn insert_code(&self, new: NewCode<'_>) -> Result<i64, DbErr> {
        let row = oauth_code::ActiveModel {
            code_hash: Set(new.code_hash.to_string()),
            app_id: Set(new.app_id),
            user_id: Set(new.user_id),
            redirect_uri: Set(new.redirect_uri.to_string()),
            scopes: Set(new.scopes.to_string()),
            challenge: Set(new.challenge.map(str::to_string)),
            expires_at: Set(new.expires_at),
            used_at: Set(None),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(self.conn())
        .await?;
        Ok(row.id)
    }

    /// Marks a code used, telling whether this was its first use.
    pub async fn use_code(&self, code_hash: &str) -> Result<CodeUse, DbErr> {
        let done = oauth_code::Entity::update_many()
            .col_expr(oauth_code::Column::UsedAt, Expr::value(now_ms()))
            .filter(oauth_code::Column::CodeHash.eq(code_hash))
            .filter(oauth_code::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?;
        let row = oauth_code::Entity::find()
            .filter(oauth_code::Column::CodeHash.eq(code_hash))
            .one(self.conn())
            .await?;
        Ok(match row {
            Some(code) if done.rows_affected == 1 => CodeUse::First(code),
            Some(code) => CodeUse::Again(code),
            None => CodeUse::Unknown,
        })
    }

    /// Revokes every token that came from a code (and from refreshing them).
    pub async fn revoke_code_tokens(&self, code_id: i64) -> Result<u64, DbErr> {
        let done = oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::CodeId.eq(code_id))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }

    pub async fn insert_oauth_token(&self, new: NewToken<'_>) -> Result<OAuthToken, DbErr> {
        insert_token(self.conn(), new).await
    }

    /// The token with this access-token hash, expired or not.
    pub async fn oauth_token(&self, token_hash: &str) -> Result<Option<OAuthToken>, DbErr> {
        oauth_token::Entity::find()
            .filter(oauth_token::Column::TokenHash.eq(token_hash))
            .one(self.conn())
            .await
    }

    pub async fn oauth_token_by_refresh(
        &self,
        refresh_hash: &str,
    ) -> Result<Option<OAuthToken>, DbErr> {
        oauth_token::Entity::find()
            .filter(oauth_token::Column::RefreshHash.eq(refresh_hash))
            .one(self.conn())
            .await
    }

    /// Replaces token `old` by `new` in one transaction; None when `old` was already replaced
    /// or revoked (a refresh token is good for one refresh).
    pub async fn rotate_oauth_token(
        &self,
        old: i64,
        new: NewToken<'_>,
    ) -> Result<Option<OAuthToken>, DbErr> {
        let txn = self.conn().begin().await?;
        let gone = oauth_token::Entity::delete_by_id(old).exec(&txn).await?;
        if gone.rows_affected != 1 {
            return Ok(None);
        }
        let token = insert_token(&txn, new).await?;
        txn.commit().await?;
        Ok(Some(token))
    }

    pub async fn delete_oauth_token(&self, id: i64) -> Result<bool, DbErr> {
        let done = oauth_token::Entity::delete_by_id(id)
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// The apps holding tokens for a user, the most recently authorized first.
    pub async fn authorized_apps(&self, user_id: i64) -> Result<Vec<Authorized>, DbErr> {
        let tokens = oauth_token::Entity::find()
            .filter(oauth_token::Column::UserId.eq(user_id))
            .order_by_desc(oauth_token::Column::Id)
            .all(self.conn())
            .await?;
        let mut out: Vec<Authorized> = Vec::new();
        for token in tokens {
            if let Some(seen) = out.iter_mut().find(|a| a.app.id == token.app_id) {
                seen.tokens += 1;
                seen.since = seen.since.min(token.created_at);
                continue;
            }
            if let Some(app) = self.app(token.app_id).await? {
                out.push(Authorized {
                    app,
                    tokens: 1,
                    scopes: token.scopes,
                    since: token.created_at,
                });
            }
        }
        Ok(out)
    }

    /// Revokes every token a user gave an app; how many there were.
    pub async fn revoke_app(&self, user_id: i64, app_id: i64) -> Result<u64, DbErr> {
        let done = oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::UserId.eq(user_id))
            .filter(oauth_token::Column::AppId.eq(app_id))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }

    /// Drops codes that expired before `before` (a used one is kept until then, to detect a
    /// replay).
    pub async fn sweep_codes(&self, before: i64) -> Result<u64, DbErr> {
        let done = oauth_code::Entity::delete_many()
            .filter(oauth_code::Column::ExpiresAt.lt(before))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }
}

async fn insert_token(
    conn: &impl sea_orm::ConnectionTrait,
    new: NewToken<'_>,
) -> Result<OAuthToken, DbErr> {
    oauth_token::ActiveModel {
        token_hash: Set(new.token_hash.to_string()),
        refresh_hash: Set(new.refresh_hash.map(str::to_string)),
        app_id: Set(new.app_id),
        user_id: Set(new.user_id),
        code_id: Set(new.code_id),
        scopes: Set(new.scopes.to_string()),
        created_at: Set(now_ms()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await
}
