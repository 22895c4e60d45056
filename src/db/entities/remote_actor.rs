use sea_orm::entity::prelude::*;

/// An actor of another server, as last fetched: where to deliver and which key it signs with.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_actors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub kind: String,
    pub host: String,
    pub preferred_username: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: String,
    pub public_key_pem: String,
    pub fetched_at: i64,
    pub name: Option<String>,
    pub summary: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub icon_url: Option<String>,
    /// For groups: `public`, `partners` or `members`, as the group's node publishes it.
    pub visibility: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
