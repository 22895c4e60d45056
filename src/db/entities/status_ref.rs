use sea_orm::entity::prelude::*;

/// The status id of a knowledge article or an event in Mastodon apps, taken from the posts'
/// sequence when the article or event was stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_refs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    #[sea_orm(unique)]
    pub article_id: Option<i64>,
    #[sea_orm(unique)]
    pub event_id: Option<i64>,
    pub community: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
