use sea_orm::entity::prelude::*;

/// An activity the inbox accepted; its id is processed at most once. Only a hash of the id is
/// the key; the id, type and actor are kept shortened for logs; the body is never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "received_activity_ids")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub id_hash: String,
    pub ap_id: String,
    pub kind: String,
    pub actor: String,
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
