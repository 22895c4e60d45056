use sea_orm::entity::prelude::*;

/// A knowledge article, owned by its community's node.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub community: String,
    pub title: String,
    pub slug: String,
    pub current_rev: String,
    pub protected: bool,
    pub review_interval_days: Option<i32>,
    pub last_reviewed_at: Option<i64>,
    pub last_reviewed_by: Option<String>,
    /// Owned by a community of this node.
    pub local: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
