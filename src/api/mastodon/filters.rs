//! A member's filters, as apps keep them: v2 (`/api/v2/filters`: a filter with a title, the
//! contexts it applies in, `warn` or `hide`, an optional end, its keywords and the statuses it
//! names) and v1 (`/api/v1/filters`: the same rows seen one keyword at a time, as Mastodon
//! shows them to older apps). A filter is its owner's alone: anyone else's is not found.
//! Applying them to what the member reads is `filtering`.

use super::{filtering::CONTEXTS, rfc3339, statuses, MastodonError};
use crate::{
    api::{Auth, Caller, Read, Write},
    db::filters::{Filter, FilterFields, FilterKeyword, FilterStatus, KeywordChange},
    node::Node,
    web::form_or_json,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The most filters a member keeps, keywords in one filter, and characters in a title or a
/// keyword: each status a member reads is matched against every live filter.
const MAX_FILTERS: usize = 100;
const MAX_KEYWORDS: usize = 100;
const TEXT_MAX: usize = 200;
const ACTIONS: [&str; 3] = ["warn", "hide", "blur"];
/// The longest end a filter may have (ten years, in seconds).
const EXPIRES_MAX: i64 = 10 * 365 * 24 * 3600;

fn missing() -> MastodonError {
    MastodonError::not_found("Record not found")
}

/// The FilterKeyword entity.
fn keyword_entity(k: &FilterKeyword) -> Value {
    json!({"id": k.id.to_string(), "keyword": k.keyword, "whole_word": k.whole_word})
}

/// The FilterStatus entity.
fn status_entity(s: &FilterStatus) -> Value {
    json!({"id": s.id.to_string(), "status_id": s.post_id.to_string()})
}

/// The Filter entity (v2).
pub fn entity(f: &Filter) -> Value {
    json!({
        "id": f.id.to_string(),
        "title": f.title,
        "context": f.context,
        "expires_at": f.expires_at.map(rfc3339),
        "filter_action": f.action,
        "keywords": f.keywords.iter().map(keyword_entity).collect::<Vec<_>>(),
        "statuses": f.statuses.iter().map(status_entity).collect::<Vec<_>>(),
    })
}

/// The v1 Filter entity of one keyword of `f`.
fn v1_entity(f: &Filter, k: &FilterKeyword) -> Value {
    json!({
        "id": k.id.to_string(),
        "phrase": k.keyword,
        "context": f.context,
        "whole_word": k.whole_word,
        "expires_at": f.expires_at.map(rfc3339),
        "irreversible": f.action == "hide",
    })
}

fn id_of(id: &str) -> Result<i64, MastodonError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(missing)
}

/// One of the caller's filters, by id; anything else is not found.
async fn owned(state: &Node, caller: &Caller, id: &str) -> Result<Filter, MastodonError> {
    state
        .db
        .filter(caller.member.user.id, id_of(id)?)
        .await?
        .ok_or_else(missing)
}

fn body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, MastodonError> {
    form_or_json(headers, body).map_err(MastodonError::unprocessable)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeywordAttributes {
    id: Option<Value>,
    keyword: Option<String>,
    #[serde(deserialize_with = "super::flag")]
    whole_word: Option<bool>,
    #[serde(rename = "_destroy", deserialize_with = "super::flag")]
    destroy: Option<bool>,
}

/// A v2 filter as apps send it (JSON, or a form for the flat fields), or a v1 one (`phrase`,
/// `irreversible`, `whole_word`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct FilterForm {
    title: Option<String>,
    context: Option<Value>,
    filter_action: Option<String>,
    expires_in: Option<Value>,
    keywords_attributes: Option<Vec<KeywordAttributes>>,
    phrase: Option<String>,
    #[serde(deserialize_with = "super::flag")]
    irreversible: Option<bool>,
    #[serde(deserialize_with = "super::flag")]
    whole_word: Option<bool>,
}

fn text(what: &str, value: &str) -> Result<String, MastodonError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(MastodonError::unprocessable(format!(
            "{what} can't be blank"
        )));
    }
    if value.chars().count() > TEXT_MAX {
        return Err(MastodonError::unprocessable(format!(
            "{what} is longer than {TEXT_MAX} characters"
        )));
    }
    Ok(value.to_string())
}

fn context(value: &Value) -> Result<Vec<String>, MastodonError> {
    let asked: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().map(|v| v.as_str().unwrap_or("")).collect(),
        _ => vec![""],
    };
    let mut out: Vec<String> = Vec::new();
    for c in asked {
        let c = c.trim();
        if !CONTEXTS.contains(&c) {
            return Err(MastodonError::unprocessable(format!(
                "context {c:?} is not one of {}",
                CONTEXTS.join(", ")
            )));
        }
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    if out.is_empty() {
        return Err(MastodonError::unprocessable("context can't be blank"));
    }
    Ok(out)
}

