use sea_orm::entity::prelude::*;

/// An edit (or new article) a local member proposed to a community on another node.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_edits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub edit_id: String,
    /// None for a proposed new article.
    pub article: Option<String>,
    pub community: String,
    pub user_id: i64,
    pub base_rev: Option<String>,
    pub title: Option<String>,
    pub content: String,
    pub message: String,
    /// `pending`, `applied`, `conflict` or `rejected`.
    pub state: String,
    pub result_rev: Option<String>,
    pub conflict: Option<String>,
    pub latest_rev: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
