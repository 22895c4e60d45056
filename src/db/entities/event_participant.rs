use crate::domain::RsvpState;
use sea_orm::entity::prelude::*;

/// Someone's RSVP: `going`, `pending`, `waitlisted` or `rejected`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_participants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub actor: String,
    pub user_id: Option<i64>,
    pub state: RsvpState,
    pub join_id: Option<String>,
    pub created_at: i64,
    /// When the organizer (or the event's node) last answered this RSVP: accepted,
    /// waitlisted, declined, or given a seat from the waitlist. `None` for the
    /// participant's own answers.
    pub decided_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
