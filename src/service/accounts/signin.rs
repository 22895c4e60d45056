//! Signing in with a password: a rate limit per account name or address (`db::rate`), a
//! lockout after `accounts.lockout_after` failures in a row, password reset by a mailed
//! single-use link, and the check every browser request makes that its account may still act.

use super::{check_password, hash_new_password, new_secret, password_matches, token_hash, Account};
use crate::mail::messages;
use crate::{
    db::{entities::user::AccountState, now_ms},
    node::Node,
    service::{accounts::signup::queue, error::Error},
};

/// The kind of a mailed password-reset link.
pub const RESET_PASSWORD: &str = "reset_password";

/// An argon2id hash of a throwaway password: checked when no account matches, so that a
/// wrong name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| super::hash_password("not anyone's password").unwrap_or_default())
}

/// Finds the account a login names: a user name, or an email address.
async fn find_login(node: &Node, login: &str) -> Result<Option<Account>, Error> {
    let login = login.trim().to_lowercase();
    if login.contains('@') {
        match node.db.user_by_email(&login).await? {
            Some(user) => super::account(&node.db, user.id).await,
            None => Ok(None),
        }
    } else {
        match super::account_named(&node.db, &login).await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.kind == crate::service::error::Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

async fn rate_limit(node: &Node, what: &str, key: &str) -> Result<(), Error> {
    let key: String = key.trim().to_lowercase().chars().take(200).collect();
    if let Err(wait) = node
        .sign_in_limiter
        .check(&node.db, &format!("{what} {key}"))
        .await?
    {
        return Err(Error::rate_limited(format!(
            "too many attempts; try again in {} seconds",
            wait.as_secs().max(1)
        )));
    }
    Ok(())
}

/// Checks a name (or email) and password. The password is checked before anything about the
/// account is told, so only its owner learns that it is pending, suspended or unconfirmed.
#[tracing::instrument(skip_all)]
pub async fn sign_in(node: &Node, login: &str, password: &str) -> Result<Account, Error> {
    super::sso::passwords_allowed(node)?;
    if login.trim().is_empty() {
        return Err(Error::invalid("enter your user name or email address").on("login"));
    }
    if password.is_empty() {
        return Err(Error::invalid("enter your password").on("password"));
    }
    rate_limit(node, "sign-in", login).await?;
    let wrong = || Error::unauthenticated("wrong user name or password").on("password");
    let Some(account) = find_login(node, login).await? else {
        let password = password.to_string();
        let _ =
            tokio::task::spawn_blocking(move || password_matches(dummy_hash(), &password)).await;
        return Err(wrong());
    };
    if let Some(until) = account.user.locked_until.filter(|t| *t > now_ms()) {
        return Err(locked(until));
    }
    let Some(hash) = account.user.password_hash.clone() else {
        return Err(Error::unauthenticated(
            "this account has no password; ask an administrator to set one, or reset it",
        )
        .on("password"));
    };
    let given = password.to_string();
    let matches = tokio::task::spawn_blocking(move || password_matches(&hash, &given))
        .await
        .unwrap_or(false);
    if !matches {
        let settings = &node.settings.accounts;
        let lock_ms =
            i64::try_from(settings.lockout_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX / 2);
        if let Some(until) = node
            .db
            .failed_sign_in(account.user.id, settings.lockout_after, lock_ms)
            .await?
        {
            tracing::warn!(user = %account.name(), "account locked after repeated failed sign-ins");
            return Err(locked(until));
        }
        return Err(wrong());
    }
    node.db.succeeded_sign_in(account.user.id).await?;
    in_good_standing(node, &account).await?;
    if unconfirmed(node, &account) {
        // The first link may have expired or been lost: the owner gets a fresh one.
        super::signup::send_verification(node, &account).await?;
        return Err(Error::forbidden(
            "confirm your email address first: we have mailed you a new link",
        ));
    }
    Ok(account)
}

fn locked(until: i64) -> Error {
    let minutes = ((until - now_ms()) as f64 / 60_000.0).ceil().max(1.0);
    Error::refused(format!(
        "too many failed sign-ins: this account is locked for {minutes} more minute(s); reset your password to unlock it now"
    ))
}

/// Refuses an account that may not act: pending approval, suspended, or (when the node
/// requires it) with an unconfirmed email address.
pub async fn may_act(node: &Node, account: &Account) -> Result<(), Error> {
    in_good_standing(node, account).await?;
    if unconfirmed(node, account) {
        return Err(Error::forbidden(
            "confirm your email address first: open the link we mailed you",
        ));
    }
    Ok(())
}

/// Whether the node waits for this account to confirm its email address.
fn unconfirmed(node: &Node, account: &Account) -> bool {
    node.settings.accounts.require_verified_email
        && account.user.email.is_some()
        && !account.user.email_verified
}

/// Refuses an account that is suspended or waits for approval.
async fn in_good_standing(node: &Node, account: &Account) -> Result<(), Error> {
    let me = crate::service::discussions::user_ap_id(node, account.name());
    if let Some(s) = node.db.suspension(&me).await? {
        let why = s.reason.map(|r| format!(": {r}")).unwrap_or_default();
        return Err(Error::forbidden(format!("this account is suspended{why}")));
    }
    match account.user.state {
        AccountState::Active => {}
        AccountState::Pending => {
            return Err(Error::forbidden(
                "your account is waiting for an administrator's approval",
            ))
        }
        AccountState::Suspended => {
            return Err(Error::forbidden("this account is suspended"));
        }
    }
    Ok(())
}

/// The account a browser session acts for, if it still may: the session's user exists, may
/// act, and signed in less than `accounts.session_absolute_hours` ago.
pub async fn session_account(
    node: &Node,
    user_id: i64,
    signed_in_at: i64,
) -> Result<Option<Account>, Error> {
    let max_ms = i64::try_from(
        node.settings
            .accounts
            .session_absolute_hours
            .saturating_mul(3_600_000),
    )
    .unwrap_or(i64::MAX / 2);
    if now_ms().saturating_sub(signed_in_at) > max_ms {
        return Ok(None);
    }
    let Some(account) = super::account(&node.db, user_id).await? else {
        return Ok(None);
    };
    Ok(may_act(node, &account).await.ok().map(|()| account))
}

/// Mails a password-reset link to the account with this email address (or name). Answers the
/// same whether or not one exists, so the form tells nobody which addresses have accounts.
#[tracing::instrument(skip_all)]
pub async fn forgot_password(node: &Node, login: &str) -> Result<(), Error> {
    super::sso::passwords_allowed(node)?;
    if login.trim().is_empty() {
        return Err(Error::invalid("enter your email address").on("email"));
    }
    rate_limit(node, "reset", login).await?;
    let Some(account) = find_login(node, login).await? else {
        return Ok(());
    };
    let Some(email) = account.user.email.clone() else {
        return Ok(());
    };
    let secret = new_secret();
    let minutes = node.settings.accounts.reset_link_minutes;
    let expires = now_ms() + i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX / 2);
    node.db
        .insert_account_link(
            RESET_PASSWORD,
            account.user.id,
            &token_hash(&secret),
            expires,
        )
        .await?;
    let link = format!("{}/reset-password?token={secret}", node.settings.base_url());
    let content =
        messages::password_reset(account.name(), &node.settings.instance.name, &link, minutes);
    queue(node, &email, &content).await
}

/// Whether a password-reset link can still be used (for the page that shows its form).
pub async fn reset_is_open(node: &Node, secret: &str) -> Result<bool, Error> {
    Ok(node
        .db
        .account_link(RESET_PASSWORD, &token_hash(secret))
        .await?
        .is_some())
}

/// Uses a password-reset link: sets the new password, lifts a lockout, confirms the email
/// address (the link reached it) and ends every session of the account.
pub async fn reset_password(node: &Node, secret: &str, password: &str) -> Result<Account, Error> {
    super::sso::passwords_allowed(node)?;
    let hash = hash_new_password(password).await?;
    let user_id = node
        .db
        .use_account_link(RESET_PASSWORD, &token_hash(secret))
        .await?
        .ok_or_else(|| {
            Error::gone("this link has expired or has been used already; ask for a new one")
        })?;
    node.db.set_password_hash(user_id, Some(hash)).await?;
    node.db.set_email_verified(user_id).await?;
    node.db.revoke_browser_sessions_of(user_id).await?;
    super::account(&node.db, user_id)
        .await?
        .ok_or_else(|| Error::gone("this account no longer exists"))
}

/// The signed-in member changes their password: the current one is checked first (with the
/// sign-in's rate limit, so the form cannot be used to guess it), the new one needs at least
/// 8 characters, and every other session of the account ends (`current`: the id hash of the
/// session asking, which stays signed in). An account without a password (single sign-on
/// only) has none to change.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    node: &Node,
    account: &Account,
    current_password: &str,
    new_password: &str,
    current: &str,
) -> Result<(), Error> {
    super::sso::passwords_allowed(node)?;
    if account.user.password_hash.is_none() {
        return Err(Error::refused(
            "this account signs in through an identity provider and has no password",
        ));
    }
    confirm_password(node, account, current_password, "current_password").await?;
    check_password(new_password).map_err(|e| e.on("new_password"))?;
    let hash = hash_new_password(new_password).await?;
    node.db
        .set_password_hash(account.user.id, Some(hash))
        .await?;
    node.db
        .revoke_other_browser_sessions(account.user.id, current)
        .await?;
    Ok(())
}

