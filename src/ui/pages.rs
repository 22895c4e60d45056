//! Page templates and their renderers: one layout (`ui/base.html`), a generic form page
//! (every account form is a list of labelled fields), a message page, the home page and the
//! sessions list.

use askama::Template;
use axum::{
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// One labelled input of a form, with its error shown beside it.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// The input's `type`.
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub hint: Option<String>,
    pub error: Option<String>,
    /// The choices of a `select` (value, label).
    pub options: Vec<(String, String)>,
}

impl Field {
    pub fn new(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        autocomplete: &'static str,
    ) -> Field {
        Field {
            name,
            label,
            kind,
            value: String::new(),
            autocomplete,
            hint: None,
            error: None,
            options: Vec::new(),
        }
    }

    /// The ids of what describes the input: its error and its hint (`aria-describedby`).
    pub fn described(&self) -> String {
        let mut ids = Vec::new();
        if self.error.is_some() {
            ids.push(format!("field-{}-error", self.name));
        }
        if self.hint.is_some() {
            ids.push(format!("field-{}-hint", self.name));
        }
        ids.join(" ")
    }

    /// The choices of a `select` field (`kind` "select").
    pub fn options(mut self, options: &[(&str, &str)]) -> Field {
        self.options = options
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        self
    }

    pub fn value(mut self, value: &str) -> Field {
        self.value = value.to_string();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Field {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Template)]
#[template(path = "ui/form.html")]
pub struct FormPage {
    pub title: String,
    pub intro: Vec<String>,
    pub action: String,
    pub csrf: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<(&'static str, String)>,
    pub submit: &'static str,
    /// An error about the whole form (a field's own error sits beside it).
    pub error: Option<String>,
    pub links: Vec<(&'static str, &'static str)>,
    pub signed_in: Option<String>,
}

impl FormPage {
    pub fn new(title: &str, action: &str, csrf: String, submit: &'static str) -> FormPage {
        FormPage {
            title: title.to_string(),
            intro: Vec::new(),
            action: action.to_string(),
            csrf,
            fields: Vec::new(),
            hidden: Vec::new(),
            submit,
            error: None,
            links: Vec::new(),
            signed_in: None,
        }
    }

    /// Puts `error` beside its field, or above the form when it names none (or an unknown one).
    pub fn with_error(mut self, error: &crate::service::error::Error) -> FormPage {
        match error
            .field
            .and_then(|name| self.fields.iter_mut().find(|f| f.name == name))
        {
            Some(field) => field.error = Some(error.message.clone()),
            None => self.error = Some(error.message.clone()),
        }
        self
    }

    pub fn render_with(&self, status: StatusCode) -> Response {
        render(status, self)
    }
}

#[derive(Template)]
#[template(path = "ui/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    link: Option<(&'a str, &'a str)>,
    signed_in: Option<String>,
}

/// One row of the sessions page.
pub struct SessionRow {
    pub id: i64,
    pub browser: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "ui/sessions.html")]
pub struct SessionsPage {
    pub title: String,
    pub signed_in: Option<String>,
    pub csrf: String,
    pub sessions: Vec<SessionRow>,
    pub notice: Option<String>,
}

tokio::task_local! {
    /// Whether this node's page header offers "Sign up" (see [`offering_sign_up`]).
    static SIGN_UP_OFFERED: bool;
}

/// Middleware: runs a request with its node's answer to "does the header offer Sign up?" —
/// false when registration is closed or by invitation (an invitation link carries its own
/// page). A task-local rather than a field, so every page template's header can read it
/// without each page's struct carrying it, and several nodes in one process (the tests)
/// keep their own.
pub async fn offering_sign_up(
    axum::extract::State(node): axum::extract::State<crate::node::Node>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use crate::config::Registration;
    let policy = crate::service::accounts::signup::registration_hint(&node).await;
    let offered = !matches!(policy, Registration::Closed | Registration::Invite);
    SIGN_UP_OFFERED.scope(offered, next.run(request)).await
}

/// Read by `templates/ui/base.html`; true outside a request.
pub fn sign_up_offered() -> bool {
    SIGN_UP_OFFERED.try_with(|o| *o).unwrap_or(true)
}

/// Headers of every page: no scripts, no framing (no clickjacking of the sign-in or consent
/// forms), forms post only here, no `Referer` carrying a link's token, nothing cached.
const PAGE_HEADERS: [(header::HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Renders a template as an HTML page; a template that fails to render is a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, PAGE_HEADERS, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!DOCTYPE html><title>Error</title><h1>Something went wrong</h1>".to_string(),
                ),
            )
                .into_response()
        }
    }
}

/// Renders a page whose form may also be sent on to `source` (a CSP source expression): the
/// consent form, whose answer redirects to the app.
pub fn render_posting_to(status: StatusCode, page: &impl Template, source: &str) -> Response {
    let mut response = render(status, page);
    let policy = PAGE_HEADERS[0].1.replace(
        "form-action 'self'",
        &format!("form-action 'self' {source}"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A page with a title, a message and an optional link onwards.
pub fn message(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    render(
        status,
        &MessagePage {
            title,
            message,
            link,
            signed_in: None,
        },
    )
}
