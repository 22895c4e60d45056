use sea_orm::entity::prelude::*;

/// One revision: the full markdown text, so any revision reads in one query.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub article_id: i64,
    /// Content hash, identical on every node.
    #[sea_orm(unique)]
    pub rev_id: String,
    pub parent_rev: Option<String>,
    pub author: String,
    pub message: String,
    pub title: String,
    pub content: String,
    /// 1, 2, 3… within the article.
    pub seq: i32,
    /// The proposal (activity id) this revision applied, if it came from one.
    pub edit_id: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
