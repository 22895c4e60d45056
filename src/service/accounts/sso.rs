//! Single sign-on with the organization's identity provider (OpenID Connect).
//!
//! The admin configures providers in `[sso.providers.ID]`. A sign-in is the authorization-code
//! flow with PKCE (S256), a nonce and a state, through the `openidconnect` crate: discovery
//! and the provider's keys (JWKS) come from the issuer on first use and are kept in memory for
//! an hour (re-read after a failure), so a provider that is down never stops the node; the ID
//! token is verified by the crate (signature, issuer, audience, expiry, nonce), and the
//! provider's userinfo fills in claims the ID token leaves out.
//!
//! Who signs in: an identity (issuer + subject) that is linked already is its user, whatever
//! email it now has. A first sign-in links to the account with the same email when the
//! provider says it verified that address, or else provisions an account under the
//! registration policy: `closed` refuses, `approval` makes a pending account, `open` and
//! `invite` an active one (the provider vouches for its users, as an invitation would; limit
//! who may come with `allowed_email_domains`). The provider's own allowed domains are checked
//! on every sign-in; the node's (`accounts.allowed_email_domains`) when an account is made.
//! The account must then be allowed to act, with the same answers as a password sign-in.

use super::{new_actor, signin, signup, Account};
use crate::{
    config::{Registration, SsoProvider},
    db::{accounts::NewUser, entities::user::AccountState, now_ms, sso::ProvisionError},
    domain::{ActorKind, Name},
    mail::messages,
    node::Node,
    service::error::Error,
};
use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreIdToken,
        CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
        CoreTokenType,
    },
    AdditionalClaims, AsyncHttpClient, AuthenticationFlow, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IdTokenFields,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope,
    StandardErrorResponse, StandardTokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    str::FromStr,
    sync::{Arc, LazyLock, Mutex, OnceLock},
    time::{Duration, Instant},
};

/// How long discovery (endpoints and keys) is trusted before it is read again.
const METADATA_FRESH: Duration = Duration::from_secs(3600);
/// How long a browser has to come back from the provider.
const FLOW_MAX_MS: i64 = 10 * 60 * 1000;
/// The largest answer read from a provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The claims beyond the standard ones (`groups`, an admin flag…), kept as JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<TokenFields, CoreTokenType>;
/// A client as `from_provider_metadata` makes it: the authorization endpoint is known, the
/// token and userinfo endpoints may be.
type OidcClient = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

// ----- the HTTP client the crate talks through -----

/// `openidconnect`'s HTTP client over the node's reqwest (0.13): no redirects, a timeout per
/// request and a cap on the answer's size. The crate's own reqwest feature would compile a
/// second, older reqwest. This is not the federation client: an organization's provider
/// often has a private address, which that client refuses; the issuer is set by the admin.
struct IdpHttp {
    client: reqwest::Client,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("{0}")]
    Http(#[from] openidconnect::http::Error),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

impl<'c> AsyncHttpClient<'c> for IdpHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = reqwest::Request::try_from(request)?;
            *request.timeout_mut() = Some(self.timeout);
            let mut response = self.client.execute(request).await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(answer.body(body)?)
        })
    }
}

fn http(node: &Node) -> Result<IdpHttp, Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let client = match CLIENT.get() {
        Some(c) => c.clone(),
        None => {
            let built = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("Roundtable/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot build the identity provider client");
                    Error::internal()
                })?;
            CLIENT.get_or_init(|| built).clone()
        }
    };
    Ok(IdpHttp {
        client,
        timeout: node.settings.request_timeout(),
    })
}

// ----- providers and their discovery -----

/// A provider people can sign in with, for the sign-in page.
pub struct ProviderLink {
    pub id: String,
    pub label: String,
}

/// The configured providers, in id order.
pub fn providers(node: &Node) -> Vec<ProviderLink> {
    node.settings
        .sso
        .providers
        .iter()
        .map(|(id, p)| ProviderLink {
            id: id.clone(),
            label: p.label(id).to_string(),
        })
        .collect()
}

