//! Lists: a member groups accounts — people and communities — to read them apart
//! (`GET /api/v1/timelines/list/{id}`). A list is its owner's alone: another member's list is
//! not found. Any account this node knows may be listed, as a member reads people and
//! communities without following people.

use super::{accounts, timelines::Paging, MastodonError};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::personal::MemberList,
    node::Node,
    web::{form_or_json, Q},
};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, RawQuery, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The most lists a member keeps, and the most accounts in one (Mastodon's own limits are
/// similar, and a list's timeline names every account in one query).
const MAX_LISTS: usize = 100;
const MAX_ACCOUNTS: usize = 500;
const TITLE_MAX: usize = 100;

const REPLIES_POLICIES: [&str; 3] = ["followed", "list", "none"];

fn entity(list: &MemberList) -> Value {
    json!({
        "id": list.id.to_string(),
        "title": list.title,
        "replies_policy": list.replies_policy,
        "exclusive": list.exclusive,
    })
}

/// One of the caller's lists, by id; anything else is not found.
pub async fn owned(state: &Node, caller: &Caller, id: &str) -> Result<MemberList, MastodonError> {
    let missing = || MastodonError::not_found("Record not found");
    let id: i64 = id.trim().parse().map_err(|_| missing())?;
    state
        .db
        .list(caller.member.user.id, id)
        .await?
        .ok_or_else(missing)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListForm {
    title: Option<String>,
    replies_policy: Option<String>,
    #[serde(deserialize_with = "super::flag")]
    exclusive: Option<bool>,
}

/// `form` applied to `list`, checked.
fn apply(list: &mut MemberList, form: ListForm) -> Result<(), MastodonError> {
    if let Some(title) = form.title {
        let title = title.trim();
        if title.is_empty() {
            return Err(MastodonError::unprocessable("title can't be blank"));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(MastodonError::unprocessable(format!(
                "title is longer than {TITLE_MAX} characters"
            )));
        }
        list.title = title.to_string();
    }
    if let Some(policy) = form.replies_policy {
        if !REPLIES_POLICIES.contains(&policy.as_str()) {
            return Err(MastodonError::unprocessable(format!(
                "replies_policy must be one of {}",
                REPLIES_POLICIES.join(", ")
            )));
        }
        list.replies_policy = policy;
    }
    if let Some(exclusive) = form.exclusive {
        list.exclusive = exclusive;
    }
    Ok(())
}

fn form<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, MastodonError> {
    form_or_json(headers, body).map_err(MastodonError::unprocessable)
}

/// `GET /api/v1/lists`.
pub async fn all(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let lists = state.db.lists(auth.member.user.id).await?;
    Ok(Json(Value::Array(lists.iter().map(entity).collect())))
}

/// `POST /api/v1/lists` (`title`, `replies_policy`, `exclusive`).
pub async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let form: ListForm = form(&headers, &body)?;
    if form.title.is_none() {
        return Err(MastodonError::unprocessable("title can't be blank"));
    }
    let user = auth.member.user.id;
    if state.db.lists(user).await?.len() >= MAX_LISTS {
        return Err(MastodonError::unprocessable(format!(
            "a member keeps at most {MAX_LISTS} lists"
        )));
    }
    let mut list = MemberList {
        id: 0,
        user_id: user,
        title: String::new(),
        replies_policy: "list".into(),
        exclusive: false,
    };
    apply(&mut list, form)?;
    let list = state
        .db
        .create_list(user, &list.title, &list.replies_policy, list.exclusive)
        .await?;
    Ok(Json(entity(&list)))
}

/// `GET /api/v1/lists/{id}`.
pub async fn get(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    Ok(Json(entity(&owned(&state, &auth, &id).await?)))
}

/// `PUT /api/v1/lists/{id}`.
pub async fn update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let mut list = owned(&state, &auth, &id).await?;
    apply(&mut list, form(&headers, &body)?)?;
    state.db.update_list(&list).await?;
    Ok(Json(entity(&list)))
}

/// `DELETE /api/v1/lists/{id}`.
pub async fn delete(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let list = owned(&state, &auth, &id).await?;
    state.db.delete_list(auth.member.user.id, list.id).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/lists/{id}/accounts`, paged as Mastodon pages accounts.
pub async fn accounts(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let list = owned(&state, &auth, &id).await?;
    let rows = state.db.list_accounts(list.id, q.kept(40, 80)?).await?;
    accounts::kept_page(&state, &uri, rows).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AccountIds {
    account_ids: Vec<String>,
}

/// `POST` (add) or `DELETE` (remove) `/api/v1/lists/{id}/accounts` with `account_ids[]`, in
/// the body or (as some apps send a `DELETE`) the query.
async fn change_accounts(
    state: &Node,
    auth: &Caller,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    query: Option<String>,
    on: bool,
) -> Result<Json<Value>, MastodonError> {
    let list = owned(state, auth, id).await?;
    let ids: AccountIds = if body.is_empty() {
        form(&HeaderMap::new(), query.unwrap_or_default().as_bytes())?
    } else {
        form(headers, body)?
    };
    if ids.account_ids.is_empty() {
        return Err(MastodonError::unprocessable("account_ids is required"));
    }
    let mut targets = Vec::with_capacity(ids.account_ids.len());
    for account in ids.account_ids.iter().take(MAX_ACCOUNTS) {
        let who = accounts::existing(state, account).await?;
        targets.push(who.ap_id(state));
    }
    if on && state.db.list_targets(list.id).await?.len() + targets.len() > MAX_ACCOUNTS {
        return Err(MastodonError::unprocessable(format!(
            "a list holds at most {MAX_ACCOUNTS} accounts"
        )));
    }
    state.db.set_list_accounts(list.id, &targets, on).await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/lists/{id}/accounts`.
pub async fn add_accounts(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MastodonError> {
    change_accounts(&state, &auth, &id, &headers, &body, query, true).await
}

/// `DELETE /api/v1/lists/{id}/accounts`.
pub async fn remove_accounts(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, MastodonError> {
    Ok(
        change_accounts(&state, &auth, &id, &headers, &body, query, false)
            .await?
            .into_response(),
    )
}
