//! Single sign-on pages: `GET /sso/{provider}` keeps the flow's state, nonce, PKCE verifier
//! and the page to return to in the session and sends the browser to the identity provider;
//! `GET /sso/{provider}/callback` takes them out again (an answer is used once), lets
//! `service::accounts::sso` verify the answer and find the account, and signs the browser in.
//! The provider and the ID token are kept in the session for the provider's logout at
//! sign-out. Also the sign-in page with one link per provider, and without the password form
//! when the node turned local passwords off.

use super::{accounts::local_next, pages, session_error, Browser, PageError};
use crate::{
    node::Node,
    service::accounts::sso::{self, Answer, Pending, ProviderLink},
};
use askama::Template;
use axum::{
    extract::{rejection::PathRejection, Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

const PENDING: &str = "sso_pending";
const SIGNED_IN_WITH: &str = "sso_signed_in_with";

/// The provider a session signed in with, and its ID token (the logout hint), for the user
/// it signed in (a later password sign-in in the same session has none).
#[derive(Serialize, Deserialize)]
struct SignedInWith {
    user_id: i64,
    provider: String,
    id_token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
}

fn query<T: serde::de::DeserializeOwned + Default>(raw: Option<String>) -> Result<T, PageError> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => serde_urlencoded::from_str(&raw).map_err(|_| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "This address could not be read",
                "The link's query was not understood. Start again from the sign-in page.".into(),
            )
        }),
    }
}

fn provider_id(path: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    path.map(|Path(id)| id).map_err(|_| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such sign-in provider.".into(),
        )
    })
}

fn refused(e: crate::service::error::Error) -> PageError {
    let mut page = PageError::from(e);
    if page.status.is_client_error() {
        page.title = "Single sign-on did not work".into();
    }
    page
}

/// `GET /sso/{provider}?next=PATH`: off to the identity provider.
pub async fn start(
    State(state): State<Node>,
    browser: Browser,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = provider_id(path)?;
    let q: NextQuery = query(raw)?;
    let started = sso::start(&state, &id, local_next(&q.next))
        .await
        .map_err(refused)?;
    browser
        .session
        .insert(PENDING, &started.pending)
        .await
        .map_err(session_error)?;
    Ok(Redirect::to(&started.url).into_response())
}

/// `GET /sso/{provider}/callback?code=…&state=…` (or `?error=…`): back from the provider.
pub async fn callback(
    State(state): State<Node>,
    headers: HeaderMap,
    browser: Browser,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = provider_id(path)?;
    let answer: Answer = query(raw)?;
    let pending: Option<Pending> = browser
        .session
        .remove(PENDING)
        .await
        .map_err(session_error)?;
    let next = pending
        .as_ref()
        .map(|p| local_next(&p.next).to_string())
        .unwrap_or_else(|| "/".into());
    let done = sso::finish(&state, &id, pending, &answer)
        .await
        .map_err(refused)?;
    browser.sign_in(&state, &done.account, &headers).await?;
    browser
        .session
        .insert(
            SIGNED_IN_WITH,
            SignedInWith {
                user_id: done.account.user.id,
                provider: id,
                id_token: done.id_token,
            },
        )
        .await
        .map_err(session_error)?;
    Ok(Redirect::to(&next).into_response())
}

/// Where sign-out sends a browser that signed in with a provider that publishes a logout
/// endpoint (RP-initiated logout with the ID token as hint); None for everyone else.
pub async fn logout_redirect(state: &Node, browser: &Browser) -> Option<String> {
    let with: SignedInWith = browser.session.get(SIGNED_IN_WITH).await.ok()??;
    if browser.account.as_ref().map(|a| a.user.id) != Some(with.user_id) {
        return None;
    }
    sso::logout_url(state, &with.provider, &with.id_token).await
}

/// The sign-in page: the password form (unless local passwords are off) and a link per
/// provider.
#[derive(Template)]
#[template(path = "ui/sign_in.html")]
pub struct SignInPage {
    form: pages::FormPage,
    providers: Vec<ProviderLink>,
    passwords: bool,
    /// `?next=…` for the providers' links, or empty.
    next_query: String,
}

impl std::ops::Deref for SignInPage {
    type Target = pages::FormPage;

    fn deref(&self) -> &pages::FormPage {
        &self.form
    }
}

impl SignInPage {
    pub fn new(state: &Node, mut form: pages::FormPage, next: &str) -> SignInPage {
        let passwords = state.settings.accounts.local_passwords;
        let providers = sso::providers(state);
        if !passwords {
            form.fields.clear();
            form.links
                .retain(|(href, _)| *href != "/forgot-password" && *href != "/sign-up");
            form.intro
                .push("Sign in with your organization's account.".into());
        }
        let next = local_next(next);
        let next_query = if next == "/" {
            String::new()
        } else {
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            format!("?next={encoded}")
        };
        SignInPage {
            form,
            providers,
            passwords,
            next_query,
        }
    }

    pub fn render_with(&self, status: StatusCode) -> Response {
        pages::render(status, self)
    }
}
