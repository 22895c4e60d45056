//! The states and roles the node keeps, as closed enums. Each is stored as the word it has
//! always been stored as (`db` maps the columns), shown in the API under that word, and parsed
//! from it with an error that lists the words allowed.

/// An enum of named states, each with the word it is stored and shown as.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?} (expected {})",
                        stringify!($name),
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the stored word (tests and logs read states as words).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

word_enum! {
    /// What a member may do in a community.
    Role {
        Owner = "owner",
        Moderator = "moderator",
        Member = "member",
    }
}

word_enum! {
    /// Where a membership stands.
    MemberState {
        /// Asked for; waits for a moderator (or for the remote community's answer).
        Pending = "pending",
        Accepted = "accepted",
        /// Refused, or ended by a ban.
        Rejected = "rejected",
        /// Invited by the community (Mobilizon's `Invite`); the user has not answered.
        Invited = "invited",
    }
}

word_enum! {
    /// Where an RSVP stands.
    RsvpState {
        Going = "going",
        Waitlisted = "waitlisted",
        /// Waits for an organizer's approval (join mode `restricted`).
        Pending = "pending",
        Rejected = "rejected",
        /// Answered `Ignore` (join mode `none`).
        Ignored = "ignored",
        Invited = "invited",
    }
}

word_enum! {
    /// How people RSVP to an event (Mobilizon's join modes, and FEP-8a8e's `none`).
    JoinMode {
        /// Anyone in the community; seats first come, first served.
        Free = "free",
        /// An organizer approves each RSVP.
        Restricted = "restricted",
        /// Only invited members.
        Invite = "invite",
        /// No RSVPs (every `Join` is answered `Ignore`).
        NoRsvp = "none",
        /// On the organizer's site (`external_url`).
        External = "external",
    }
}

word_enum! {
    /// Whether an event takes place (iCalendar's `STATUS`).
    EventStatus {
        Confirmed = "confirmed",
        Tentative = "tentative",
        Cancelled = "cancelled",
    }
}

word_enum! {
    /// Where a report stands in the moderation queue.
    ReportState {
        Open = "open",
        /// Filed here about another node's matter: kept for the record, decided there.
        Forwarded = "forwarded",
        Resolved = "resolved",
        Dismissed = "dismissed",
    }
}

impl Role {
    /// Moderators and the owner moderate.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_named() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        for state in MemberState::ALL {
            assert_eq!(state.as_str().parse::<MemberState>(), Ok(*state));
        }
        for state in RsvpState::ALL {
            assert_eq!(state.to_string().parse::<RsvpState>(), Ok(*state));
        }
        let err = "admin".parse::<Role>().unwrap_err();
        assert!(
            err.contains("\"admin\"") && err.contains("owner, moderator, member"),
            "{err}"
        );
    }
}