/// Refuses password sign-in, sign-up and reset when the node turned local passwords off.
pub fn passwords_allowed(node: &Node) -> Result<(), Error> {
    if node.settings.accounts.local_passwords {
        return Ok(());
    }
    let names: Vec<String> = providers(node).into_iter().map(|p| p.label).collect();
    Err(Error::forbidden(format!(
        "this node does not use passwords: sign in with {}",
        names.join(" or ")
    )))
}

fn provider<'a>(node: &'a Node, id: &str) -> Result<&'a SsoProvider, Error> {
    node.settings
        .sso
        .providers
        .get(id)
        .ok_or_else(|| Error::not_found(format!("this node has no sign-in provider {id:?}")))
}

struct Discovered {
    metadata: Arc<ProviderMetadataWithLogout>,
    at: Instant,
}

static DISCOVERED: LazyLock<Mutex<HashMap<String, Discovered>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn cache() -> std::sync::MutexGuard<'static, HashMap<String, Discovered>> {
    DISCOVERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets a provider's discovery, so the next sign-in reads it (and its keys) again.
fn forget(issuer: &str) {
    cache().remove(issuer);
}

/// The provider's metadata and keys: cached for an hour; a stale copy is used while the
/// provider cannot be reached.
async fn metadata(node: &Node, p: &SsoProvider) -> Result<Arc<ProviderMetadataWithLogout>, Error> {
    let stale = match cache().get(&p.issuer) {
        Some(d) if d.at.elapsed() < METADATA_FRESH => return Ok(d.metadata.clone()),
        Some(d) => Some(d.metadata.clone()),
        None => None,
    };
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|_| {
        Error::unavailable("this sign-in provider's issuer is not a URL; tell the node's admin")
    })?;
    let client = http(node)?;
    match ProviderMetadataWithLogout::discover_async(issuer, &client).await {
        Ok(found) => {
            let found = Arc::new(found);
            cache().insert(
                p.issuer.clone(),
                Discovered {
                    metadata: found.clone(),
                    at: Instant::now(),
                },
            );
            Ok(found)
        }
        Err(e) => {
            tracing::warn!(issuer = %p.issuer, error = %e, "OpenID Connect discovery failed");
            stale.ok_or_else(|| {
                Error::unavailable(
                    "the identity provider cannot be reached right now; try again in a moment",
                )
            })
        }
    }
}

fn secret(p: &SsoProvider) -> Result<Option<ClientSecret>, Error> {
    let missing = |what: String| {
        tracing::error!(issuer = %p.issuer, "{what}");
        Error::unavailable("this sign-in provider is not set up completely; tell the node's admin")
    };
    let raw = if !p.client_secret_file.is_empty() {
        std::fs::read_to_string(&p.client_secret_file).map_err(|e| {
            missing(format!(
                "cannot read client_secret_file {}: {e}",
                p.client_secret_file
            ))
        })?
    } else if !p.client_secret_env.is_empty() {
        std::env::var(&p.client_secret_env).map_err(|_| {
            missing(format!(
                "client_secret_env names {}, which is not set",
                p.client_secret_env
            ))
        })?
    } else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(missing("the client secret is empty".into()));
    }
    Ok(Some(ClientSecret::new(raw.to_string())))
}

/// Where the provider sends the browser back: `https://DOMAIN/sso/{id}/callback`.
pub fn callback_url(node: &Node, id: &str) -> String {
    format!("{}/sso/{id}/callback", node.settings.base_url())
}

fn client(
    node: &Node,
    id: &str,
    p: &SsoProvider,
    metadata: &ProviderMetadataWithLogout,
) -> Result<OidcClient, Error> {
    let redirect = RedirectUrl::new(callback_url(node, id)).map_err(|_| Error::internal())?;
    Ok(OidcClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(p.client_id.clone()),
        secret(p)?,
    )
    .set_redirect_uri(redirect))
}

// ----- the flow -----

/// What the browser's session keeps between the redirect to the provider and its answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// The local path to go to afterwards.
    pub next: String,
    started_at: i64,
}

/// A started sign-in: send the browser to `url`, keep `pending` in its session.
pub struct Started {
    pub url: String,
    pub pending: Pending,
}

