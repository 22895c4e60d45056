//! Accounts: the instance actor, users, communities and API tokens (this file), and the people
//! side shared by every front door (the web pages now; the Mastodon API and OAuth later):
//! `signup` (registration policy, allowed email domains, invitations, email verification),
//! `signin` (passwords, rate limit and lockout, password reset, which accounts a browser
//! session may act for), `admin` (what the node's admin does from the CLI). Everything here
//! returns `service::Error` (the older functions above `signup` keep `AccountError`, which
//! their callers branch on).

pub mod admin;
pub mod email;
pub mod oauth;
pub mod profile;
pub mod signin;
pub mod signup;
pub mod sso;

use crate::{
    activitypub::signatures::generate_key_pair,
    db::{Community, Db, LocalActor, NewLocalActor, StoreError, User},
    domain::{ActorKind, MemberState, Name, Role, Scopes, Visibility},
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHasher, SaltString},
    Argon2,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Taken(String),
    #[error("{0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("key generation failed: {0}")]
    Keys(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken(what) => AccountError::Taken(format!("{what} is already taken")),
            StoreError::Db(e) => AccountError::Db(e),
        }
    }
}

async fn new_actor(
    kind: ActorKind,
    name: String,
    display_name: String,
    summary: String,
) -> Result<NewLocalActor, AccountError> {
    // RSA key generation is CPU-bound; keep it off the async workers.
    let keys = tokio::task::spawn_blocking(generate_key_pair)
        .await
        .map_err(|e| AccountError::Keys(e.to_string()))?
        .map_err(AccountError::Keys)?;
    Ok(NewLocalActor {
        kind: kind.as_str(),
        name,
        display_name,
        summary,
        public_key_pem: keys.public_pem,
        private_key_pem: keys.private_pem,
    })
}

/// The node's `Application` actor, created on first start.
pub async fn ensure_instance_actor(db: &Db, domain: &str) -> Result<LocalActor, AccountError> {
    if let Some(actor) = db.instance_actor().await? {
        return Ok(actor);
    }
    // Its name holds a dot, which user names and slugs cannot, so it never collides.
    let actor = new_actor(
        ActorKind::Application,
        format!("instance.{domain}"),
        domain.to_string(),
        String::new(),
    )
    .await?;
    match db.insert_local_actor(actor).await {
        Ok(actor) => Ok(actor),
        // Another process created it concurrently.
        Err(StoreError::Taken(_)) => db
            .instance_actor()
            .await?
            .ok_or_else(|| AccountError::NotFound("instance actor".into())),
        Err(e) => Err(e.into()),
    }
}

pub async fn create_user(
    db: &Db,
    name: &str,
    password: Option<&str>,
    is_admin: bool,
) -> Result<(LocalActor, User), AccountError> {
    let name = Name::parse(name).map_err(|e| AccountError::Invalid(e.to_string()))?;
    if db.local_actor_by_name(name.as_str()).await?.is_some() {
        return Err(AccountError::Taken(format!(
            "the name {:?} is already taken",
            name.as_str()
        )));
    }
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => {
            return Err(AccountError::Invalid(
                "a password needs at least 8 characters".into(),
            ))
        }
        Some(p) => Some(hash_password(p)?),
        None => None,
    };
    let actor = new_actor(
        ActorKind::Person,
        name.to_string(),
        name.to_string(),
        String::new(),
    )
    .await?;
    Ok(db.insert_user(actor, password_hash, is_admin).await?)
}

pub(crate) fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Invalid(format!("cannot hash password: {e}")))
}

/// Finds a local user by name.
pub async fn user_by_name(db: &Db, name: &str) -> Result<(LocalActor, User), AccountError> {
    let missing = || AccountError::NotFound(format!("no user named {name:?}"));
    let actor = db
        .local_actor_by_name(&name.to_lowercase())
        .await?
        .ok_or_else(missing)?;
    let user = db.user_by_actor(actor.id).await?.ok_or_else(missing)?;
    Ok((actor, user))
}

/// Creates a local community owned by `owner`, who becomes its first member. `base` is this
/// node's base URL (ActivityPub ids are stored in memberships).
pub async fn create_community(
    db: &Db,
    base: &str,
    slug: &str,
    owner: &str,
    title: Option<&str>,
    visibility: &str,
) -> Result<(LocalActor, Community), AccountError> {
    let slug = Name::parse(slug).map_err(|e| AccountError::Invalid(format!("bad slug: {e}")))?;
    let visibility = Visibility::parse(visibility).map_err(AccountError::Invalid)?;
    let (_, owner) = user_by_name(db, owner).await?;
    if db.local_actor_by_name(slug.as_str()).await?.is_some() {
        return Err(AccountError::Taken(format!(
            "the name {:?} is already taken",
            slug.as_str()
        )));
    }
    let title = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(slug.as_str());
    if title.chars().count() > 200 {
        return Err(AccountError::Invalid(
            "a title is at most 200 characters".into(),
        ));
    }
    let actor = new_actor(
        ActorKind::Group,
        slug.to_string(),
        title.to_string(),
        String::new(),
    )
    .await?;
    let (actor, community) = db
        .insert_community(actor, visibility.as_str(), owner.id)
        .await?;
    let owner_actor = db
        .local_actor(owner.actor_id)
        .await?
        .ok_or_else(|| AccountError::NotFound("the owner's actor".into()))?;
    db.upsert_membership(crate::db::discussions::NewMembership {
        community: format!("{base}/c/{}", actor.name),
        actor: format!("{base}/u/{}", owner_actor.name),
        user_id: Some(owner.id),
        role: Role::Owner,
        state: MemberState::Accepted,
        follow_id: None,
        inbox: None,
    })
    .await?;
    Ok((actor, community))
}

