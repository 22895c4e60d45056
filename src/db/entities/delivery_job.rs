use sea_orm::entity::prelude::*;

/// One activity to one inbox. `state` is `pending`, `delivered` or `failed`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub activity_id: String,
    pub signer_actor_id: i64,
    pub inbox: String,
    pub host: String,
    pub body: String,
    /// The activity's `type`.
    pub kind: String,
    /// The community the activity belongs to, when it names one.
    pub audience: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
