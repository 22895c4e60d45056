//! What a member's notifications are read from, beyond replies and likes (`db::mastodon`):
//! posts that mention them, RSVPs to events they organize, answers to their own RSVPs, and
//! answers to the article edits they proposed to another node. Each is a newest-first window
//! by time (`before`/`after` in Unix ms, exclusive), so the service can merge them.

use super::{
    articles::ArticleEdit,
    discussions::memberships::pending_for,
    entities::{article_edit, event, event_participant, membership, post, post_mention},
    events::{Event, Participant},
    Db, DbErr,
};
use crate::domain::RsvpState;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Query, SimpleExpr},
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;

/// A time window, newest first: strictly before `before`, strictly after `after`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: u64,
}

impl Span {
    fn on(&self, column: impl ColumnTrait) -> Condition {
        let mut c = Condition::all();
        if let Some(b) = self.before {
            c = c.add(column.lt(b));
        }
        if let Some(a) = self.after {
            c = c.add(column.gt(a));
        }
        c
    }
}

/// The states of an edit proposal worth telling its author about.
const ANSWERED: [&str; 3] = ["applied", "conflict", "rejected"];

impl Db {
    /// Mentions of `me` in posts by others that are still shown.
    pub async fn mentions_of(
        &self,
        me: &str,
        span: Span,
    ) -> Result<Vec<post_mention::Model>, DbErr> {
        post_mention::Entity::find()
            .filter(post_mention::Column::Actor.eq(me))
            .filter(post_mention::Column::PostId.in_subquery(shown_posts_not_by(me)))
            .filter(span.on(post_mention::Column::CreatedAt))
            .order_by_desc(post_mention::Column::CreatedAt)
            .limit(span.limit)
            .all(self.conn())
            .await
    }

    /// Answers by others (going, asking, waitlisted) to events `me` organizes.
    pub async fn rsvps_to_events_of(
        &self,
        me: &str,
        span: Span,
    ) -> Result<Vec<(Participant, Event)>, DbErr> {
        let rows = event_participant::Entity::find()
            .filter(rsvps_to(me))
            .filter(span.on(event_participant::Column::CreatedAt))
            .order_by_desc(event_participant::Column::CreatedAt)
            .limit(span.limit)
            .all(self.conn())
            .await?;
        self.with_events(rows).await
    }

    /// Requests still waiting to join the communities `me` moderates, newest first.
    pub async fn join_requests_to(
        &self,
        me: &str,
        span: Span,
    ) -> Result<Vec<super::discussions::Membership>, DbErr> {
        membership::Entity::find()
            .filter(pending_for(me))
            .filter(span.on(membership::Column::CreatedAt))
            .order_by_desc(membership::Column::CreatedAt)
            .limit(span.limit)
            .all(self.conn())
            .await
    }

    /// The organizer's (or the event's node's) answers to `user_id`'s own RSVPs.
    pub async fn rsvp_answers_for(
        &self,
        user_id: i64,
        span: Span,
    ) -> Result<Vec<(Participant, Event)>, DbErr> {
        let rows = event_participant::Entity::find()
            .filter(event_participant::Column::UserId.eq(user_id))
            .filter(event_participant::Column::DecidedAt.is_not_null())
            .filter(span.on(event_participant::Column::DecidedAt))
            .order_by_desc(event_participant::Column::DecidedAt)
            .limit(span.limit)
            .all(self.conn())
            .await?;
        self.with_events(rows).await
    }

    /// Answers from another node to the article edits `user_id` proposed there: conflicts and
    /// refusals, and edits applied after the member stopped waiting (`wait_ms`) on the page.
    pub async fn edit_answers_for(
        &self,
        user_id: i64,
        wait_ms: i64,
        span: Span,
    ) -> Result<Vec<ArticleEdit>, DbErr> {
        article_edit::Entity::find()
            .filter(edit_answers(user_id, wait_ms))
            .filter(span.on(article_edit::Column::DecidedAt))
            .order_by_desc(article_edit::Column::DecidedAt)
            .limit(span.limit)
            .all(self.conn())
            .await
    }