/// `expires_in` (seconds; none, null or empty for good) as the end in ms.
fn expires(value: &Value) -> Result<Option<i64>, MastodonError> {
    let secs = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    match secs {
        Some(s) if s > 0 && s <= EXPIRES_MAX => Ok(Some(crate::db::now_ms() + s * 1000)),
        _ => Err(MastodonError::unprocessable(
            "expires_in must be a number of seconds",
        )),
    }
}

fn action(value: &str) -> Result<String, MastodonError> {
    if !ACTIONS.contains(&value) {
        return Err(MastodonError::unprocessable(format!(
            "filter_action must be one of {}",
            ACTIONS.join(", ")
        )));
    }
    Ok(value.to_string())
}

/// `form`'s fields over `current` (a new filter's defaults when none).
fn fields(form: &FilterForm, current: Option<&Filter>) -> Result<FilterFields, MastodonError> {
    let title = match (&form.title, current) {
        (Some(t), _) => text("title", t)?,
        (None, Some(f)) => f.title.clone(),
        (None, None) => return Err(MastodonError::unprocessable("title can't be blank")),
    };
    let context = match (&form.context, current) {
        (Some(c), _) => context(c)?,
        (None, Some(f)) => f.context.clone(),
        (None, None) => return Err(MastodonError::unprocessable("context can't be blank")),
    };
    let action = match (&form.filter_action, current) {
        (Some(a), _) => action(a.trim())?,
        (None, Some(f)) => f.action.clone(),
        (None, None) => "warn".to_string(),
    };
    let expires_at = match (&form.expires_in, current) {
        (Some(e), _) => expires(e)?,
        (None, Some(f)) => f.expires_at,
        (None, None) => None,
    };
    Ok(FilterFields {
        title,
        context,
        action,
        expires_at,
    })
}

/// `keywords_attributes` as changes to `current`'s keywords (new ones only when none).
fn keyword_changes(
    attributes: &[KeywordAttributes],
    current: Option<&Filter>,
) -> Result<Vec<KeywordChange>, MastodonError> {
    let mut changes = Vec::new();
    for a in attributes {
        let id = match &a.id {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(id_of(s)?),
            Some(Value::Number(n)) => Some(n.as_i64().filter(|i| *i > 0).ok_or_else(missing)?),
            Some(_) => return Err(missing()),
        };
        match id {
            Some(id) => {
                // Only the filter's own keywords may be changed.
                if !current.is_some_and(|f| f.keywords.iter().any(|k| k.id == id)) {
                    return Err(missing());
                }
                if a.destroy.unwrap_or(false) {
                    changes.push(KeywordChange::Remove(id));
                } else {
                    changes.push(KeywordChange::Set {
                        id,
                        keyword: a
                            .keyword
                            .as_deref()
                            .map(|k| text("keyword", k))
                            .transpose()?,
                        whole_word: a.whole_word,
                    });
                }
            }
            None if a.destroy.unwrap_or(false) => {}
            None => changes.push(KeywordChange::Add {
                keyword: text("keyword", a.keyword.as_deref().unwrap_or(""))?,
                whole_word: a.whole_word.unwrap_or(true),
            }),
        }
    }
    let kept = current.map_or(0, |f| f.keywords.len());
    let added = changes
        .iter()
        .filter(|c| matches!(c, KeywordChange::Add { .. }))
        .count();
    if kept + added > MAX_KEYWORDS {
        return Err(MastodonError::unprocessable(format!(
            "a filter has at most {MAX_KEYWORDS} keywords"
        )));
    }
    Ok(changes)
}

async fn room_for_one_more(state: &Node, caller: &Caller) -> Result<(), MastodonError> {
    if state.db.filters(caller.member.user.id, None).await?.len() >= MAX_FILTERS {
        return Err(MastodonError::unprocessable(format!(
            "a member keeps at most {MAX_FILTERS} filters"
        )));
    }
    Ok(())
}

/// `GET /api/v2/filters`.
pub async fn all(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let filters = state.db.filters(auth.member.user.id, None).await?;
    Ok(Json(Value::Array(filters.iter().map(entity).collect())))
}

/// `GET /api/v2/filters/{id}`.
pub async fn get(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    Ok(Json(entity(&owned(&state, &auth, &id).await?)))
}

