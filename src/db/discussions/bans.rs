//! Bans, and writes applied together with the jobs that announce them.

use super::*;

impl Db {
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
        self.forget_remembered();
        Ok(())
    }

    pub async fn unban(&self, community: &str, actor: &str) -> Result<bool, DbErr> {
        let done = apply(
            self.conn(),
            &Write::Unban {
                community: community.to_string(),
                actor: actor.to_string(),
            },
        )
        .await;
        self.forget_remembered();
        done
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
    ) -> Result<Queued<bool>, DbErr> {
        async {
            let txn = self.begin().await?;
            let mut changed = false;
            for write in writes {
                changed |= apply(&txn, write).await?;
            }
            if changed || !only_if_changed {
                enqueue(&txn, jobs, now_ms()).await?;
            }
            txn.commit().await?;
            if writes
                .iter()
                .any(|w| matches!(w, Write::Ban { .. } | Write::Unban { .. }))
            {
                self.forget_remembered();
            }
            Ok(changed)
        }
        .await
        .map(Queued)
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
