//! Local communities: their actors and profiles.

use super::*;

impl Db {
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
        self.remembered_rows_changed().await
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
        txn.execute_raw(crate::db::memo::bump_statement(self.backend()))
            .await?;
        txn.commit().await?;
        self.forget_remembered();
        Ok(())
    }

    pub async fn set_actor_summary(&self, actor_id: i64, summary: &str) -> Result<(), DbErr> {
        local_actor::Entity::update_many()
            .col_expr(local_actor::Column::Summary, Expr::value(summary))
            .filter(local_actor::Column::Id.eq(actor_id))
            .exec(self.conn())
            .await?;
        // The actor may be a community's.
        self.remembered_rows_changed().await
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
}