/// `POST /api/v2/filters` (`title`, `context[]`, `filter_action`, `expires_in`,
/// `keywords_attributes[]`).
pub async fn create(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let form: FilterForm = body(&headers, &bytes)?;
    let fields = fields(&form, None)?;
    let keywords: Vec<(String, bool)> =
        keyword_changes(form.keywords_attributes.as_deref().unwrap_or(&[]), None)?
            .into_iter()
            .filter_map(|c| match c {
                KeywordChange::Add {
                    keyword,
                    whole_word,
                } => Some((keyword, whole_word)),
                _ => None,
            })
            .collect();
    room_for_one_more(&state, &auth).await?;
    let user = auth.member.user.id;
    let id = state.db.create_filter(user, &fields, &keywords).await?;
    let filter = state.db.filter(user, id).await?.ok_or_else(missing)?;
    Ok(Json(entity(&filter)))
}

/// `PUT /api/v2/filters/{id}`: the fields given, and keywords added (no `id`), changed, or
/// removed (`_destroy`).
pub async fn update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let current = owned(&state, &auth, &id).await?;
    let form: FilterForm = body(&headers, &bytes)?;
    let fields = fields(&form, Some(&current))?;
    let changes = keyword_changes(
        form.keywords_attributes.as_deref().unwrap_or(&[]),
        Some(&current),
    )?;
    let user = auth.member.user.id;
    if !state
        .db
        .update_filter(user, current.id, &fields, &changes)
        .await?
    {
        return Err(missing());
    }
    let filter = state
        .db
        .filter(user, current.id)
        .await?
        .ok_or_else(missing)?;
    Ok(Json(entity(&filter)))
}

