use sea_orm::entity::prelude::*;

/// A person a post mentions (`@name` or `@name@host` in a member's text, or a `Mention` tag of
/// a post from another server that names one of this node's people), recorded with the post
/// so local people are notified and the post's document tags them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_mentions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i64,
    /// The mentioned person's ActivityPub id.
    pub actor: String,
    /// `@name@host`, as the document's `Mention` tag names them.
    pub name: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
