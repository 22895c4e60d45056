use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub actor_id: i64,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub created_at: i64,
    /// Lowercased; unique.
    pub email: Option<String>,
    pub email_verified: bool,
    pub state: AccountState,
    pub locale: String,
    pub time_zone: String,
    /// Failed sign-ins since the last successful one (or the last lockout).
    pub failed_sign_ins: i32,
    /// Until when (Unix ms) password sign-in is refused after repeated failures.
    pub locked_until: Option<i64>,
}

/// Whether an account may be used: `pending` waits for an admin's approval (registration policy
/// `approval`), `suspended` was stopped by an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AccountState {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "suspended")]
    Suspended,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Pending => "pending",
            AccountState::Suspended => "suspended",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
