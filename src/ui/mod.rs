//! The server-rendered HTML pages (askama templates under `templates/ui/`): the home page and
//! the account pages (sign-in, sign-up, invitations, email verification, password reset,
//! sign-out, the user's sessions), the OAuth consent page and authorized apps (`oauth`), and
//! the member's settings and notifications (`settings`). They work without JavaScript and are the seam the web UI and
//! the OAuth consent page build on: `Browser` is who is signed in, `Posted` is a form post that
//! carries the session's CSRF token.
//!
//! Sessions are `tower-sessions` sessions in the node's database (`store`): the cookie is
//! `HttpOnly`, `SameSite=Lax`, `Secure` outside `federation.debug`; a session ends after
//! `accounts.session_idle_minutes` without a request and `accounts.session_absolute_hours`
//! after sign-in; its id changes at sign-in.

pub mod accounts;
pub mod admin;
pub mod articles;
pub mod communities;
pub mod events;
pub mod insights;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod pages;
pub mod people;
pub mod search;
pub mod settings;
pub mod sso;
pub mod store;
pub mod threads;
pub mod views;

use crate::{
    node::Node,
    service::{
        accounts::{signin, Account},
        error::{Error, Kind},
    },
};
use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{request::Parts, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::de::DeserializeOwned;
use tower_sessions::{cookie::SameSite, Expiry, Session, SessionManagerLayer};

/// The session cookie's name.
pub const COOKIE: &str = "roundtable_session";
/// Session data keys.
const CSRF: &str = "csrf";
const SIGNED_IN_AT: &str = "signed_in_at";

/// The session layer of every page: the cookie, its lifetime and the store.
fn sessions(state: &Node) -> SessionManagerLayer<store::DbSessionStore> {
    let idle =
        i64::try_from(state.settings.accounts.session_idle_minutes).unwrap_or(i64::MAX / 120);
    SessionManagerLayer::new(store::DbSessionStore::new(state.db.clone()))
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(!state.settings.federation.debug)
        .with_path("/")
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(idle),
        ))
}

/// The pages of ActivityPub ids, for browsers: `app` hands a `GET` of one of these paths here
/// when its `Accept` header does not ask for ActivityPub JSON ([`is_id_page`]), and to the
/// federation routes otherwise.
pub fn id_pages(state: &Node) -> Router {
    Router::new()
        .route("/", get(communities::home))
        .route("/actor", get(|| async { Redirect::to("/") }))
        .route("/c/{name}", get(community_by_id))
        .route("/u/{name}", get(person_by_id))
        .route("/p/{key}", get(post_by_id))
        .route("/e/{key}", get(event_by_id))
        .route("/a/{key}", get(article_by_id))
        .layer(sessions(state))
        .with_state(state.clone())
}

/// Whether `path` is one of [`id_pages`]' paths.
pub fn is_id_page(path: &str) -> bool {
    if path == "/" || path == "/actor" {
        return true;
    }
    ["/c/", "/u/", "/p/", "/e/", "/a/"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    })
}

async fn community_by_id(
    state: axum::extract::State<Node>,
    browser: Browser,
    axum::extract::Path(name): axum::extract::Path<String>,
    query: axum::extract::Query<communities::CommunityQuery>,
) -> Result<Response, PageError> {
    communities::community(state, browser, axum::extract::Path(name), query).await
}

async fn person_by_id(
    state: axum::extract::State<Node>,
    browser: Browser,
    name: axum::extract::Path<String>,
) -> Result<Response, PageError> {
    people::person(state, browser, name).await
}

async fn post_by_id(
    axum::extract::State(state): axum::extract::State<Node>,
    browser: Browser,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let id = format!("{}/p/{key}", state.settings.base_url());
    threads::post_by_ap_id(&state, &browser, &id).await
}

async fn event_by_id(
    state: axum::extract::State<Node>,
    browser: Browser,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let ap_id = format!("{}/e/{key}", state.settings.base_url());
    let event =
        state.db.event_by_ap_id(&ap_id).await?.ok_or_else(|| {
            PageError::from(Error::not_found("There is no such event on this node."))
        })?;
    events::event(state, browser, axum::extract::Path(event.id)).await
}

async fn article_by_id(
    state: axum::extract::State<Node>,
    browser: Browser,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let ap_id = format!("{}/a/{key}", state.settings.base_url());
    let article = state.db.article_by_ap_id(&ap_id).await?.ok_or_else(|| {
        PageError::from(Error::not_found("There is no such article on this node."))
    })?;
    articles::article(
        state,
        browser,
        axum::extract::Path(article.id),
        axum::extract::Query(articles::ArticleQuery::default()),
    )
    .await
}

