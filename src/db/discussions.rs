//! Queries for communities, memberships, threads and replies, likes, bans and community
//! outboxes. Actors are keyed by their ActivityPub id.

use super::queue::{enqueue, NewJob};
use super::search::{index_remove, index_upsert};
use super::{
    entities::{ban, community, like, local_actor, membership, post, remote_actor},
    now_ms, Community, Db, DbErr, LocalActor, RemoteActor,
};
use crate::paging::{rows_for, Page, ThreadCursor};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

pub use membership::Model as Membership;
pub use post::Model as Post;

pub type Ban = ban::Model;

/// Fields of a membership to write.
pub struct NewMembership {
    pub community: String,
    pub actor: String,
    pub user_id: Option<i64>,
    pub role: &'static str,
    pub state: &'static str,
    pub follow_id: Option<String>,
    pub inbox: Option<String>,
}

/// What a community shows about itself.
pub struct CommunityProfile {
    pub title: String,
    pub summary: String,
    pub charter: String,
    pub icon_url: Option<String>,
    pub banner_url: Option<String>,
}

/// A change to a stored post.
pub enum PostChange {
    Content {
        title: Option<String>,
        content: String,
        source: Option<String>,
        summary: Option<String>,
        updated: i64,
        /// The author's signed document of this version, when it came with a proof.
        signed_object: Option<String>,
    },
    Deleted,
    Removed(String),
}

/// Fields of a post to store.
pub struct NewPost {
    pub ap_id: String,
    pub community: String,
    pub author: String,
    pub thread_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub title: Option<String>,
    pub content: String,
    pub source: Option<String>,
    pub summary: Option<String>,
    pub published: i64,
    pub updated: Option<i64>,
    pub local: bool,
    /// The author's signed document, for a post written elsewhere that came with a proof.
    pub signed_object: Option<String>,
}

impl Db {
    // ----- local communities -----

    pub async fn local_community(
        &self,
        name: &str,
    ) -> Result<Option<(LocalActor, Community)>, DbErr> {
        let Some(actor) = local_actor::Entity::find()
            .filter(local_actor::Column::Name.eq(name))
            .filter(local_actor::Column::Kind.eq("group"))
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let community = community::Entity::find()
            .filter(community::Column::ActorId.eq(actor.id))
            .one(self.conn())
            .await?;
        Ok(community.map(|c| (actor, c)))
    }

