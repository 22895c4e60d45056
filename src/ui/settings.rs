//! The signed-in member's own pages: `/settings` (profile, email address, password or the
//! linked identity provider, links to sessions and authorized apps, personal API tokens and
//! the personal calendar link). Their notifications are in `ui::notifications`.
//! Every change calls the same `service` use case as the API and the CLI; a refused field is
//! shown beside its input with a 4xx.
//!
//! The unread count in the header: this page and the notifications page fill it in when they
//! render (`service::notifications::unread_count`); every other page keeps its template as
//! it is (their `signed_in: Option<String>` field only), and `static/app.js` fetches
//! `/notifications/unread` to add the count there, so nothing is computed for pages that do
//! not show it and every page works without JavaScript.

use super::{
    accounts::{signed_in, to_sign_in, Empty},
    communities::member_of,
    pages::{render, Field},
    status_of,
    views::{when, When},
    Browser, PageError, Posted,
};
use crate::{
    domain::Scopes,
    node::Node,
    service::{
        accounts::{self, email, profile, signin, Account, AccountError},
        error::Error,
        notifications as notes,
    },
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// One of the member's API tokens, as the settings page lists it.
pub struct TokenRow {
    pub id: i64,
    pub scopes: String,
    pub created: When,
    pub expires: Option<When>,
}

#[derive(Template)]
#[template(path = "ui/settings.html")]
struct SettingsPage {
    title: String,
    signed_in: Option<String>,
    unread: u64,
    /// Administrators get a link to the admin page.
    is_admin: bool,
    csrf: String,
    notice: Option<String>,
    profile: Vec<Field>,
    email: Option<String>,
    email_verified: bool,
    /// The form that asks to change the address.
    email_fields: Vec<Field>,
    /// None when the account signs in only through identity providers.
    password: Option<Vec<Field>>,
    providers: Vec<String>,
    tokens: Vec<TokenRow>,
    token_fields: Vec<Field>,
    /// A token just made: (scopes, secret), shown once.
    new_token: Option<(String, String)>,
    /// A calendar link just made, shown once.
    calendar_url: Option<String>,
}

/// Forms of the page already filled in (with their errors beside the fields), after a
/// refused change; `None` shows the form as new.
#[derive(Default)]
struct Filled {
    profile: Option<Vec<Field>>,
    email: Option<Vec<Field>>,
    password: Option<Vec<Field>>,
    tokens: Option<Vec<Field>>,
}

/// What the page shows besides its forms' contents.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    new_token: Option<(String, String)>,
    calendar_url: Option<String>,
}

fn profile_fields(account: &Account) -> Vec<Field> {
    vec![
        Field::new("display_name", "Display name", "text", "name")
            .value(&account.actor.display_name)
            .hint("Shown on your profile and beside your posts."),
        Field::new("summary", "About you", "textarea", "off")
            .value(&account.actor.summary)
            .hint("A few lines for your profile; markdown works."),
        Field::new("time_zone", "Time zone", "text", "off")
            .value(&account.user.time_zone)
            .hint("A name like Europe/Berlin or America/New_York; times are shown in it."),
        Field::new("locale", "Language", "text", "off")
            .value(&account.user.locale)
            .hint("A language tag like en or de-CH."),
    ]
}

fn password_fields() -> Vec<Field> {
    vec![
        Field::new(
            "current_password",
            "Current password",
            "password",
            "current-password",
        ),
        Field::new("new_password", "New password", "password", "new-password")
            .hint("At least 8 characters. Your other browsers are signed out."),
    ]
}

fn email_fields(has_password: bool) -> Vec<Field> {
    let mut fields = vec![
        Field::new("new_email", "New email address", "email", "email")
            .hint("We mail a link to it; your address changes when you open the link."),
    ];
    if has_password {
        fields.push(Field::new(
            "password",
            "Your password",
            "password",
            "current-password",
        ));
    }
    fields
}

fn token_fields() -> Vec<Field> {
    vec![
        Field::new("scopes", "What the token may do", "select", "off")
            .options(&[("read", "Read"), ("read write", "Read and write")]),
    ]
}

/// Puts `error` beside the field it names in `fields`, or returns it for the top of the page.
fn beside(fields: &mut [Field], error: &Error) -> Option<String> {
    match error
        .field
        .and_then(|name| fields.iter_mut().find(|f| f.name == name))
    {
        Some(field) => {
            field.error = Some(error.message.clone());
            None
        }
        None => Some(error.message.clone()),
    }
}