/// The pages' routes, with the session layer (which only they use).
pub fn router(state: &Node) -> Router<Node> {
    Router::new()
        .route("/static/style.css", get(static_file))
        .route("/static/app.js", get(static_file))
        .route("/media/{key}", get(media::original))
        .route("/media/{key}/preview", get(media::preview))
        .route("/communities", get(communities::directory))
        .route("/communities/open", post(communities::open))
        .route(
            "/communities/new",
            get(communities::new_community_page).post(communities::create_community),
        )
        .route("/communities/{handle}", get(communities::community))
        .route("/communities/{handle}/join", post(communities::join))
        .route("/communities/{handle}/leave", post(communities::leave))
        .route("/communities/{handle}/insights", get(insights::page))
        .route("/communities/{handle}/insights.csv", get(insights::csv))
        .route("/communities/{handle}/requests", post(communities::decide))
        .route(
            "/communities/{handle}/settings",
            get(communities::settings).post(communities::save_settings),
        )
        .route("/communities/{handle}/roles", post(communities::set_role))
        .route(
            "/communities/{handle}/threads",
            post(communities::start_thread),
        )
        .route("/communities/{handle}/articles", get(articles::list))
        .route(
            "/communities/{handle}/articles/new",
            get(articles::new_page).post(articles::create),
        )
        .route("/articles/{id}", get(articles::article))
        .route("/articles/{id}/history", get(articles::history))
        .route("/articles/{id}/diff", get(articles::diff))
        .route(
            "/articles/{id}/edit",
            get(articles::edit_page).post(articles::edit),
        )
        .route("/articles/{id}/protect", post(articles::protect))
        .route("/articles/{id}/revert", post(articles::revert))
        .route("/articles/{id}/review", post(articles::review))
        .route("/threads/{id}", get(threads::thread))
        .route("/threads/{id}/reply", post(threads::reply))
        .route("/threads/{id}/flags", post(threads::flags))
        .route("/threads/{id}/answer", post(threads::answer))
        .route("/posts/{id}/like", post(threads::like))
        .route(
            "/posts/{id}/edit",
            get(threads::edit_page).post(threads::edit),
        )
        .route(
            "/posts/{id}/delete",
            get(threads::delete_page).post(threads::delete),
        )
        .route("/posts/{id}/remove", post(threads::remove))
        .route("/posts/{id}/ban-author", post(threads::ban_author))
        .route(
            "/posts/{id}/report",
            get(threads::report_page).post(threads::report),
        )
        .route("/preview", post(threads::preview))
        .route("/people/{handle}", get(people::person))
        .route("/search", get(search::search))
        .route("/admin", get(admin::page).post(admin::act))
        .route("/admin/insights", get(insights::overview))
        .route(
            "/communities/{handle}/events/new",
            get(events::new_event_page).post(events::create_event),
        )
        .route("/events/{id}", get(events::event))
        .route("/events/{id}/rsvp", post(events::rsvp))
        .route("/events/{id}/decide", post(events::decide))
        .route("/events/{id}/invite", post(events::invite))
        .route("/events/{id}/calendar.ics", get(events::ics))
        .route(
            "/sign-in",
            get(accounts::sign_in_page).post(accounts::sign_in),
        )
        .route(
            "/sign-up",
            get(accounts::sign_up_page).post(accounts::sign_up),
        )
        .route(
            "/invite/{token}",
            get(accounts::invitation_page).post(accounts::accept_invitation),
        )
        .route(
            "/verify-email",
            get(accounts::verify_email_page).post(accounts::verify_email),
        )
        .route(
            "/confirm-email",
            get(accounts::confirm_email_page).post(accounts::confirm_email),
        )
        .route(
            "/forgot-password",
            get(accounts::forgot_password_page).post(accounts::forgot_password),
        )
        .route(
            "/reset-password",
            get(accounts::reset_password_page).post(accounts::reset_password),
        )
        .route(
            "/sign-out",
            get(accounts::sign_out_page).post(accounts::sign_out),
        )
        .route("/sso/{provider}", get(sso::start))
        .route("/sso/{provider}/callback", get(sso::callback))
        .route("/sessions", get(accounts::sessions_page))
        .route("/sessions/{id}/revoke", post(accounts::revoke_session))
        .route(
            "/sessions/revoke-others",
            post(accounts::revoke_other_sessions),
        )
        .route(
            "/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize),
        )
        // Some apps (toot) ask with a trailing slash.
        .route(
            "/oauth/authorize/",
            get(oauth::authorize_page).post(oauth::authorize),
        )
        .route("/settings", get(settings::settings))
        .route("/settings/profile", post(settings::save_profile))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/email", post(settings::change_email))
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/settings/calendar", post(settings::create_calendar))
        .route("/notifications", get(notifications::notifications))
        .route("/notifications/unread", get(notifications::unread))
        .route("/authorized-apps", get(oauth::apps_page))
        .route("/authorized-apps/{id}/revoke", post(oauth::revoke_app))
        .layer(sessions(state))
}

