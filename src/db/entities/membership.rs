use crate::domain::{MemberState, Role};
use sea_orm::entity::prelude::*;

/// A member (or pending member) of a community, both by ActivityPub id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community: String,
    pub actor: String,
    /// The local user, when the member is one.
    pub user_id: Option<i64>,
    pub role: Role,
    pub title: Option<String>,
    pub state: MemberState,
    /// The `Follow` that asked for it.
    pub follow_id: Option<String>,
    /// Where the community delivers to this member (shared inbox preferred); None if local.
    pub inbox: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
