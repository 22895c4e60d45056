use sea_orm::entity::prelude::*;

/// An app registered for OAuth (Mastodon's `POST /api/v1/apps`); only the SHA-256 of its
/// client secret is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_apps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub client_id: String,
    pub secret_hash: String,
    pub name: String,
    pub website: Option<String>,
    /// The redirect URIs it may use, one per line, each matched exactly.
    pub redirect_uris: String,
    /// The most it may ask for.
    pub scopes: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