/// The stylesheet and the script, compiled into the binary; cached for a day (their URLs
/// do not change between versions, so not longer).
async fn static_file(uri: axum::http::Uri) -> Response {
    use axum::http::header;
    let (body, kind) = match uri.path() {
        "/static/style.css" => (
            include_str!("../../static/style.css"),
            "text/css; charset=utf-8",
        ),
        _ => (
            include_str!("../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The browser making a request: its session, and the account signed in on it, if any.
pub struct Browser {
    pub session: Session,
    pub account: Option<Account>,
}

impl Browser {
    /// The session's CSRF token, created on first use; every form carries it.
    pub async fn csrf(&self) -> Result<String, PageError> {
        if let Some(token) = self
            .session
            .get::<String>(CSRF)
            .await
            .map_err(session_error)?
        {
            return Ok(token);
        }
        let token = new_token();
        self.session
            .insert(CSRF, &token)
            .await
            .map_err(session_error)?;
        Ok(token)
    }

    /// Starts a signed-in session for `account`: a new session id (the old one is dropped,
    /// so a planted cookie never becomes signed in) and a new CSRF token.
    pub async fn sign_in(
        &self,
        state: &Node,
        account: &Account,
        headers: &HeaderMap,
    ) -> Result<(), PageError> {
        self.session.cycle_id().await.map_err(session_error)?;
        self.session.set_expiry(Some(signed_in_expiry(state)));
        let agent: String = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown browser")
            .chars()
            .take(200)
            .collect();
        let s = &self.session;
        s.insert(store::USER_ID, account.user.id)
            .await
            .map_err(session_error)?;
        s.insert(store::USER_AGENT, agent)
            .await
            .map_err(session_error)?;
        s.insert(SIGNED_IN_AT, crate::db::now_ms())
            .await
            .map_err(session_error)?;
        s.insert(CSRF, new_token()).await.map_err(session_error)?;
        Ok(())
    }

    /// Ends the session (its row and cookie).
    pub async fn sign_out(&self) -> Result<(), PageError> {
        self.session.flush().await.map_err(session_error)
    }
}

impl FromRequestParts<Node> for Browser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &Node) -> Result<Browser, PageError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::internal())?;
        let user_id = session
            .get::<i64>(store::USER_ID)
            .await
            .map_err(session_error)?;
        let account = match user_id {
            Some(id) => {
                let at = session
                    .get::<i64>(SIGNED_IN_AT)
                    .await
                    .map_err(session_error)?
                    .unwrap_or(0);
                let account = signin::session_account(state, id, at).await?;
                if account.is_none() {
                    // Expired, suspended or deleted: the session signs nobody in any more.
                    session.flush().await.map_err(session_error)?;
                }
                account
            }
            None => None,
        };
        // A signed-out session only carries a form's CSRF token: it ends after two idle hours,
        // so visitors who never sign in leave few rows behind. A signed-in one lasts
        // `accounts.session_idle_minutes` between requests.
        session.set_expiry(Some(if account.is_some() {
            signed_in_expiry(state)
        } else {
            Expiry::OnInactivity(tower_sessions::cookie::time::Duration::hours(2))
        }));
        Ok(Browser { session, account })
    }
}

fn signed_in_expiry(state: &Node) -> Expiry {
    let idle =
        i64::try_from(state.settings.accounts.session_idle_minutes).unwrap_or(i64::MAX / 120);
    Expiry::OnInactivity(tower_sessions::cookie::time::Duration::minutes(idle))
}

/// A form post whose CSRF token matches the session's; anything else is refused with 403.
pub struct Posted<T> {
    pub browser: Browser,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<Node> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &Node) -> Result<Posted<T>, PageError> {
        let (mut parts, body) = req.into_parts();
        let browser = Browser::from_request_parts(&mut parts, state).await?;
        let body = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| {
                PageError::new(e.status(), "The form could not be read.", e.body_text())
            })?;
        let given: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        let expected = browser
            .session
            .get::<String>(CSRF)
            .await
            .map_err(session_error)?
            .unwrap_or_default();
        if expected.is_empty() || !same(expected.as_bytes(), given.csrf.as_bytes()) {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without this site's security token, or the session it belonged to has ended. Go back, reload the page and send the form again.".into(),
            ));
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                format!("Its fields were not understood: {e}."),
            )
        })?;
        Ok(Posted { browser, form })
    }
}

/// Constant-time comparison of two tokens.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A page that explains what went wrong, with the matching status.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, message: String) -> PageError {
        PageError {
            status,
            title: title.to_string(),
            message,
        }
    }

    pub fn internal() -> PageError {
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The node could not answer this request. Try again in a moment.".into(),
        )
    }
}

pub(super) fn session_error(e: tower_sessions::session::Error) -> PageError {
    tracing::error!(error = %e, "session store error");
    PageError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sessions are unavailable",
        "The node cannot read or store sessions right now. Try again in a moment.".into(),
    )
}

/// The status a page answers a service error with.
pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Gone => StatusCode::GONE,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<crate::db::DbErr> for PageError {
    fn from(e: crate::db::DbErr) -> PageError {
        Error::from(e).into()
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        let title = match e.kind {
            Kind::NotFound => "Not found",
            Kind::Gone => "This link no longer works",
            Kind::Forbidden | Kind::Unauthenticated => "Not allowed",
            Kind::Unavailable | Kind::RateLimited => "Try again later",
            Kind::Internal => "Something went wrong",
            _ => "That did not work",
        };
        PageError::new(status_of(e.kind), title, e.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        pages::message(self.status, &self.title, &self.message, None)
    }
}
