//! What the node's administrator does with accounts (from the CLI today, an admin page later):
//! create, list, set a password, approve, suspend, delete.

use super::{check_password, hash_new_password, new_actor, parse_email, Account};
use crate::{
    db::{accounts::NewUser, entities::user::AccountState},
    domain::{ActorKind, Name},
    mail::messages,
    node::Node,
    service::{accounts::signup::queue, error::Error},
};

/// An account the admin creates.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    pub admin: bool,
    /// A BCP 47 language tag; English when None.
    pub locale: Option<&'a str>,
    /// An IANA time zone; UTC when None.
    pub time_zone: Option<&'a str>,
}

/// Creates an active account. An email the admin gives counts as confirmed.
pub async fn create(node: &Node, new: NewAccount<'_>) -> Result<Account, Error> {
    let name = Name::parse(new.name).map_err(|e| Error::invalid(e.to_string()).on("name"))?;
    let email = new.email.map(parse_email).transpose()?;
    let locale = super::parse_locale(new.locale.unwrap_or_default())?;
    let time_zone = super::parse_time_zone(new.time_zone.unwrap_or_default())?;
    let password_hash = match new.password {
        Some(p) => Some(hash_new_password(p).await?),
        None => None,
    };
    if node.db.local_actor_by_name(name.as_str()).await?.is_some() {
        return Err(Error::conflict(format!(
            "the name {:?} is already taken",
            name.as_str()
        )));
    }
    if let Some(email) = &email {
        if node.db.user_by_email(email).await?.is_some() {
            return Err(Error::conflict(format!(
                "the email {email:?} is already taken"
            )));
        }
    }
    let actor = new_actor(
        ActorKind::Person,
        name.to_string(),
        name.to_string(),
        String::new(),
    )
    .await
    .map_err(|e| Error::unavailable(e.to_string()))?;
    let (actor, user) = node
        .db
        .insert_account(
            actor,
            NewUser {
                password_hash,
                is_admin: new.admin,
                email_verified: email.is_some(),
                email,
                state: AccountState::Active,
                locale,
                time_zone,
            },
        )
        .await?;
    Ok(Account { user, actor })
}

pub async fn list(node: &Node) -> Result<Vec<Account>, Error> {
    Ok(node
        .db
        .users_with_actors()
        .await?
        .into_iter()
        .filter(|(_, a)| a.kind == ActorKind::Person.as_str())
        .map(|(user, actor)| Account { user, actor })
        .collect())
}

/// Sets a user's password (and lifts a lockout); their browser sessions end.
pub async fn set_password(node: &Node, name: &str, password: &str) -> Result<(), Error> {
    check_password(password)?;
    let account = super::account_named(&node.db, name).await?;
    let hash = hash_new_password(password).await?;
    node.db
        .set_password_hash(account.user.id, Some(hash))
        .await?;
    node.db.revoke_browser_sessions_of(account.user.id).await?;
    Ok(())
}

/// Approves an account waiting for approval, and tells its owner.
pub async fn approve(node: &Node, name: &str) -> Result<Account, Error> {
    let account = super::account_named(&node.db, name).await?;
    if !node
        .db
        .set_account_state(
            account.user.id,
            &[AccountState::Pending],
            AccountState::Active,
        )
        .await?
    {
        return Err(Error::conflict(format!(
            "{} is not waiting for approval (it is {})",
            account.name(),
            account.user.state.as_str()
        )));
    }
    if let Some(email) = &account.user.email {
        let link = format!("{}/sign-in", node.settings.base_url());
        let content = messages::approved(account.name(), &node.settings.instance.name, &link);
        queue(node, email, &content).await?;
    }
    super::account_named(&node.db, name).await
}

/// Declines an account waiting for approval: it is deleted (its name stays taken, as after any
/// deletion), and its owner is told.
pub async fn decline(node: &Node, name: &str) -> Result<(), Error> {
    let account = super::account_named(&node.db, name).await?;
    if account.user.state != AccountState::Pending {
        return Err(Error::conflict(format!(
            "{} is not waiting for approval (it is {})",
            account.name(),
            account.user.state.as_str()
        )));
    }
    let email = account.user.email.clone();
    delete(node, name).await?;
    if let Some(email) = email {
        let content = messages::declined(account.name(), &node.settings.instance.name);
        queue(node, &email, &content).await?;
    }
    Ok(())
}

/// Marks a local account suspended (or active again) and ends its browser sessions; the
/// node-wide suspension record is kept by `service::reports`.
pub async fn set_suspended(node: &Node, name: &str, suspended: bool) -> Result<(), Error> {
    let account = super::account_named(&node.db, name).await?;
    let (from, to) = if suspended {
        (
            &[AccountState::Active, AccountState::Pending][..],
            AccountState::Suspended,
        )
    } else {
        (&[AccountState::Suspended][..], AccountState::Active)
    };
    node.db.set_account_state(account.user.id, from, to).await?;
    if suspended {
        node.db.revoke_browser_sessions_of(account.user.id).await?;
    }
    Ok(())
}

/// Deletes an account: its memberships, tokens, sessions and links go; its posts, article
/// revisions and RSVPs stay, attributed to its actor id, which is kept as a tombstone (answering
/// 410) so the name is never handed to someone else. The nodes that know the user (hosts of
/// its remote communities, remote members of its local ones) are sent a `Delete` of the actor.
/// Refused while it owns a community.
pub async fn delete(node: &Node, name: &str) -> Result<(), Error> {
    let account = super::account_named(&node.db, name).await?;
    if node.db.owns_communities(account.user.id).await? {
        return Err(Error::conflict(format!(
            "{} owns communities; hand them over or delete them first",
            account.name()
        )));
    }
    let base = node.settings.base_url();
    let inboxes = node.db.account_fanout(account.user.id, &base).await?;
    node.db.delete_account(&account.user).await?;
    // The actor row stays (a tombstone with its keys), so the `Delete` is signed by it.
    let me = crate::service::discussions::user_ap_id(node, account.name());
    let activity = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{me}#delete-{}", crate::db::now_ms()),
        "type": "Delete",
        "actor": me,
        "object": me,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    let inboxes = inboxes.iter().filter_map(|i| url::Url::parse(i).ok());
    let sent = crate::delivery::send(node, &account.actor, &activity, inboxes).await?;
    tracing::info!(user = %account.name(), nodes = sent, "account deleted; Delete of the actor queued");
    Ok(())
}
