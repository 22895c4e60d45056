//! The admin's pages (administrators only; everyone else gets a 403 page): the federation mode,
//! partners (listed by hand or agreed by handshake: propose, and accept or reject the other
//! nodes' requests), blocks, registration (the policy, invitation links, sign-ups waiting for
//! approval), the moderation queue (resolve or dismiss), suspensions, the audit log and the
//! delivery queue per peer. Each action is the same `service` use case the CLI and the admin
//! API call, recorded in the audit log by it.

use super::{
    accounts::to_sign_in,
    communities::member_of,
    pages::render,
    views::{when, When},
    Browser, PageError, Posted,
};
use crate::{
    db::{entities::user::AccountState, queue::PeerQueue},
    domain::ReportState,
    node::Node,
    service::{
        accounts::{admin, signup},
        discussions::Member,
        error::Error,
        partnership,
        policy::{self, PolicyError},
        reports,
    },
};
use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// Rows each list on the page shows.
const SHOWN: u64 = 100;

fn policy_error(e: PolicyError) -> Error {
    match e {
        PolicyError::Invalid(m) => Error::invalid(m),
        PolicyError::NotFound(m) => Error::not_found(m),
        PolicyError::Db(e) => Error::from(e),
    }
}

/// The signed-in administrator, or the page to show instead.
fn admin_of(browser: &Browser) -> Result<Member, Box<Response>> {
    match member_of(browser) {
        None => Err(Box::new(to_sign_in("/admin"))),
        Some(m) if m.user.is_admin => Ok(m),
        Some(_) => Err(Box::new(
            PageError::new(
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Only the node's administrators see this page.".into(),
            )
            .into_response(),
        )),
    }
}

pub struct Listing {
    pub domain: String,
    pub state: String,
    pub reason: Option<String>,
    pub since: When,
}

pub struct ReportRow {
    pub id: i64,
    pub reporter: String,
    pub object: String,
    pub kind: String,
    pub reason: String,
    pub state: String,
    pub when: When,
}

pub struct AuditRow {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub when: When,
}

#[derive(Template)]
#[template(path = "ui/admin.html")]
struct AdminPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    notice: Option<String>,
    error: Option<(String, String)>,
    mode: String,
    modes: Vec<&'static str>,
    partners: Vec<Listing>,
    requests: Vec<Listing>,
    proposed: Vec<Listing>,
    blocks: Vec<Listing>,
    registration: String,
    /// (value, label) of each registration policy.
    registrations: Vec<(&'static str, &'static str)>,
    invitation: Option<String>,
    pending_accounts: Vec<(String, String)>,
    reports: Vec<ReportRow>,
    suspensions: Vec<(String, String, When)>,
    audit: Vec<AuditRow>,
    queue: Vec<PeerQueue>,
}

fn listing(i: crate::db::policy::Instance) -> Listing {
    Listing {
        domain: i.domain,
        state: i.state,
        reason: i.reason,
        since: when(i.created_at),
    }
}

/// What to show after an action: a notice, or an error beside the form it came from.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    /// (form, message)
    error: Option<(String, String)>,
    invitation: Option<String>,
}

async fn admin_page(
    state: &Node,
    browser: &Browser,
    me: &Member,
    outcome: Outcome,
    status: StatusCode,
) -> PageResult {
    let instances = state.db.instances().await?;
    let pick = |s: &str| -> Vec<Listing> {
        instances
            .iter()
            .filter(|i| i.state == s)
            .cloned()
            .map(listing)
            .collect()
    };
    let accounts = admin::list(state).await?;
    let pending_accounts = accounts
        .iter()
        .filter(|a| a.user.state == AccountState::Pending)
        .map(|a| {
            (
                a.actor.name.clone(),
                a.user.email.clone().unwrap_or_default(),
            )
        })
        .collect();
    let queue = reports::queue(state, me, Some(ReportState::Open), None, SHOWN).await?;
    let suspensions = state.db.suspensions().await?;
    let audit = state.db.audit_log(None, 50).await?;
    Ok(render(
        status,
        &AdminPage {
            title: "Administration".into(),
            signed_in: Some(me.actor.name.clone()),
            csrf: browser.csrf().await?,
            notice: outcome.notice,
            error: outcome.error,
            mode: state.db.federation_mode().await?,
            modes: policy::MODES.to_vec(),
            partners: pick("partner"),
            requests: pick("requested"),
            proposed: pick("proposed"),
            blocks: pick("blocked"),
            registration: signup::registration(state).await?.as_str().to_string(),
            registrations: vec![
                ("closed", "Only administrators (closed)"),
                ("invite", "People with an invitation link (invite)"),
                (
                    "approval",
                    "Anyone, approved by an administrator (approval)",
                ),
                ("open", "Anyone (open)"),
            ],
            invitation: outcome.invitation,
            pending_accounts,
            reports: queue
                .items
                .into_iter()
                .map(|r| ReportRow {
                    id: r.id,
                    reporter: r.reporter,
                    object: r.object,
                    kind: r.object_kind,
                    reason: r.reason,
                    state: r.state.to_string(),
                    when: when(r.created_at),
                })
                .collect(),
            suspensions: suspensions
                .into_iter()
                .take(SHOWN as usize)
                .map(|s| (s.actor, s.reason.unwrap_or_default(), when(s.created_at)))
                .collect(),
            audit: audit
                .into_iter()
                .map(|a| AuditRow {
                    actor: a.actor,
                    action: a.action,
                    target: a.target,
                    detail: a.detail.unwrap_or_default(),
                    when: when(a.created_at),
                })
                .collect(),
            queue: state.db.queue_health(SHOWN).await?,
        },
    ))
}

