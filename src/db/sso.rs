//! Single sign-on: identities at OpenID Connect providers (issuer + subject) linked to users,
//! and accounts provisioned together with their first identity.

use crate::db::{
    accounts::NewUser,
    entities::{user, user_identity},
    insert_actor, now_ms, Db, DbErr, LocalActor, NewLocalActor, StoreError, User,
};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr,
    TransactionTrait,
};

pub use user_identity::Model as Identity;

/// Why an account could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the name is already taken")]
    NameTaken,
    #[error("the email is already taken")]
    EmailTaken,
    /// Another request linked this identity first.
    #[error("the identity is already linked")]
    IdentityTaken,
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

impl Db {
    /// The identity `subject` at `issuer`, if it is linked.
    pub async fn identity(&self, issuer: &str, subject: &str) -> Result<Option<Identity>, DbErr> {
        user_identity::Entity::find()
            .filter(user_identity::Column::Issuer.eq(issuer))
            .filter(user_identity::Column::Subject.eq(subject))
            .one(self.conn())
            .await
    }

    /// The identities linked to a user, oldest first.
    pub async fn identities_of(&self, user_id: i64) -> Result<Vec<Identity>, DbErr> {
        use sea_orm::QueryOrder;
        user_identity::Entity::find()
            .filter(user_identity::Column::UserId.eq(user_id))
            .order_by_asc(user_identity::Column::Id)
            .all(self.conn())
            .await
    }

    /// Links an identity to an existing user; `Taken` when it is linked already.
    pub async fn link_identity(
        &self,
        user_id: i64,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
    ) -> Result<Identity, StoreError> {
        let now = now_ms();
        let result = user_identity::ActiveModel {
            user_id: Set(user_id),
            issuer: Set(issuer.to_string()),
            subject: Set(subject.to_string()),
            email: Set(email.map(str::to_string)),
            created_at: Set(now),
            last_used_at: Set(now),
            ..Default::default()
        }
        .insert(self.conn())
        .await;
        match result {
            Ok(identity) => Ok(identity),
            Err(e) if unique_violation(&e) => Err(StoreError::Taken("this identity".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Records a sign-in with an identity and the email the provider gave this time.
    pub async fn identity_used(&self, id: i64, email: Option<&str>) -> Result<(), DbErr> {
        user_identity::Entity::update_many()
            .col_expr(user_identity::Column::LastUsedAt, Expr::value(now_ms()))
            .col_expr(
                user_identity::Column::Email,
                Expr::value(email.map(str::to_string)),
            )
            .filter(user_identity::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Creates a user, its `Person` actor and its first identity in one transaction.
    pub async fn provision_account(
        &self,
        actor: NewLocalActor,
        new: NewUser,
        issuer: &str,
        subject: &str,
    ) -> Result<(LocalActor, User), ProvisionError> {
        let txn = self.conn().begin().await?;
        let actor = match insert_actor(&txn, actor).await {
            Ok(actor) => actor,
            Err(StoreError::Taken(_)) => return Err(ProvisionError::NameTaken),
            Err(StoreError::Db(e)) => return Err(e.into()),
        };
        let now = now_ms();
        let email = new.email.clone();
        let user = user::ActiveModel {
            actor_id: Set(actor.id),
            password_hash: Set(new.password_hash),
            is_admin: Set(new.is_admin),
            created_at: Set(now),
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
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                ProvisionError::EmailTaken
            } else {
                e.into()
            }
        })?;
        user_identity::ActiveModel {
            user_id: Set(user.id),
            issuer: Set(issuer.to_string()),
            subject: Set(subject.to_string()),
            email: Set(email),
            created_at: Set(now),
            last_used_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                ProvisionError::IdentityTaken
            } else {
                e.into()
            }
        })?;
        txn.commit().await?;
        Ok((actor, user))
    }

    /// Makes a user an admin, or not.
    pub async fn set_admin(&self, user_id: i64, admin: bool) -> Result<(), DbErr> {
        user::Entity::update_many()
            .col_expr(user::Column::IsAdmin, Expr::value(admin))
            .filter(user::Column::Id.eq(user_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }
}
