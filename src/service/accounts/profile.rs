//! A member's own profile and settings: display name, summary, time zone and locale, and the
//! identity providers their account signs in through.
//!
//! Nothing is sent to other nodes on a change: people have no followers (following people
//! is refused), so there is nobody to send an `Update` of a `Person` to; other nodes read the
//! new profile when they next fetch the actor.

use super::{parse_locale, parse_time_zone, Account};
use crate::{node::Node, service::error::Error};

/// The longest display name, in characters.
pub const DISPLAY_NAME_CHARS: usize = 100;
/// The longest summary, in characters.
pub const SUMMARY_CHARS: usize = 1000;

/// A profile as the member sends it.
pub struct ProfileChange<'a> {
    pub display_name: &'a str,
    pub summary: &'a str,
    pub time_zone: &'a str,
    pub locale: &'a str,
}

/// Checks and stores `account`'s new profile; an empty display name means the user name.
/// Returns the account as it is now. A refused field is named in the error.
pub async fn update_profile(
    node: &Node,
    account: &Account,
    change: ProfileChange<'_>,
) -> Result<Account, Error> {
    let display_name = change.display_name.trim();
    if display_name.chars().any(char::is_control) {
        return Err(Error::invalid("a display name is one line of text").on("display_name"));
    }
    if display_name.chars().count() > DISPLAY_NAME_CHARS {
        return Err(Error::refused(format!(
            "a display name has at most {DISPLAY_NAME_CHARS} characters"
        ))
        .on("display_name"));
    }
    let display_name = if display_name.is_empty() {
        account.name()
    } else {
        display_name
    };
    // Kept as written (markdown); pages render it sanitized.
    let summary = change.summary.trim();
    if summary.chars().count() > SUMMARY_CHARS {
        return Err(
            Error::refused(format!("a summary has at most {SUMMARY_CHARS} characters"))
                .on("summary"),
        );
    }
    let time_zone = parse_time_zone(change.time_zone)?;
    let locale = parse_locale(change.locale)?;
    node.db
        .set_profile(&account.user, display_name, summary, &time_zone, &locale)
        .await?;
    super::account(&node.db, account.user.id)
        .await?
        .ok_or_else(|| Error::gone("this account no longer exists"))
}

/// The identity providers `account` is linked to: the configured provider's name when its
/// issuer is configured, the issuer's URL otherwise.
pub async fn linked_providers(node: &Node, account: &Account) -> Result<Vec<String>, Error> {
    let identities = node.db.identities_of(account.user.id).await?;
    Ok(identities
        .into_iter()
        .map(|i| {
            node.settings
                .sso
                .providers
                .iter()
                .find(|(_, p)| p.issuer.trim_end_matches('/') == i.issuer.trim_end_matches('/'))
                .map(|(id, p)| p.label(id).to_string())
                .unwrap_or(i.issuer)
        })
        .collect())
}
