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

mod linking;
mod provider;
pub use linking::*;
pub use provider::*;

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
