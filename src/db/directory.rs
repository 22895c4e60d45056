//! What the pages list: the node's community directory (its own communities, and other nodes'
//! that its users joined) and member counts of a page of communities in one grouped query.

use super::{
    discussions::Post,
    entities::{local_actor, membership, post, remote_actor},
    Db, DbErr,
};
use crate::domain::MemberState;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func},
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;

/// How many communities the directory lists at most (an admin's node has dozens, not
/// thousands; a search narrows it).
pub const DIRECTORY_MAX: u64 = 200;

impl Db {
    /// The ids of the communities the directory lists, matching `query` (in the slug or the
    /// title, case-insensitive) when one is given: this node's communities (ids under
    /// `base`), then other nodes' communities that a local user is a member of (or asked to
    /// be); each part alphabetical, at most [`DIRECTORY_MAX`] of each.
    pub async fn community_directory(
        &self,
        base: &str,
        query: Option<&str>,
    ) -> Result<(Vec<String>, Vec<String>), DbErr> {
        let pattern = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", q.to_lowercase().replace(['%', '_', '\\'], "")));
        let mut local = local_actor::Entity::find()
            .select_only()
            .column(local_actor::Column::Name)
            .filter(local_actor::Column::Kind.eq("group"));
        if let Some(p) = &pattern {
            local = local.filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(local_actor::Column::Name)))
                            .like(p.as_str()),
                    )
                    .add(
                        Expr::expr(Func::lower(Expr::col(local_actor::Column::DisplayName)))
                            .like(p.as_str()),
                    ),
            );
        }
        let names: Vec<String> = local
            .order_by_asc(local_actor::Column::Name)
            .limit(DIRECTORY_MAX)
            .into_tuple()
            .all(self.conn())
            .await?;
        let joined: Vec<String> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .filter(membership::Column::UserId.is_not_null())
            .filter(membership::Column::Community.not_like(format!("{base}/%")))
            .distinct()
            .into_tuple()
            .all(self.conn())
            .await?;
        let mut remote = remote_actor::Entity::find()
            .select_only()
            .column(remote_actor::Column::ApId)
            .filter(remote_actor::Column::Kind.eq("Group"))
            .filter(remote_actor::Column::ApId.is_in(joined));
        if let Some(p) = &pattern {
            remote = remote.filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(
                            remote_actor::Column::PreferredUsername,
                        )))
                        .like(p.as_str()),
                    )
                    .add(
                        Expr::expr(Func::lower(Expr::col(remote_actor::Column::Name)))
                            .like(p.as_str()),
                    ),
            );
        }
        let remote: Vec<String> = remote
            .order_by_asc(remote_actor::Column::PreferredUsername)
            .limit(DIRECTORY_MAX)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok((
            names.into_iter().map(|n| format!("{base}/c/{n}")).collect(),
            remote,
        ))
    }

    /// Accepted members of each of `communities`, in one grouped query.
    pub async fn member_counts(
        &self,
        communities: &[String],
    ) -> Result<HashMap<String, u64>, DbErr> {
        if communities.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .column_as(membership::Column::Id.count(), "n")
            .filter(membership::Column::Community.is_in(communities.iter().cloned()))
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .group_by(membership::Column::Community)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(c, n)| (c, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// The newest visible threads of `communities`, newest first: a member's home page.
    pub async fn recent_threads(
        &self,
        communities: &[String],
        limit: u64,
    ) -> Result<Vec<Post>, DbErr> {
        if communities.is_empty() {
            return Ok(Vec::new());
        }
        post::Entity::find()
            .filter(post::Column::Community.is_in(communities.iter().cloned()))
            .filter(post::Column::ThreadId.is_null())
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .order_by_desc(post::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// `actor`'s place on an event's waitlist (1 = next to get a seat), in the order seats
    /// are given (`leave_event`): by when they asked, then by id.
    pub async fn waitlist_position(
        &self,
        event_id: i64,
        actor: &str,
    ) -> Result<Option<u64>, DbErr> {
        use super::entities::event_participant as p;
        let Some(mine) = p::Entity::find()
            .filter(p::Column::EventId.eq(event_id))
            .filter(p::Column::Actor.eq(actor))
            .filter(p::Column::State.eq(crate::domain::RsvpState::Waitlisted))
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let ahead = p::Entity::find()
            .filter(p::Column::EventId.eq(event_id))
            .filter(p::Column::State.eq(crate::domain::RsvpState::Waitlisted))
            .filter(
                Condition::any()
                    .add(p::Column::CreatedAt.lt(mine.created_at))
                    .add(
                        Condition::all()
                            .add(p::Column::CreatedAt.eq(mine.created_at))
                            .add(p::Column::Id.lt(mine.id)),
                    ),
            )
            .count(self.conn())
            .await?;
        Ok(Some(ahead + 1))
    }

    /// The next events of `communities` that have not ended, soonest first: a member's home
    /// page.
    pub async fn upcoming_events(
        &self,
        communities: &[String],
        now: i64,
        limit: u64,
    ) -> Result<Vec<super::events::Event>, DbErr> {
        use super::entities::event;
        if communities.is_empty() {
            return Ok(Vec::new());
        }
        event::Entity::find()
            .filter(event::Column::Community.is_in(communities.iter().cloned()))
            .filter(event::Column::EndsAt.gte(now))
            .order_by_asc(event::Column::StartsAt)
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// The articles of `communities` whose review is due at `now`, longest overdue first: a
    /// member's home page.
    pub async fn articles_due(
        &self,
        communities: &[String],
        now: i64,
        limit: u64,
    ) -> Result<Vec<super::articles::Article>, DbErr> {
        use super::entities::article;
        if communities.is_empty() {
            return Ok(Vec::new());
        }
        // Days as BIGINT: an INTEGER product overflows on PostgreSQL past 24 days.
        let due = "COALESCE(last_reviewed_at, created_at) + CAST(review_interval_days AS BIGINT) * 86400000";
        article::Entity::find()
            .filter(article::Column::Community.is_in(communities.iter().cloned()))
            .filter(article::Column::ReviewIntervalDays.is_not_null())
            .filter(Expr::cust(due).lte(now))
            .order_by(Expr::cust(due), sea_orm::Order::Asc)
            .order_by_asc(article::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// What waits for `actor` as a moderator of communities hosted here (ids under `base`):
    /// requests to join per community, and requests to take part per event of those
    /// communities (event id, title, how many). Four queries whatever the numbers.
    pub async fn waiting_for_moderator(
        &self,
        base: &str,
        actor: &str,
    ) -> Result<(Vec<(String, u64)>, Vec<(i64, String, u64)>), DbErr> {
        use super::entities::{event, event_participant};
        use crate::domain::{Role, RsvpState};
        let moderated: Vec<String> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .filter(membership::Column::Actor.eq(actor))
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .filter(membership::Column::Role.is_in([Role::Owner, Role::Moderator]))
            .filter(membership::Column::Community.like(format!("{base}/c/%")))
            .into_tuple()
            .all(self.conn())
            .await?;
        if moderated.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let joins: Vec<(String, i64)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .column_as(membership::Column::Id.count(), "n")
            .filter(membership::Column::Community.is_in(moderated.iter().cloned()))
            .filter(membership::Column::State.eq(MemberState::Pending))
            .group_by(membership::Column::Community)
            .order_by_asc(membership::Column::Community)
            .into_tuple()
            .all(self.conn())
            .await?;
        let events: Vec<(i64, String)> = event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .column(event::Column::Title)
            .filter(event::Column::Community.is_in(moderated))
            .filter(event::Column::Local.eq(true))
            .into_tuple()
            .all(self.conn())
            .await?;
        let titles: HashMap<i64, String> = events.into_iter().collect();
        let answers: Vec<(i64, i64)> = if titles.is_empty() {
            Vec::new()
        } else {
            event_participant::Entity::find()
                .select_only()
                .column(event_participant::Column::EventId)
                .column_as(event_participant::Column::Id.count(), "n")
                .filter(event_participant::Column::EventId.is_in(titles.keys().copied()))
                .filter(event_participant::Column::State.eq(RsvpState::Pending))
                .group_by(event_participant::Column::EventId)
                .order_by_asc(event_participant::Column::EventId)
                .into_tuple()
                .all(self.conn())
                .await?
        };
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((
            joins.into_iter().map(|(c, n)| (c, count(n))).collect(),
            answers
                .into_iter()
                .map(|(id, n)| (id, titles.get(&id).cloned().unwrap_or_default(), count(n)))
                .collect(),
        ))
    }
}
