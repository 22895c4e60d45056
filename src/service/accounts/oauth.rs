//! The OAuth 2 authorization server (RFC 6749, PKCE RFC 7636, revocation RFC 7009) that
//! Mastodon apps and other clients sign in through: app registration, authorization requests
//! and the codes a user's consent grants, the token endpoint's grants (authorization code,
//! refresh token, client credentials, and the password grant when the admin enables it),
//! revocation, the bearer tokens every API route reads, and the apps a user has authorized.
//!
//! Codes, access and refresh tokens and client secrets are random 256-bit secrets with a short
//! prefix (`rtc_`, `rto_`, `rtr_`, `rts_`) so a leaked one is recognisable; only their SHA-256
//! is stored. Codes live ten minutes and work once: a second use revokes every token the first
//! one gave (RFC 6749 §4.1.2). A refresh token works once too: refreshing replaces the pair.

use super::{account, signin, token_hash, Account};
use crate::{
    db::{
        now_ms,
        oauth::{CodeUse, NewApp, NewCode, NewToken, OAuthApp, OAuthToken},
        User,
    },
    domain::Scopes,
    node::Node,
    service::error::Error,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The redirect URI of apps that show the code for the user to copy.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
/// How long an authorization code may wait to be exchanged.
const CODE_MS: i64 = 10 * 60 * 1000;
/// The prefix of access tokens given to apps (personal tokens have none of these).
const ACCESS_PREFIX: &str = "rto_";

fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares two hashes without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

// ----- apps -----

/// An app asking to be registered.
pub struct AppRequest<'a> {
    pub name: &'a str,
    pub redirect_uris: Vec<String>,
    pub scopes: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// A registered app, with its client secret (shown this once).
pub struct Registered {
    pub app: OAuthApp,
    pub client_secret: String,
}

/// Refuses a redirect URI that is not absolute, carries a fragment, or could run script.
fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    if uri == OOB {
        return Ok(());
    }
    let shown: String = uri.chars().take(80).collect();
    if uri.len() > 2000 {
        return Err(
            Error::invalid("a redirect URI has at most 2000 characters").on("redirect_uris")
        );
    }
    let url = url::Url::parse(uri).map_err(|_| {
        Error::invalid(format!(
            "redirect URI {shown:?} is not an absolute URI (or {OOB})"
        ))
        .on("redirect_uris")
    })?;
    if url.fragment().is_some() {
        return Err(
            Error::invalid(format!("redirect URI {shown:?} must not have a #fragment"))
                .on("redirect_uris"),
        );
    }
    if matches!(
        url.scheme(),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about"
    ) {
        return Err(Error::invalid(format!(
            "redirect URI {shown:?} uses a scheme that cannot receive a code"
        ))
        .on("redirect_uris"));
    }
    Ok(())
}

/// Registers an app (Mastodon's `POST /api/v1/apps`). Scopes default to `read`.
pub async fn register(node: &Node, req: AppRequest<'_>) -> Result<Registered, Error> {
    let name = req.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("client_name is required").on("client_name"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid("client_name has at most 100 characters").on("client_name"));
    }
    let uris: Vec<String> = req
        .redirect_uris
        .iter()
        .flat_map(|u| u.split_whitespace())
        .map(str::to_string)
        .collect();
    if uris.is_empty() {
        return Err(Error::invalid(format!(
            "redirect_uris is required (an absolute URI, or {OOB})"
        ))
        .on("redirect_uris"));
    }
    if uris.len() > 10 {
        return Err(Error::invalid("at most 10 redirect URIs").on("redirect_uris"));
    }
    for uri in &uris {
        check_redirect_uri(uri)?;
    }
    let scopes =
        Scopes::parse(req.scopes.unwrap_or("read")).map_err(|m| Error::invalid(m).on("scopes"))?;
    let website = match req.website.map(str::trim).filter(|w| !w.is_empty()) {
        None => None,
        Some(w) => match url::Url::parse(w) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && w.len() <= 2000 => Some(w),
            _ => return Err(Error::invalid("website must be an http(s) URL").on("website")),
        },
    };
    let client_id = secret("");
    let client_secret = secret("rts_");
    let app = node
        .db
        .insert_app(NewApp {
            client_id: &client_id,
            secret_hash: &token_hash(&client_secret),
            name,
            website,
            redirect_uris: &uris,
            scopes: &scopes.as_string(),
        })
        .await?;
    Ok(Registered { app, client_secret })
}

