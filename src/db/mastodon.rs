//! What the Mastodon client API reads beyond the native API's queries: actors by row id and
//! in batches, counts for profiles (grouped, one query per kind) and the instance, timelines
//! (keyset pages by post id), likes among a page, and the peers this node knows.

mod timelines;

pub use timelines::{Timeline, Whose};

use crate::db::{
    discussions::Post,
    entities::{
        community, like, local_actor, membership, post, read_marker, remote_actor, status_ref, user,
    },
    Db, DbErr, LocalActor, RemoteActor,
};
use crate::domain::MemberState;
use sea_orm::{
    sea_query::ExprTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sea_orm::{ActiveModelTrait, Set};
use std::collections::{HashMap, HashSet};

/// Which part of a timeline: ids below `max_id`, above `since_id`, or the oldest above
/// `min_id` (Mastodon's paging parameters).
#[derive(Debug, Default, Clone, Copy)]
pub struct Window {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
}

/// How many of a profile's things there are.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub statuses: u64,
    pub followers: u64,
    pub following: u64,
    /// When the actor last posted (ms), if ever.
    pub last_status_at: Option<i64>,
}

impl Db {
    pub async fn remote_actor_by_id(&self, id: i64) -> Result<Option<RemoteActor>, DbErr> {
        remote_actor::Entity::find_by_id(id).one(self.conn()).await
    }

    /// A remote actor by its user name and the authority of its id (`preferred_username@host`,
    /// with the port where the id has one).
    /// Up to `limit` accounts whose name starts with `name` (any case; `%` and `_` match
    /// themselves), with a host starting with `host` when one is given: this node's people and
    /// communities (when `local`), then the other servers' actors it knows, each by name. No
    /// instance actors.
    pub async fn actors_by_prefix(
        &self,
        name: &str,
        host: Option<&str>,
        local: bool,
        limit: u64,
    ) -> Result<(Vec<LocalActor>, Vec<RemoteActor>), DbErr> {
        use sea_orm::sea_query::{Expr, Func, LikeExpr};
        let escape = |s: &str| {
            let mut out = String::with_capacity(s.len() + 1);
            for c in s.to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('%');
            LikeExpr::new(out).escape('\\')
        };
        let ours = if local {
            local_actor::Entity::find()
                .filter(local_actor::Column::Name.like(escape(name)))
                .filter(local_actor::Column::Kind.ne("application"))
                .order_by_asc(local_actor::Column::Name)
                .limit(limit)
                .all(self.conn())
                .await?
        } else {
            Vec::new()
        };
        let mut theirs = remote_actor::Entity::find()
            .filter(
                Expr::expr(Func::lower(Expr::col(
                    remote_actor::Column::PreferredUsername,
                )))
                .like(escape(name)),
            )
            .filter(remote_actor::Column::Kind.ne("Application"));
        if let Some(host) = host {
            theirs = theirs.filter(remote_actor::Column::Host.like(escape(host)));
        }
        let theirs = theirs
            .order_by_asc(remote_actor::Column::PreferredUsername)
            .order_by_asc(remote_actor::Column::Host)
            .limit(limit.saturating_sub(ours.len() as u64))
            .all(self.conn())
            .await?;
        Ok((ours, theirs))
    }

    pub async fn remote_actor_by_handle(
        &self,
        username: &str,
        authority: &str,
    ) -> Result<Option<RemoteActor>, DbErr> {
        let host = authority.split(':').next().unwrap_or(authority);
        let candidates = remote_actor::Entity::find()
            .filter(remote_actor::Column::PreferredUsername.eq(username))
            // Stored hosts carry the id's port when it has one.
            .filter(remote_actor::Column::Host.is_in([host, authority]))
            .order_by_asc(remote_actor::Column::Id)
            .limit(50)
            .all(self.conn())
            .await?;
        Ok(candidates
            .into_iter()
            .find(|a| authority_of(&a.ap_id).eq_ignore_ascii_case(authority)))
    }

