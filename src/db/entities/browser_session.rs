use sea_orm::entity::prelude::*;

/// A browser session: its id is the cookie's secret, so only its SHA-256 is stored; `data` is
/// the session's JSON; `user_id` and `user_agent` are copied out of it so a user's sessions
/// can be listed and revoked per device.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "browser_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub id_hash: String,
    pub user_id: Option<i64>,
    pub data: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
