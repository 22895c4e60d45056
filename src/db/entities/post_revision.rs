use sea_orm::entity::prelude::*;

/// A version of a post that an edit replaced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i64,
    pub title: Option<String>,
    /// Sanitized HTML, as it was shown.
    pub content: String,
    pub source: Option<String>,
    /// When this version was written (the post's publication or its previous edit).
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
