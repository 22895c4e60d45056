//! Accounts: users' sign-in fields, mailed single-use links, invitations and browser sessions.

use crate::db::{
    entities::{
        account_link, browser_session, invitation, local_actor,
        user::{self, AccountState},
    },
    insert_actor, now_ms, Db, DbErr, LocalActor, NewLocalActor, StoreError, User,
};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr,
    TransactionTrait,
};

/// The kind of the mailed link that confirms a new email address.
pub const CHANGE_EMAIL: &str = "change_email";

/// The account fields of a user to create (its actor comes separately).
pub struct NewUser {
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub email: Option<String>,
    pub email_verified: bool,
    pub state: AccountState,
    pub locale: String,
    pub time_zone: String,
}

/// A browser session's fields outside its JSON data.
pub struct SessionRow<'a> {
    pub id_hash: &'a str,
    pub user_id: Option<i64>,
    pub data: &'a str,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
}

impl Db {
    /// Creates a user and its `Person` actor in one transaction; `Taken` names the clash (the
    /// name or the email).
    pub async fn insert_account(
        &self,
        actor: NewLocalActor,
        new: NewUser,
    ) -> Result<(LocalActor, User), StoreError> {
        let txn = self.conn().begin().await?;
        let actor = insert_actor(&txn, actor).await?;
        let email = new.email.clone();
        let result = user::ActiveModel {
            actor_id: Set(actor.id),
            password_hash: Set(new.password_hash),
            is_admin: Set(new.is_admin),
            created_at: Set(now_ms()),
            email: Set(new.email),
            email_verified: Set(new.email_verified),
            state: Set(new.state),
            locale: Set(new.locale),
            time_zone: Set(new.time_zone),
            failed_sign_ins: Set(0),
            locked_until: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let user = match result {
            Ok(user) => user,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::Taken(format!(
                    "the email {:?}",
                    email.unwrap_or_default()
                )))
            }
            Err(e) => return Err(e.into()),
        };
        txn.commit().await?;
        Ok((actor, user))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, DbErr> {
        user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(self.conn())
            .await
    }

    /// Every user with its actor, by name.
    pub async fn users_with_actors(&self) -> Result<Vec<(User, LocalActor)>, DbErr> {
        let users = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(self.conn())
            .await?;
        let actors: std::collections::HashMap<i64, LocalActor> = local_actor::Entity::find()
            .filter(local_actor::Column::Id.is_in(users.iter().map(|u| u.actor_id)))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let mut out: Vec<(User, LocalActor)> = users
            .into_iter()
            .filter_map(|u| actors.get(&u.actor_id).cloned().map(|a| (u, a)))
            .collect();
        out.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        Ok(out)
    }