/// The redirect URIs an app registered.
pub fn redirect_uris(app: &OAuthApp) -> Vec<&str> {
    app.redirect_uris
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
}

// ----- authorization requests -----

/// The query of `GET /oauth/authorize` (and the consent form that repeats it).
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

/// A checked authorization request.
pub struct AuthRequest {
    pub app: OAuthApp,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub challenge: Option<String>,
}

/// Why an authorization request fails.
pub enum Refusal {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect.
    Page(Error),
    /// A well-identified client sent a bad request: send the error back to it.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

/// Whether `s` is a PKCE value: 43 to 128 unreserved characters (RFC 7636 §4.1).
fn pkce_shaped(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks an authorization request: the client and the redirect URI first (a request naming a
/// URI the app did not register is never redirected anywhere), then the rest.
pub async fn check_request(node: &Node, p: &AuthorizeParams) -> Result<AuthRequest, Refusal> {
    let page = |m: &str| Refusal::Page(Error::invalid(m.to_string()));
    if p.client_id.is_empty() {
        return Err(page(
            "This sign-in link has no client_id: the app that sent you here built it wrongly.",
        ));
    }
    let app = node
        .db
        .app_by_client_id(&p.client_id)
        .await
        .map_err(|e| Refusal::Page(e.into()))?
        .ok_or_else(|| {
            page("No app with this client_id is registered on this node. The app may have been registered on another server.")
        })?;
    let registered = redirect_uris(&app);
    let redirect_uri = if p.redirect_uri.is_empty() {
        match registered.as_slice() {
            [only] => (*only).to_string(),
            _ => {
                return Err(page(
                    "This sign-in link has no redirect_uri, and the app registered several.",
                ))
            }
        }
    } else if registered.contains(&p.redirect_uri.as_str()) {
        p.redirect_uri.clone()
    } else {
        return Err(page("This sign-in link's redirect_uri is not one the app registered, so it is refused: it could send your authorization elsewhere."));
    };
    let state = Some(p.state.clone()).filter(|s| !s.is_empty());
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    if p.response_type != "code" {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be code".into(),
        ));
    }
    let wanted = if p.scope.trim().is_empty() {
        "read"
    } else {
        &p.scope
    };
    let scopes =
        Scopes::parse(&wanted.replace('+', " ")).map_err(|m| refuse("invalid_scope", m))?;
    let allowed = Scopes::parse(&app.scopes).map_err(|m| refuse("invalid_scope", m))?;
    if !allowed.covers_all(&scopes) {
        return Err(refuse(
            "invalid_scope",
            format!(
                "the app registered the scopes {:?}; it asked for {:?}",
                allowed.as_string(),
                scopes.as_string()
            ),
        ));
    }
    let challenge = match (p.code_challenge.as_str(), p.code_challenge_method.as_str()) {
        ("", "") => None,
        ("", _) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method without code_challenge".into(),
            ))
        }
        (c, "S256") if pkce_shaped(c) => Some(c.to_string()),
        (_, "S256") => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]".into(),
            ))
        }
        _ => {
            return Err(refuse(
                "invalid_request",
                "only the S256 code_challenge_method is supported".into(),
            ))
        }
    };
    Ok(AuthRequest {
        app,
        redirect_uri,
        scopes,
        state,
        challenge,
    })
}

/// The user consented: a code for the app, to be exchanged within ten minutes.
pub async fn grant_code(
    node: &Node,
    account: &Account,
    req: &AuthRequest,
) -> Result<String, Error> {
    signin::may_act(node, account).await?;
    let code = secret("rtc_");
    node.db
        .insert_code(NewCode {
            code_hash: &token_hash(&code),
            app_id: req.app.id,
            user_id: account.user.id,
            redirect_uri: &req.redirect_uri,
            scopes: &req.scopes.as_string(),
            challenge: req.challenge.as_deref(),
            expires_at: now_ms() + CODE_MS,
        })
        .await?;
    Ok(code)
}

/// `uri` with `params` added to its query (kept as the app registered it otherwise).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
        sep = '&';
    }
    out
}