/// The session key of the notice an action leaves for the page it redirects to.
const NOTICE: &str = "admin_notice";

/// `GET /admin`, with the notice of the action just taken, if any.
pub async fn page(State(state): State<Node>, browser: Browser) -> PageResult {
    let me = match admin_of(&browser) {
        Ok(me) => me,
        Err(response) => return Ok(*response),
    };
    let notice = browser
        .session
        .remove::<String>(NOTICE)
        .await
        .map_err(super::session_error)?;
    let outcome = Outcome {
        notice,
        ..Outcome::default()
    };
    admin_page(&state, &browser, &me, outcome, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    /// Which action: mode, partner-add, partner-remove, propose, accept, reject, block,
    /// unblock, invite, registration, approve, decline, resolve, dismiss, suspend, unsuspend.
    action: String,
    value: String,
    reason: String,
    id: i64,
}

/// `POST /admin`: one admin action, then the page again with what happened.
pub async fn act(
    State(state): State<Node>,
    Posted { browser, form }: Posted<ActionForm>,
) -> PageResult {
    let me = match admin_of(&browser) {
        Ok(me) => me,
        Err(response) => return Ok(*response),
    };
    let by = me.ap_id(&state);
    let value = form.value.trim().to_string();
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    let mut outcome = Outcome::default();
    let result: Result<String, Error> = match form.action.as_str() {
        "mode" => policy::set_mode(&state.db, &value, &by)
            .await
            .map(|()| format!("The node now federates in {value} mode."))
            .map_err(policy_error),
        "partner-add" => policy::add(&state.db, &value, "partner", reason, &by)
            .await
            .map(|d| format!("{d} is a partner."))
            .map_err(policy_error),
        "partner-remove" => partnership::remove(&state, &value, &by)
            .await
            .map(|d| format!("{d} is no longer a partner."))
            .map_err(policy_error),
        "propose" => partnership::propose(&state, &value, &by)
            .await
            .map(|d| format!("A partnership was proposed to {d}; its admins decide."))
            .map_err(policy_error),
        "accept" | "reject" => partnership::answer(&state, &value, form.action == "accept", &by)
            .await
            .map(|d| {
                if form.action == "accept" {
                    format!("{d} is a partner now.")
                } else {
                    format!("The request from {d} was declined.")
                }
            })
            .map_err(policy_error),
        "block" => policy::add(&state.db, &value, "blocked", reason, &by)
            .await
            .map(|d| format!("{d} is blocked."))
            .map_err(policy_error),
        "unblock" => policy::remove(&state.db, &value, "blocked", &by)
            .await
            .map(|d| format!("{d} is no longer blocked."))
            .map_err(policy_error),
        "invite" => match signup::invite(&state, &by, 1, Some(7)).await {
            Ok(link) => {
                outcome.invitation = Some(link);
                Ok("An invitation link for one person, valid for 7 days:".into())
            }
            Err(e) => Err(e),
        },
        "approve" => admin::approve(&state, &value)
            .await
            .map(|a| format!("{} can sign in now.", a.actor.name)),
        "decline" => admin::decline(&state, &value)
            .await
            .map(|()| format!("The sign-up of {value} was declined.")),
        "registration" => signup::set_registration(&state, &value, &by)
            .await
            .map(|p| format!("Registration is {} now.", p.as_str())),
        "resolve" | "dismiss" => {
            let outcome_state = if form.action == "resolve" {
                ReportState::Resolved
            } else {
                ReportState::Dismissed
            };
            reports::close(&state, &me, form.id, outcome_state, reason)
                .await
                .map(|r| format!("Report {} is {}.", r.id, r.state))
        }
        "suspend" => reports::suspend(&state, &value, reason, &by)
            .await
            .map(|a| format!("{a} is suspended.")),
        "unsuspend" => reports::unsuspend(&state, &value, &by)
            .await
            .map(|a| format!("{a} is no longer suspended.")),
        _ => Err(Error::invalid("That is not an action of this page.")),
    };
    let status = match result {
        Ok(notice) => {
            outcome.notice = Some(notice);
            StatusCode::OK
        }
        Err(e) => {
            let status = super::status_of(e.kind);
            outcome.error = Some((form.action.clone(), e.message));
            status
        }
    };
    if status == StatusCode::OK && outcome.invitation.is_none() {
        // After a change, a fresh page (a reload does not send the form again).
        if let Some(notice) = &outcome.notice {
            browser
                .session
                .insert(NOTICE, notice)
                .await
                .map_err(super::session_error)?;
        }
        return Ok(Redirect::to("/admin").into_response());
    }
    admin_page(&state, &browser, &me, outcome, status).await
}