/// The settings page of `account`, with any form given already filled in (and its errors).
async fn settings_page(
    state: &Node,
    browser: &Browser,
    account: &Account,
    filled: Filled,
    shown: Shown,
) -> Result<SettingsPage, PageError> {
    let Filled {
        profile,
        email: email_form,
        password,
        tokens: token_form,
    } = filled;
    let member = member_of(browser).ok_or_else(PageError::internal)?;
    let tokens = accounts::tokens(&state.db, account.name())
        .await
        .map_err(account_error)?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            scopes: t.scopes,
            created: when(t.created_at),
            expires: t.expires_at.map(when),
        })
        .collect();
    let has_password = account.user.password_hash.is_some();
    Ok(SettingsPage {
        title: "Settings".into(),
        signed_in: signed_in(browser),
        unread: notes::unread_count(state, &member).await?,
        is_admin: member.user.is_admin,
        csrf: browser.csrf().await?,
        notice: shown.notice,
        profile: profile.unwrap_or_else(|| profile_fields(account)),
        email: account.user.email.clone(),
        email_verified: account.user.email_verified,
        email_fields: email_form.unwrap_or_else(|| email_fields(has_password)),
        password: has_password.then(|| password.unwrap_or_else(password_fields)),
        providers: if has_password {
            Vec::new()
        } else {
            profile::linked_providers(state, account).await?
        },
        tokens,
        token_fields: token_form.unwrap_or_else(token_fields),
        new_token: shown.new_token,
        calendar_url: shown.calendar_url,
    })
}