    /// Profiles' counts, in four grouped queries whatever their number: for a community its
    /// accepted members (followers) and the posts in it; for a person the communities they
    /// belong to (following) and their posts. Deleted and removed posts are not counted.
    pub async fn profile_counts(
        &self,
        ap_ids: &[String],
    ) -> Result<HashMap<String, Counts>, DbErr> {
        let mut out: HashMap<String, Counts> = HashMap::new();
        if ap_ids.is_empty() {
            return Ok(out);
        }
        let ids = || ap_ids.iter().cloned();
        for (column, followers) in [
            (membership::Column::Community, true),
            (membership::Column::Actor, false),
        ] {
            let rows: Vec<(String, i64)> = membership::Entity::find()
                .select_only()
                .column(column)
                .column_as(membership::Column::Id.count(), "n")
                .filter(column.is_in(ids()))
                .filter(membership::Column::State.eq(MemberState::Accepted))
                .group_by(column)
                .into_tuple()
                .all(self.conn())
                .await?;
            for (id, n) in rows {
                let entry = out.entry(id).or_default();
                let n = u64::try_from(n).unwrap_or(0);
                if followers {
                    entry.followers = n;
                } else {
                    entry.following = n;
                }
            }
        }
        for column in [post::Column::Author, post::Column::Community] {
            let rows: Vec<(String, i64, Option<i64>)> = post::Entity::find()
                .select_only()
                .column(column)
                .column_as(post::Column::Id.count(), "n")
                .column_as(post::Column::Published.max(), "last")
                .filter(column.is_in(ids()))
                .filter(post::Column::Deleted.eq(false))
                .filter(post::Column::RemovedReason.is_null())
                .group_by(column)
                .into_tuple()
                .all(self.conn())
                .await?;
            for (id, n, last) in rows {
                let entry = out.entry(id).or_default();
                entry.statuses += u64::try_from(n).unwrap_or(0);
                entry.last_status_at = Ord::max(entry.last_status_at, last);
            }
        }
        Ok(out)
    }

