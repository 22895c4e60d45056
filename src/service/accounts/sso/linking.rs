//! Who a finished sign-in is: the account linked to the identity (issuer + subject), one
//! found by verified email, or one provisioned under the registration policy and the allowed
//! domains, with a valid, unique name.

use super::*;

pub(super) fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
}

pub(super) fn normalized_domains(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .collect()
}

/// Whether the admin claim says admin: `true`, or a string equal to / a list containing the
/// configured value (`"true"` when none is set).
pub(super) fn admin_claim(
    p: &SsoProvider,
    claims: &HashMap<String, serde_json::Value>,
) -> Option<bool> {
    let name = p.admin_claim.trim();
    if name.is_empty() {
        return None;
    }
    let wanted = if p.admin_value.is_empty() {
        "true"
    } else {
        p.admin_value.as_str()
    };
    Some(match claims.get(name) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == wanted,
        Some(serde_json::Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(wanted)),
        _ => false,
    })
}

/// The account a verified profile signs in as: linked already, linked now by its verified
/// email, or made now. Refused like a password sign-in when the account may not act.
pub async fn sign_in_with(
    node: &Node,
    p: &SsoProvider,
    profile: Profile,
) -> Result<Account, Error> {
    let email = match profile.email.as_deref() {
        Some(raw) => crate::service::accounts::parse_email(raw).ok(),
        None => None,
    };
    let allowed = normalized_domains(&p.allowed_email_domains);
    if !allowed.is_empty()
        && !email
            .as_deref()
            .is_some_and(|e| allowed.iter().any(|d| d == domain_of(e)))
    {
        return Err(Error::forbidden(format!(
            "sign-in with this provider is open only to addresses at {}",
            allowed.join(", ")
        )));
    }
    let db = &node.db;
    let account = match db.identity(&profile.issuer, &profile.subject).await? {
        Some(identity) => {
            db.identity_used(identity.id, email.as_deref()).await?;
            crate::service::accounts::account(db, identity.user_id)
                .await?
                .ok_or_else(|| Error::gone("the account of this identity no longer exists"))?
        }
        None => first_sign_in(node, &profile, email.as_deref()).await?,
    };
    let account = match admin_claim(p, &profile.claims) {
        Some(admin) if admin != account.user.is_admin => {
            db.set_admin(account.user.id, admin).await?;
            tracing::info!(user = %account.name(), admin, "admin flag set by the identity provider's claim");
            crate::service::accounts::account(db, account.user.id)
                .await?
                .ok_or_else(|| Error::gone("this account no longer exists"))?
        }
        _ => account,
    };
    signin::may_act(node, &account).await?;
    Ok(account)
}