fn account_error(e: AccountError) -> PageError {
    match e {
        AccountError::Invalid(m) => Error::refused(m).into(),
        AccountError::NotFound(m) => Error::not_found(m).into(),
        AccountError::Db(e) => e.into(),
        other => {
            tracing::error!(error = %other, "token operation failed");
            PageError::internal()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    display_name: String,
    summary: String,
    time_zone: String,
    locale: String,
}

/// `POST /settings/profile`.
pub async fn save_profile(
    State(state): State<Node>,
    Posted { browser, form }: Posted<ProfileForm>,
) -> PageResult {
    let Some(account) = browser.account.clone() else {
        return Ok(to_sign_in("/settings"));
    };
    let change = profile::ProfileChange {
        display_name: &form.display_name,
        summary: &form.summary,
        time_zone: &form.time_zone,
        locale: &form.locale,
    };
    match profile::update_profile(&state, &account, change).await {
        Ok(_) => Ok(Redirect::to("/settings?saved=profile").into_response()),
        Err(e) => {
            let mut fields = profile_fields(&account);
            for f in &mut fields {
                f.value = match f.name {
                    "display_name" => form.display_name.clone(),
                    "summary" => form.summary.clone(),
                    "time_zone" => form.time_zone.clone(),
                    _ => form.locale.clone(),
                };
            }
            let notice = beside(&mut fields, &e);
            let shown = Shown {
                notice,
                ..Shown::default()
            };
            let page = settings_page(
                &state,
                &browser,
                &account,
                Filled {
                    profile: Some(fields),
                    ..Filled::default()
                },
                shown,
            )
            .await?;
            Ok(render(status_of(e.kind), &page))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SavedQuery {
    saved: String,
}

/// `GET /settings` (`?saved=…` after a change, saying what was saved).
pub async fn settings(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/settings"));
    };
    let notice = match q.saved.as_str() {
        "profile" => Some("Your profile is saved.".to_string()),
        "password" => {
            Some("Your password is changed; your other browsers are signed out.".to_string())
        }
        "revoked" => Some("The token is revoked.".to_string()),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    let page = settings_page(&state, &browser, account, Filled::default(), shown).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// `POST /settings/password`.
pub async fn change_password(
    State(state): State<Node>,
    Posted { browser, form }: Posted<PasswordForm>,
) -> PageResult {
    let Some(account) = browser.account.clone() else {
        return Ok(to_sign_in("/settings"));
    };
    let Some(current) = browser.session.id().map(|id| super::store::id_hash(&id)) else {
        return Ok(to_sign_in("/settings"));
    };
    match signin::change_password(
        &state,
        &account,
        &form.current_password,
        &form.new_password,
        &current,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/settings?saved=password").into_response()),
        Err(e) => {
            let mut fields = password_fields();
            let notice = beside(&mut fields, &e);
            let shown = Shown {
                notice,
                ..Shown::default()
            };
            let page = settings_page(
                &state,
                &browser,
                &account,
                Filled {
                    password: Some(fields),
                    ..Filled::default()
                },
                shown,
            )
            .await?;
            Ok(render(status_of(e.kind), &page))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    new_email: String,
    password: String,
}

/// `POST /settings/email`: mails a link that confirms the new address to it.
pub async fn change_email(
    State(state): State<Node>,
    Posted { browser, form }: Posted<EmailForm>,
) -> PageResult {
    let Some(account) = browser.account.clone() else {
        return Ok(to_sign_in("/settings"));
    };
    let (filled, shown, status) =
        match email::request_change(&state, &account, &form.new_email, &form.password).await {
            Ok(address) => (
                Filled::default(),
                Shown {
                    notice: Some(format!(
                        "We mailed a link to {address}. Your address changes when you open it."
                    )),
                    ..Shown::default()
                },
                StatusCode::OK,
            ),
            Err(e) => {
                let mut fields = email_fields(account.user.password_hash.is_some());
                if let Some(f) = fields.iter_mut().find(|f| f.name == "new_email") {
                    f.value = form.new_email.clone();
                }
                let notice = beside(&mut fields, &e);
                (
                    Filled {
                        email: Some(fields),
                        ..Filled::default()
                    },
                    Shown {
                        notice,
                        ..Shown::default()
                    },
                    status_of(e.kind),
                )
            }
        };
    let page = settings_page(&state, &browser, &account, filled, shown).await?;
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    scopes: String,
}

/// `POST /settings/tokens`: a personal API token, shown once.
pub async fn create_token(
    State(state): State<Node>,
    Posted { browser, form }: Posted<TokenForm>,
) -> PageResult {
    let Some(account) = browser.account.clone() else {
        return Ok(to_sign_in("/settings"));
    };
    // The page offers read and write tokens; admin and calendar tokens are made elsewhere.
    let scopes = match Scopes::parse(&form.scopes) {
        Ok(s) if !s.iter().any(|s| s.starts_with("admin") || s == "calendar") => Ok(s),
        Ok(_) => Err(Error::refused("choose Read or Read and write").on("scopes")),
        Err(m) => Err(Error::invalid(m).on("scopes")),
    };
    let made = match scopes {
        Ok(s) => accounts::issue_token(&state.db, account.name(), &s.as_string(), None)
            .await
            .map(|(_, secret)| (s.as_string(), secret))
            .map_err(|e| match e {
                AccountError::Invalid(m) => Error::refused(m).on("scopes"),
                other => {
                    tracing::error!(error = %other, "cannot make a token");
                    Error::internal()
                }
            }),
        Err(e) => Err(e),
    };
    match made {
        Ok(new_token) => {
            let shown = Shown {
                notice: Some("Your new token is below. Copy it now: it is not shown again.".into()),
                new_token: Some(new_token),
                ..Shown::default()
            };
            let page = settings_page(&state, &browser, &account, Filled::default(), shown).await?;
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(e) => {
            let mut fields = token_fields();
            let notice = beside(&mut fields, &e);
            let shown = Shown {
                notice,
                ..Shown::default()
            };
            let page = settings_page(
                &state,
                &browser,
                &account,
                Filled {
                    tokens: Some(fields),
                    ..Filled::default()
                },
                shown,
            )
            .await?;
            Ok(render(status_of(e.kind), &page))
        }
    }
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<Node>,
    Path(id): Path<String>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/settings"));
    };
    let id: i64 = id
        .parse()
        .map_err(|_| PageError::from(Error::not_found("you have no such token")))?;
    accounts::revoke_token(&state.db, account.name(), id)
        .await
        .map_err(|e| match e {
            AccountError::NotFound(_) => Error::not_found("you have no such token").into(),
            other => account_error(other),
        })?;
    Ok(Redirect::to("/settings?saved=revoked").into_response())
}

/// `POST /settings/calendar`: a link to the member's personal calendar feed (the events they
/// are going to), made as the API makes it: a `calendar` token, shown once in its URL.
pub async fn create_calendar(
    State(state): State<Node>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(account) = browser.account.clone() else {
        return Ok(to_sign_in("/settings"));
    };
    let token = accounts::create_token(&state.db, account.name(), "calendar")
        .await
        .map_err(account_error)?;
    let shown = Shown {
        notice: Some(
            "Your calendar link is below. Copy it into your calendar app now: it is not shown again."
                .into(),
        ),
        calendar_url: Some(format!("{}/calendar/{token}.ics", state.settings.base_url())),
        ..Shown::default()
    };
    let page = settings_page(&state, &browser, &account, Filled::default(), shown).await?;
    Ok(render(StatusCode::CREATED, &page))
}