/// Creates a bearer token for `user` and returns its secret; only its hash is stored.
pub async fn create_token(db: &Db, user: &str, scopes: &str) -> Result<String, AccountError> {
    Ok(issue_token(db, user, scopes, None).await?.1)
}

/// The longest lifetime a token may be given, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// Creates a token that expires after `days` (never when `None`); returns its id and secret.
pub async fn issue_token(
    db: &Db,
    user: &str,
    scopes: &str,
    days: Option<u32>,
) -> Result<(i64, String), AccountError> {
    let scopes = Scopes::parse(scopes).map_err(AccountError::Invalid)?;
    let expires_at = match days {
        None => None,
        Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => {
            Some(crate::db::now_ms() + i64::from(d) * 24 * 3600 * 1000)
        }
        Some(_) => {
            return Err(AccountError::Invalid(format!(
                "a token lives from 1 to {MAX_TOKEN_DAYS} days"
            )))
        }
    };
    let (_, user) = user_by_name(db, user).await?;
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let token = format!("rt_{}", URL_SAFE_NO_PAD.encode(secret));
    let id = db
        .insert_token(
            user.id,
            &token_hash(&token),
            &scopes.as_string(),
            expires_at,
        )
        .await?;
    Ok((id, token))
}

/// A user's tokens (never their secrets).
pub async fn tokens(
    db: &Db,
    user: &str,
) -> Result<Vec<crate::db::entities::api_token::Model>, AccountError> {
    let (_, user) = user_by_name(db, user).await?;
    Ok(db.tokens_of(user.id).await?)
}

/// Revokes one of `user`'s tokens by its id.
pub async fn revoke_token(db: &Db, user_name: &str, id: i64) -> Result<(), AccountError> {
    let (_, user) = user_by_name(db, user_name).await?;
    if db.revoke_token(user.id, id).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound(format!(
            "{} has no token {id}",
            user_name
        )))
    }
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A local user with its actor: who signed in, who is being managed.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: User,
    pub actor: LocalActor,
}

impl Account {
    pub fn name(&self) -> &str {
        &self.actor.name
    }
}

/// The shortest and longest password accepted, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=1000;

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), crate::service::error::Error> {
    let n = password.chars().count();
    if n < *PASSWORD_CHARS.start() {
        Err(
            crate::service::error::Error::refused("a password needs at least 8 characters")
                .on("password"),
        )
    } else if n > *PASSWORD_CHARS.end() {
        Err(
            crate::service::error::Error::refused("a password has at most 1000 characters")
                .on("password"),
        )
    } else {
        Ok(())
    }
}

/// Argon2id of a new password, computed off the async workers (it is CPU-bound on purpose).
pub(crate) async fn hash_new_password(
    password: &str,
) -> Result<String, crate::service::error::Error> {
    check_password(password)?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot hash a password");
            crate::service::error::Error::internal()
        })
}

/// Whether `password` matches the stored argon2 hash (false for a malformed hash).
pub(crate) fn password_matches(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh secret for a link or an invitation: 32 random bytes, URL-safe.
pub(crate) fn new_secret() -> String {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    URL_SAFE_NO_PAD.encode(secret)
}

/// An email address as stored: trimmed, lowercased, `local@domain` with a dotted domain.
pub fn parse_email(raw: &str) -> Result<String, crate::service::error::Error> {
    let email = raw.trim().to_lowercase();
    let bad = || {
        crate::service::error::Error::invalid("enter an email address like name@example.org")
            .on("email")
    };
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || local.contains(['<', '>', '"', ',', ';', '@'])
        || !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return Err(bad());
    }
    if email.parse::<lettre::Address>().is_err() {
        return Err(bad());
    }
    Ok(email)
}

/// The account of a user id (None for an unknown user or a deleted actor).
pub async fn account(
    db: &Db,
    user_id: i64,
) -> Result<Option<Account>, crate::service::error::Error> {
    let Some(user) = db.user(user_id).await? else {
        return Ok(None);
    };
    Ok(db
        .local_actor(user.actor_id)
        .await?
        .filter(|a| a.kind == ActorKind::Person.as_str())
        .map(|actor| Account { user, actor }))
}

/// The account named `name`, or an error naming it.
pub async fn account_named(db: &Db, name: &str) -> Result<Account, crate::service::error::Error> {
    let missing = || crate::service::error::Error::not_found(format!("no user named {name:?}"));
    let actor = db
        .local_actor_by_name(&name.trim().to_lowercase())
        .await?
        .filter(|a| a.kind == ActorKind::Person.as_str())
        .ok_or_else(missing)?;
    let user = db.user_by_actor(actor.id).await?.ok_or_else(missing)?;
    Ok(Account { user, actor })
}

impl From<StoreError> for crate::service::error::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken(what) => {
                crate::service::error::Error::conflict(format!("{what} is already taken"))
            }
            StoreError::Db(e) => e.into(),
        }
    }
}

/// An IANA time zone name (`Europe/Berlin`); empty means UTC.
pub fn parse_time_zone(raw: &str) -> Result<String, crate::service::error::Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok("UTC".into());
    }
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            crate::service::error::Error::invalid(format!(
                "{raw:?} is not a time zone; use a name like Europe/Berlin or America/New_York"
            ))
            .on("time_zone")
        })
}

/// A BCP 47 language tag (`en`, `de-CH`); empty means English.
pub fn parse_locale(raw: &str) -> Result<String, crate::service::error::Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok("en".into());
    }
    let mut parts = raw.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = raw.len() <= 35
        && (2..=8).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(crate::service::error::Error::invalid(format!(
            "{raw:?} is not a language tag; use one like en or de-CH"
        ))
        .on("locale"))
    }
}
