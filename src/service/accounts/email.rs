//! A member changes their email address. The new address is confirmed by a single-use link
//! mailed to it (stored hashed, with the address it confirms); the account keeps its old
//! address until the link is used, and the old address is told of the request, so a stolen
//! session cannot quietly move an account's mail (and with it password resets) elsewhere.

use super::{
    new_secret, parse_email,
    signin::confirm_password,
    signup::{check_email_domain, queue},
    token_hash, Account,
};
use crate::{db::StoreError, mail::messages, node::Node, service::error::Error};

/// Asks to move `account` to `new_email`, with the account's password (when it has one):
/// mails the confirmation link to the new address and a notice to the old one.
pub async fn request_change(
    node: &Node,
    account: &Account,
    new_email: &str,
    password: &str,
) -> Result<String, Error> {
    let email = parse_email(new_email).map_err(|e| e.on("new_email"))?;
    if account.user.email.as_deref() == Some(email.as_str()) {
        return Err(Error::refused("this is your address already").on("new_email"));
    }
    check_email_domain(node, &email).map_err(|e| e.on("new_email"))?;
    confirm_password(node, account, password, "password").await?;
    if node.db.user_by_email(&email).await?.is_some() {
        return Err(Error::conflict("another account uses this email address").on("new_email"));
    }
    let secret = new_secret();
    let hours = node.settings.accounts.verify_link_hours;
    let expires = crate::db::now_ms()
        + i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2);
    node.db
        .insert_email_change_link(account.user.id, &token_hash(&secret), expires, &email)
        .await?;
    let link = format!("{}/confirm-email?token={secret}", node.settings.base_url());
    let instance = &node.settings.instance.name;
    queue(
        node,
        &email,
        &messages::email_change(account.name(), instance, &link, hours),
    )
    .await?;
    if let Some(old) = account.user.email.as_deref() {
        queue(
            node,
            old,
            &messages::email_change_notice(account.name(), instance, &email),
        )
        .await?;
    }
    Ok(email)
}

/// The address an email-change link would confirm, while it can still be used.
pub async fn change_link(node: &Node, secret: &str) -> Result<Option<String>, Error> {
    Ok(node
        .db
        .email_change_link(&token_hash(secret))
        .await?
        .map(|(_, email)| email))
}

/// Uses an email-change link: the account, now with its new, confirmed address.
pub async fn confirm_change(node: &Node, secret: &str) -> Result<Account, Error> {
    let user_id = match node.db.use_email_change_link(&token_hash(secret)).await {
        Ok(Some((user_id, _))) => user_id,
        Ok(None) => {
            return Err(Error::gone(
                "this link has expired or has been used already",
            ))
        }
        Err(StoreError::Taken(_)) => {
            return Err(Error::conflict(
                "another account has taken this email address meanwhile",
            ))
        }
        Err(StoreError::Db(e)) => return Err(e.into()),
    };
    super::account(&node.db, user_id)
        .await?
        .ok_or_else(|| Error::gone("this account no longer exists"))
}