    /// Sets (or clears) a user's password and lifts any lockout.
    pub async fn set_password_hash(&self, user_id: i64, hash: Option<String>) -> Result<(), DbErr> {
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(user::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(user::Column::Id.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Sets a user's public profile (its actor's display name and summary) and its settings
    /// (time zone, locale) together.
    pub async fn set_profile(
        &self,
        user: &User,
        display_name: &str,
        summary: &str,
        time_zone: &str,
        locale: &str,
    ) -> Result<(), DbErr> {
        let txn = self.conn().begin().await?;
        local_actor::Entity::update_many()
            .col_expr(local_actor::Column::DisplayName, Expr::value(display_name))
            .col_expr(local_actor::Column::Summary, Expr::value(summary))
            .filter(local_actor::Column::Id.eq(user.actor_id))
            .exec(&txn)
            .await?;
        user::Entity::update_many()
            .col_expr(user::Column::TimeZone, Expr::value(time_zone))
            .col_expr(user::Column::Locale, Expr::value(locale))
            .filter(user::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        txn.commit().await
    }

    pub async fn set_email_verified(&self, user_id: i64) -> Result<(), DbErr> {
        user::Entity::update_many()
            .col_expr(user::Column::EmailVerified, Expr::value(true))
            .filter(user::Column::Id.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Moves a user to `to` if it is in one of `from`; false when it was not.
    pub async fn set_account_state(
        &self,
        user_id: i64,
        from: &[AccountState],
        to: AccountState,
    ) -> Result<bool, DbErr> {
        let done = user::Entity::update_many()
            .col_expr(user::Column::State, Expr::value(to.as_str()))
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::State.is_in(from.iter().map(|s| s.as_str())))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Counts a failed sign-in; once `lock_after` have failed in a row the account is locked
    /// until `now + lock_ms` and the count starts again. Returns the lock's end, if it locked.
    pub async fn failed_sign_in(
        &self,
        user_id: i64,
        lock_after: u32,
        lock_ms: i64,
    ) -> Result<Option<i64>, DbErr> {
        user::Entity::update_many()
            .col_expr(
                user::Column::FailedSignIns,
                Expr::col(user::Column::FailedSignIns).add(1),
            )
            .filter(user::Column::Id.eq(user_id))
            .exec(self.conn())
            .await?;
        let until = now_ms() + lock_ms;
        let locked = user::Entity::update_many()
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(user::Column::LockedUntil, Expr::value(Some(until)))
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::FailedSignIns.gte(i64::from(lock_after)))
            .exec(self.conn())
            .await?;
        Ok((locked.rows_affected > 0).then_some(until))
    }

    pub async fn succeeded_sign_in(&self, user_id: i64) -> Result<(), DbErr> {
        user::Entity::update_many()
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(user::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(user::Column::Id.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes a user's account (its memberships, tokens, sessions and links go with it) and
    /// keeps its actor as a tombstone (kind `deleted`), so the name is never given to someone
    /// else and the posts it wrote keep an author id nobody else can take.
    pub async fn delete_account(&self, user: &User) -> Result<(), DbErr> {
        let txn = self.conn().begin().await?;
        local_actor::Entity::update_many()
            .col_expr(local_actor::Column::Kind, Expr::value("deleted"))
            .col_expr(local_actor::Column::Summary, Expr::value(""))
            .filter(local_actor::Column::Id.eq(user.actor_id))
            .exec(&txn)
            .await?;
        user::Entity::delete_by_id(user.id).exec(&txn).await?;
        txn.commit().await
    }

    // ----- mailed single-use links -----

    pub async fn insert_account_link(
        &self,
        kind: &str,
        user_id: i64,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), DbErr> {
        account_link::ActiveModel {
            kind: Set(kind.to_string()),
            user_id: Set(user_id),
            token_hash: Set(token_hash.to_string()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(now_ms()),
            new_email: Set(None),
            ..Default::default()
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    /// A link that confirms `new_email` for the user; earlier unused ones stop working.
    pub async fn insert_email_change_link(
        &self,
        user_id: i64,
        token_hash: &str,
        expires_at: i64,
        new_email: &str,
    ) -> Result<(), DbErr> {
        let txn = self.begin().await?;
        account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(Some(now_ms())))
            .filter(account_link::Column::UserId.eq(user_id))
            .filter(account_link::Column::Kind.eq(CHANGE_EMAIL))
            .filter(account_link::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        account_link::ActiveModel {
            kind: Set(CHANGE_EMAIL.to_string()),
            user_id: Set(user_id),
            token_hash: Set(token_hash.to_string()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(now_ms()),
            new_email: Set(Some(new_email.to_string())),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await
    }

    /// The address an unused, unexpired email-change link confirms, and whose it is.
    pub async fn email_change_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<(i64, String)>, DbErr> {
        Ok(account_link::Entity::find()
            .filter(account_link::Column::Kind.eq(CHANGE_EMAIL))
            .filter(account_link::Column::TokenHash.eq(token_hash))
            .filter(account_link::Column::UsedAt.is_null())
            .filter(account_link::Column::ExpiresAt.gt(now_ms()))
            .one(self.conn())
            .await?
            .and_then(|l| Some((l.user_id, l.new_email?))))
    }

    /// Uses an email-change link once and sets the confirmed address, in one transaction:
    /// `Ok(None)` when the link is unknown, used or expired; `Err(StoreError::Taken)` when
    /// another account took the address meanwhile (the link stays unused).
    pub async fn use_email_change_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let Some((user_id, email)) = self.email_change_link(token_hash).await? else {
            return Ok(None);
        };
        let txn = self.begin().await?;
        // The write comes first (SQLite: a transaction that reads before it writes can fail
        // with "database is locked" instead of waiting); dropping `txn` rolls it back.
        let done = account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(Some(now_ms())))
            .filter(account_link::Column::TokenHash.eq(token_hash))
            .filter(account_link::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            return Ok(None);
        }
        if user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .filter(user::Column::Id.ne(user_id))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(StoreError::Taken(email));
        }
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(Some(email.clone())))
            .col_expr(user::Column::EmailVerified, Expr::value(true))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await;
        match changed {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::Taken(email));
            }
            other => other?,
        };
        txn.commit().await?;
        Ok(Some((user_id, email)))
    }

    /// The user of an unused, unexpired link of `kind`, without using it.
    pub async fn account_link(&self, kind: &str, token_hash: &str) -> Result<Option<i64>, DbErr> {
        Ok(account_link::Entity::find()
            .filter(account_link::Column::Kind.eq(kind))
            .filter(account_link::Column::TokenHash.eq(token_hash))
            .filter(account_link::Column::UsedAt.is_null())
            .filter(account_link::Column::ExpiresAt.gt(now_ms()))
            .one(self.conn())
            .await?
            .map(|l| l.user_id))
    }

    /// Uses a link once: the user it was for, or None when it is unknown, used or expired (a
    /// compare-and-set, so two requests racing with one link cannot both use it).
    pub async fn use_account_link(
        &self,
        kind: &str,
        token_hash: &str,
    ) -> Result<Option<i64>, DbErr> {
        let Some(user_id) = self.account_link(kind, token_hash).await? else {
            return Ok(None);
        };
        let done = account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(Some(now_ms())))
            .filter(account_link::Column::TokenHash.eq(token_hash))
            .filter(account_link::Column::UsedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok((done.rows_affected == 1).then_some(user_id))
    }

    // ----- invitations -----

    pub async fn insert_invitation(
        &self,
        token_hash: &str,
        created_by: &str,
        max_uses: i32,
        expires_at: i64,
    ) -> Result<(), DbErr> {
        invitation::ActiveModel {
            token_hash: Set(token_hash.to_string()),
            created_by: Set(created_by.to_string()),
            max_uses: Set(max_uses),
            uses: Set(0),
            expires_at: Set(expires_at),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    /// An invitation that can still be used.
    pub async fn open_invitation(
        &self,
        token_hash: &str,
    ) -> Result<Option<invitation::Model>, DbErr> {
        Ok(invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .one(self.conn())
            .await?
            .filter(|i| i.uses < i.max_uses && i.expires_at > now_ms()))
    }

    /// Takes one use of an invitation; false when it is unknown, used up or expired.
    pub async fn use_invitation(&self, token_hash: &str) -> Result<bool, DbErr> {
        let done = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Uses,
                Expr::col(invitation::Column::Uses).add(1),
            )
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .filter(Expr::col(invitation::Column::Uses).lt(Expr::col(invitation::Column::MaxUses)))
            .filter(invitation::Column::ExpiresAt.gt(now_ms()))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Gives back a use taken by a sign-up that then failed.
    pub async fn return_invitation_use(&self, token_hash: &str) -> Result<(), DbErr> {
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Uses,
                Expr::col(invitation::Column::Uses).sub(1),
            )
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .filter(invitation::Column::Uses.gt(0))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    // ----- browser sessions -----

    /// Inserts a new session; false when its id is taken (the caller draws another).
    pub async fn insert_browser_session(&self, row: SessionRow<'_>) -> Result<bool, DbErr> {
        let now = now_ms();
        let result = browser_session::ActiveModel {
            id_hash: Set(row.id_hash.to_string()),
            user_id: Set(row.user_id),
            data: Set(row.data.to_string()),
            expires_at: Set(row.expires_at),
            created_at: Set(now),
            last_seen_at: Set(now),
            user_agent: Set(row.user_agent.map(str::to_string)),
            ..Default::default()
        }
        .insert(self.conn())
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a session's data. A session no longer stored (revoked or expired meanwhile) stays
    /// gone: a request in flight never brings a revoked session back.
    pub async fn save_browser_session(&self, row: SessionRow<'_>) -> Result<(), DbErr> {
        browser_session::Entity::update_many()
            .col_expr(browser_session::Column::UserId, Expr::value(row.user_id))
            .col_expr(browser_session::Column::Data, Expr::value(row.data))
            .col_expr(
                browser_session::Column::ExpiresAt,
                Expr::value(row.expires_at),
            )
            .col_expr(browser_session::Column::LastSeenAt, Expr::value(now_ms()))
            .col_expr(
                browser_session::Column::UserAgent,
                Expr::value(row.user_agent.map(str::to_string)),
            )
            .filter(browser_session::Column::IdHash.eq(row.id_hash))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// A session that has not expired.
    pub async fn browser_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<browser_session::Model>, DbErr> {
        Ok(browser_session::Entity::find()
            .filter(browser_session::Column::IdHash.eq(id_hash))
            .one(self.conn())
            .await?
            .filter(|s| s.expires_at > now_ms()))
    }

    pub async fn delete_browser_session(&self, id_hash: &str) -> Result<(), DbErr> {
        browser_session::Entity::delete_many()
            .filter(browser_session::Column::IdHash.eq(id_hash))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// A user's live sessions, most recently used first.
    pub async fn browser_sessions_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<browser_session::Model>, DbErr> {
        browser_session::Entity::find()
            .filter(browser_session::Column::UserId.eq(user_id))
            .filter(browser_session::Column::ExpiresAt.gt(now_ms()))
            .order_by_desc(browser_session::Column::LastSeenAt)
            .order_by_desc(browser_session::Column::Id)
            .all(self.conn())
            .await
    }

    /// Ends one of a user's sessions by its row id; false when the user has no such session.
    pub async fn revoke_browser_session(&self, user_id: i64, id: i64) -> Result<bool, DbErr> {
        let done = browser_session::Entity::delete_many()
            .filter(browser_session::Column::UserId.eq(user_id))
            .filter(browser_session::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Ends every session of a user but the one whose id hash is `keep`.
    pub async fn revoke_other_browser_sessions(
        &self,
        user_id: i64,
        keep: &str,
    ) -> Result<u64, DbErr> {
        let done = browser_session::Entity::delete_many()
            .filter(browser_session::Column::UserId.eq(user_id))
            .filter(browser_session::Column::IdHash.ne(keep))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }

    /// Ends every session of a user (a password reset, a suspension).
    pub async fn revoke_browser_sessions_of(&self, user_id: i64) -> Result<u64, DbErr> {
        let done = browser_session::Entity::delete_many()
            .filter(browser_session::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }

    /// Forgets expired sessions.
    pub async fn purge_browser_sessions(&self) -> Result<u64, DbErr> {
        let done = browser_session::Entity::delete_many()
            .filter(browser_session::Column::ExpiresAt.lte(now_ms()))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected)
    }
}

impl Db {
    /// Whether a user owns any community.
    pub async fn owns_communities(&self, user_id: i64) -> Result<bool, DbErr> {
        use sea_orm::PaginatorTrait;
        Ok(crate::db::entities::community::Entity::find()
            .filter(crate::db::entities::community::Column::OwnerUserId.eq(user_id))
            .count(self.conn())
            .await?
            > 0)
    }
}

impl Db {
    /// Where to tell other nodes that a user is gone: the inboxes of the remote communities
    /// the user belongs to, and those of the remote members of the local communities they
    /// belong to (`base` is this node's base URL).
    pub async fn account_fanout(&self, user_id: i64, base: &str) -> Result<Vec<String>, DbErr> {
        use crate::db::entities::{membership, remote_actor};
        let communities: Vec<String> = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| m.community)
            .collect();
        let local_prefix = format!("{base}/");
        let (local, remote): (Vec<String>, Vec<String>) = communities
            .into_iter()
            .partition(|c| c.starts_with(&local_prefix));
        let mut inboxes: Vec<String> = Vec::new();
        if !remote.is_empty() {
            inboxes.extend(
                remote_actor::Entity::find()
                    .filter(remote_actor::Column::ApId.is_in(remote))
                    .all(self.conn())
                    .await?
                    .into_iter()
                    .map(|a| a.shared_inbox.unwrap_or(a.inbox)),
            );
        }
        if !local.is_empty() {
            inboxes.extend(
                membership::Entity::find()
                    .filter(membership::Column::Community.is_in(local))
                    .filter(membership::Column::Inbox.is_not_null())
                    .all(self.conn())
                    .await?
                    .into_iter()
                    .filter_map(|m| m.inbox),
            );
        }
        inboxes.sort();
        inboxes.dedup();
        Ok(inboxes)
    }
}

impl Db {
    /// The email addresses of the node's administrators.
    pub async fn admin_emails(&self) -> Result<Vec<String>, DbErr> {
        Ok(user::Entity::find()
            .filter(user::Column::IsAdmin.eq(true))
            .filter(user::Column::Email.is_not_null())
            .filter(user::Column::State.eq(AccountState::Active.as_str()))
            .all(self.conn())
            .await?
            .into_iter()
            .filter_map(|u| u.email)
            .collect())
    }
}