    /// Local actors by name, in one query.
    pub async fn local_actors_named(&self, names: &[String]) -> Result<Vec<LocalActor>, DbErr> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        local_actor::Entity::find()
            .filter(local_actor::Column::Name.is_in(names.iter().cloned()))
            .all(self.conn())
            .await
    }

    /// Local and remote actors by row id, in two queries.
    pub async fn actors_by_row_ids(
        &self,
        local: &[i64],
        remote: &[i64],
    ) -> Result<(Vec<LocalActor>, Vec<RemoteActor>), DbErr> {
        let locals = if local.is_empty() {
            Vec::new()
        } else {
            local_actor::Entity::find()
                .filter(local_actor::Column::Id.is_in(local.iter().copied()))
                .all(self.conn())
                .await?
        };
        let remotes = if remote.is_empty() {
            Vec::new()
        } else {
            remote_actor::Entity::find()
                .filter(remote_actor::Column::Id.is_in(remote.iter().copied()))
                .all(self.conn())
                .await?
        };
        Ok((locals, remotes))
    }

    /// Remote actors by ActivityPub id, in one query.
    pub async fn remote_actors_by_ap_ids(&self, ids: &[String]) -> Result<Vec<RemoteActor>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        remote_actor::Entity::find()
            .filter(remote_actor::Column::ApId.is_in(ids.iter().cloned()))
            .all(self.conn())
            .await
    }

    /// Which of `post_ids` `actor` liked.
    pub async fn liked_among(&self, actor: &str, post_ids: &[i64]) -> Result<HashSet<i64>, DbErr> {
        if post_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let rows: Vec<i64> = like::Entity::find()
            .select_only()
            .column(like::Column::PostId)
            .filter(like::Column::Actor.eq(actor))
            .filter(like::Column::PostId.is_in(post_ids.iter().copied()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The communities `actor` is an accepted member of.
    pub async fn accepted_communities(&self, actor: &str) -> Result<Vec<String>, DbErr> {
        membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .filter(membership::Column::Actor.eq(actor))
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .into_tuple()
            .all(self.conn())
            .await
    }

    /// The public communities this node knows: its own (as ids under `base`) and, with
    /// `remote`, other servers' groups that do not say they are confidential.
    pub async fn public_communities(
        &self,
        base: &str,
        local: bool,
        remote: bool,
    ) -> Result<Vec<String>, DbErr> {
        let mut out = Vec::new();
        if local {
            let public: Vec<i64> = community::Entity::find()
                .select_only()
                .column(community::Column::ActorId)
                .filter(community::Column::Visibility.eq("public"))
                .into_tuple()
                .all(self.conn())
                .await?;
            let names: Vec<String> = local_actor::Entity::find()
                .select_only()
                .column(local_actor::Column::Name)
                .filter(local_actor::Column::Id.is_in(public))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(names.into_iter().map(|n| format!("{base}/c/{n}")));
        }
        if remote {
            let groups: Vec<String> = remote_actor::Entity::find()
                .select_only()
                .column(remote_actor::Column::ApId)
                .filter(remote_actor::Column::Kind.eq("Group"))
                .filter(
                    remote_actor::Column::Visibility
                        .is_null()
                        .or(remote_actor::Column::Visibility.eq("public")),
                )
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(groups);
        }
        Ok(out)
    }

    /// The newest status id this node has given (0 if none): a post's, or an article's or
    /// event's (`status_refs`, from the same sequence).
    pub async fn latest_post_id(&self) -> Result<i64, DbErr> {
        let id: Option<i64> = post::Entity::find()
            .select_only()
            .column(post::Column::Id)
            .order_by_desc(post::Column::Id)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        let card: Option<i64> = status_ref::Entity::find()
            .select_only()
            .column(status_ref::Column::Id)
            .order_by_desc(status_ref::Column::Id)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(Ord::max(id.unwrap_or(0), card.unwrap_or(0)))
    }

    /// Visible posts by id, in one query.
    pub async fn posts_by_ids(&self, ids: &[i64]) -> Result<Vec<Post>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        post::Entity::find()
            .filter(post::Column::Id.is_in(ids.iter().copied()))
            .all(self.conn())
            .await
    }

    /// A user's read markers of `timelines`.
    pub async fn markers(
        &self,
        user_id: i64,
        timelines: &[&str],
    ) -> Result<Vec<read_marker::Model>, DbErr> {
        read_marker::Entity::find()
            .filter(read_marker::Column::UserId.eq(user_id))
            .filter(read_marker::Column::Timeline.is_in(timelines.iter().copied()))
            .all(self.conn())
            .await
    }

    /// Moves a user's read marker of `timeline` to `last_read_id` (its version goes up).
    pub async fn set_marker(
        &self,
        user_id: i64,
        timeline: &str,
        last_read_id: &str,
    ) -> Result<(), DbErr> {
        let now = crate::db::now_ms();
        for _ in 0..2 {
            let done = read_marker::Entity::update_many()
                .col_expr(read_marker::Column::LastReadId, last_read_id.into())
                .col_expr(
                    read_marker::Column::Version,
                    sea_orm::sea_query::Expr::col(read_marker::Column::Version).add(1),
                )
                .col_expr(read_marker::Column::UpdatedAt, now.into())
                .filter(read_marker::Column::UserId.eq(user_id))
                .filter(read_marker::Column::Timeline.eq(timeline))
                .exec(self.conn())
                .await?;
            if done.rows_affected > 0 {
                return Ok(());
            }
            let inserted = read_marker::ActiveModel {
                user_id: Set(user_id),
                timeline: Set(timeline.to_string()),
                last_read_id: Set(last_read_id.to_string()),
                version: Set(1),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(self.conn())
            .await;
            match inserted {
                Ok(_) => return Ok(()),
                // Another request made it first: update it.
                Err(e)
                    if matches!(
                        e.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The posts `actor` liked, the most recent like first: (like id, post) pairs below like
    /// id `max_id`.
    pub async fn liked_posts(
        &self,
        actor: &str,
        max_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<(i64, Post)>, DbErr> {
        let mut q = like::Entity::find().filter(like::Column::Actor.eq(actor));
        if let Some(max) = max_id {
            q = q.filter(like::Column::Id.lt(max));
        }
        let likes = q
            .order_by_desc(like::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?;
        let posts: HashMap<i64, Post> = self
            .posts_by_ids(&likes.iter().map(|l| l.post_id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(likes
            .into_iter()
            .filter_map(|l| posts.get(&l.post_id).cloned().map(|p| (l.id, p)))
            .filter(|(_, p)| !p.deleted && p.removed_reason.is_none())
            .collect())
    }

    /// What happened to `me`'s posts, newest first, before `before` (ms, exclusive) and
    /// after `after`: replies to them by others (`replies`), and others' likes of them
    /// (`likes`), at most `limit` of each. Derived from the posts and likes themselves, so
    /// nothing is lost and nothing needs writing when they arrive.
    pub async fn reactions(
        &self,
        me: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: u64,
        kinds: (bool, bool),
    ) -> Result<(Vec<Post>, Vec<like::Model>), DbErr> {
        use sea_orm::sea_query::{Condition, Query};
        let mine = || {
            Query::select()
                .column(post::Column::Id)
                .from(post::Entity)
                .and_where(post::Column::Author.eq(me))
                .to_owned()
        };
        let mut replies = Vec::new();
        if kinds.0 {
            let mut q = post::Entity::find()
                .filter(
                    Condition::any()
                        .add(post::Column::ParentId.in_subquery(mine()))
                        .add(
                            Condition::all()
                                .add(post::Column::ParentId.is_null())
                                .add(post::Column::ThreadId.in_subquery(mine())),
                        ),
                )
                .filter(post::Column::Author.ne(me))
                .filter(post::Column::Deleted.eq(false))
                .filter(post::Column::RemovedReason.is_null());
            if let Some(b) = before {
                q = q.filter(post::Column::CreatedAt.lt(b));
            }
            if let Some(a) = after {
                q = q.filter(post::Column::CreatedAt.gt(a));
            }
            replies = q
                .order_by_desc(post::Column::CreatedAt)
                .limit(limit)
                .all(self.conn())
                .await?;
        }
        let mut likes = Vec::new();
        if kinds.1 {
            let mut q = like::Entity::find()
                .filter(like::Column::PostId.in_subquery(mine()))
                .filter(like::Column::Actor.ne(me));
            if let Some(b) = before {
                q = q.filter(like::Column::CreatedAt.lt(b));
            }
            if let Some(a) = after {
                q = q.filter(like::Column::CreatedAt.gt(a));
            }
            likes = q
                .order_by_desc(like::Column::CreatedAt)
                .limit(limit)
                .all(self.conn())
                .await?;
        }
        Ok((replies, likes))
    }

    /// How many replies to and likes of `me`'s posts arrived after `after` (Unix ms), by
    /// others, on posts still shown: two `COUNT`s, for the unread count of every page.
    pub async fn reactions_since(&self, me: &str, after: i64) -> Result<u64, DbErr> {
        use sea_orm::sea_query::{Condition, Query};
        let mine = || {
            Query::select()
                .column(post::Column::Id)
                .from(post::Entity)
                .and_where(post::Column::Author.eq(me))
                .and_where(post::Column::Deleted.eq(false))
                .and_where(post::Column::RemovedReason.is_null())
                .to_owned()
        };
        let replies = post::Entity::find()
            .filter(
                Condition::any()
                    .add(post::Column::ParentId.in_subquery(mine()))
                    .add(
                        Condition::all()
                            .add(post::Column::ParentId.is_null())
                            .add(post::Column::ThreadId.in_subquery(mine())),
                    ),
            )
            .filter(post::Column::Author.ne(me))
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .filter(post::Column::CreatedAt.gt(after))
            .count(self.conn())
            .await?;
        let likes = like::Entity::find()
            .filter(like::Column::PostId.in_subquery(mine()))
            .filter(like::Column::Actor.ne(me))
            .filter(like::Column::CreatedAt.gt(after))
            .count(self.conn())
            .await?;
        Ok(replies + likes)
    }

    /// The actor of the node's first active administrator, its contact.
    pub async fn first_admin(&self) -> Result<Option<LocalActor>, DbErr> {
        let admin = user::Entity::find()
            .filter(user::Column::IsAdmin.eq(true))
            .filter(user::Column::State.eq(user::AccountState::Active))
            .order_by_asc(user::Column::Id)
            .one(self.conn())
            .await?;
        match admin {
            Some(u) => {
                local_actor::Entity::find_by_id(u.actor_id)
                    .one(self.conn())
                    .await
            }
            None => Ok(None),
        }
    }

    /// Posts written on this node and still there.
    pub async fn local_post_count(&self) -> Result<u64, DbErr> {
        post::Entity::find()
            .filter(post::Column::Local.eq(true))
            .filter(post::Column::Deleted.eq(false))
            .count(self.conn())
            .await
    }

    /// Per week (weeks counted from the Unix epoch, `week_ms` long) since `since`: local posts,
    /// distinct users who signed in to an app (were given an OAuth token), and new accounts.
    pub async fn weekly_activity(
        &self,
        since: i64,
        week_ms: i64,
    ) -> Result<HashMap<i64, [i64; 3]>, DbErr> {
        use sea_orm::{ConnectionTrait, Statement};
        let text = format!(
            "SELECT created_at / {week_ms} AS week, 0 AS kind, COUNT(*) AS n FROM posts \
               WHERE local = TRUE AND created_at >= $1 GROUP BY created_at / {week_ms} \
             UNION ALL \
             SELECT created_at / {week_ms} AS week, 1 AS kind, COUNT(DISTINCT user_id) AS n \
               FROM oauth_tokens WHERE created_at >= $1 GROUP BY created_at / {week_ms} \
             UNION ALL \
             SELECT created_at / {week_ms} AS week, 2 AS kind, COUNT(*) AS n FROM users \
               WHERE created_at >= $1 GROUP BY created_at / {week_ms}"
        );
        let backend = self.backend();
        let text = match backend {
            sea_orm::DbBackend::Postgres => text,
            _ => text.replace('$', "?"),
        };
        let rows = self
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                text,
                vec![since.into()],
            ))
            .await?;
        let mut out: HashMap<i64, [i64; 3]> = HashMap::new();
        for r in rows {
            let week: i64 = r.try_get("", "week")?;
            let kind: i32 = r.try_get("", "kind")?;
            let n: i64 = r.try_get("", "n")?;
            if let Some(slot) = out.entry(week).or_default().get_mut(kind as usize) {
                *slot = n;
            }
        }
        Ok(out)
    }

    /// The hosts of the actors this node knows, sorted (at most `limit`).
    pub async fn known_hosts(&self, limit: u64) -> Result<Vec<String>, DbErr> {
        remote_actor::Entity::find()
            .select_only()
            .column(remote_actor::Column::Host)
            .distinct()
            .order_by_asc(remote_actor::Column::Host)
            .limit(limit)
            .into_tuple::<String>()
            .all(self.conn())
            .await
    }
}

/// `host` or `host:port` of an actor id.
pub fn authority_of(ap_id: &str) -> String {
    match url::Url::parse(ap_id) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// One page of `q` by its id column `id` through `window`, as Mastodon pages statuses:
/// newest first, or with `min_id` the oldest after it, still returned newest first. Posts
/// and articles' and events' statuses (`status_refs`) page alike.
pub(super) async fn window_page<E: sea_orm::EntityTrait>(
    conn: &sea_orm::DatabaseConnection,
    mut q: sea_orm::Select<E>,
    id: E::Column,
    window: Window,
    limit: u64,
) -> Result<Vec<E::Model>, DbErr> {
    if let Some(max) = window.max_id {
        q = q.filter(id.lt(max));
    }
    if let Some(since) = window.since_id {
        q = q.filter(id.gt(since));
    }
    let mut rows = if let Some(min) = window.min_id {
        q.filter(id.gt(min))
            .order_by_asc(id)
            .limit(limit)
            .all(conn)
            .await?
    } else {
        q.order_by_desc(id).limit(limit).all(conn).await?
    };
    if window.min_id.is_some() {
        rows.reverse();
    }
    Ok(rows)
}