    /// How many mentions, RSVPs and answers arrived after `after` (Unix ms): four `COUNT`s.
    pub async fn other_notes_since(
        &self,
        me: &str,
        user_id: i64,
        wait_ms: i64,
        after: i64,
    ) -> Result<u64, DbErr> {
        let mentions = post_mention::Entity::find()
            .filter(post_mention::Column::Actor.eq(me))
            .filter(post_mention::Column::PostId.in_subquery(shown_posts_not_by(me)))
            .filter(post_mention::Column::CreatedAt.gt(after))
            .count(self.conn())
            .await?;
        let rsvps = event_participant::Entity::find()
            .filter(rsvps_to(me))
            .filter(event_participant::Column::CreatedAt.gt(after))
            .count(self.conn())
            .await?;
        let answers = event_participant::Entity::find()
            .filter(event_participant::Column::UserId.eq(user_id))
            .filter(event_participant::Column::DecidedAt.gt(after))
            .count(self.conn())
            .await?;
        let edits = article_edit::Entity::find()
            .filter(edit_answers(user_id, wait_ms))
            .filter(article_edit::Column::DecidedAt.gt(after))
            .count(self.conn())
            .await?;
        let joins = membership::Entity::find()
            .filter(pending_for(me))
            .filter(membership::Column::CreatedAt.gt(after))
            .count(self.conn())
            .await?;
        Ok(mentions + rsvps + answers + edits + joins)
    }

    async fn with_events(
        &self,
        rows: Vec<Participant>,
    ) -> Result<Vec<(Participant, Event)>, DbErr> {
        let ids: Vec<i64> = rows.iter().map(|p| p.event_id).collect();
        let events: HashMap<i64, Event> = event::Entity::find()
            .filter(event::Column::Id.is_in(ids))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|p| {
                let e = events.get(&p.event_id)?.clone();
                Some((p, e))
            })
            .collect())
    }
}

/// Ids of posts not by `me` that are neither deleted nor removed, and are not replies to
/// `me` (those already notify as replies).
fn shown_posts_not_by(me: &str) -> sea_orm::sea_query::SelectStatement {
    let mine = || {
        Query::select()
            .column(post::Column::Id)
            .from(post::Entity)
            .and_where(post::Column::Author.eq(me))
            .to_owned()
    };
    let reply_to_me = Condition::any()
        .add(post::Column::ParentId.in_subquery(mine()))
        .add(
            Condition::all()
                .add(post::Column::ParentId.is_null())
                .add(post::Column::ThreadId.in_subquery(mine())),
        );
    // `NOT IN` over ids (never NULL), so a thread, whose parent is NULL, is not dropped by
    // SQL's three-valued logic.
    let replies_to_me = Query::select()
        .column(post::Column::Id)
        .from(post::Entity)
        .cond_where(reply_to_me)
        .to_owned();
    Query::select()
        .column(post::Column::Id)
        .from(post::Entity)
        .and_where(post::Column::Author.ne(me))
        .and_where(post::Column::Deleted.eq(false))
        .and_where(post::Column::RemovedReason.is_null())
        .and_where(post::Column::Id.not_in_subquery(replies_to_me))
        .to_owned()
}

/// RSVPs by others to events `me` organizes (invitations are the organizer's, not answers).
fn rsvps_to(me: &str) -> Condition {
    Condition::all()
        .add(
            event_participant::Column::EventId.in_subquery(
                Query::select()
                    .column(event::Column::Id)
                    .from(event::Entity)
                    .and_where(event::Column::Organizer.eq(me))
                    .to_owned(),
            ),
        )
        .add(event_participant::Column::Actor.ne(me))
        // Invitations are the organizers' own doing, and a refusal their own answer.
        .add(event_participant::Column::State.is_not_in([RsvpState::Invited, RsvpState::Rejected]))
}

fn edit_answers(user_id: i64, wait_ms: i64) -> Condition {
    let late: SimpleExpr = Expr::col(article_edit::Column::DecidedAt)
        .gt(Expr::col(article_edit::Column::CreatedAt).add(wait_ms));
    Condition::all()
        .add(article_edit::Column::UserId.eq(user_id))
        .add(article_edit::Column::State.is_in(ANSWERED))
        .add(article_edit::Column::DecidedAt.is_not_null())
        .add(
            Condition::any()
                .add(article_edit::Column::State.ne("applied"))
                .add(late),
        )
}