// ----- the token endpoint -----

/// An error of the token or revocation endpoint, as RFC 6749 §5.2 names them.
#[derive(Debug)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }
    fn grant(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_grant", description)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> OAuthError {
        match e.kind {
            crate::service::error::Kind::Internal | crate::service::error::Kind::Unavailable => {
                OAuthError::new("temporarily_unavailable", e.message)
            }
            _ => OAuthError::new("invalid_request", e.message),
        }
    }
}

impl From<sea_orm::DbErr> for OAuthError {
    fn from(e: sea_orm::DbErr) -> OAuthError {
        Error::from(e).into()
    }
}

/// The app a token request authenticates as, by its client id and secret.
pub async fn authenticate(
    node: &Node,
    client_id: &str,
    secret: &str,
) -> Result<OAuthApp, OAuthError> {
    let bad = || OAuthError::new("invalid_client", "unknown client_id or wrong client_secret");
    if client_id.is_empty() || secret.is_empty() {
        return Err(OAuthError::new(
            "invalid_client",
            "send client_id and client_secret (in the body or with HTTP Basic authentication)",
        ));
    }
    let app = node.db.app_by_client_id(client_id).await?.ok_or_else(bad)?;
    if !same(&app.secret_hash, &token_hash(secret)) {
        return Err(bad());
    }
    Ok(app)
}

/// Tokens given by the token endpoint.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds until the access token expires, when it does.
    pub expires_in: Option<i64>,
}

struct Grant {
    app_id: i64,
    user_id: Option<i64>,
    code_id: Option<i64>,
    scopes: String,
}

fn access_expiry(node: &Node) -> Option<i64> {
    match node.settings.oauth.access_token_hours {
        0 => None,
        h => Some(i64::try_from(h.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2)),
    }
}

/// A new token pair (no refresh token for app-only tokens), stored or rotated in for `old`.
async fn issue(node: &Node, grant: Grant, old: Option<i64>) -> Result<Issued, OAuthError> {
    let access = secret(ACCESS_PREFIX);
    let refresh = grant.user_id.map(|_| secret("rtr_"));
    let lifetime = access_expiry(node);
    let refresh_hash = refresh.as_deref().map(token_hash);
    let new = NewToken {
        token_hash: &token_hash(&access),
        refresh_hash: refresh_hash.as_deref(),
        app_id: grant.app_id,
        user_id: grant.user_id,
        code_id: grant.code_id,
        scopes: &grant.scopes,
        expires_at: lifetime.map(|ms| now_ms() + ms),
    };
    let token = match old {
        None => node.db.insert_oauth_token(new).await?,
        Some(old) => node
            .db
            .rotate_oauth_token(old, new)
            .await?
            .ok_or_else(|| OAuthError::grant("this refresh token was already used"))?,
    };
    Ok(Issued {
        access_token: access,
        refresh_token: refresh,
        scopes: token.scopes,
        created_at: token.created_at / 1000,
        expires_in: lifetime.map(|ms| ms / 1000),
    })
}

