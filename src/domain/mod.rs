//! Pure domain types and rules. Nothing here imports a framework, a database or HTTP: a value
//! that exists has been parsed and is valid.

pub mod events;
pub mod host;
mod name;
mod states;
mod visibility;

pub use name::{Name, NameError};
pub use states::{EventStatus, JoinMode, MemberState, ReportState, Role, RsvpState};
pub use visibility::Visibility;

/// What a local actor is, as ActivityPub sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A user account (`Person`).
    Person,
    /// A community (`Group`).
    Group,
    /// The node itself (`Application`), which signs outgoing fetches.
    Application,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Person => "person",
            ActorKind::Group => "group",
            ActorKind::Application => "application",
        }
    }

    pub fn parse(s: &str) -> Option<ActorKind> {
        match s {
            "person" => Some(ActorKind::Person),
            "group" => Some(ActorKind::Group),
            "application" => Some(ActorKind::Application),
            _ => None,
        }
    }

    /// The ActivityStreams type name.
    pub fn as_type(self) -> &'static str {
        match self {
            ActorKind::Person => "Person",
            ActorKind::Group => "Group",
            ActorKind::Application => "Application",
        }
    }
}

/// API token scopes. A token holds a non-empty subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// `calendar` only reads the holder's personal event feed (safe to put in a feed URL).
    pub const KNOWN: [&'static str; 4] = ["read", "write", "admin", "calendar"];

    /// Parses a space-separated scope list such as `"read write"`.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut scopes = Vec::new();
        for scope in s.split_whitespace() {
            if !Self::KNOWN.contains(&scope) {
                return Err(format!(
                    "unknown scope {scope:?} (known: {})",
                    Self::KNOWN.join(", ")
                ));
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_string());
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(Scopes(scopes))
    }

    pub fn allows(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn as_string(&self) -> String {
        self.0.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        let s = Scopes::parse("read  write read").expect("valid");
        assert_eq!(s.as_string(), "read write");
        assert!(s.allows("write"));
        assert!(!s.allows("admin"));
        assert!(Scopes::parse("").is_err());
        assert!(Scopes::parse("read delete").unwrap_err().contains("delete"));
    }
}
