//! Memberships, local and remote, by actor id: joining, states, roles, member lists and who receives.

use super::*;

/// Which side of a membership a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Members,
    Communities,
}

impl Db {
    /// A page of accepted memberships, newest first, by membership id: a community's members
    /// (`Side::Members`, each `target` a member) or a person's communities (`Side::Communities`,
    /// each `target` a community), keeping only the communities in `shown` when given.
    pub async fn accepted_page(
        &self,
        of: &str,
        side: Side,
        shown: Option<&[String]>,
        w: crate::db::personal::KeptWindow,
    ) -> Result<Vec<crate::db::personal::Kept>, DbErr> {
        let mut q = membership::Entity::find()
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .filter(match side {
                Side::Members => membership::Column::Community.eq(of),
                Side::Communities => membership::Column::Actor.eq(of),
            });
        if let Some(shown) = shown {
            q = q.filter(membership::Column::Community.is_in(shown.iter().cloned()));
        }
        if let Some(max) = w.max_id {
            q = q.filter(membership::Column::Id.lt(max));
        }
        if let Some(since) = w.since_id.or(w.min_id) {
            q = q.filter(membership::Column::Id.gt(since));
        }
        let ascending = w.min_id.is_some();
        let mut rows = if ascending {
            q.order_by_asc(membership::Column::Id)
        } else {
            q.order_by_desc(membership::Column::Id)
        }
        .limit(w.limit)
        .all(self.conn())
        .await?;
        if ascending {
            rows.reverse();
        }
        Ok(rows
            .into_iter()
            .map(|m| crate::db::personal::Kept {
                id: m.id,
                target: match side {
                    Side::Members => m.actor,
                    Side::Communities => m.community,
                },
            })
            .collect())
    }

    /// Pending requests to join the communities `moderator` moderates (owner or moderator,
    /// accepted), newest first, below membership id `before`.
    pub async fn requests_to_moderate(
        &self,
        moderator: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Membership>, DbErr> {
        let mut q = membership::Entity::find().filter(pending_for(moderator));
        if let Some(before) = before {
            q = q.filter(membership::Column::Id.lt(before));
        }
        q.order_by_desc(membership::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

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
            role: Set(new.role),
            title: Set(None),
            state: Set(new.state),
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
        state: MemberState,
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
        role: Role,
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
        state: Option<MemberState>,
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
        state: Option<MemberState>,
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
        self.remembered_rows_changed().await
    }

    /// How many communities `actor` moderates (or owns).
    pub async fn moderated_communities(&self, actor: &str) -> Result<u64, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::Actor.eq(actor))
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .filter(membership::Column::Role.is_in([Role::Owner, Role::Moderator]))
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
            .query_all_raw(crate::db::queue::sql(
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
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .count(self.conn())
            .await
    }

    /// Distinct delivery targets of a community's accepted remote members.
    pub async fn follower_inboxes(&self, community: &str) -> Result<Vec<String>, DbErr> {
        let rows: Vec<Option<String>> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Inbox)
            .filter(membership::Column::Community.eq(community))
            .filter(membership::Column::State.eq(MemberState::Accepted))
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
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .filter(membership::Column::UserId.is_not_null())
            .count(self.conn())
            .await
    }

    /// The communities local users are accepted members of, as ids; with `hosted_here` (this
    /// node's base URL) those hosted here are left out: what this node replicates.
    pub async fn replicated_communities(&self, hosted_here: &str) -> Result<Vec<String>, DbErr> {
        let mut ids: Vec<String> = membership::Entity::find()
            .select_only()
            .column(membership::Column::Community)
            .distinct()
            .filter(membership::Column::State.eq(MemberState::Accepted))
            .filter(membership::Column::UserId.is_not_null())
            .into_tuple()
            .all(self.conn())
            .await?;
        ids.retain(|c: &String| !c.starts_with(&format!("{hosted_here}/")));
        ids.sort();
        Ok(ids)
    }

    // ----- posts -----

    pub async fn membership_by_id(&self, id: i64) -> Result<Option<Membership>, DbErr> {
        membership::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn membership_by_follow(&self, follow_id: &str) -> Result<Option<Membership>, DbErr> {
        membership::Entity::find()
            .filter(membership::Column::FollowId.eq(follow_id))
            .one(self.conn())
            .await
    }
}

/// The pending memberships of the communities `moderator` moderates (owner or moderator,
/// accepted).
pub(crate) fn pending_for(moderator: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(membership::Column::State.eq(MemberState::Pending))
        .add(
            membership::Column::Community.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(membership::Column::Community)
                    .from(membership::Entity)
                    .and_where(membership::Column::Actor.eq(moderator))
                    .and_where(membership::Column::State.eq(MemberState::Accepted))
                    .and_where(membership::Column::Role.is_in([Role::Owner, Role::Moderator]))
                    .to_owned(),
            ),
        )
}