/// The account a grant acts for, if it still may sign in.
async fn acting(node: &Node, user_id: i64) -> Result<Account, OAuthError> {
    let account = account(&node.db, user_id)
        .await?
        .ok_or_else(|| OAuthError::grant("the account no longer exists"))?;
    signin::may_act(node, &account)
        .await
        .map_err(|e| OAuthError::grant(e.message))?;
    Ok(account)
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    node: &Node,
    app: &OAuthApp,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Issued, OAuthError> {
    if code.is_empty() {
        return Err(OAuthError::new("invalid_request", "code is required"));
    }
    let code = match node.db.use_code(&token_hash(code)).await? {
        CodeUse::First(c) => c,
        CodeUse::Again(c) => {
            let revoked = node.db.revoke_code_tokens(c.id).await?;
            tracing::warn!(
                app = c.app_id,
                revoked,
                "an authorization code was used twice"
            );
            return Err(OAuthError::grant(
                "this code was already used; the tokens it gave are revoked",
            ));
        }
        CodeUse::Unknown => return Err(OAuthError::grant("unknown code")),
    };
    if code.app_id != app.id {
        return Err(OAuthError::grant("this code was given to another app"));
    }
    if code.expires_at <= now_ms() {
        return Err(OAuthError::grant("this code has expired; sign in again"));
    }
    if redirect_uri.is_some_and(|u| u != code.redirect_uri) {
        return Err(OAuthError::grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&code.challenge, verifier) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(OAuthError::grant(
                "code_verifier sent, but the authorization request had no code_challenge",
            ))
        }
        (Some(_), None) => return Err(OAuthError::grant("code_verifier is required")),
        (Some(challenge), Some(v)) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
            if !pkce_shaped(v) || !same(&computed, challenge) {
                return Err(OAuthError::grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
    }
    acting(node, code.user_id).await?;
    issue(
        node,
        Grant {
            app_id: app.id,
            user_id: Some(code.user_id),
            code_id: Some(code.id),
            scopes: code.scopes,
        },
        None,
    )
    .await
}

/// Narrows `held` to `asked` (when given): asking for more is refused.
fn narrowed(held: &str, asked: Option<&str>) -> Result<String, OAuthError> {
    let held = Scopes::parse(held).map_err(|m| OAuthError::new("invalid_scope", m))?;
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(held.as_string()),
        Some(asked) => {
            let asked = Scopes::parse(asked).map_err(|m| OAuthError::new("invalid_scope", m))?;
            if held.covers_all(&asked) {
                Ok(asked.as_string())
            } else {
                Err(OAuthError::new(
                    "invalid_scope",
                    format!("the grant holds only {:?}", held.as_string()),
                ))
            }
        }
    }
}

/// `grant_type=refresh_token`: a new pair; the old access and refresh tokens stop working.
pub async fn refresh(
    node: &Node,
    app: &OAuthApp,
    refresh_token: &str,
    scope: Option<&str>,
) -> Result<Issued, OAuthError> {
    if refresh_token.is_empty() {
        return Err(OAuthError::new(
            "invalid_request",
            "refresh_token is required",
        ));
    }
    let token = node
        .db
        .oauth_token_by_refresh(&token_hash(refresh_token))
        .await?
        .ok_or_else(|| OAuthError::grant("unknown or already used refresh token"))?;
    if token.app_id != app.id {
        return Err(OAuthError::grant(
            "this refresh token was given to another app",
        ));
    }
    let days = i64::try_from(node.settings.oauth.refresh_token_days).unwrap_or(36500);
    if token.created_at + days * 86_400_000 <= now_ms() {
        return Err(OAuthError::grant(
            "this refresh token has expired; sign in again",
        ));
    }
    let user_id = token
        .user_id
        .ok_or_else(|| OAuthError::grant("app-only tokens are not refreshed"))?;
    acting(node, user_id).await?;
    let scopes = narrowed(&token.scopes, scope)?;
    issue(
        node,
        Grant {
            app_id: app.id,
            user_id: Some(user_id),
            code_id: token.code_id,
            scopes,
        },
        Some(token.id),
    )
    .await
}

/// `grant_type=client_credentials`: a token for the app itself, acting for no user.
pub async fn client_credentials(
    node: &Node,
    app: &OAuthApp,
    scope: Option<&str>,
) -> Result<Issued, OAuthError> {
    let scopes = narrowed(&app.scopes, scope.or(Some("read")))?;
    issue(
        node,
        Grant {
            app_id: app.id,
            user_id: None,
            code_id: None,
            scopes,
        },
        None,
    )
    .await
}

/// `grant_type=password`, only where `oauth.password_grant` is on; the same rate limit,
/// lockout and account checks as the sign-in page.
pub async fn password(
    node: &Node,
    app: &OAuthApp,
    username: &str,
    password: &str,
    scope: Option<&str>,
) -> Result<Issued, OAuthError> {
    if !node.settings.oauth.password_grant {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            "this node does not accept the password grant; use the authorization code flow",
        ));
    }
    let account = signin::sign_in(node, username, password)
        .await
        .map_err(|e| OAuthError::grant(e.message))?;
    let scopes = narrowed(&app.scopes, scope.or(Some("read")))?;
    issue(
        node,
        Grant {
            app_id: app.id,
            user_id: Some(account.user.id),
            code_id: None,
            scopes,
        },
        None,
    )
    .await
}

