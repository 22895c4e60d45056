//! Token scopes: Mastodon's (`read`, `write`, `follow`, `push`, `profile`, `admin:read`,
//! `admin:write` and their sub-scopes such as `read:statuses` or `admin:write:accounts`) and
//! Roundtable's own `calendar`, which only opens the holder's personal event feed.
//!
//! A scope covers itself and every scope below it (`read` covers `read:statuses`; `admin:read`
//! covers `admin:read:accounts`); the deprecated `follow` covers the follow, block and mute
//! sub-scopes, as in Mastodon. `admin` (what tokens made before the OAuth server carried) is
//! read as `admin:read admin:write`.

/// A non-empty, duplicate-free list of known scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

/// Scopes that stand on their own.
const TOP: [&str; 8] = [
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:write",
    "calendar",
];

/// What may follow `read:` and `write:`.
const READ: [&str; 11] = [
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
];
const WRITE: [&str; 13] = [
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
];
/// What may follow `admin:read:` and `admin:write:`.
const ADMIN: [&str; 7] = [
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
];
/// What the deprecated `follow` scope grants.
const FOLLOW: [&str; 6] = [
    "read:follows",
    "write:follows",
    "read:blocks",
    "write:blocks",
    "read:mutes",
    "write:mutes",
];

fn known(scope: &str) -> bool {
    if TOP.contains(&scope) {
        return true;
    }
    let sub = |prefix: &str, list: &[&str]| {
        scope
            .strip_prefix(prefix)
            .is_some_and(|rest| list.contains(&rest))
    };
    sub("read:", &READ)
        || sub("write:", &WRITE)
        || sub("admin:read:", &ADMIN)
        || sub("admin:write:", &ADMIN)
}

impl Scopes {
    /// Every scope a node grants, for its OAuth metadata: the top-level ones and the sub-scopes.
    pub fn supported() -> Vec<String> {
        let mut all: Vec<String> = TOP.iter().map(|s| s.to_string()).collect();
        all.extend(READ.iter().map(|s| format!("read:{s}")));
        all.extend(WRITE.iter().map(|s| format!("write:{s}")));
        all.extend(ADMIN.iter().map(|s| format!("admin:read:{s}")));
        all.extend(ADMIN.iter().map(|s| format!("admin:write:{s}")));
        all
    }

    /// Parses a space-separated scope list such as `"read write:statuses"`.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in s.split_whitespace() {
            let expanded: &[&str] = match scope {
                "admin" => &["admin:read", "admin:write"],
                other if known(other) => &[other][..],
                other => {
                    let shown: String = other.chars().take(60).collect();
                    return Err(format!(
                        "unknown scope {shown:?} (known: {} and their sub-scopes such as read:statuses)",
                        TOP.join(", ")
                    ));
                }
            };
            for one in expanded {
                if !scopes.iter().any(|s| s == one) {
                    scopes.push(one.to_string());
                }
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(Scopes(scopes))
    }

    /// Whether these scopes cover `needed` (itself, a scope above it, or `follow`'s grants).
    pub fn allows(&self, needed: &str) -> bool {
        self.0.iter().any(|held| covers(held, needed))
    }

    /// Whether every scope of `other` is covered by these.
    pub fn covers_all(&self, other: &Scopes) -> bool {
        other.0.iter().all(|s| self.allows(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn as_string(&self) -> String {
        self.0.join(" ")
    }
}

/// What holding `scope` lets an app do, in words for the consent page.
pub fn describe(scope: &str) -> String {
    let fixed = match scope {
        "read" => "See everything your account can see: communities, threads, articles, events and notifications",
        "write" => "Post, edit and delete in your name; join and leave communities; answer invitations",
        "follow" => "Follow, block and mute accounts in your name",
        "push" => "Send you push notifications",
        "profile" => "See your name and profile",
        "admin:read" => "See this node's moderation and federation records (only if you are an administrator)",
        "admin:write" => "Moderate and change this node's federation (only if you are an administrator)",
        "calendar" => "Read your personal calendar of events",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    let (verb, what) = if let Some(w) = scope.strip_prefix("admin:read:") {
        ("See the node's (administrators only)", w)
    } else if let Some(w) = scope.strip_prefix("admin:write:") {
        ("Change the node's (administrators only)", w)
    } else if let Some(w) = scope.strip_prefix("read:") {
        ("See your", w)
    } else if let Some(w) = scope.strip_prefix("write:") {
        ("Change your", w)
    } else {
        return scope.to_string();
    };
    format!("{verb} {}", what.replace('_', " "))
}

fn covers(held: &str, needed: &str) -> bool {
    held == needed
        || needed
            .strip_prefix(held)
            .is_some_and(|rest| rest.starts_with(':'))
        || (held == "follow" && FOLLOW.contains(&needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedupes_and_refuses_unknown() {
        let s = Scopes::parse("read  write read").expect("valid");
        assert_eq!(s.as_string(), "read write");
        assert!(Scopes::parse("").is_err());
        assert!(Scopes::parse("read delete").unwrap_err().contains("delete"));
        assert!(Scopes::parse("read:everything").is_err());
        assert!(Scopes::parse("admin:read:nothing").is_err());
        assert_eq!(
            Scopes::parse("admin read").expect("valid").as_string(),
            "admin:read admin:write read"
        );
    }

    #[test]
    fn a_scope_covers_those_below_it() {
        let s = Scopes::parse("read write:media follow admin:read").expect("valid");
        assert!(s.allows("read"));
        assert!(s.allows("read:statuses"));
        assert!(s.allows("write:media"));
        assert!(!s.allows("write"));
        assert!(!s.allows("write:statuses"));
        assert!(s.allows("write:follows"));
        assert!(s.allows("admin:read:accounts"));
        assert!(!s.allows("admin:write"));
        assert!(!s.allows("calendar"));
        // `read` is not a prefix of `admin:read`, nor does `read` cover `readers`.
        let r = Scopes::parse("read").expect("valid");
        assert!(!r.allows("admin:read"));
        assert!(!covers("read", "readers"));
        assert!(r.covers_all(&Scopes::parse("read:search read:lists").expect("valid")));
        assert!(!r.covers_all(&Scopes::parse("read write").expect("valid")));
        assert_eq!(Scopes::supported().len(), 8 + 11 + 13 + 7 + 7);
        assert!(Scopes::supported().iter().all(|s| known(s)));
        assert_eq!(describe("write:media"), "Change your media");
        assert!(describe("admin:write:domain_blocks").ends_with("domain blocks"));
        assert!(Scopes::supported().iter().all(|s| !describe(s).is_empty()));
    }
}
