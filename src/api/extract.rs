//! Authentication: bearer tokens (personal ones and those given to OAuth apps), and the
//! extractors that name the scope a route needs (`Auth<Read>`, `Auth<Write>`,
//! `Auth<AdminRead>`, `Auth<Admin>`, `MaybeAuth`).

use super::*;
use crate::service::accounts::oauth::{self, Bearer};
use axum::http::HeaderMap;

// ----- authentication -----

/// The scope a route needs, named by the route's extractor (`Auth<Write>`, `MaybeAuth<Read>`…):
/// the one place where token scopes are enforced. A token holding a scope above the route's
/// passes (`read` opens a `read:statuses` route); a sub-scope does not open its parent's
/// routes. `calendar` is not among them: a calendar token only opens the personal feed it was
/// made for (`/calendar/{token}.ics`), never the API.
pub trait Scope: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether the holder must also be an administrator.
    const ADMIN_ONLY: bool = false;
}

macro_rules! scopes {
    ($($(#[$doc:meta])* $ty:ident = $name:literal $(, admin $admin:literal)?;)+) => {$(
        $(#[$doc])*
        pub struct $ty;
        impl Scope for $ty {
            const NAME: &'static str = $name;
            $(const ADMIN_ONLY: bool = $admin;)?
        }
    )+};
}

scopes! {
    /// Reads (every `GET` of the native API).
    Read = "read";
    /// Changes.
    Write = "write";
    /// Reading the admin API; only for administrators.
    AdminRead = "admin:read", admin true;
    /// Changing through the admin API; only for administrators.
    Admin = "admin:write", admin true;
}

/// The local user behind a bearer token, with the token's scopes.
pub struct Caller {
    pub member: Member,
    pub scopes: Scopes,
    /// The OAuth app the token was given to; None for a personal token.
    pub app: Option<i64>,
}

/// A caller whose token holds scope `S`; anything else is refused before the handler runs.
pub struct Auth<S: Scope = Read> {
    caller: Caller,
    scope: std::marker::PhantomData<S>,
}

impl<S: Scope> std::ops::Deref for Auth<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// The token of a request's `Authorization: Bearer` header.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("this needs an Authorization: Bearer token"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer TOKEN"))
}

/// Who a request's bearer token speaks for: a user, or an app acting for itself.
enum Bearing {
    User(Box<Caller>),
    App(Scopes),
}

fn app_only() -> ApiError {
    ApiError::forbidden(
        "this is an app-only token (client_credentials); this needs a token a user authorized",
    )
}

/// The user behind a request's bearer token, whatever its scopes.
pub(super) async fn caller(parts: &Parts, state: &Node) -> Result<Caller, ApiError> {
    match bearing(parts, state).await? {
        Bearing::User(caller) => Ok(*caller),
        Bearing::App(_) => Err(app_only()),
    }
}

async fn bearing(parts: &Parts, state: &Node) -> Result<Bearing, ApiError> {
    bearing_of(state, bearer_token(&parts.headers)?).await
}

/// The user behind a token given some other way than the `Authorization` header (the
/// streaming API's WebSocket takes it from the query or the subprotocol), if it holds `scope`.
pub async fn caller_for_token(state: &Node, token: &str, scope: &str) -> Result<Caller, ApiError> {
    match bearing_of(state, token).await? {
        Bearing::User(caller) if caller.scopes.allows(scope) => Ok(*caller),
        Bearing::User(_) => Err(ApiError::forbidden(format!(
            "this token lacks the {scope} scope"
        ))),
        Bearing::App(_) => Err(app_only()),
    }
}

async fn bearing_of(state: &Node, token: &str) -> Result<Bearing, ApiError> {
    let (user, scopes, app) = match oauth::bearer(state, token).await? {
        Some(Bearer::User { user, scopes, app }) => (user, scopes, app),
        Some(Bearer::App { scopes, .. }) => {
            return Ok(Bearing::App(
                Scopes::parse(&scopes).map_err(ApiError::unauthorized)?,
            ))
        }
        None => return Err(ApiError::unauthorized("unknown, expired or revoked token")),
    };
    let actor = state
        .db
        .local_actor(user.actor_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token's user no longer exists"))?;
    let scopes = Scopes::parse(&scopes).map_err(ApiError::unauthorized)?;
    let me = crate::service::discussions::user_ap_id(state, &actor.name);
    if let Some(s) = state.db.suspension(&me).await? {
        let why = s.reason.map(|r| format!(": {r}")).unwrap_or_default();
        return Err(ApiError::forbidden(format!(
            "this account is suspended{why}"
        )));
    }
    // The suspension record above carries the reason; the state covers pending accounts.
    match user.state {
        crate::db::entities::user::AccountState::Active => {}
        crate::db::entities::user::AccountState::Pending => {
            return Err(ApiError::forbidden(
                "this account is waiting for an administrator's approval",
            ))
        }
        crate::db::entities::user::AccountState::Suspended => {
            return Err(ApiError::forbidden("this account is suspended"))
        }
    }
    Ok(Bearing::User(Box::new(Caller {
        member: Member { actor, user },
        scopes,
        app,
    })))
}

impl<S: Scope> FromRequestParts<Node> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        Auth::checked(caller(parts, state).await?)
    }
}

impl<S: Scope> Auth<S> {
    /// The caller, to keep beyond the request (a stream).
    pub fn into_caller(self) -> Caller {
        self.caller
    }

    /// The caller, if its token holds `S` (and it is an administrator where `S` needs one).
    fn checked(caller: Caller) -> Result<Auth<S>, ApiError> {
        if !caller.scopes.allows(S::NAME) {
            return Err(lacks::<S>());
        }
        if S::ADMIN_ONLY && !caller.member.user.is_admin {
            return Err(ApiError::forbidden(
                "this needs an administrator's token with the admin scope",
            ));
        }
        Ok(Auth {
            caller,
            scope: std::marker::PhantomData,
        })
    }
}

fn lacks<S: Scope>() -> ApiError {
    ApiError::forbidden(format!("this token lacks the {} scope", S::NAME))
}

/// Like [`Auth`], for endpoints that also answer anonymous readers. A token that is sent must
/// still hold the scope; an app-only token reads as an anonymous reader.
pub struct MaybeAuth<S: Scope = Read>(pub Option<Auth<S>>);

impl<S: Scope> FromRequestParts<Node> for MaybeAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeAuth(None));
        }
        match bearing(parts, state).await? {
            Bearing::User(caller) => Ok(MaybeAuth(Some(Auth::checked(*caller)?))),
            Bearing::App(scopes) if scopes.allows(S::NAME) => Ok(MaybeAuth(None)),
            Bearing::App(_) => Err(lacks::<S>()),
        }
    }
}