/// Revokes an access or refresh token of `app` (RFC 7009): unknown tokens are no error.
pub async fn revoke(node: &Node, app: &OAuthApp, token: &str) -> Result<(), OAuthError> {
    if token.is_empty() {
        return Err(OAuthError::new("invalid_request", "token is required"));
    }
    let hash = token_hash(token);
    let found = match node.db.oauth_token(&hash).await? {
        Some(t) => Some(t),
        None => node.db.oauth_token_by_refresh(&hash).await?,
    };
    if let Some(t) = found {
        if t.app_id != app.id {
            return Err(OAuthError::new(
                "unauthorized_client",
                "this token was given to another app",
            ));
        }
        node.db.delete_oauth_token(t.id).await?;
    }
    Ok(())
}

// ----- bearer tokens -----

/// Who a bearer token speaks for.
pub enum Bearer {
    /// A user, through a personal token (`app` None) or an app they authorized.
    User {
        user: User,
        scopes: String,
        app: Option<i64>,
    },
    /// An app acting for itself (`client_credentials`).
    App { app: i64, scopes: String },
}

/// The bearer of a token that exists and has not expired.
pub async fn bearer(node: &Node, token: &str) -> Result<Option<Bearer>, sea_orm::DbErr> {
    let hash = token_hash(token);
    if !token.starts_with(ACCESS_PREFIX) {
        return Ok(node
            .db
            .token_owner(&hash)
            .await?
            .map(|(user, scopes)| Bearer::User {
                user,
                scopes,
                app: None,
            }));
    }
    let Some(t) = node.db.oauth_token(&hash).await? else {
        return Ok(None);
    };
    if t.expires_at.is_some_and(|at| at <= now_ms()) {
        return Ok(None);
    }
    Ok(match t.user_id {
        None => Some(Bearer::App {
            app: t.app_id,
            scopes: t.scopes,
        }),
        Some(id) => node.db.user(id).await?.map(|user| Bearer::User {
            user,
            scopes: t.scopes,
            app: Some(t.app_id),
        }),
    })
}

/// The token row of an app's access token (for `GET /api/v1/apps/verify_credentials`).
pub async fn app_of_token(node: &Node, token: &str) -> Result<Option<OAuthApp>, sea_orm::DbErr> {
    let Some(t): Option<OAuthToken> = node.db.oauth_token(&token_hash(token)).await? else {
        return Ok(None);
    };
    if t.expires_at.is_some_and(|at| at <= now_ms()) {
        return Ok(None);
    }
    node.db.app(t.app_id).await
}

// ----- the apps a user authorized -----

pub use crate::db::oauth::Authorized;

pub async fn authorized_apps(node: &Node, account: &Account) -> Result<Vec<Authorized>, Error> {
    Ok(node.db.authorized_apps(account.user.id).await?)
}

/// Signs an app out of the account: every token the user gave it stops working.
pub async fn revoke_app(node: &Node, account: &Account, app_id: i64) -> Result<u64, Error> {
    match node.db.revoke_app(account.user.id, app_id).await? {
        0 => Err(Error::not_found("you have not authorized this app")),
        n => Ok(n),
    }
}

/// Drops authorization codes that expired more than a day ago.
pub async fn sweep(node: &Node) -> Result<u64, Error> {
    Ok(node.db.sweep_codes(now_ms() - 24 * 3600 * 1000).await?)
}

/// Who a token lets read, for the front doors that take a token beside a browser session
/// (images): a user whose token may read statuses, whose account is active and not suspended.
/// Anything else reads as nobody (`None`), never as an error, so it sees only public content.
pub async fn reader(
    node: &Node,
    token: &str,
) -> Result<Option<crate::service::discussions::Member>, Error> {
    let Some(Bearer::User { user, scopes, .. }) = bearer(node, token).await? else {
        return Ok(None);
    };
    if !Scopes::parse(&scopes).is_ok_and(|s| s.allows("read:statuses")) {
        return Ok(None);
    }
    if user.state != crate::db::entities::user::AccountState::Active {
        return Ok(None);
    }
    let Some(actor) = node.db.local_actor(user.actor_id).await? else {
        return Ok(None);
    };
    let me = crate::service::discussions::user_ap_id(node, &actor.name);
    if node.db.suspension(&me).await?.is_some() {
        return Ok(None);
    }
    Ok(Some(crate::service::discussions::Member { actor, user }))
}
