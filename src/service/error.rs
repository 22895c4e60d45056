//! The use cases' error: what went wrong, in the service's terms. The HTTP front doors map it to
//! a status (`error::ApiError`'s `From`), the CLI prints its `Display`, and the inbox answers a
//! refused activity with its message.

use sea_orm::DbErr;

/// What kind of failure, for a caller to branch on (a domain type, so the inbox's record of
/// an outcome can carry it below the service layer).
pub use crate::domain::FailureKind as Kind;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// The input field the message is about, when there is one (a form shows it beside it).
    pub field: Option<&'static str>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            field: None,
        }
    }
    /// The same error, about the input field `field`.
    pub fn on(mut self, field: &'static str) -> Error {
        self.field = Some(field);
        self
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Self::new(Kind::Invalid, message)
    }
    pub fn refused(message: impl Into<String>) -> Error {
        Self::new(Kind::Refused, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Error {
        Self::new(Kind::Unauthenticated, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Error {
        Self::new(Kind::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Error {
        Self::new(Kind::NotFound, message)
    }
    pub fn gone(message: impl Into<String>) -> Error {
        Self::new(Kind::Gone, message)
    }
    pub fn conflict(message: impl Into<String>) -> Error {
        Self::new(Kind::Conflict, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Error {
        Self::new(Kind::Unavailable, message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Error {
        Self::new(Kind::RateLimited, message)
    }
    pub fn internal() -> Error {
        Self::new(Kind::Internal, "internal error")
    }
}

impl From<DbErr> for Error {
    fn from(e: DbErr) -> Error {
        match e {
            DbErr::RecordNotFound(what) => Error::not_found(format!("{what} not found")),
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::error!(error = %e, "database unavailable");
                Error::unavailable("database unavailable")
            }
            other => {
                tracing::error!(error = %other, "database error");
                Error::internal()
            }
        }
    }
}
