//! Authentication: bearer tokens, and the extractors that name the scope a route needs (`Auth<Read>`, `Auth<Write>`, `Auth<Admin>`, `MaybeAuth`).

use super::*;

// ----- authentication -----

/// The scope a route needs, named by the route's extractor (`Auth<Write>`, `MaybeAuth<Read>`…):
/// the one place where token scopes are enforced. `calendar` is not among them: a calendar
/// token only opens the personal feed it was made for (`/calendar/{token}.ics`), never the API.
pub trait Scope: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether the holder must also be an administrator.
    const ADMIN_ONLY: bool = false;
}

/// Reads (every `GET`).
pub struct Read;
/// Changes.
pub struct Write;
/// The admin API; only for administrators.
pub struct Admin;

impl Scope for Read {
    const NAME: &'static str = "read";
}
impl Scope for Write {
    const NAME: &'static str = "write";
}
impl Scope for Admin {
    const NAME: &'static str = "admin";
    const ADMIN_ONLY: bool = true;
}

/// The local user behind a bearer token, with the token's scopes.
pub struct Caller {
    pub member: Member,
    pub scopes: Scopes,
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

/// The user behind a request's bearer token, whatever its scopes.
pub(super) async fn caller(parts: &Parts, state: &Node) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("this needs an Authorization: Bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer TOKEN"))?;
    let (user, scopes) = state
        .db
        .token_owner(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown, expired or revoked token"))?;
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
    Ok(Caller {
        member: Member { actor, user },
        scopes,
    })
}

impl<S: Scope> FromRequestParts<Node> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        let caller = caller(parts, state).await?;
        if !caller.scopes.allows(S::NAME) {
            return Err(ApiError::forbidden(format!(
                "this token lacks the {} scope",
                S::NAME
            )));
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

/// Like [`Auth`], for endpoints that also answer anonymous readers. A token that is sent must
/// still hold the scope.
pub struct MaybeAuth<S: Scope = Read>(pub Option<Auth<S>>);

impl<S: Scope> FromRequestParts<Node> for MaybeAuth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Ok(MaybeAuth(Some(
                Auth::from_request_parts(parts, state).await?,
            )))
        } else {
            Ok(MaybeAuth(None))
        }
    }
}
