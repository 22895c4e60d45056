//! The account pages: sign-in, sign-up (also through an invitation), email verification,
//! forgot and reset password, sign-out, and the list of the user's sessions. Every form post
//! is a `Posted` (CSRF-checked); a successful post redirects (303), a refused one shows the
//! form again with the message beside its field.

use super::{
    pages::{self, Field, FormPage, SessionRow, SessionsPage},
    status_of, Browser, PageError, Posted,
};
use crate::{
    node::Node,
    service::{
        accounts::{email, signin, signup, sso},
        error::Error,
    },
};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// Where to go after signing in: a path on this node only (never `//host` or a URL), and
/// one that fits in a `Location` header.
pub(super) fn local_next(next: &str) -> &str {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000
    {
        next
    } else {
        "/"
    }
}

pub(super) fn signed_in(browser: &Browser) -> Option<String> {
    browser.account.as_ref().map(|a| a.actor.name.clone())
}

// ----- sign in -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    login: String,
    password: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

async fn sign_in_form(browser: &Browser, login: &str, next: &str) -> Result<FormPage, PageError> {
    let mut page = FormPage::new("Sign in", "/sign-in", browser.csrf().await?, "Sign in");
    page.fields = vec![
        Field::new("login", "User name or email address", "text", "username").value(login),
        Field::new("password", "Password", "password", "current-password"),
    ];
    page.hidden = vec![("next", local_next(next).to_string())];
    page.links = vec![
        ("/forgot-password", "Forgot your password?"),
        ("/sign-up", "Create an account"),
    ];
    page.signed_in = signed_in(browser);
    Ok(page)
}

pub async fn sign_in_page(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let page = sign_in_form(&browser, "", &q.next).await?;
    Ok(super::sso::SignInPage::new(&state, page, &q.next).render_with(StatusCode::OK))
}

pub async fn sign_in(
    State(state): State<Node>,
    headers: HeaderMap,
    Posted { browser, form }: Posted<SignInForm>,
) -> PageResult {
    match signin::sign_in(&state, &form.login, &form.password).await {
        Ok(account) => {
            browser.sign_in(&state, &account, &headers).await?;
            Ok(Redirect::to(local_next(&form.next)).into_response())
        }
        Err(e) => {
            let page = sign_in_form(&browser, &form.login, &form.next)
                .await?
                .with_error(&e);
            let page = super::sso::SignInPage::new(&state, page, &form.next);
            Ok(page.render_with(status_of(e.kind)))
        }
    }
}

// ----- sign up and invitations -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignUpForm {
    name: String,
    display_name: String,
    email: String,
    password: String,
    time_zone: String,
}

async fn sign_up_form(
    state: &Node,
    browser: &Browser,
    action: &str,
    form: &SignUpForm,
) -> Result<FormPage, PageError> {
    let policy = signup::policy(state).await?;
    let mut page = FormPage::new(
        "Create an account",
        action,
        browser.csrf().await?,
        "Create my account",
    );
    let mut email = Field::new("email", "Email address", "email", "email").value(&form.email);
    if !policy.allowed_email_domains.is_empty() {
        email = email.hint(format!(
            "Use your address at {}.",
            policy.allowed_email_domains.join(", ")
        ));
    }
    page.fields = vec![
        Field::new("name", "User name", "text", "username")
            .value(&form.name)
            .hint("Lowercase letters, digits and underscores; it is part of your address on the fediverse."),
        Field::new("display_name", "Display name (optional)", "text", "name").value(&form.display_name),
        email,
        Field::new("password", "Password", "password", "new-password").hint("At least 8 characters."),
        Field::new("time_zone", "Time zone (optional)", "text", "off")
            .value(&form.time_zone)
            .hint("Where you are, like Europe/Berlin, for event times; UTC if empty."),
    ];
    if policy.registration == crate::config::Registration::Approval && action == "/sign-up" {
        page.intro
            .push("An administrator approves new accounts before they can be used.".into());
    }
    page.links = vec![("/sign-in", "I have an account: sign in")];
    page.signed_in = signed_in(browser);
    Ok(page)
}

pub async fn sign_up_page(State(state): State<Node>, browser: Browser) -> PageResult {
    use crate::config::Registration;
    sso::passwords_allowed(&state)?;
    match signup::registration(&state).await? {
        Registration::Closed => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Sign-up is closed",
            "This node does not take sign-ups. Ask its administrator for an invitation.".into(),
        )),
        Registration::Invite => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Sign-up by invitation",
            "This node takes new members by invitation only: open the link of your invitation."
                .into(),
        )),
        Registration::Approval | Registration::Open => {
            Ok(
                sign_up_form(&state, &browser, "/sign-up", &SignUpForm::default())
                    .await?
                    .render_with(StatusCode::OK),
            )
        }
    }
}

