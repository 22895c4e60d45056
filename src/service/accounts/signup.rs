//! Creating accounts by signing up: the registration policy (`accounts.registration`), the
//! allowed email domains, invitation links, and email verification by a mailed single-use link.

use super::{hash_new_password, new_actor, new_secret, parse_email, token_hash, Account};
use crate::{
    config::Registration,
    db::{accounts::NewUser, entities::user::AccountState},
    domain::{ActorKind, Name},
    mail::{self, messages},
    node::Node,
    service::error::Error,
};

/// The kind of a mailed email-verification link.
pub const VERIFY_EMAIL: &str = "verify_email";

/// What someone signing up typed.
pub struct SignUp<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    /// An IANA time zone; empty means UTC.
    pub time_zone: &'a str,
    /// The secret of the invitation link, when signing up through one.
    pub invitation: Option<&'a str>,
}

/// What became of a sign-up.
pub struct SignedUp {
    pub account: Account,
    /// A verification link was mailed; sign-in waits for it.
    pub verification_sent: bool,
    /// The account waits for an admin's approval.
    pub pending_approval: bool,
}

/// What the sign-up page needs to know about the node's policy.
pub struct Policy {
    pub registration: Registration,
    pub allowed_email_domains: Vec<String>,
}

pub async fn policy(node: &Node) -> Result<Policy, Error> {
    Ok(Policy {
        registration: registration(node).await?,
        allowed_email_domains: allowed_domains(node),
    })
}

/// Where an admin's choice of registration policy is kept (table `node_settings`).
const REGISTRATION_KEY: &str = "accounts.registration";

/// The registration policy in force: the one an admin chose on `/admin` or with
/// `roundtable accounts registration`, else `accounts.registration` of the configuration.
/// Read from the database on every decision, so a change takes effect at once.
pub async fn registration(node: &Node) -> Result<Registration, Error> {
    let chosen = node.db.node_setting(REGISTRATION_KEY).await?;
    let policy = chosen
        .as_deref()
        .and_then(Registration::parse)
        .unwrap_or(node.settings.accounts.registration);
    node.registration_hint.remember(policy);
    Ok(policy)
}

/// Sets the registration policy (`closed`, `invite`, `approval` or `open`); `by` names who
/// acts, for the audit log.
pub async fn set_registration(node: &Node, value: &str, by: &str) -> Result<Registration, Error> {
    let policy = Registration::parse(value.trim()).ok_or_else(|| {
        Error::invalid(format!(
            "the registration policy is one of {}",
            Registration::ALL.map(Registration::as_str).join(", ")
        ))
        .on("value")
    })?;
    node.db
        .set_node_setting(REGISTRATION_KEY, policy.as_str())
        .await?;
    node.db
        .audit(by, "accounts.registration", policy.as_str(), None)
        .await?;
    node.registration_hint.remember(policy);
    Ok(policy)
}

/// The registration policy for the page header: remembered, or read again when stale (the
/// configured one if the database cannot answer; the header is a hint, never a decision).
pub async fn registration_hint(node: &Node) -> Registration {
    match node.registration_hint.fresh() {
        Some(policy) => policy,
        None => registration(node)
            .await
            .unwrap_or(node.settings.accounts.registration),
    }
}

fn allowed_domains(node: &Node) -> Vec<String> {
    node.settings
        .accounts
        .allowed_email_domains
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .collect()
}

/// Refuses an email whose domain is not on `accounts.allowed_email_domains` (when set).
pub fn check_email_domain(node: &Node, email: &str) -> Result<(), Error> {
    let allowed = allowed_domains(node);
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if allowed.is_empty() || allowed.iter().any(|d| d == domain) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "this node accepts sign-ups only with an address at {}",
            allowed.join(", ")
        ))
        .on("email"))
    }
}

/// Whether an invitation link can still be used (for the page that shows its form).
pub async fn invitation_is_open(node: &Node, secret: &str) -> Result<bool, Error> {
    Ok(node
        .db
        .open_invitation(&token_hash(secret))
        .await?
        .is_some())
}

