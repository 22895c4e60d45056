use sea_orm::entity::prelude::*;

/// Delivery health of a remote host.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "peers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub host: String,
    pub first_failure_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_contact_at: Option<i64>,
    pub dead: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
