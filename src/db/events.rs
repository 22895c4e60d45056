//! Queries for events and RSVPs. Joining and leaving lock the event row first, so capacity
//! and waitlist order hold under concurrent RSVPs on both databases.

use super::queue::Queued;
use super::{
    entities::{event, event_participant},
    now_ms,
    queue::{enqueue, NewJob},
    Db, DbErr,
};
use crate::domain::RsvpState;
use crate::paging::{rows_for, Page};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

pub type Event = event::Model;
pub type Participant = event_participant::Model;

/// How a join request is decided, given the people already going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRule {
    /// Going while there is room, else waitlisted.
    Open,
    /// Pending until an organizer decides.
    Approval,
}

impl Db {
    pub async fn event(&self, id: i64) -> Result<Option<Event>, DbErr> {
        event::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn event_by_ap_id(&self, ap_id: &str) -> Result<Option<Event>, DbErr> {
        event::Entity::find()
            .filter(event::Column::ApId.eq(ap_id))
            .one(self.conn())
            .await
    }

    /// A page of a community's events: upcoming ones (ending at `now` or later) soonest
    /// first, or past ones latest first; at most `limit` past the event that starts at
    /// `cursor.0` with id `cursor.1` (ties in start time go by id).
    pub async fn events_page(
        &self,
        community: &str,
        past: bool,
        now: i64,
        cursor: Option<(i64, i64)>,
        limit: u64,
    ) -> Result<Page<Event>, DbErr> {
        let q = event::Entity::find().filter(event::Column::Community.eq(community));
        let q = if past {
            q.filter(event::Column::EndsAt.lt(now))
        } else {
            q.filter(event::Column::EndsAt.gte(now))
        };
        let q = match cursor {
            Some(at) => q.filter(beyond(at, past)),
            None => q,
        };
        let q = if past {
            q.order_by_desc(event::Column::StartsAt)
                .order_by_desc(event::Column::Id)
        } else {
            q.order_by_asc(event::Column::StartsAt)
                .order_by_asc(event::Column::Id)
        };
        let rows = q.limit(rows_for(limit)).all(self.conn()).await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// A page of the events a local user is going to (or waitlisted for), soonest first:
    /// one query, at most `limit` after `after` (start time and id).
    pub async fn events_of_user(
        &self,
        user_id: i64,
        after: Option<(i64, i64)>,
        limit: u64,
    ) -> Result<Page<Event>, DbErr> {
        let answered = Query::select()
            .column(event_participant::Column::EventId)
            .from(event_participant::Entity)
            .and_where(event_participant::Column::UserId.eq(user_id))
            .and_where(
                event_participant::Column::State.is_in([RsvpState::Going, RsvpState::Waitlisted]),
            )
            .to_owned();
        let mut q = event::Entity::find().filter(event::Column::Id.in_subquery(answered));
        if let Some(at) = after {
            q = q.filter(beyond(at, false));
        }
        let rows = q
            .order_by_asc(event::Column::StartsAt)
            .order_by_asc(event::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// Inserts or replaces an event (by `ap_id`) and queues the deliveries announcing it.
    /// The transaction writes before it reads, so SQLite never has to upgrade a read lock.
    pub async fn save_event(
        &self,
        model: Event,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<Event>, DbErr> {
        async {
            let txn = self.begin().await?;
            let ap_id = model.ap_id.clone();
            let mut active: event::ActiveModel = model.into();
            active = active.reset_all();
            active.id = sea_orm::ActiveValue::NotSet;
            let mut changes = active.clone();
            changes.created_at = sea_orm::ActiveValue::NotSet;
            let updated = event::Entity::update_many()
                .set(changes)
                .filter(event::Column::ApId.eq(&ap_id))
                .exec(&txn)
                .await?;
            let inserted = updated.rows_affected == 0;
            if inserted {
                active.insert(&txn).await?;
            }
            let saved = event::Entity::find()
                .filter(event::Column::ApId.eq(&ap_id))
                .one(&txn)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(ap_id))?;
            if inserted {
                // Its status id in Mastodon apps, from the posts' sequence.
                super::status_refs::reserve(
                    &txn,
                    None,
                    Some(saved.id),
                    &saved.community,
                    saved.created_at,
                )
                .await?;
            }
            // Searchable with the change, in the same transaction.
            super::search::index_upsert(
                &txn,
                "event",
                saved.id,
                &saved.community,
                &saved.title,
                &crate::markdown::plain_text(&crate::markdown::render(&saved.description)),
            )
            .await?;
            enqueue(&txn, jobs, now_ms()).await?;
            txn.commit().await?;
            Ok(saved)
        }
        .await
        .map(Queued)
    }

    /// Puts the events that are not in the search index into it (those stored before events
    /// were indexed), a hundred at a time; returns how many. Cheap when there are none: one
    /// query.
    pub async fn index_unindexed_events(&self) -> Result<u64, DbErr> {
        let mut total = 0;
        loop {
            let stmt = super::queue::sql(
                self.backend(),
                "SELECT id FROM events WHERE id NOT IN \
                 (SELECT ref_id FROM search_documents WHERE kind = 'event') ORDER BY id LIMIT 100",
                vec![],
            );
            let ids: Vec<i64> = sea_orm::ConnectionTrait::query_all_raw(self.conn(), stmt)
                .await?
                .iter()
                .map(|r| r.try_get::<i64>("", "id"))
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(total);
            }
            let events = event::Entity::find()
                .filter(event::Column::Id.is_in(ids.iter().copied()))
                .all(self.conn())
                .await?;
            let txn = self.begin().await?;
            for e in &events {
                super::search::index_upsert(
                    &txn,
                    "event",
                    e.id,
                    &e.community,
                    &e.title,
                    &crate::markdown::plain_text(&crate::markdown::render(&e.description)),
                )
                .await?;
            }
            txn.commit().await?;
            total += events.len() as u64;
        }
    }

    /// The ActivityPub ids of the events among `ids`, in one query.
    pub async fn event_ap_ids(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>, DbErr> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(i64, String)> = event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .column(event::Column::ApId)
            .filter(event::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn delete_event(&self, id: i64, jobs: Vec<NewJob>) -> Result<Queued<()>, DbErr> {
        async {
            let txn = self.begin().await?;
            event::Entity::delete_by_id(id).exec(&txn).await?;
            super::search::index_remove(&txn, "event", id).await?;
            enqueue(&txn, jobs, now_ms()).await?;
            txn.commit().await
        }
        .await
        .map(Queued)
    }

    pub async fn participant(
        &self,
        event_id: i64,
        actor: &str,
    ) -> Result<Option<Participant>, DbErr> {
        event_participant::Entity::find()
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .one(self.conn())
            .await
    }

    pub async fn participant_by_id(&self, id: i64) -> Result<Option<Participant>, DbErr> {
        event_participant::Entity::find_by_id(id)
            .one(self.conn())
            .await
    }

    pub async fn participant_by_join(&self, join_id: &str) -> Result<Option<Participant>, DbErr> {
        event_participant::Entity::find()
            .filter(event_participant::Column::JoinId.eq(join_id))
            .one(self.conn())
            .await
    }

    /// A page of an event's participants in the order they answered: at most `limit` after
    /// participant id `after`.
    pub async fn participants_page(
        &self,
        event_id: i64,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Page<Participant>, DbErr> {
        let mut q = event_participant::Entity::find()
            .filter(event_participant::Column::EventId.eq(event_id));
        if let Some(after) = after {
            q = q.filter(event_participant::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(event_participant::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn participants(&self, event_id: i64) -> Result<Vec<Participant>, DbErr> {
        event_participant::Entity::find()
            .filter(event_participant::Column::EventId.eq(event_id))
            .order_by_asc(event_participant::Column::Id)
            .all(self.conn())
            .await
    }

    /// `actor`'s RSVP state for each of `event_ids` it answered, in one query.
    pub async fn rsvp_states(
        &self,
        actor: &str,
        event_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, RsvpState>, DbErr> {
        if event_ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(event_participant::Entity::find()
            .filter(event_participant::Column::Actor.eq(actor))
            .filter(event_participant::Column::EventId.is_in(event_ids.iter().copied()))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|p| (p.event_id, p.state))
            .collect())
    }

    /// Records (or replaces) a participant's state as another node reported it.
    pub async fn set_participant(
        &self,
        event_id: i64,
        actor: &str,
        user_id: Option<i64>,
        state: RsvpState,
        join_id: Option<String>,
    ) -> Result<(), DbErr> {
        let txn = self.begin().await?;
        // Write-lock first: on SQLite a transaction that reads and then writes can fail
        // with "database is locked" instead of waiting.
        lock_event(&txn, event_id).await?;
        let before = event_participant::Entity::find()
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .one(&txn)
            .await?;
        // A waiting RSVP that the event's node settled is an answer the participant hears of.
        let decided = before
            .filter(|b| {
                matches!(b.state, RsvpState::Pending | RsvpState::Waitlisted) && b.state != state
            })
            .map(|_| now_ms());
        upsert_participant(&txn, event_id, actor, user_id, state, join_id, decided).await?;
        txn.commit().await
    }

    pub async fn remove_participant(&self, event_id: i64, actor: &str) -> Result<(), DbErr> {
        event_participant::Entity::delete_many()
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Decides and records a join on an event owned here. Returns the state.
    pub async fn join_event(
        &self,
        event_id: i64,
        actor: &str,
        user_id: Option<i64>,
        join_id: Option<String>,
        rule: JoinRule,
    ) -> Result<RsvpState, DbErr> {
        let txn = self.begin().await?;
        let event = lock_event(&txn, event_id).await?;
        let existing = event_participant::Entity::find()
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .one(&txn)
            .await?;
        // An invitation is not an answer yet: the RSVP is decided like any other.
        if let Some(p) =
            existing.filter(|p| !matches!(p.state, RsvpState::Rejected | RsvpState::Invited))
        {
            txn.commit().await?;
            return Ok(p.state);
        }
        let going = count_going(&txn, event_id).await?;
        let state = match rule {
            JoinRule::Approval => RsvpState::Pending,
            JoinRule::Open if event.capacity.is_some_and(|c| going >= i64::from(c)) => {
                RsvpState::Waitlisted
            }
            JoinRule::Open => RsvpState::Going,
        };
        upsert_participant(&txn, event_id, actor, user_id, state, join_id, None).await?;
        refresh_count(&txn, event_id).await?;
        txn.commit().await?;
        Ok(state)
    }

    /// Sets a pending participant's state (an organizer's decision); a decision to accept
    /// waitlists the participant when the event is full. Returns the new state.
    pub async fn decide_participant(
        &self,
        event_id: i64,
        actor: &str,
        accept: bool,
    ) -> Result<RsvpState, DbErr> {
        let txn = self.begin().await?;
        let event = lock_event(&txn, event_id).await?;
        let going = count_going(&txn, event_id).await?;
        let state = if !accept {
            RsvpState::Rejected
        } else if event.capacity.is_some_and(|c| going >= i64::from(c)) {
            RsvpState::Waitlisted
        } else {
            RsvpState::Going
        };
        let mut change = event_participant::Entity::update_many()
            .col_expr(event_participant::Column::State, Expr::value(state))
            .col_expr(event_participant::Column::DecidedAt, Expr::value(now_ms()));
        if state == RsvpState::Waitlisted {
            // The wait starts now: the waitlist is served in the order people joined it.
            change = change.col_expr(event_participant::Column::CreatedAt, Expr::value(now_ms()));
        }
        change
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .exec(&txn)
            .await?;
        refresh_count(&txn, event_id).await?;
        txn.commit().await?;
        Ok(state)
    }

    /// Removes a participant; if a seat opened, the longest-waiting person on the waitlist
    /// gets it. Returns the promoted participant.
    pub async fn leave_event(
        &self,
        event_id: i64,
        actor: &str,
    ) -> Result<Option<Participant>, DbErr> {
        let txn = self.begin().await?;
        let event = lock_event(&txn, event_id).await?;
        event_participant::Entity::delete_many()
            .filter(event_participant::Column::EventId.eq(event_id))
            .filter(event_participant::Column::Actor.eq(actor))
            .exec(&txn)
            .await?;
        let going = count_going(&txn, event_id).await?;
        let mut promoted = None;
        if event.capacity.is_none_or(|c| going < i64::from(c)) {
            if let Some(next) = event_participant::Entity::find()
                .filter(event_participant::Column::EventId.eq(event_id))
                .filter(event_participant::Column::State.eq(RsvpState::Waitlisted))
                .order_by_asc(event_participant::Column::CreatedAt)
                .order_by_asc(event_participant::Column::Id)
                .one(&txn)
                .await?
            {
                event_participant::Entity::update_many()
                    .col_expr(
                        event_participant::Column::State,
                        Expr::value(RsvpState::Going),
                    )
                    .col_expr(event_participant::Column::DecidedAt, Expr::value(now_ms()))
                    .filter(event_participant::Column::Id.eq(next.id))
                    .exec(&txn)
                    .await?;
                promoted = Some(Participant {
                    state: RsvpState::Going,
                    ..next
                });
            }
        }
        refresh_count(&txn, event_id).await?;
        txn.commit().await?;
        Ok(promoted)
    }
}

/// Events after (`descending` false) or before (`descending` true) the event that starts at
/// `at.0` with id `at.1`, in (start time, id) order.
fn beyond(at: (i64, i64), descending: bool) -> Condition {
    let (starts_at, id) = at;
    let (later, same) = if descending {
        (
            event::Column::StartsAt.lt(starts_at),
            event::Column::Id.lt(id),
        )
    } else {
        (
            event::Column::StartsAt.gt(starts_at),
            event::Column::Id.gt(id),
        )
    };
    Condition::any().add(later).add(
        Condition::all()
            .add(event::Column::StartsAt.eq(starts_at))
            .add(same),
    )
}

/// Takes the event row's write lock (an UPDATE locks on both SQLite and PostgreSQL).
async fn lock_event(txn: &DatabaseTransaction, event_id: i64) -> Result<Event, DbErr> {
    event::Entity::update_many()
        .col_expr(
            event::Column::UpdatedAt,
            Expr::col(event::Column::UpdatedAt),
        )
        .filter(event::Column::Id.eq(event_id))
        .exec(txn)
        .await?;
    event::Entity::find_by_id(event_id)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("event".into()))
}

async fn count_going(txn: &DatabaseTransaction, event_id: i64) -> Result<i64, DbErr> {
    Ok(event_participant::Entity::find()
        .filter(event_participant::Column::EventId.eq(event_id))
        .filter(event_participant::Column::State.eq(RsvpState::Going))
        .count(txn)
        .await? as i64)
}

async fn refresh_count(txn: &DatabaseTransaction, event_id: i64) -> Result<(), DbErr> {
    let going = count_going(txn, event_id).await?;
    event::Entity::update_many()
        .col_expr(event::Column::ParticipantCount, Expr::value(going as i32))
        .filter(event::Column::Id.eq(event_id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn upsert_participant(
    txn: &DatabaseTransaction,
    event_id: i64,
    actor: &str,
    user_id: Option<i64>,
    state: RsvpState,
    join_id: Option<String>,
    decided_at: Option<i64>,
) -> Result<(), DbErr> {
    event_participant::Entity::delete_many()
        .filter(event_participant::Column::EventId.eq(event_id))
        .filter(event_participant::Column::Actor.eq(actor))
        .exec(txn)
        .await?;
    event_participant::ActiveModel {
        event_id: Set(event_id),
        actor: Set(actor.to_string()),
        user_id: Set(user_id),
        state: Set(state),
        join_id: Set(join_id),
        created_at: Set(now_ms()),
        decided_at: Set(decided_at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}
