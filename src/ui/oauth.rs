//! The pages of the OAuth authorization server: `GET /oauth/authorize` (sign in if needed,
//! then a consent page naming the app and what it may do), its answer `POST /oauth/authorize`
//! (a code sent back to the app, or shown to copy for `urn:ietf:wg:oauth:2.0:oob`), and the
//! apps the user authorized, each of which can be signed out (`/authorized-apps`).

use super::{
    accounts::{signed_in, to_sign_in, when},
    pages, Browser, PageError, Posted,
};
use crate::{
    domain::describe_scope,
    node::Node,
    service::{
        accounts::oauth::{self, AuthRequest, AuthorizeParams, Refusal, OOB},
        error::Error,
    },
};
use askama::Template;
use axum::{
    extract::{OriginalUri, Path, RawQuery, State},
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "ui/consent.html")]
struct ConsentPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    app: String,
    website: Option<String>,
    account: String,
    node: String,
    scopes: Vec<(String, String)>,
    oob: bool,
    destination: String,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "ui/code.html")]
struct CodePage {
    title: String,
    signed_in: Option<String>,
    app: String,
    code: String,
}

struct AppRow {
    id: i64,
    name: String,
    website: Option<String>,
    scopes: String,
    since: String,
}

#[derive(Template)]
#[template(path = "ui/authorized_apps.html")]
struct AppsPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    apps: Vec<AppRow>,
    notice: Option<String>,
}

/// Where a redirect to `uri` goes, as a CSP source: its origin, or its scheme for an app's own
/// scheme (`com.example.app:/callback`).
fn csp_source(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => String::new(),
    }
}

/// The answer to a refused request: a page when the app cannot be trusted, else the error
/// sent back to the app (shown instead for out-of-band apps).
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(e) => PageError::new(
            StatusCode::BAD_REQUEST,
            "This sign-in link does not work",
            e.message,
        )
        .into_response(),
        Refusal::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => {
            if redirect_uri == OOB {
                return PageError::new(
                    StatusCode::BAD_REQUEST,
                    "The app asked for something this node cannot give",
                    format!("{error}: {description}"),
                )
                .into_response();
            }
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &state {
                params.push(("state", s));
            }
            Redirect::to(&oauth::with_query(&redirect_uri, &params)).into_response()
        }
    }
}

/// The request's parameters, passed on through the consent form.
fn hidden(req: &AuthRequest) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("response_type", "code".to_string()),
        ("client_id", req.app.client_id.clone()),
        ("redirect_uri", req.redirect_uri.clone()),
        ("scope", req.scopes.as_string()),
    ];
    if let Some(s) = &req.state {
        fields.push(("state", s.clone()));
    }
    if let Some(c) = &req.challenge {
        fields.push(("code_challenge", c.clone()));
        fields.push(("code_challenge_method", "S256".to_string()));
    }
    fields
}

/// `GET /oauth/authorize`.
pub async fn authorize_page(
    State(state): State<Node>,
    browser: Browser,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> PageResult {
    let params: AuthorizeParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "This sign-in link does not work",
                format!("Its parameters could not be read: {e}."),
            )
        })?;
    let req = match oauth::check_request(&state, &params).await {
        Ok(req) => req,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let Some(account) = &browser.account else {
        let here = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/oauth/authorize".into());
        return Ok(to_sign_in(&here));
    };
    let page = ConsentPage {
        title: format!("Authorize {}", req.app.name),
        signed_in: signed_in(&browser),
        csrf: browser.csrf().await?,
        app: req.app.name.clone(),
        website: req.app.website.clone(),
        account: format!("@{}@{}", account.actor.name, state.settings.instance.domain),
        node: state.settings.instance.name.clone(),
        scopes: req
            .scopes
            .iter()
            .map(|s| (s.to_string(), describe_scope(s)))
            .collect(),
        oob: req.redirect_uri == OOB,
        destination: req.redirect_uri.clone(),
        hidden: hidden(&req),
    };
    Ok(pages::render_posting_to(
        StatusCode::OK,
        &page,
        &csp_source(&req.redirect_uri),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsentForm {
    decision: String,
    #[serde(flatten)]
    params: AuthorizeParams,
}

/// `POST /oauth/authorize`: the user's answer.
pub async fn authorize(
    State(state): State<Node>,
    Posted { browser, form }: Posted<ConsentForm>,
) -> PageResult {
    let req = match oauth::check_request(&state, &form.params).await {
        Ok(req) => req,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let Some(account) = &browser.account else {
        return Ok(to_sign_in(&oauth::with_query(
            "/oauth/authorize",
            &hidden(&req)
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )));
    };
    let state_param = req.state.clone();
    match form.decision.as_str() {
        "approve" => {}
        "deny" => {
            return Ok(refused(Refusal::Redirect {
                redirect_uri: req.redirect_uri,
                error: "access_denied",
                description: "the user denied the request".into(),
                state: state_param,
            }))
        }
        _ => {
            return Err(Error::invalid("choose Authorize or Deny").into());
        }
    }
    let code = oauth::grant_code(&state, account, &req).await?;
    if req.redirect_uri == OOB {
        let page = CodePage {
            title: format!("Your code for {}", req.app.name),
            signed_in: signed_in(&browser),
            app: req.app.name.clone(),
            code,
        };
        return Ok(pages::render(StatusCode::OK, &page));
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &state_param {
        params.push(("state", s));
    }
    Ok((
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            oauth::with_query(&req.redirect_uri, &params),
        )],
    )
        .into_response())
}

async fn apps_list(state: &Node, browser: &Browser, notice: Option<String>) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/authorized-apps"));
    };
    let apps = oauth::authorized_apps(state, account).await?;
    let page = AppsPage {
        title: "Authorized apps".into(),
        signed_in: signed_in(browser),
        csrf: browser.csrf().await?,
        apps: apps
            .into_iter()
            .map(|a| AppRow {
                id: a.app.id,
                name: a.app.name,
                website: a.app.website,
                scopes: a.scopes,
                since: when(a.since),
            })
            .collect(),
        notice,
    };
    Ok(pages::render(StatusCode::OK, &page))
}

/// `GET /authorized-apps`.
pub async fn apps_page(State(state): State<Node>, browser: Browser) -> PageResult {
    apps_list(&state, &browser, None).await
}

/// `POST /authorized-apps/{id}/revoke`.
pub async fn revoke_app(
    State(state): State<Node>,
    Path(id): Path<String>,
    Posted { browser, .. }: Posted<super::accounts::Empty>,
) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/authorized-apps"));
    };
    let id: i64 = id
        .parse()
        .map_err(|_| PageError::from(Error::not_found("you have not authorized this app")))?;
    oauth::revoke_app(&state, account, id).await?;
    apps_list(&state, &browser, Some("The app is signed out.".into())).await
}