pub(super) async fn first_sign_in(
    node: &Node,
    profile: &Profile,
    email: Option<&str>,
) -> Result<Account, Error> {
    let db = &node.db;
    if let Some(email) = email {
        if let Some(user) = db.user_by_email(email).await? {
            if !profile.email_verified {
                return Err(Error::conflict(format!(
                    "an account with the address {email} exists already, and the identity provider has not confirmed that this address is yours; sign in with that account's password instead"
                )));
            }
            match db
                .link_identity(user.id, &profile.issuer, &profile.subject, Some(email))
                .await
            {
                Ok(_) => {}
                // Another request linked it a moment ago: the same person.
                Err(crate::db::StoreError::Taken(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if !user.email_verified {
                db.set_email_verified(user.id).await?;
            }
            tracing::info!(user_id = user.id, issuer = %profile.issuer, "identity linked to an account by its verified email");
            return crate::service::accounts::account(db, user.id)
                .await?
                .ok_or_else(|| Error::gone("this account no longer exists"));
        }
    }
    provision(node, profile, email).await
}

pub(super) async fn provision(
    node: &Node,
    profile: &Profile,
    email: Option<&str>,
) -> Result<Account, Error> {
    let registration = signup::registration(node).await?;
    if registration == Registration::Closed {
        return Err(Error::forbidden(
            "this node does not create accounts on sign-in; ask its administrator to create yours with the email address your identity provider gives",
        ));
    }
    match email {
        Some(email) => signup::check_email_domain(node, email).map_err(|mut e| {
            e.field = None;
            e
        })?,
        None if !node.settings.accounts.allowed_email_domains.is_empty() => {
            return Err(Error::forbidden(
                "the identity provider gave no email address, and this node accepts only some email domains",
            ))
        }
        None => {}
    }
    let state = if registration == Registration::Approval {
        AccountState::Pending
    } else {
        AccountState::Active
    };
    let base = name_base(profile.username.as_deref(), email);
    let display_name = profile
        .name
        .as_deref()
        .map(|n| clip(n.trim(), 100))
        .filter(|n| !n.is_empty());
    let mut attempt = 0u32;
    let (actor, user) = loop {
        let name = free_name(node, &base, attempt).await?;
        let actor = new_actor(
            ActorKind::Person,
            name.clone(),
            display_name.clone().unwrap_or_else(|| name.clone()),
            String::new(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot create an actor");
            Error::internal()
        })?;
        let new = NewUser {
            password_hash: None,
            is_admin: false,
            email: email.map(str::to_string),
            email_verified: email.is_some() && profile.email_verified,
            state,
            locale: "en".into(),
            time_zone: "UTC".into(),
        };
        let made = node
            .db
            .provision_account(actor, new, &profile.issuer, &profile.subject)
            .await;
        match made {
            Ok(pair) => break pair,
            Err(ProvisionError::NameTaken) if attempt < 5 => attempt += 1,
            Err(ProvisionError::IdentityTaken) => {
                // A concurrent sign-in of the same person made the account first.
                let identity = node
                    .db
                    .identity(&profile.issuer, &profile.subject)
                    .await?
                    .ok_or_else(Error::internal)?;
                return crate::service::accounts::account(&node.db, identity.user_id)
                    .await?
                    .ok_or_else(|| Error::gone("this account no longer exists"));
            }
            Err(ProvisionError::EmailTaken) => {
                return Err(Error::conflict(
                    "an account with this email address exists already; sign in with it",
                ))
            }
            Err(ProvisionError::NameTaken) => {
                return Err(Error::conflict(
                    "no free user name was found for you; ask the node's administrator",
                ))
            }
            Err(ProvisionError::Db(e)) => return Err(e.into()),
        }
    };
    let account = Account { user, actor };
    tracing::info!(user = %account.name(), issuer = %profile.issuer, "account provisioned on first sign-in");
    if let Some(email) = email {
        if !account.user.email_verified {
            signup::send_verification(node, &account).await?;
        }
        if state == AccountState::Pending {
            let node_name = &node.settings.instance.name;
            let content = messages::approval_pending(account.name(), node_name);
            signup::queue(node, email, &content).await?;
            let request = messages::approval_request(account.name(), email, node_name);
            for admin in node.db.admin_emails().await? {
                signup::queue(node, &admin, &request).await?;
            }
        }
    }
    Ok(account)
}

/// A valid user name from the provider's `preferred_username` (or the email's local part):
/// lowercased, other characters as `_`, at most 56 characters so a suffix fits.
pub fn name_base(username: Option<&str>, email: Option<&str>) -> String {
    let raw = username
        .map(|u| u.split('@').next().unwrap_or(u))
        .filter(|u| !u.trim().is_empty())
        .or_else(|| email.and_then(|e| e.split('@').next()))
        .unwrap_or("");
    let mut name = String::new();
    for c in raw.trim().to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else if c.is_ascii() {
            '_'
        } else {
            continue;
        };
        if !(c == '_' && (name.is_empty() || name.ends_with('_'))) {
            name.push(c);
        }
        if name.len() >= 56 {
            break;
        }
    }
    let name = name.trim_end_matches('_').to_string();
    if name.is_empty() {
        "member".into()
    } else {
        name
    }
}

/// `base`, or `base_2`, `base_3`… (random after a few), whichever is free.
pub(super) async fn free_name(node: &Node, base: &str, attempt: u32) -> Result<String, Error> {
    let mut n = 1u32;
    loop {
        let candidate = match (attempt, n) {
            (0, 1) => base.to_string(),
            (0, n) if n <= 20 => format!("{base}_{n}"),
            _ => format!("{base}_{}", rand::random::<u32>() % 1_000_000),
        };
        let name = Name::parse(&candidate).map_err(|_| Error::internal())?;
        if node.db.local_actor_by_name(name.as_str()).await?.is_none() {
            return Ok(name.to_string());
        }
        n += 1;
        if n > 30 {
            return Err(Error::conflict(
                "no free user name was found for you; ask the node's administrator",
            ));
        }
    }
}