async fn do_sign_up(
    state: &Node,
    browser: &Browser,
    action: &str,
    form: SignUpForm,
    invitation: Option<&str>,
) -> PageResult {
    let result = signup::sign_up(
        state,
        signup::SignUp {
            name: &form.name,
            display_name: &form.display_name,
            email: &form.email,
            password: &form.password,
            time_zone: &form.time_zone,
            invitation,
        },
    )
    .await;
    match result {
        Ok(done) => {
            let mut text = format!(
                "We mailed a link to {} — open it to confirm your address.",
                done.account.user.email.as_deref().unwrap_or("your address")
            );
            if done.pending_approval {
                text.push_str(" An administrator approves new accounts; you can sign in once yours is approved.");
            }
            Ok(pages::message(
                StatusCode::OK,
                "Check your email",
                &text,
                Some(("/sign-in", "Sign in")),
            ))
        }
        // Field errors show on the form; a policy refusal of the whole sign-up too.
        Err(e) => {
            let page = sign_up_form(state, browser, action, &form)
                .await?
                .with_error(&e);
            Ok(page.render_with(status_of(e.kind)))
        }
    }
}

pub async fn sign_up(
    State(state): State<Node>,
    Posted { browser, form }: Posted<SignUpForm>,
) -> PageResult {
    do_sign_up(&state, &browser, "/sign-up", form, None).await
}

fn bad_invitation() -> PageError {
    PageError::new(
        StatusCode::GONE,
        "This invitation no longer works",
        "The invitation has expired or has been used up. Ask the person who invited you for a new one.".into(),
    )
}

pub async fn invitation_page(
    State(state): State<Node>,
    browser: Browser,
    Path(token): Path<String>,
) -> PageResult {
    sso::passwords_allowed(&state)?;
    if !signup::invitation_is_open(&state, &token).await? {
        return Err(bad_invitation());
    }
    let action = format!("/invite/{token}");
    let mut page = sign_up_form(&state, &browser, &action, &SignUpForm::default()).await?;
    page.title = "Accept your invitation".into();
    page.intro.insert(
        0,
        format!(
            "You are invited to {}. Choose your account's name and password.",
            state.settings.instance.name
        ),
    );
    Ok(page.render_with(StatusCode::OK))
}

pub async fn accept_invitation(
    State(state): State<Node>,
    Path(token): Path<String>,
    Posted { browser, form }: Posted<SignUpForm>,
) -> PageResult {
    let action = format!("/invite/{token}");
    do_sign_up(&state, &browser, &action, form, Some(&token)).await
}

// ----- email verification -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

fn bad_link() -> PageError {
    PageError::new(
        StatusCode::GONE,
        "This link no longer works",
        "The link has expired or has been used already.".into(),
    )
}

/// The link from the mail opens a page with a button: following a link never changes
/// anything, so mail scanners that open links do not use it up.
pub async fn verify_email_page(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    if q.token.is_empty() || !signup::verification_is_open(&state, &q.token).await? {
        return Err(bad_link());
    }
    let mut page = FormPage::new(
        "Confirm your email address",
        "/verify-email",
        browser.csrf().await?,
        "Confirm my email address",
    );
    page.hidden = vec![("token", q.token)];
    page.signed_in = signed_in(&browser);
    Ok(page.render_with(StatusCode::OK))
}

pub async fn verify_email(
    State(state): State<Node>,
    Posted { form, .. }: Posted<TokenQuery>,
) -> PageResult {
    let account = signup::verify_email(&state, &form.token).await?;
    let text = format!(
        "Thank you, {}: your email address is confirmed.",
        account.actor.name
    );
    Ok(pages::message(
        StatusCode::OK,
        "Email address confirmed",
        &text,
        Some(("/sign-in", "Sign in")),
    ))
}

/// The link that confirms a new email address opens a page naming it, with a button (so
/// mail scanners that open links do not use it up).
pub async fn confirm_email_page(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    let address = match q.token.is_empty() {
        true => None,
        false => email::change_link(&state, &q.token).await?,
    };
    let Some(address) = address else {
        return Err(bad_link());
    };
    let mut page = FormPage::new(
        "Confirm your new email address",
        "/confirm-email",
        browser.csrf().await?,
        "Use this address",
    );
    page.intro = vec![format!(
        "Your account will use {address} from now on, for sign-in and for mail from this node."
    )];
    page.hidden = vec![("token", q.token)];
    page.signed_in = signed_in(&browser);
    Ok(page.render_with(StatusCode::OK))
}

pub async fn confirm_email(
    State(state): State<Node>,
    Posted { form, .. }: Posted<TokenQuery>,
) -> PageResult {
    let account = email::confirm_change(&state, &form.token).await?;
    let text = format!(
        "Thank you, {}: your email address is now {}.",
        account.actor.name,
        account.user.email.as_deref().unwrap_or_default()
    );
    Ok(pages::message(
        StatusCode::OK,
        "Email address changed",
        &text,
        Some(("/settings", "Your settings")),
    ))
}

// ----- forgot and reset password -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

