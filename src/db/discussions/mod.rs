//! Queries for communities, memberships, threads and replies, likes, bans and community
//! outboxes. Actors are keyed by their ActivityPub id.

use super::queue::{enqueue, NewJob, Queued};
use super::search::{index_remove, index_upsert};
use super::{
    entities::{ban, community, like, local_actor, membership, post, post_mention, remote_actor},
    now_ms, Community, Db, DbErr, LocalActor, RemoteActor,
};
use crate::domain::{MemberState, Role};
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

mod bans;
mod communities;
pub(crate) mod memberships;
pub use memberships::Side;
mod posts;

/// Fields of a membership to write.
pub struct NewMembership {
    pub community: String,
    pub actor: String,
    pub user_id: Option<i64>,
    pub role: Role,
    pub state: MemberState,
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
    /// The people the post mentions, stored with it.
    pub mentions: Vec<Mentioned>,
    /// Its images, stored with it.
    pub attachments: Vec<super::media::NewAttachment>,
}

/// A person a post mentions: their ActivityPub id and `@name@host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mentioned {
    pub actor: String,
    pub name: String,
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
    let tags = crate::markdown::post_hashtags(post.title.as_deref(), &post.content);
    super::tags::replace(conn, post.id, &tags).await?;
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
        .filter(membership::Column::State.eq(MemberState::Accepted))
        .filter(membership::Column::Role.is_in([Role::Owner, Role::Moderator]))
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
    /// A thread's answer: `answer` is one of its replies, or None to unmark.
    Answer {
        thread: i64,
        answer: Option<i64>,
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
        Write::Answer { thread, answer } => {
            let result = post::Entity::update_many()
                .col_expr(post::Column::AnswerId, Expr::value(*answer))
                .filter(post::Column::Id.eq(*thread))
                .filter(post::Column::ThreadId.is_null())
                .exec(conn)
                .await?;
            Ok(result.rows_affected > 0)
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
            // Inboxes remember bans (`memo`): every process forgets them at its next request.
            conn.execute_raw(super::memo::bump_statement(conn.get_database_backend()))
                .await?;
            Ok(true)
        }
        Write::Unban { community, actor } => {
            let result = ban::Entity::delete_many()
                .filter(ban::Column::Community.eq(community.as_str()))
                .filter(ban::Column::Actor.eq(actor.as_str()))
                .exec(conn)
                .await?;
            conn.execute_raw(super::memo::bump_statement(conn.get_database_backend()))
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
