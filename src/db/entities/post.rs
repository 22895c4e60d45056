use sea_orm::entity::prelude::*;

/// A thread (`thread_id` None) or a reply, authored here or replicated.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub community: String,
    pub author: String,
    pub thread_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub title: Option<String>,
    /// Sanitized HTML.
    pub content: String,
    /// Markdown source, when known.
    pub source: Option<String>,
    pub summary: Option<String>,
    pub published: i64,
    pub updated: Option<i64>,
    pub deleted: bool,
    pub removed_reason: Option<String>,
    pub locked: bool,
    pub pinned: bool,
    pub like_count: i32,
    /// Authored on this node.
    pub local: bool,
    pub created_at: i64,
    /// For a post written elsewhere: the document its author's node signed, proof included.
    pub signed_object: Option<String>,
    /// For a thread: the reply its author or a moderator marked as the answer.
    pub answer_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