/// `DELETE /api/v2/filters/{id}`.
pub async fn delete(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    if !state
        .db
        .delete_filter(auth.member.user.id, id_of(&id)?)
        .await?
    {
        return Err(missing());
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeywordForm {
    keyword: Option<String>,
    #[serde(deserialize_with = "super::flag")]
    whole_word: Option<bool>,
}

/// `GET /api/v2/filters/{id}/keywords`.
pub async fn keywords(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let filter = owned(&state, &auth, &id).await?;
    Ok(Json(json!(filter
        .keywords
        .iter()
        .map(keyword_entity)
        .collect::<Vec<_>>())))
}

/// `POST /api/v2/filters/{id}/keywords` (`keyword`, `whole_word`).
pub async fn add_keyword(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let filter = owned(&state, &auth, &id).await?;
    let form: KeywordForm = body(&headers, &bytes)?;
    let keyword = text("keyword", form.keyword.as_deref().unwrap_or(""))?;
    if filter.keywords.len() >= MAX_KEYWORDS {
        return Err(MastodonError::unprocessable(format!(
            "a filter has at most {MAX_KEYWORDS} keywords"
        )));
    }
    let k = state
        .db
        .add_filter_keyword(filter.id, &keyword, form.whole_word.unwrap_or(false))
        .await?;
    Ok(Json(keyword_entity(&k)))
}

async fn owned_keyword(
    state: &Node,
    caller: &Caller,
    id: &str,
) -> Result<FilterKeyword, MastodonError> {
    state
        .db
        .filter_keyword(caller.member.user.id, id_of(id)?)
        .await?
        .ok_or_else(missing)
}

/// `GET /api/v2/filters/keywords/{id}`.
pub async fn keyword(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    Ok(Json(keyword_entity(
        &owned_keyword(&state, &auth, &id).await?,
    )))
}

/// `PUT /api/v2/filters/keywords/{id}` (`keyword`, `whole_word`).
pub async fn update_keyword(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let mut k = owned_keyword(&state, &auth, &id).await?;
    let form: KeywordForm = body(&headers, &bytes)?;
    if let Some(keyword) = &form.keyword {
        k.keyword = text("keyword", keyword)?;
    }
    if let Some(whole_word) = form.whole_word {
        k.whole_word = whole_word;
    }
    state
        .db
        .set_filter_keyword(k.id, &k.keyword, k.whole_word)
        .await?;
    Ok(Json(keyword_entity(&k)))
}

/// `DELETE /api/v2/filters/keywords/{id}`.
pub async fn delete_keyword(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let k = owned_keyword(&state, &auth, &id).await?;
    state.db.delete_filter_keyword(k.id).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v2/filters/{id}/statuses`.
pub async fn filter_statuses(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let filter = owned(&state, &auth, &id).await?;
    Ok(Json(json!(filter
        .statuses
        .iter()
        .map(status_entity)
        .collect::<Vec<_>>())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    status_id: Option<Value>,
}

/// `POST /api/v2/filters/{id}/statuses` (`status_id`: a status the caller may read).
pub async fn add_status(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let filter = owned(&state, &auth, &id).await?;
    let form: StatusForm = body(&headers, &bytes)?;
    let status_id = match &form.status_id {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(MastodonError::unprocessable("status_id can't be blank")),
    };
    let post = statuses::readable(&state, Some(&auth), &status_id).await?;
    let s = state.db.add_filter_status(filter.id, post.id).await?;
    Ok(Json(status_entity(&s)))
}

async fn owned_status(
    state: &Node,
    caller: &Caller,
    id: &str,
) -> Result<FilterStatus, MastodonError> {
    state
        .db
        .filter_status(caller.member.user.id, id_of(id)?)
        .await?
        .ok_or_else(missing)
}

/// `GET /api/v2/filters/statuses/{id}`.
pub async fn status(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    Ok(Json(status_entity(
        &owned_status(&state, &auth, &id).await?,
    )))
}

/// `DELETE /api/v2/filters/statuses/{id}`.
pub async fn delete_status(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let s = owned_status(&state, &auth, &id).await?;
    state.db.delete_filter_status(s.id).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/filters`: one v1 filter per keyword of the caller's filters.
pub async fn v1_all(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Json<Value>, MastodonError> {
    let filters = state.db.filters(auth.member.user.id, None).await?;
    Ok(Json(Value::Array(
        filters
            .iter()
            .flat_map(|f| f.keywords.iter().map(move |k| v1_entity(f, k)))
            .collect(),
    )))
}

/// The caller's keyword `id` with its filter.
async fn v1_owned(
    state: &Node,
    caller: &Caller,
    id: &str,
) -> Result<(Filter, FilterKeyword), MastodonError> {
    let k = owned_keyword(state, caller, id).await?;
    let filter = state
        .db
        .filter(caller.member.user.id, k.filter_id)
        .await?
        .ok_or_else(missing)?;
    Ok((filter, k))
}

/// `GET /api/v1/filters/{id}`.
pub async fn v1_get(
    State(state): State<Node>,
    auth: Auth<Read>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (filter, k) = v1_owned(&state, &auth, &id).await?;
    Ok(Json(v1_entity(&filter, &k)))
}

/// v1's `irreversible` as an action.
fn v1_action(form: &mut FilterForm) {
    if let Some(irreversible) = form.irreversible {
        form.filter_action = Some(if irreversible { "hide" } else { "warn" }.into());
    }
}

/// `POST /api/v1/filters` (`phrase`, `context[]`, `irreversible`, `whole_word`,
/// `expires_in`): a filter titled by its phrase, with that one keyword.
pub async fn v1_create(
    State(state): State<Node>,
    auth: Auth<Write>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let mut form: FilterForm = body(&headers, &bytes)?;
    let phrase = text("phrase", form.phrase.as_deref().unwrap_or(""))?;
    form.title = Some(phrase.clone());
    v1_action(&mut form);
    let fields = fields(&form, None)?;
    room_for_one_more(&state, &auth).await?;
    let user = auth.member.user.id;
    let id = state
        .db
        .create_filter(user, &fields, &[(phrase, form.whole_word.unwrap_or(true))])
        .await?;
    let filter = state.db.filter(user, id).await?.ok_or_else(missing)?;
    let k = filter.keywords.first().ok_or_else(missing)?;
    Ok(Json(v1_entity(&filter, k)))
}

/// `PUT /api/v1/filters/{id}`: the keyword's phrase and `whole_word`, and its filter's
/// context, action and end.
pub async fn v1_update(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, MastodonError> {
    let (filter, k) = v1_owned(&state, &auth, &id).await?;
    let mut form: FilterForm = body(&headers, &bytes)?;
    // A filter made through v1 is titled by its one phrase.
    form.title = form.phrase.clone().filter(|_| filter.keywords.len() == 1);
    v1_action(&mut form);
    let fields = fields(&form, Some(&filter))?;
    let change = KeywordChange::Set {
        id: k.id,
        keyword: form
            .phrase
            .as_deref()
            .map(|p| text("phrase", p))
            .transpose()?,
        whole_word: form.whole_word,
    };
    let user = auth.member.user.id;
    state
        .db
        .update_filter(user, filter.id, &fields, &[change])
        .await?;
    let (filter, k) = v1_owned(&state, &auth, &id).await?;
    Ok(Json(v1_entity(&filter, &k)))
}

/// `DELETE /api/v1/filters/{id}`: the keyword, and its filter when nothing else is left in it.
pub async fn v1_delete(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (filter, k) = v1_owned(&state, &auth, &id).await?;
    if filter.keywords.len() <= 1 && filter.statuses.is_empty() {
        state
            .db
            .delete_filter(auth.member.user.id, filter.id)
            .await?;
    } else {
        state.db.delete_filter_keyword(k.id).await?;
    }
    Ok(Json(json!({})))
}
