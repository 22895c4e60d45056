use sea_orm::entity::prelude::*;

/// An access token (and its refresh token) given to an OAuth app; only SHA-256 hashes of the
/// secrets are stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub refresh_hash: Option<String>,
    pub app_id: i64,
    /// None for an app-only token (`client_credentials`).
    pub user_id: Option<i64>,
    pub code_id: Option<i64>,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
