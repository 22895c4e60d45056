//! What the Mastodon client API reads beyond the native API's queries: actors by row id,
//! counts for profiles and the instance, and the peers this node knows.

use crate::db::{
    entities::{local_actor, membership, post, remote_actor, user},
    Db, DbErr, LocalActor, RemoteActor,
};
use crate::domain::MemberState;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

/// How many of a profile's things there are.
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

    /// A remote actor by its user name and host (`preferred_username@host`).
    pub async fn remote_actor_by_handle(
        &self,
        username: &str,
        host: &str,
    ) -> Result<Option<RemoteActor>, DbErr> {
        remote_actor::Entity::find()
            .filter(remote_actor::Column::PreferredUsername.eq(username))
            .filter(remote_actor::Column::Host.eq(host))
            .order_by_asc(remote_actor::Column::Id)
            .one(self.conn())
            .await
    }

    /// A profile's counts: for a community its accepted members as followers; for a person
    /// the communities they belong to as following, and their visible posts.
    pub async fn profile_counts(&self, ap_id: &str, group: bool) -> Result<Counts, DbErr> {
        let accepted = |column: membership::Column| {
            membership::Entity::find()
                .filter(column.eq(ap_id))
                .filter(membership::Column::State.eq(MemberState::Accepted))
        };
        let (followers, following) = if group {
            (
                accepted(membership::Column::Community)
                    .count(self.conn())
                    .await?,
                0,
            )
        } else {
            (
                0,
                accepted(membership::Column::Actor)
                    .count(self.conn())
                    .await?,
            )
        };
        let posts = post::Entity::find()
            .filter(if group {
                post::Column::Community.eq(ap_id)
            } else {
                post::Column::Author.eq(ap_id)
            })
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null());
        let statuses = posts.clone().count(self.conn()).await?;
        let last_status_at = posts
            .order_by_desc(post::Column::Id)
            .one(self.conn())
            .await?
            .map(|p| p.published);
        Ok(Counts {
            statuses,
            followers,
            following,
            last_status_at,
        })
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