/// Checks that `given` is the account's password before a sensitive change (within
/// sign-in's rate limit, so the form cannot be used to guess it); the refusal is shown beside
/// `field`. An account without a password (single sign-on only) passes: it proved itself to
/// its identity provider to be signed in.
pub(crate) async fn confirm_password(
    node: &Node,
    account: &Account,
    given: &str,
    field: &'static str,
) -> Result<(), Error> {
    let Some(stored) = account.user.password_hash.clone() else {
        return Ok(());
    };
    rate_limit(node, "password", account.name()).await?;
    let given = given.to_string();
    let matches = tokio::task::spawn_blocking(move || password_matches(&stored, &given))
        .await
        .unwrap_or(false);
    if !matches {
        return Err(Error::refused("this is not your current password").on(field));
    }
    Ok(())
}

/// One of a user's browser sessions, as the sessions page lists them.
pub struct DeviceSession {
    pub id: i64,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The session asking.
    pub current: bool,
}

/// `account`'s live sessions; `current` is the id hash of the session asking.
pub async fn sessions(
    node: &Node,
    account: &Account,
    current: Option<&str>,
) -> Result<Vec<DeviceSession>, Error> {
    Ok(node
        .db
        .browser_sessions_of(account.user.id)
        .await?
        .into_iter()
        .map(|s| DeviceSession {
            id: s.id,
            user_agent: s.user_agent.unwrap_or_else(|| "unknown browser".into()),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            current: current == Some(s.id_hash.as_str()),
        })
        .collect())
}

pub async fn revoke_session(node: &Node, account: &Account, id: i64) -> Result<(), Error> {
    if node.db.revoke_browser_session(account.user.id, id).await? {
        Ok(())
    } else {
        Err(Error::not_found("you have no such session"))
    }
}

/// Ends every session of `account` but `current` (the id hash of the session asking);
/// returns how many ended.
pub async fn revoke_other_sessions(
    node: &Node,
    account: &Account,
    current: &str,
) -> Result<u64, Error> {
    Ok(node
        .db
        .revoke_other_browser_sessions(account.user.id, current)
        .await?)
}

/// Forgets expired browser sessions, and mail sent or given up more than a week ago.
pub async fn sweep(node: &Node) -> Result<(), Error> {
    let sessions = node.db.purge_browser_sessions().await?;
    let mail = node.db.purge_mail(now_ms() - 7 * 24 * 3_600_000).await?;
    if sessions + mail > 0 {
        tracing::info!(sessions, mail, "forgot expired sessions and old mail");
    }
    Ok(())
}
