use sea_orm::entity::prelude::*;

/// A user, community or the instance actor of this node; `name` is unique across kinds.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "local_actors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    #[sea_orm(unique)]
    pub name: String,
    pub display_name: String,
    pub summary: String,
    pub icon_url: Option<String>,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