/// Signs someone up under the node's registration policy.
#[tracing::instrument(skip_all, fields(name = %input.name))]
pub async fn sign_up(node: &Node, input: SignUp<'_>) -> Result<SignedUp, Error> {
    super::sso::passwords_allowed(node)?;
    let registration = registration(node).await?;
    if registration == Registration::Closed && input.invitation.is_none() {
        return Err(Error::forbidden(
            "this node does not take sign-ups; ask its administrator for an invitation",
        ));
    }
    if registration == Registration::Invite && input.invitation.is_none() {
        return Err(Error::forbidden(
            "this node takes sign-ups by invitation only; open the link of your invitation",
        ));
    }
    let name =
        Name::parse(input.name.trim()).map_err(|e| Error::invalid(e.to_string()).on("name"))?;
    let display_name = input.display_name.trim();
    if display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
        return Err(Error::refused("a display name has at most 100 characters").on("display_name"));
    }
    let email = parse_email(input.email)?;
    check_email_domain(node, &email)?;
    let time_zone = super::parse_time_zone(input.time_zone)?;
    let password_hash = hash_new_password(input.password).await?;
    if node.db.local_actor_by_name(name.as_str()).await?.is_some() {
        return Err(
            Error::conflict(format!("the name {:?} is already taken", name.as_str())).on("name"),
        );
    }
    if node.db.user_by_email(&email).await?.is_some() {
        return Err(Error::conflict(
            "an account with this email address exists already; sign in or reset its password",
        )
        .on("email"));
    }
    // An invitation's use is taken last, and given back when the account cannot be created.
    let invitation = match input.invitation {
        Some(secret) => {
            let hash = token_hash(secret);
            if !node.db.use_invitation(&hash).await? {
                return Err(Error::gone(
                    "this invitation has expired or has been used up; ask for a new one",
                ));
            }
            Some(hash)
        }
        None => None,
    };
    let state = if registration == Registration::Approval && invitation.is_none() {
        AccountState::Pending
    } else {
        AccountState::Active
    };
    let created = async {
        let actor = new_actor(
            ActorKind::Person,
            name.to_string(),
            if display_name.is_empty() {
                name.to_string()
            } else {
                display_name.to_string()
            },
            String::new(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot create an actor");
            Error::internal()
        })?;
        let new = NewUser {
            password_hash: Some(password_hash),
            is_admin: false,
            email: Some(email.clone()),
            email_verified: false,
            state,
            locale: "en".into(),
            time_zone: time_zone.clone(),
        };
        Ok::<_, Error>(node.db.insert_account(actor, new).await?)
    }
    .await;
    let (actor, user) = match created {
        Ok(pair) => pair,
        Err(e) => {
            if let Some(hash) = &invitation {
                node.db.return_invitation_use(hash).await?;
            }
            return Err(match e.kind {
                crate::service::error::Kind::Conflict => e.on("name"),
                _ => e,
            });
        }
    };
    let account = Account { user, actor };
    send_verification(node, &account).await?;
    if state == AccountState::Pending {
        let node_name = &node.settings.instance.name;
        let content = messages::approval_pending(account.name(), node_name);
        queue(node, &email, &content).await?;
        let request = messages::approval_request(account.name(), &email, node_name);
        for admin in node.db.admin_emails().await? {
            queue(node, &admin, &request).await?;
        }
    }
    Ok(SignedUp {
        account,
        verification_sent: true,
        pending_approval: state == AccountState::Pending,
    })
}

/// Mails `account` a fresh link that confirms its email address.
pub async fn send_verification(node: &Node, account: &Account) -> Result<(), Error> {
    let Some(email) = account.user.email.as_deref() else {
        return Err(Error::refused("this account has no email address"));
    };
    let secret = new_secret();
    let hours = node.settings.accounts.verify_link_hours;
    let expires = crate::db::now_ms()
        + i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2);
    node.db
        .insert_account_link(VERIFY_EMAIL, account.user.id, &token_hash(&secret), expires)
        .await?;
    let link = format!("{}/verify-email?token={secret}", node.settings.base_url());
    let content =
        messages::verification(account.name(), &node.settings.instance.name, &link, hours);
    queue(node, email, &content).await
}

/// Whether an email-verification link can still be used (for the page that confirms it).
pub async fn verification_is_open(node: &Node, secret: &str) -> Result<bool, Error> {
    Ok(node
        .db
        .account_link(VERIFY_EMAIL, &token_hash(secret))
        .await?
        .is_some())
}

/// Uses an email-verification link: the account whose address is now confirmed.
pub async fn verify_email(node: &Node, secret: &str) -> Result<Account, Error> {
    let user_id = node
        .db
        .use_account_link(VERIFY_EMAIL, &token_hash(secret))
        .await?
        .ok_or_else(|| Error::gone("this link has expired or has been used already"))?;
    node.db.set_email_verified(user_id).await?;
    super::account(&node.db, user_id)
        .await?
        .ok_or_else(|| Error::gone("this account no longer exists"))
}

/// Creates an invitation link usable `uses` times for `days` days (the default when None).
pub async fn invite(node: &Node, by: &str, uses: u32, days: Option<u32>) -> Result<String, Error> {
    if !(1..=1000).contains(&uses) {
        return Err(Error::invalid("an invitation is used from 1 to 1000 times").on("uses"));
    }
    let days = days.unwrap_or(node.settings.accounts.invitation_days);
    if !(1..=365).contains(&days) {
        return Err(Error::invalid("an invitation lives from 1 to 365 days").on("days"));
    }
    let secret = new_secret();
    let expires = crate::db::now_ms() + i64::from(days) * 24 * 3_600_000;
    node.db
        .insert_invitation(
            &token_hash(&secret),
            by,
            i32::try_from(uses).unwrap_or(1),
            expires,
        )
        .await?;
    Ok(format!("{}/invite/{secret}", node.settings.base_url()))
}

/// Mails an invitation link to `email`.
pub async fn mail_invitation(node: &Node, email: &str, link: &str, days: u32) -> Result<(), Error> {
    let email = parse_email(email)?;
    let content = messages::invitation(&node.settings.instance.name, link, days);
    queue(node, &email, &content).await
}

pub(crate) async fn queue(node: &Node, to: &str, content: &messages::Content) -> Result<(), Error> {
    let message = messages::render(to, &node.settings.instance.name, content).map_err(|e| {
        tracing::error!(error = %e, "cannot render a message");
        Error::internal()
    })?;
    mail::queue(node, message).await?;
    Ok(())
}
