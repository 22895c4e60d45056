//! `POST /api/v1/reports`: an app's report files Roundtable reports (`service::reports::file`),
//! one per reported status, or one about the account when no status is named. They reach the
//! moderators who act on them — the community's, or the person's node — exactly as reports
//! made on the page do.

use super::{accounts, rfc3339, statuses, MastodonError};
use crate::{
    api::{Auth, Write},
    node::Node,
    service::reports,
    web::form_or_json,
};
use axum::{body::Bytes, extract::State, http::HeaderMap, Json};
use serde::Deserialize;
use serde_json::{json, Value};

/// The most statuses one report names.
const MAX_STATUSES: usize = 10;
const CATEGORIES: [&str; 4] = ["spam", "legal", "violation", "other"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReportForm {
    account_id: Option<String>,
    status_ids: Vec<String>,
    comment: Option<String>,
    category: Option<String>,
    rule_ids: Vec<String>,
}

/// `POST /api/v1/reports` (`account_id`, `status_ids[]`, `comment`, `category`, `forward`).
/// Reports always go where they can be acted on, so `forward` is answered as done when the
/// reported account lives on another server.
pub async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let form: ReportForm = form_or_json(&headers, &body).map_err(MastodonError::unprocessable)?;
    let account_id = form
        .account_id
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| MastodonError::unprocessable("account_id is required"))?;
    let who = accounts::by_id(&state, account_id.trim())
        .await?
        .ok_or_else(|| MastodonError::not_found("Record not found"))?;
    let target = who.ap_id(&state);
    let category = form.category.unwrap_or_else(|| "other".into());
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(MastodonError::unprocessable(format!(
            "category must be one of {}",
            CATEGORIES.join(", ")
        )));
    }
    if form.status_ids.len() > MAX_STATUSES {
        return Err(MastodonError::unprocessable(format!(
            "a report names at most {MAX_STATUSES} statuses"
        )));
    }
    let comment = form.comment.unwrap_or_default();
    let reason = if comment.trim().is_empty() {
        format!("Reported as {category} from an app")
    } else {
        comment.clone()
    };
    // Every status must be the reported account's, and readable by the reporter.
    let mut objects = Vec::new();
    for id in &form.status_ids {
        let post = statuses::readable(&state, Some(&auth), id).await?;
        if post.author != target {
            return Err(MastodonError::unprocessable(
                "the reported statuses must be the account's",
            ));
        }
        objects.push(post.ap_id);
    }
    if objects.is_empty() {
        objects.push(target.clone());
    }
    let mut first = None;
    for object in &objects {
        let report = reports::file(&state, &auth.member, object, &reason).await?;
        first.get_or_insert(report);
    }
    let report = first.ok_or_else(MastodonError::internal)?;
    let remote = matches!(who, accounts::Who::Remote(_));
    Ok(Json(json!({
        "id": report.id.to_string(),
        "action_taken": false,
        "action_taken_at": null,
        "category": category,
        "comment": comment,
        "forwarded": remote,
        "created_at": rfc3339(report.created_at),
        "status_ids": form.status_ids,
        "rule_ids": form.rule_ids,
        "target_account": accounts::account(&state, &who).await?,
    })))
}