/// Starts a sign-in with provider `id`; `next` is a local path (checked by the caller).
pub async fn start(node: &Node, id: &str, next: &str) -> Result<Started, Error> {
    let p = provider(node, id)?;
    let metadata = metadata(node, p).await?;
    let client = client(node, id, p, &metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    for scope in &p.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    Ok(Started {
        url: url.to_string(),
        pending: Pending {
            provider: id.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.to_string(),
            started_at: now_ms(),
        },
    })
}

/// The query the provider sends the browser back with.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Answer {
    pub code: String,
    pub state: String,
    pub error: String,
    pub error_description: String,
}

/// A finished sign-in.
pub struct SignedIn {
    pub account: Account,
    /// The raw ID token, kept as the hint for the provider's logout.
    pub id_token: String,
}

/// What the provider says about the person, from the verified ID token and userinfo.
pub struct Profile {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub claims: HashMap<String, serde_json::Value>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn clip(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

/// Finishes a sign-in with provider `id`: `pending` is what the session kept (taken out of it
/// by the caller, so an answer is used once), `answer` what the provider sent back.
#[tracing::instrument(skip_all, fields(provider = %id))]
pub async fn finish(
    node: &Node,
    id: &str,
    pending: Option<Pending>,
    answer: &Answer,
) -> Result<SignedIn, Error> {
    let p = provider(node, id)?;
    let again = "start again from the sign-in page";
    let Some(pending) = pending.filter(|f| f.provider == id) else {
        return Err(Error::invalid(format!(
            "this browser has no sign-in with this provider under way (it may have expired); {again}"
        )));
    };
    if now_ms().saturating_sub(pending.started_at) > FLOW_MAX_MS {
        return Err(Error::invalid(format!(
            "the sign-in took too long; {again}"
        )));
    }
    if !constant_time_eq(answer.state.as_bytes(), pending.state.as_bytes()) {
        return Err(Error::invalid(format!(
            "the identity provider's answer does not belong to this browser's sign-in (state mismatch); {again}"
        )));
    }
    if !answer.error.is_empty() {
        let detail = if answer.error_description.is_empty() {
            clip(&answer.error, 100)
        } else {
            format!(
                "{}: {}",
                clip(&answer.error, 100),
                clip(&answer.error_description, 300)
            )
        };
        return Err(Error::forbidden(format!(
            "the identity provider did not sign you in ({detail})"
        )));
    }
    if answer.code.is_empty() {
        return Err(Error::invalid(format!(
            "the identity provider's answer has no code; {again}"
        )));
    }
    let metadata = metadata(node, p).await?;
    let client = client(node, id, p, &metadata)?;
    let http = http(node)?;
    let token = client
        .exchange_code(AuthorizationCode::new(answer.code.clone()))
        .map_err(|_| Error::unavailable("the identity provider publishes no token endpoint"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                tracing::info!(error = %r, "the identity provider refused a code");
                Error::forbidden(format!(
                    "the identity provider refused this sign-in ({}); {again}",
                    clip(r.error().as_ref(), 100)
                ))
            }
            other => {
                tracing::warn!(error = %other, "token request to the identity provider failed");
                Error::unavailable(
                    "the identity provider did not answer as expected; try again in a moment",
                )
            }
        })?;
    let id_token = token
        .extra_fields()
        .id_token()
        .ok_or_else(|| Error::forbidden("the identity provider sent no ID token"))?;
    let verifier = client.id_token_verifier();
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = id_token.claims(&verifier, &nonce).map_err(|e| {
        tracing::info!(error = %e, "an ID token was refused");
        if matches!(e, ClaimsVerificationError::SignatureVerification(_)) {
            // The provider may have rotated its keys: read them again next time.
            forget(&p.issuer);
        }
        Error::forbidden(format!("{}; {again}", token_problem(&e)))
    })?;
    let mut profile = Profile {
        issuer: p.issuer.clone(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        username: claims.preferred_username().map(|u| u.to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        claims: claims.additional_claims().0.clone(),
    };
    if metadata.userinfo_endpoint().is_some() {
        let info: UserInfoClaims<OtherClaims, CoreGenderClaim> = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|_| Error::internal())?
            .request_async(&http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "userinfo request failed");
                Error::unavailable(
                    "the identity provider did not give your profile; try again in a moment",
                )
            })?;
        // The ID token's claims win; userinfo fills in what it leaves out.
        if profile.email.is_none() {
            profile.email = info.email().map(|e| e.to_string());
            profile.email_verified = info.email_verified().unwrap_or(false);
        }
        if profile.username.is_none() {
            profile.username = info.preferred_username().map(|u| u.to_string());
        }
        if profile.name.is_none() {
            profile.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
        }
        for (k, v) in &info.additional_claims().0 {
            profile.claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let account = sign_in_with(node, p, profile).await?;
    Ok(SignedIn {
        account,
        id_token: id_token.to_string(),
    })
}

/// What a refused ID token is told as.
fn token_problem(e: &ClaimsVerificationError) -> &'static str {
    match e {
        ClaimsVerificationError::Expired(_) => "the identity provider's ID token has expired",
        ClaimsVerificationError::InvalidNonce(_) => {
            "the identity provider's ID token belongs to another sign-in (wrong nonce)"
        }
        ClaimsVerificationError::SignatureVerification(_) => {
            "the identity provider's ID token has no valid signature"
        }
        ClaimsVerificationError::InvalidAudience(_) => {
            "the identity provider's ID token was issued to another application"
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            "the identity provider's ID token was issued by someone else"
        }
        _ => "the identity provider's ID token is not valid",
    }
}

fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
}

