//! What the HTTP front doors (the native API, the ActivityPub endpoints, the OAuth and Mastodon
//! endpoints) share: query strings read with a JSON error, bodies that may be forms or JSON,
//! iCalendar responses and their paging.

use crate::{
    db::{events::Event, now_ms},
    error::ApiError,
    node::Node,
    paging::{self, Page, Pair},
    service::calendar,
};
use axum::{
    extract::{FromRequestParts, Query},
    http::{header, request::Parts, HeaderValue, Uri},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// An iCalendar document as an HTTP response.
pub fn ics_response(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Query parameters, with a JSON error when they do not parse.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A page of a calendar feed: the calendar of `events`, and a `Link: <…>; rel="next"` header
/// naming the page after `next` (start time and id of the last event read) when there is one.
/// Calendar clients read the first page; the header is there for those that want more.
pub fn ics_page(
    state: &Node,
    uri: &Uri,
    title: &str,
    events: &[Event],
    next: Option<Pair<i64, i64>>,
) -> Response {
    let mut response = ics_response(calendar::calendar(title, events));
    if let Some(cursor) = next {
        let next = paging::next_url(
            &state.settings.base_url(),
            uri.path(),
            uri.query(),
            "after",
            &cursor.to_string(),
        );
        // Built from this node's base URL and a percent-encoded query: always a valid value.
        if let Ok(link) = HeaderValue::try_from(format!("<{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    response
}

/// The cursor after a feed page's last event, when more follow.
pub fn feed_next(page: &Page<Event>) -> Option<Pair<i64, i64>> {
    page.next(|e| Pair(e.starts_at, e.id))
}

/// Where a community's calendar feed starts: the last month, so a just-finished or cancelled
/// event stays visible.
pub fn feed_start() -> i64 {
    now_ms() - 30 * 86_400_000
}

/// `name[index][field]` (a form's list of objects, as Rails reads it): the three parts.
fn nested_key(key: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = key.split_once('[')?;
    let (index, rest) = rest.split_once("][")?;
    let field = rest.strip_suffix(']')?;
    let plain = |s: &str| !s.contains('[') && !s.contains(']');
    (!name.is_empty() && !field.is_empty() && plain(index) && plain(field))
        .then_some((name, index, field))
}

/// A form (`application/x-www-form-urlencoded`, where `key[]` and repeated keys are lists,
/// and `key[0][field]` or `key[][field]` lists of objects, as Tusky sends a filter's keywords)
/// or a JSON object, read into `T`.
pub fn form_or_json<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let value = if json {
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?
    } else {
        let mut map = serde_json::Map::new();
        // Where each `name[index]` object is in its list.
        let mut objects: std::collections::HashMap<(String, String), usize> =
            std::collections::HashMap::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            if let Some((name, index, field)) = nested_key(&key) {
                let list = map
                    .entry(name.to_string())
                    .or_insert_with(|| serde_json::json!([]));
                let Some(items) = list.as_array_mut() else {
                    continue;
                };
                // `name[][field]` starts a new object when the last one has that field.
                let at = if index.is_empty() {
                    match items.last() {
                        Some(last) if last.get(field).is_none() => items.len() - 1,
                        _ => {
                            items.push(serde_json::json!({}));
                            items.len() - 1
                        }
                    }
                } else {
                    *objects
                        .entry((name.to_string(), index.to_string()))
                        .or_insert_with(|| {
                            items.push(serde_json::json!({}));
                            items.len() - 1
                        })
                };
                if let Some(object) = items.get_mut(at).and_then(|o| o.as_object_mut()) {
                    object.insert(
                        field.to_string(),
                        serde_json::Value::String(value.into_owned()),
                    );
                }
                continue;
            }
            let (key, list) = match key.strip_suffix("[]") {
                Some(k) => (k.to_string(), true),
                None => (key.into_owned(), false),
            };
            match map.get_mut(&key) {
                Some(serde_json::Value::Array(items)) => {
                    items.push(serde_json::Value::String(value.into_owned()))
                }
                Some(first) => {
                    let first = first.take();
                    map.insert(key, serde_json::json!([first, value]));
                }
                None if list => {
                    map.insert(key, serde_json::json!([value]));
                }
                None => {
                    map.insert(key, serde_json::Value::String(value.into_owned()));
                }
            }
        }
        serde_json::Value::Object(map)
    };
    serde_json::from_value(value)
        .map_err(|e| format!("the request's fields were not understood: {e}"))
}

#[cfg(test)]
mod tests {
    use super::form_or_json;
    use serde_json::{json, Value};

    #[test]
    fn forms_carry_lists_of_objects() {
        let headers = axum::http::HeaderMap::new();
        let body = "title=T&context[]=home&context[]=public\
                    &k[0][keyword]=a&k[0][whole_word]=1&k[1][keyword]=b\
                    &n[][keyword]=c&n[][whole_word]=0&n[][keyword]=d";
        let v: Value = form_or_json(&headers, body.as_bytes()).expect("parsed");
        assert_eq!(
            v,
            json!({
                "title": "T",
                "context": ["home", "public"],
                "k": [{"keyword": "a", "whole_word": "1"}, {"keyword": "b"}],
                "n": [{"keyword": "c", "whole_word": "0"}, {"keyword": "d"}],
            })
        );
    }
}
