use crate::domain::{EventStatus, JoinMode};
use sea_orm::entity::prelude::*;

/// An event, owned by its community's node.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub community: String,
    pub organizer: String,
    pub title: String,
    /// Markdown.
    pub description: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// IANA zone the event was planned in.
    pub timezone: String,
    pub place_name: Option<String>,
    pub place_address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub online_url: Option<String>,
    pub capacity: Option<i32>,
    /// `free`, `restricted`, `invite`, `none` or `external`.
    pub join_mode: JoinMode,
    pub external_url: Option<String>,
    /// `confirmed`, `tentative` or `cancelled`.
    pub status: EventStatus,
    pub category: Option<String>,
    /// People going, as the owning node last said.
    pub participant_count: i32,
    /// Bumped on every change (iCalendar SEQUENCE).
    pub sequence: i32,
    pub local: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