async fn forgot_form(browser: &Browser, email: &str) -> Result<FormPage, PageError> {
    let mut page = FormPage::new(
        "Forgot your password?",
        "/forgot-password",
        browser.csrf().await?,
        "Mail me a link",
    );
    page.intro = vec![
        "Enter your account's email address: we mail you a link to choose a new password.".into(),
    ];
    page.fields = vec![Field::new("email", "Email address", "email", "email").value(email)];
    page.signed_in = signed_in(browser);
    Ok(page)
}

pub async fn forgot_password_page(State(state): State<Node>, browser: Browser) -> PageResult {
    sso::passwords_allowed(&state)?;
    Ok(forgot_form(&browser, "").await?.render_with(StatusCode::OK))
}

pub async fn forgot_password(
    State(state): State<Node>,
    Posted { browser, form }: Posted<ForgotForm>,
) -> PageResult {
    match signin::forgot_password(&state, &form.email).await {
        Ok(()) => Ok(pages::message(
            StatusCode::OK,
            "Check your email",
            "If an account uses this address, we have mailed it a link to choose a new password.",
            None,
        )),
        Err(e) => {
            let page = forgot_form(&browser, &form.email).await?.with_error(&e);
            Ok(page.render_with(status_of(e.kind)))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    password: String,
}

async fn reset_form(browser: &Browser, token: &str) -> Result<FormPage, PageError> {
    let mut page = FormPage::new(
        "Choose a new password",
        "/reset-password",
        browser.csrf().await?,
        "Set my password",
    );
    page.hidden = vec![("token", token.to_string())];
    page.fields = vec![
        Field::new("password", "New password", "password", "new-password")
            .hint("At least 8 characters."),
    ];
    page.signed_in = signed_in(browser);
    Ok(page)
}

pub async fn reset_password_page(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    if q.token.is_empty() || !signin::reset_is_open(&state, &q.token).await? {
        return Err(bad_link());
    }
    Ok(reset_form(&browser, &q.token)
        .await?
        .render_with(StatusCode::OK))
}

pub async fn reset_password(
    State(state): State<Node>,
    Posted { browser, form }: Posted<ResetForm>,
) -> PageResult {
    match signin::reset_password(&state, &form.token, &form.password).await {
        Ok(_) => Ok(pages::message(
            StatusCode::OK,
            "Password changed",
            "Your new password is set, and every session of your account was signed out.",
            Some(("/sign-in", "Sign in")),
        )),
        Err(e) if e.field.is_some() => {
            let page = reset_form(&browser, &form.token).await?.with_error(&e);
            Ok(page.render_with(status_of(e.kind)))
        }
        Err(e) => Err(e.into()),
    }
}

// ----- sign out and sessions -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Empty {}

pub async fn sign_out_page(browser: Browser) -> PageResult {
    let mut page = FormPage::new("Sign out", "/sign-out", browser.csrf().await?, "Sign out");
    page.intro = vec!["Sign out of this browser?".into()];
    page.signed_in = signed_in(&browser);
    Ok(page.render_with(StatusCode::OK))
}

pub async fn sign_out(
    State(state): State<Node>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    // Signed in through a provider that publishes a logout: sign out there too.
    let logout = super::sso::logout_redirect(&state, &browser).await;
    browser.sign_out().await?;
    Ok(Redirect::to(logout.as_deref().unwrap_or("/")).into_response())
}

pub(super) fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub(super) fn to_sign_in(next: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/sign-in?next={next}"))],
    )
        .into_response()
}

async fn sessions_list(state: &Node, browser: &Browser, notice: Option<String>) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/sessions"));
    };
    let current = browser.session.id().map(|id| super::store::id_hash(&id));
    let sessions = signin::sessions(state, account, current.as_deref()).await?;
    let page = SessionsPage {
        title: "Your sessions".into(),
        signed_in: signed_in(browser),
        csrf: browser.csrf().await?,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                browser: s.user_agent,
                signed_in: when(s.created_at),
                last_seen: when(s.last_seen_at),
                current: s.current,
            })
            .collect(),
        notice,
    };
    Ok(pages::render(StatusCode::OK, &page))
}

pub async fn sessions_page(State(state): State<Node>, browser: Browser) -> PageResult {
    sessions_list(&state, &browser, None).await
}

pub async fn revoke_session(
    State(state): State<Node>,
    Path(id): Path<String>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/sessions"));
    };
    let id: i64 = id
        .parse()
        .map_err(|_| PageError::from(Error::not_found("you have no such session")))?;
    signin::revoke_session(&state, account, id).await?;
    Ok(Redirect::to("/sessions").into_response())
}

pub async fn revoke_other_sessions(
    State(state): State<Node>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/sessions"));
    };
    let Some(current) = browser.session.id().map(|id| super::store::id_hash(&id)) else {
        return Ok(to_sign_in("/sessions"));
    };
    let n = signin::revoke_other_sessions(&state, account, &current).await?;
    let notice = match n {
        0 => "No other browser was signed in.".to_string(),
        1 => "Signed out 1 other browser.".to_string(),
        n => format!("Signed out {n} other browsers."),
    };
    sessions_list(&state, &browser, Some(notice)).await
}
