//! Pure domain types and rules. Nothing here imports a framework, a database or HTTP: a value
//! that exists has been parsed and is valid.

pub mod events;
mod failure;
pub mod host;
mod name;
mod scopes;
mod states;
mod visibility;

pub use failure::FailureKind;
pub use name::{Name, NameError};
pub use scopes::{describe as describe_scope, Scopes};
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
