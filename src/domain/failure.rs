//! What kind of failure a use case met, for callers to branch on (the service's errors, and the
//! inbox's record of how an activity it accepted was applied).

/// What kind of failure, for a caller to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The input is malformed (a missing field, a bad handle, not a URL).
    Invalid,
    /// The input is well-formed but a rule refuses it (a time range, a size cap, a locked thread).
    Refused,
    /// The caller could not be authenticated (a signature that does not verify).
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    NotFound,
    /// It existed and was deleted.
    Gone,
    /// It clashes with the current state (taken name, stale revision, answered twice).
    Conflict,
    /// A resource is exhausted for now (the database, the diff pool); worth retrying.
    Unavailable,
    /// The caller tried too often (sign-in attempts); worth retrying later.
    RateLimited,
    /// A bug or a database failure; logged where it happened, never shown.
    Internal,
}
