//! Admin use cases of the federation policy, shared by the CLI and the admin API.

use crate::db::{policy::Instance, Db, DbErr};

pub const MODES: [&str; 3] = ["open", "allowlist", "blocklist"];

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// A domain as admins type it (`host`, `host:port`, or a URL's `scheme://host/`), normalized:
/// lowercase, punycode, no trailing dot, the port kept (it is needed to contact the node; the
/// policy itself drops it outside debug mode, see [`Db::policy_key`]).
pub fn normalize_domain(raw: &str) -> Result<String, PolicyError> {
    let d = raw.trim().trim_end_matches('/');
    let lower = d.to_ascii_lowercase();
    let d = if lower.starts_with("https://") {
        &d[8..]
    } else if lower.starts_with("http://") {
        &d[7..]
    } else {
        d
    };
    crate::domain::host::policy_key(d, true)
        .map_err(|_| PolicyError::Invalid(format!("{raw:?} is not a domain")))
}

/// The key under which `db` lists `domain` (an already normalized domain).
fn listed_as(db: &Db, domain: &str) -> String {
    db.policy_key(domain).unwrap_or_else(|| domain.to_string())
}

/// `by` names who acts (an actor id, or `cli`), for the audit log.
pub async fn set_mode(db: &Db, mode: &str, by: &str) -> Result<(), PolicyError> {
    if !MODES.contains(&mode) {
        return Err(PolicyError::Invalid(format!(
            "mode must be one of {}",
            MODES.join(", ")
        )));
    }
    db.set_federation_mode(mode).await?;
    db.audit(by, "federation.mode", mode, None).await?;
    Ok(())
}

pub async fn add(
    db: &Db,
    domain: &str,
    state: &str,
    reason: Option<&str>,
    by: &str,
) -> Result<String, PolicyError> {
    let domain = listed_as(db, &normalize_domain(domain)?);
    db.set_instance(&domain, state, reason).await?;
    db.audit(by, &format!("instance.{state}"), &domain, reason)
        .await?;
    Ok(domain)
}

pub async fn remove(db: &Db, domain: &str, state: &str, by: &str) -> Result<String, PolicyError> {
    let domain = listed_as(db, &normalize_domain(domain)?);
    if !db.remove_instance(&domain, state).await? {
        return Err(PolicyError::NotFound(format!(
            "{domain} is not listed as {state}"
        )));
    }
    db.audit(by, &format!("instance.unlist.{state}"), &domain, None)
        .await?;
    Ok(domain)
}

/// Deletes everything replicated from `domain` and records it.
pub async fn purge(db: &Db, domain: &str, by: &str) -> Result<u64, PolicyError> {
    let n = db.purge_domain(domain).await?;
    db.audit(by, "instance.purge", domain, Some(&format!("{n} records")))
        .await?;
    Ok(n)
}

pub async fn list(db: &Db, state: &str) -> Result<Vec<Instance>, PolicyError> {
    Ok(db
        .instances()
        .await?
        .into_iter()
        .filter(|i| i.state == state)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::normalize_domain;

    #[test]
    fn domains() {
        assert_eq!(
            normalize_domain("Partner.Example").expect("ok"),
            "partner.example"
        );
        assert_eq!(
            normalize_domain("https://b.example/").expect("ok"),
            "b.example"
        );
        assert_eq!(
            normalize_domain("localhost:8080").expect("ok"),
            "localhost:8080"
        );
        assert_eq!(
            normalize_domain("HTTPS://Evil.Example.:8443/").expect("ok"),
            "evil.example:8443"
        );
        for bad in ["", "a b", "x/y", "user@host", "evil\r\n.example"] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