fn normalized_domains(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .collect()
}

/// Whether the admin claim says admin: `true`, or a string equal to / a list containing the
/// configured value (`"true"` when none is set).
fn admin_claim(p: &SsoProvider, claims: &HashMap<String, serde_json::Value>) -> Option<bool> {
    let name = p.admin_claim.trim();
    if name.is_empty() {
        return None;
    }
    let wanted = if p.admin_value.is_empty() {
        "true"
    } else {
        p.admin_value.as_str()
    };
    Some(match claims.get(name) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == wanted,
        Some(serde_json::Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(wanted)),
        _ => false,
    })
}

/// The account a verified profile signs in as: linked already, linked now by its verified
/// email, or made now. Refused like a password sign-in when the account may not act.
pub async fn sign_in_with(
    node: &Node,
    p: &SsoProvider,
    profile: Profile,
) -> Result<Account, Error> {
    let email = match profile.email.as_deref() {
        Some(raw) => super::parse_email(raw).ok(),
        None => None,
    };
    let allowed = normalized_domains(&p.allowed_email_domains);
    if !allowed.is_empty()
        && !email
            .as_deref()
            .is_some_and(|e| allowed.iter().any(|d| d == domain_of(e)))
    {
        return Err(Error::forbidden(format!(
            "sign-in with this provider is open only to addresses at {}",
            allowed.join(", ")
        )));
    }
    let db = &node.db;
    let account = match db.identity(&profile.issuer, &profile.subject).await? {
        Some(identity) => {
            db.identity_used(identity.id, email.as_deref()).await?;
            super::account(db, identity.user_id)
                .await?
                .ok_or_else(|| Error::gone("the account of this identity no longer exists"))?
        }
        None => first_sign_in(node, &profile, email.as_deref()).await?,
    };
    let account = match admin_claim(p, &profile.claims) {
        Some(admin) if admin != account.user.is_admin => {
            db.set_admin(account.user.id, admin).await?;
            tracing::info!(user = %account.name(), admin, "admin flag set by the identity provider's claim");
            super::account(db, account.user.id)
                .await?
                .ok_or_else(|| Error::gone("this account no longer exists"))?
        }
        _ => account,
    };
    signin::may_act(node, &account).await?;
    Ok(account)
}