    /// The local communities among `names`, in two queries.
    pub async fn local_communities(
        &self,
        names: &[String],
    ) -> Result<Vec<(LocalActor, Community)>, DbErr> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let actors = local_actor::Entity::find()
            .filter(local_actor::Column::Name.is_in(names.iter().cloned()))
            .filter(local_actor::Column::Kind.eq("group"))
            .all(self.conn())
            .await?;
        let mut communities: HashMap<i64, Community> = community::Entity::find()
            .filter(community::Column::ActorId.is_in(actors.iter().map(|a| a.id)))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|c| (c.actor_id, c))
            .collect();
        Ok(actors
            .into_iter()
            .filter_map(|a| communities.remove(&a.id).map(|c| (a, c)))
            .collect())
    }

    pub async fn set_community_profile(
        &self,
        community_id: i64,
        charter: &str,
    ) -> Result<(), DbErr> {
        community::Entity::update_many()
            .col_expr(community::Column::Charter, Expr::value(charter))
            .filter(community::Column::Id.eq(community_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Updates what a community shows about itself.
    pub async fn update_community_profile(
        &self,
        actor_id: i64,
        community_id: i64,
        profile: CommunityProfile,
    ) -> Result<(), DbErr> {
        let txn = self.begin().await?;
        local_actor::Entity::update_many()
            .col_expr(local_actor::Column::DisplayName, Expr::value(profile.title))
            .col_expr(local_actor::Column::Summary, Expr::value(profile.summary))
            .col_expr(local_actor::Column::IconUrl, Expr::value(profile.icon_url))
            .filter(local_actor::Column::Id.eq(actor_id))
            .exec(&txn)
            .await?;
        community::Entity::update_many()
            .col_expr(community::Column::Charter, Expr::value(profile.charter))
            .col_expr(
                community::Column::BannerUrl,
                Expr::value(profile.banner_url),
            )
            .filter(community::Column::Id.eq(community_id))
            .exec(&txn)
            .await?;
        txn.commit().await
    }

    pub async fn set_actor_summary(&self, actor_id: i64, summary: &str) -> Result<(), DbErr> {
        local_actor::Entity::update_many()
            .col_expr(local_actor::Column::Summary, Expr::value(summary))
            .filter(local_actor::Column::Id.eq(actor_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// A remote community already known by `slug@host`.
    pub async fn remote_group(&self, slug: &str, host: &str) -> Result<Option<RemoteActor>, DbErr> {
        remote_actor::Entity::find()
            .filter(remote_actor::Column::Kind.eq("Group"))
            .filter(remote_actor::Column::PreferredUsername.eq(slug))
            .filter(remote_actor::Column::Host.eq(host))
            .one(self.conn())
            .await
    }

    // ----- memberships -----

    pub async fn membership(
        &self,
        community: &str,
        actor: &str,
    ) -> Result<Option<Membership>, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::Actor.eq(actor))
            .one(self.conn())
            .await
    }

    /// `actor`'s memberships of each of `communities`, in one query.
    pub async fn memberships_of(
        &self,
        actor: &str,
        communities: &[String],
    ) -> Result<HashMap<String, Membership>, DbErr> {
        if communities.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(membership::Entity::find()
            .filter(membership::Column::Actor.eq(actor))
            .filter(membership::Column::Community.is_in(communities.iter().cloned()))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| (m.community.clone(), m))
            .collect())
    }

    /// Creates a membership, or updates state, follow and inbox of an existing one (its role
    /// is kept).
    pub async fn upsert_membership(&self, new: NewMembership) -> Result<Membership, DbErr> {
        let (community, actor) = (new.community.clone(), new.actor.clone());
        membership::Entity::insert(membership::ActiveModel {
            community: Set(new.community),
            actor: Set(new.actor),
            user_id: Set(new.user_id),
            role: Set(new.role.to_string()),
            title: Set(None),
            state: Set(new.state.to_string()),
            follow_id: Set(new.follow_id),
            inbox: Set(new.inbox),
            created_at: Set(now_ms()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([membership::Column::Community, membership::Column::Actor])
                .update_columns([
                    membership::Column::State,
                    membership::Column::FollowId,
                    membership::Column::Inbox,
                ])
                .to_owned(),
        )
        .exec(self.conn())
        .await?;
        self.membership(&community, &actor)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("membership".into()))
    }

    pub async fn set_membership_state(
        &self,
        community: &str,
        actor: &str,
        state: &str,
    ) -> Result<bool, DbErr> {
        let result = membership::Entity::update_many()
            .col_expr(membership::Column::State, Expr::value(state))
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::Actor.eq(actor))
            .exec(self.conn())
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn set_membership_role(
        &self,
        community: &str,
        actor: &str,
        role: &str,
        title: Option<&str>,
    ) -> Result<bool, DbErr> {
        let result = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(role))
            .col_expr(
                membership::Column::Title,
                Expr::value(title.map(str::to_string)),
            )
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::Actor.eq(actor))
            .exec(self.conn())
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn delete_membership(&self, community: &str, actor: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::DeleteMembership {
                community: community.to_string(),
                actor: actor.to_string(),
            },
        )
        .await
    }

    pub async fn members(
        &self,
        community: &str,
        state: Option<&str>,
    ) -> Result<Vec<Membership>, DbErr> {
        let mut q = membership::Entity::find().filter(membership::Column::Community.eq(community));
        if let Some(state) = state {
            q = q.filter(membership::Column::State.eq(state));
        }
        q.order_by_asc(membership::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a community's memberships (in `state`, if given) in the order they were
    /// made: at most `limit` after membership id `after`.
    pub async fn members_page(
        &self,
        community: &str,
        state: Option<&str>,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Page<Membership>, DbErr> {
        let mut q = membership::Entity::find().filter(membership::Column::Community.eq(community));
        if let Some(state) = state {
            q = q.filter(membership::Column::State.eq(state));
        }
        if let Some(after) = after {
            q = q.filter(membership::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(membership::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// A page of a community's accepted owners and moderators, in the order they joined.
    pub async fn moderators_page(
        &self,
        community: &str,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Page<Membership>, DbErr> {
        let mut q = moderators(community);
        if let Some(after) = after {
            q = q.filter(membership::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(membership::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn moderator_count(&self, community: &str) -> Result<u64, DbErr> {
        moderators(community).count(self.conn()).await
    }

    pub async fn set_local_readers(&self, community_id: i64, on: bool) -> Result<(), DbErr> {
        community::Entity::update_many()
            .col_expr(community::Column::LocalReaders, Expr::value(on))
            .filter(community::Column::Id.eq(community_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// How many communities `actor` moderates (or owns).
    pub async fn moderated_communities(&self, actor: &str) -> Result<u64, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::Actor.eq(actor))
            .filter(membership::Column::State.eq("accepted"))
            .filter(membership::Column::Role.is_in(["owner", "moderator"]))
            .count(self.conn())
            .await
    }

    /// Whether `host` (`domain[:port]`) has at least one approved member in `community`.
    pub async fn has_member_on(&self, community: &str, host: &str) -> Result<bool, DbErr> {
        let escaped = host
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let rows = self
            .conn()
            .query_all_raw(super::queue::sql(
                self.backend(),
                "SELECT 1 AS one FROM memberships WHERE community = $1 AND state = 'accepted' \
                 AND (actor LIKE $2 ESCAPE '\\' OR actor LIKE $3 ESCAPE '\\') LIMIT 1",
                vec![
                    community.into(),
                    format!("http://{escaped}/%").into(),
                    format!("https://{escaped}/%").into(),
                ],
            ))
            .await?;
        Ok(!rows.is_empty())
    }

    pub async fn member_count(&self, community: &str) -> Result<u64, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::State.eq("accepted"))
            .count(self.conn())
            .await
    }

    /// Distinct delivery targets of a community's accepted remote members.
    pub async fn follower_inboxes(&self, community: &str) -> Result<Vec<String>, DbErr> {
        let rows: Vec<Option<String>> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Inbox)
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::State.eq("accepted"))
            .filter(membership::Column::Inbox.is_not_null())
            .distinct()
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Whether any local user has a membership (in any state) of `community`, in one query
    /// that reads at most one row.
    pub async fn has_local_membership(&self, community: &str) -> Result<bool, DbErr> {
        Ok(membership::Entity::find()
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::UserId.is_not_null())
            .one(self.conn())
            .await?
            .is_some())
    }

    /// Accepted local members of a (remote) community: whether this node replicates it.
    pub async fn local_member_count(&self, community: &str) -> Result<u64, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::State.eq("accepted"))
            .filter(membership::Column::UserId.is_not_null())
            .count(self.conn())
            .await
    }

    // ----- posts -----

    pub async fn post(&self, id: i64) -> Result<Option<Post>, DbErr> {
        post::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn post_by_ap_id(&self, ap_id: &str) -> Result<Option<Post>, DbErr> {
        post::Entity::find()
            .filter(post::Column::ApId.eq(ap_id))
            .one(self.conn())
            .await
    }

    /// Stores a post; an existing one with the same `ap_id` is returned unchanged.
    pub async fn insert_post(&self, new: NewPost) -> Result<(Post, bool), DbErr> {
        self.insert_post_and_enqueue(new, Vec::new()).await
    }

    /// Stores a post and, if it is new, queues `jobs` in the same transaction: an accepted
    /// post is never stored without the deliveries it causes.
    pub async fn insert_post_and_enqueue(
        &self,
        new: NewPost,
        jobs: Vec<NewJob>,
    ) -> Result<(Post, bool), DbErr> {
        let txn = self.begin().await?;
        let ap_id = new.ap_id.clone();
        let inserted = post::Entity::insert(post::ActiveModel {
            ap_id: Set(new.ap_id),
            community: Set(new.community),
            author: Set(new.author),
            thread_id: Set(new.thread_id),
            parent_id: Set(new.parent_id),
            title: Set(new.title),
            content: Set(new.content),
            source: Set(new.source),
            summary: Set(new.summary),
            published: Set(new.published),
            updated: Set(new.updated),
            deleted: Set(false),
            removed_reason: Set(None),
            locked: Set(false),
            pinned: Set(false),
            like_count: Set(0),
            local: Set(new.local),
            created_at: Set(now_ms()),
            signed_object: Set(new.signed_object),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(post::Column::ApId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let post = post::Entity::find()
            .filter(post::Column::ApId.eq(&ap_id))
            .one(&txn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(ap_id))?;
        if inserted > 0 {
            index_post(&txn, &post).await?;
            enqueue(&txn, jobs, now_ms()).await?;
        }
        txn.commit().await?;
        Ok((post, inserted > 0))
    }

    /// Applies a change to a post and queues the deliveries it causes, atomically.
    pub async fn change_post_and_enqueue(
        &self,
        id: i64,
        change: PostChange,
        jobs: Vec<NewJob>,
    ) -> Result<(), DbErr> {
        let txn = self.begin().await?;
        let mut model = post::ActiveModel {
            id: Set(id),
            ..Default::default()
        };
        match change {
            PostChange::Content {
                title,
                content,
                source,
                summary,
                updated,
                signed_object,
            } => {
                model.title = Set(title);
                model.content = Set(content);
                model.source = Set(source);
                model.summary = Set(summary);
                model.updated = Set(Some(updated));
                model.signed_object = Set(signed_object);
            }
            PostChange::Deleted => model.deleted = Set(true),
            PostChange::Removed(reason) => model.removed_reason = Set(Some(reason)),
        }
        let post = model.update(&txn).await?;
        if post.deleted || post.removed_reason.is_some() {
            index_remove(&txn, post_kind(&post), post.id).await?;
        } else {
            index_post(&txn, &post).await?;
        }
        enqueue(&txn, jobs, now_ms()).await?;
        txn.commit().await
    }

    pub async fn mark_post_deleted(&self, id: i64) -> Result<(), DbErr> {
        self.change_post_and_enqueue(id, PostChange::Deleted, Vec::new())
            .await
    }

    pub async fn set_post_removed(&self, id: i64, reason: Option<String>) -> Result<(), DbErr> {
        let reason = reason.unwrap_or_else(|| "removed by a moderator".into());
        self.change_post_and_enqueue(id, PostChange::Removed(reason), Vec::new())
            .await
    }

    pub async fn set_post_flags(
        &self,
        id: i64,
        locked: Option<bool>,
        pinned: Option<bool>,
    ) -> Result<(), DbErr> {
        apply(self.conn(), &Write::PostFlags { id, locked, pinned }).await?;
        Ok(())
    }

    pub async fn membership_by_id(&self, id: i64) -> Result<Option<Membership>, DbErr> {
        membership::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn membership_by_follow(&self, follow_id: &str) -> Result<Option<Membership>, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::FollowId.eq(follow_id))
            .one(self.conn())
            .await
    }

    pub async fn thread_count(&self, community: &str) -> Result<u64, DbErr> {
        visible_threads(community).count(self.conn()).await
    }

    /// Visible threads of a community, newest first, `limit` before `before_id`; pinned ones
    /// first when `pinned_first` (lists), or regardless of pins (outbox order).
    pub async fn threads(
        &self,
        community: &str,
        limit: u64,
        before_id: Option<i64>,
        pinned_first: bool,
    ) -> Result<Vec<Post>, DbErr> {
        let mut q = visible_threads(community);
        if let Some(before) = before_id {
            q = q.filter(post::Column::Id.lt(before));
        }
        if pinned_first {
            q = q.order_by_desc(post::Column::Pinned);
        }
        q.order_by_desc(post::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// A page of a community's visible threads, pinned first, newest first: at most `limit`
    /// past `cursor`.
    pub async fn threads_page(
        &self,
        community: &str,
        cursor: Option<ThreadCursor>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = visible_threads(community);
        // (pinned, id) descending: after a pinned thread come older pinned ones, then every
        // unpinned one; after an unpinned one, only older unpinned ones.
        match cursor {
            None => {}
            Some(ThreadCursor { pinned: true, id }) => {
                q = q.filter(
                    Condition::any()
                        .add(post::Column::Pinned.eq(false))
                        .add(post::Column::Id.lt(id)),
                )
            }
            Some(ThreadCursor { pinned: false, id }) => {
                q = q
                    .filter(post::Column::Pinned.eq(false))
                    .filter(post::Column::Id.lt(id))
            }
        }
        let rows = q
            .order_by_desc(post::Column::Pinned)
            .order_by_desc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn pinned_threads(&self, community: &str) -> Result<Vec<Post>, DbErr> {
        visible_threads(community)
            .filter(post::Column::Pinned.eq(true))
            .order_by_desc(post::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a community's pinned threads, newest first, below thread id `before`.
    pub async fn pinned_page(
        &self,
        community: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = visible_threads(community).filter(post::Column::Pinned.eq(true));
        if let Some(before) = before {
            q = q.filter(post::Column::Id.lt(before));
        }
        let rows = q
            .order_by_desc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn pinned_count(&self, community: &str) -> Result<u64, DbErr> {
        visible_threads(community)
            .filter(post::Column::Pinned.eq(true))
            .count(self.conn())
            .await
    }

    /// Every reply of a thread (deleted ones too, so nesting stays intact), oldest first.
    pub async fn replies(&self, thread_id: i64) -> Result<Vec<Post>, DbErr> {
        post::Entity::find()
            .filter(post::Column::ThreadId.eq(thread_id))
            .order_by_asc(post::Column::Published)
            .order_by_asc(post::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a thread's replies in [`Db::replies`] order: at most `limit` after the reply
    /// published at `after.0` with id `after.1`.
    pub async fn replies_page(
        &self,
        thread_id: i64,
        after: Option<(i64, i64)>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = post::Entity::find().filter(post::Column::ThreadId.eq(thread_id));
        if let Some((published, id)) = after {
            q = q.filter(
                Condition::any()
                    .add(post::Column::Published.gt(published))
                    .add(
                        Condition::all()
                            .add(post::Column::Published.eq(published))
                            .add(post::Column::Id.gt(id)),
                    ),
            );
        }
        let rows = q
            .order_by_asc(post::Column::Published)
            .order_by_asc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// The ActivityPub ids of the posts among `ids`, in one query.
    pub async fn post_ap_ids(&self, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String)> = post::Entity::find()
            .select_only()
            .column(post::Column::Id)
            .column(post::Column::ApId)
            .filter(post::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn reply_count(&self, thread_id: i64) -> Result<u64, DbErr> {
        post::Entity::find()
            .filter(post::Column::ThreadId.eq(thread_id))
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .count(self.conn())
            .await
    }

    /// Visible replies of each of `thread_ids`, in one query (threads without any are absent).
    pub async fn reply_counts(
        &self,
        thread_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, u64>, DbErr> {
        if thread_ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(Option<i64>, i64)> = post::Entity::find()
            .select_only()
            .column(post::Column::ThreadId)
            .column_as(post::Column::Id.count(), "n")
            .filter(post::Column::ThreadId.is_in(thread_ids.iter().copied()))
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .group_by(post::Column::ThreadId)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(thread, n)| Some((thread?, u64::try_from(n).unwrap_or(0))))
            .collect())
    }

    // ----- likes -----

    /// Records a like; false when the actor already liked the post.
    pub async fn add_like(&self, post_id: i64, actor: &str, ap_id: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::AddLike {
                post_id,
                actor: actor.to_string(),
                ap_id: ap_id.to_string(),
            },
        )
        .await
    }

    pub async fn like_of(&self, post_id: i64, actor: &str) -> Result<Option<like::Model>, DbErr> {
        like::Entity::find()
            .filter(like::Column::PostId.eq(post_id))
            .filter(like::Column::Actor.eq(actor))
            .one(self.conn())
            .await
    }

    pub async fn remove_like(&self, post_id: i64, actor: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::RemoveLike {
                post_id,
                actor: actor.to_string(),
            },
        )
        .await
    }

    // ----- bans -----

    pub async fn ban(
        &self,
        community: &str,
        actor: &str,
        reason: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<(), DbErr> {
        apply(
            self.conn(),
            &Write::Ban {
                community: community.to_string(),
                actor: actor.to_string(),
                reason,
                expires_at,
            },
        )
        .await?;
        Ok(())
    }

    pub async fn unban(&self, community: &str, actor: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::Unban {
                community: community.to_string(),
                actor: actor.to_string(),
            },
        )
        .await
    }

    /// Applies `writes` and queues `jobs` in one transaction, so a change and the activities
    /// that tell others about it are committed together. With `only_if_changed`, the jobs are
    /// queued only when some write changed something (a second like of the same post does not
    /// federate again). Returns whether anything changed.
    pub async fn apply_and_enqueue(
        &self,
        writes: &[Write],
        jobs: Vec<NewJob>,
        only_if_changed: bool,
    ) -> Result<bool, DbErr> {
        let txn = self.begin().await?;
        let mut changed = false;
        for write in writes {
            changed |= apply(&txn, write).await?;
        }
        if changed || !only_if_changed {
            enqueue(&txn, jobs, now_ms()).await?;
        }
        txn.commit().await?;
        Ok(changed)
    }

    /// The ban in force on `actor` in `community` at `now`, if any.
    pub async fn active_ban(
        &self,
        community: &str,
        actor: &str,
        now: i64,
    ) -> Result<Option<Ban>, DbErr> {
        ban::Entity::find()
            .filter(ban::Column::Community.eq(community))
            .filter(ban::Column::Actor.eq(actor))
            .filter(
                Condition::any()
                    .add(ban::Column::ExpiresAt.is_null())
                    .add(ban::Column::ExpiresAt.gt(now)),
            )
            .one(self.conn())
            .await
    }

    /// The bans in force at `now` on `actor` in each of `communities`, in one query.
    pub async fn active_bans_of(
        &self,
        actor: &str,
        communities: &[String],
        now: i64,
    ) -> Result<HashMap<String, Ban>, DbErr> {
        if communities.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(ban::Entity::find()
            .filter(ban::Column::Actor.eq(actor))
            .filter(ban::Column::Community.is_in(communities.iter().cloned()))
            .filter(
                Condition::any()
                    .add(ban::Column::ExpiresAt.is_null())
                    .add(ban::Column::ExpiresAt.gt(now)),
            )
            .all(self.conn())
            .await?
            .into_iter()
            .map(|b| (b.community.clone(), b))
            .collect())
    }

    pub async fn bans(&self, community: &str) -> Result<Vec<Ban>, DbErr> {
        ban::Entity::find()
            .filter(ban::Column::Community.eq(community))
            .order_by_asc(ban::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a community's bans (only `actor`'s, if given), oldest first: at most `limit`
    /// after ban id `after`.
    pub async fn bans_page(
        &self,
        community: &str,
        actor: Option<&str>,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Page<Ban>, DbErr> {
        let mut q = ban::Entity::find().filter(ban::Column::Community.eq(community));
        if let Some(actor) = actor {
            q = q.filter(ban::Column::Actor.eq(actor));
        }
        if let Some(after) = after {
            q = q.filter(ban::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(ban::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }
}

fn post_kind(post: &Post) -> &'static str {
    if post.thread_id.is_none() {
        "thread"
    } else {
        "reply"
    }
}

/// Puts a visible post into the search index.
async fn index_post<C: sea_orm::ConnectionTrait>(conn: &C, post: &Post) -> Result<(), DbErr> {
    index_upsert(
        conn,
        post_kind(post),
        post.id,
        &post.community,
        post.title.as_deref().unwrap_or(""),
        &crate::markdown::plain_text(&post.content),
    )
    .await
}

/// A community's accepted owners and moderators.
fn moderators(community: &str) -> sea_orm::Select<membership::Entity> {
    membership::Entity::find()
        .filter(membership::Column::Community.eq(community))
        .filter(membership::Column::State.eq("accepted"))
        .filter(membership::Column::Role.is_in(["owner", "moderator"]))
}

/// Threads of a community that are neither deleted nor removed.
fn visible_threads(community: &str) -> sea_orm::Select<post::Entity> {
    post::Entity::find()
        .filter(post::Column::Community.eq(community))
        .filter(post::Column::ThreadId.is_null())
        .filter(post::Column::Deleted.eq(false))
        .filter(post::Column::RemovedReason.is_null())
}

/// A small write that may have to be committed together with delivery jobs.
#[derive(Debug, Clone)]
pub enum Write {
    AddLike {
        post_id: i64,
        actor: String,
        ap_id: String,
    },
    RemoveLike {
        post_id: i64,
        actor: String,
    },
    PostFlags {
        id: i64,
        locked: Option<bool>,
        pinned: Option<bool>,
    },
    Ban {
        community: String,
        actor: String,
        reason: Option<String>,
        expires_at: Option<i64>,
    },
    Unban {
        community: String,
        actor: String,
    },
    DeleteMembership {
        community: String,
        actor: String,
    },
}

/// Runs one [`Write`] on a connection or transaction; true when it changed something.
async fn apply<C: ConnectionTrait>(conn: &C, write: &Write) -> Result<bool, DbErr> {
    match write {
        Write::AddLike {
            post_id,
            actor,
            ap_id,
        } => {
            let n = like::Entity::insert(like::ActiveModel {
                post_id: Set(*post_id),
                actor: Set(actor.clone()),
                ap_id: Set(ap_id.clone()),
                created_at: Set(now_ms()),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([like::Column::PostId, like::Column::Actor])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
            recount_likes(conn, *post_id).await?;
            Ok(n > 0)
        }
        Write::RemoveLike { post_id, actor } => {
            let result = like::Entity::delete_many()
                .filter(like::Column::PostId.eq(*post_id))
                .filter(like::Column::Actor.eq(actor.as_str()))
                .exec(conn)
                .await?;
            recount_likes(conn, *post_id).await?;
            Ok(result.rows_affected > 0)
        }
        Write::PostFlags { id, locked, pinned } => {
            let mut model = post::ActiveModel {
                id: Set(*id),
                ..Default::default()
            };
            if let Some(locked) = locked {
                model.locked = Set(*locked);
            }
            if let Some(pinned) = pinned {
                model.pinned = Set(*pinned);
            }
            if locked.is_none() && pinned.is_none() {
                return Ok(false);
            }
            model.update(conn).await?;
            Ok(true)
        }
        Write::Ban {
            community,
            actor,
            reason,
            expires_at,
        } => {
            ban::Entity::insert(ban::ActiveModel {
                community: Set(community.clone()),
                actor: Set(actor.clone()),
                reason: Set(reason.clone()),
                expires_at: Set(*expires_at),
                created_at: Set(now_ms()),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([ban::Column::Community, ban::Column::Actor])
                    .update_columns([ban::Column::Reason, ban::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
            Ok(true)
        }
        Write::Unban { community, actor } => {
            let result = ban::Entity::delete_many()
                .filter(ban::Column::Community.eq(community.as_str()))
                .filter(ban::Column::Actor.eq(actor.as_str()))
                .exec(conn)
                .await?;
            Ok(result.rows_affected > 0)
        }
        Write::DeleteMembership { community, actor } => {
            let result = membership::Entity::delete_many()
                .filter(membership::Column::Community.eq(community.as_str()))
                .filter(membership::Column::Actor.eq(actor.as_str()))
                .exec(conn)
                .await?;
            Ok(result.rows_affected > 0)
        }
    }
}

async fn recount_likes<C: ConnectionTrait>(conn: &C, post_id: i64) -> Result<(), DbErr> {
    let n = like::Entity::find()
        .filter(like::Column::PostId.eq(post_id))
        .count(conn)
        .await?;
    post::Entity::update_many()
        .col_expr(post::Column::LikeCount, Expr::value(n as i32))
        .filter(post::Column::Id.eq(post_id))
        .exec(conn)
        .await?;
    Ok(())
}