async fn first_sign_in(
    node: &Node,
    profile: &Profile,
    email: Option<&str>,
) -> Result<Account, Error> {
    let db = &node.db;
    if let Some(email) = email {
        if let Some(user) = db.user_by_email(email).await? {
            if !profile.email_verified {
                return Err(Error::conflict(format!(
                    "an account with the address {email} exists already, and the identity provider has not confirmed that this address is yours; sign in with that account's password instead"
                )));
            }
            match db
                .link_identity(user.id, &profile.issuer, &profile.subject, Some(email))
                .await
            {
                Ok(_) => {}
                // Another request linked it a moment ago: the same person.
                Err(crate::db::StoreError::Taken(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if !user.email_verified {
                db.set_email_verified(user.id).await?;
            }
            tracing::info!(user_id = user.id, issuer = %profile.issuer, "identity linked to an account by its verified email");
            return super::account(db, user.id)
                .await?
                .ok_or_else(|| Error::gone("this account no longer exists"));
        }
    }
    provision(node, profile, email).await
}

async fn provision(node: &Node, profile: &Profile, email: Option<&str>) -> Result<Account, Error> {
    let registration = node.settings.accounts.registration;
    if registration == Registration::Closed {
        return Err(Error::forbidden(
            "this node does not create accounts on sign-in; ask its administrator to create yours with the email address your identity provider gives",
        ));
    }
    match email {
        Some(email) => signup::check_email_domain(node, email).map_err(|mut e| {
            e.field = None;
            e
        })?,
        None if !node.settings.accounts.allowed_email_domains.is_empty() => {
            return Err(Error::forbidden(
                "the identity provider gave no email address, and this node accepts only some email domains",
            ))
        }
        None => {}
    }
    let state = if registration == Registration::Approval {
        AccountState::Pending
    } else {
        AccountState::Active
    };
    let base = name_base(profile.username.as_deref(), email);
    let display_name = profile
        .name
        .as_deref()
        .map(|n| clip(n.trim(), 100))
        .filter(|n| !n.is_empty());
    let mut attempt = 0u32;
    let (actor, user) = loop {
        let name = free_name(node, &base, attempt).await?;
        let actor = new_actor(
            ActorKind::Person,
            name.clone(),
            display_name.clone().unwrap_or_else(|| name.clone()),
            String::new(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot create an actor");
            Error::internal()
        })?;
        let new = NewUser {
            password_hash: None,
            is_admin: false,
            email: email.map(str::to_string),
            email_verified: email.is_some() && profile.email_verified,
            state,
            locale: "en".into(),
            time_zone: "UTC".into(),
        };
        let made = node
            .db
            .provision_account(actor, new, &profile.issuer, &profile.subject)
            .await;
        match made {
            Ok(pair) => break pair,
            Err(ProvisionError::NameTaken) if attempt < 5 => attempt += 1,
            Err(ProvisionError::IdentityTaken) => {
                // A concurrent sign-in of the same person made the account first.
                let identity = node
                    .db
                    .identity(&profile.issuer, &profile.subject)
                    .await?
                    .ok_or_else(Error::internal)?;
                return super::account(&node.db, identity.user_id)
                    .await?
                    .ok_or_else(|| Error::gone("this account no longer exists"));
            }
            Err(ProvisionError::EmailTaken) => {
                return Err(Error::conflict(
                    "an account with this email address exists already; sign in with it",
                ))
            }
            Err(ProvisionError::NameTaken) => {
                return Err(Error::conflict(
                    "no free user name was found for you; ask the node's administrator",
                ))
            }
            Err(ProvisionError::Db(e)) => return Err(e.into()),
        }
    };
    let account = Account { user, actor };
    tracing::info!(user = %account.name(), issuer = %profile.issuer, "account provisioned on first sign-in");
    if let Some(email) = email {
        if !account.user.email_verified {
            signup::send_verification(node, &account).await?;
        }
        if state == AccountState::Pending {
            let node_name = &node.settings.instance.name;
            let content = messages::approval_pending(account.name(), node_name);
            signup::queue(node, email, &content).await?;
            let request = messages::approval_request(account.name(), email, node_name);
            for admin in node.db.admin_emails().await? {
                signup::queue(node, &admin, &request).await?;
            }
        }
    }
    Ok(account)
}

/// A valid user name from the provider's `preferred_username` (or the email's local part):
/// lowercased, other characters as `_`, at most 56 characters so a suffix fits.
pub fn name_base(username: Option<&str>, email: Option<&str>) -> String {
    let raw = username
        .map(|u| u.split('@').next().unwrap_or(u))
        .filter(|u| !u.trim().is_empty())
        .or_else(|| email.and_then(|e| e.split('@').next()))
        .unwrap_or("");
    let mut name = String::new();
    for c in raw.trim().to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else if c.is_ascii() {
            '_'
        } else {
            continue;
        };
        if !(c == '_' && (name.is_empty() || name.ends_with('_'))) {
            name.push(c);
        }
        if name.len() >= 56 {
            break;
        }
    }
    let name = name.trim_end_matches('_').to_string();
    if name.is_empty() {
        "member".into()
    } else {
        name
    }
}

/// `base`, or `base_2`, `base_3`… (random after a few), whichever is free.
async fn free_name(node: &Node, base: &str, attempt: u32) -> Result<String, Error> {
    let mut n = 1u32;
    loop {
        let candidate = match (attempt, n) {
            (0, 1) => base.to_string(),
            (0, n) if n <= 20 => format!("{base}_{n}"),
            _ => format!("{base}_{}", rand::random::<u32>() % 1_000_000),
        };
        let name = Name::parse(&candidate).map_err(|_| Error::internal())?;
        if node.db.local_actor_by_name(name.as_str()).await?.is_none() {
            return Ok(name.to_string());
        }
        n += 1;
        if n > 30 {
            return Err(Error::conflict(
                "no free user name was found for you; ask the node's administrator",
            ));
        }
    }
}

/// The provider's logout URL for a browser signed in with `id_token` through provider `id`,
/// when the provider publishes one (`end_session_endpoint`); it returns to the home page.
pub async fn logout_url(node: &Node, id: &str, id_token: &str) -> Option<String> {
    let p = node.settings.sso.providers.get(id)?;
    let metadata = metadata(node, p).await.ok()?;
    let end = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()?;
    let hint = CoreIdToken::from_str(id_token).ok()?;
    let back = PostLogoutRedirectUrl::new(format!("{}/", node.settings.base_url())).ok()?;
    Some(
        LogoutRequest::from(end)
            .set_id_token_hint(&hint)
            .set_client_id(ClientId::new(p.client_id.clone()))
            .set_post_logout_redirect_uri(back)
            .http_get_url()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_claims_are_valid() {
        assert_eq!(name_base(Some("Ada.Lovelace"), None), "ada_lovelace");
        assert_eq!(name_base(Some("ada@example.org"), None), "ada");
        assert_eq!(name_base(None, Some("j.doe+x@example.org")), "j_doe_x");
        assert_eq!(name_base(Some("  "), Some("bob@example.org")), "bob");
        assert_eq!(name_base(Some("Jörg"), None), "jrg");
        assert_eq!(name_base(Some("..."), None), "member");
        assert_eq!(name_base(None, None), "member");
        let long = name_base(Some(&"x".repeat(200)), None);
        assert_eq!(long.len(), 56);
        assert!(Name::parse(&format!("{long}_1234567")).is_ok());
    }

    #[test]
    fn admin_claims() {
        let p = |claim: &str, value: &str| SsoProvider {
            issuer: "https://idp.example".into(),
            client_id: "rt".into(),
            client_secret_file: String::new(),
            client_secret_env: String::new(),
            display_name: String::new(),
            allowed_email_domains: vec![],
            admin_claim: claim.into(),
            admin_value: value.into(),
            scopes: vec![],
        };
        let claims: HashMap<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "groups": ["staff", "rt-admins"], "is_admin": true, "role": "boss"
            }))
            .expect("claims");
        assert_eq!(admin_claim(&p("", ""), &claims), None);
        assert_eq!(admin_claim(&p("groups", "rt-admins"), &claims), Some(true));
        assert_eq!(admin_claim(&p("groups", "other"), &claims), Some(false));
        assert_eq!(admin_claim(&p("is_admin", ""), &claims), Some(true));
        assert_eq!(admin_claim(&p("role", "boss"), &claims), Some(true));
        assert_eq!(admin_claim(&p("missing", ""), &claims), Some(false));
    }
}
