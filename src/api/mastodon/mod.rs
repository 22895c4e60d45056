//! The Mastodon client API, so members take part from the apps they already have (Tusky,
//! Ivory, Elk, Mastodon.py, toot…). It is a front door like `api` and `ui`: it reads callers
//! with the same `Auth<S>` extractors (tokens come from the OAuth server in
//! `service::accounts::oauth`) and calls the same services; this module only speaks Mastodon's
//! shapes. Errors are Mastodon's `{"error": "…"}` with its statuses (`ApiError`).
//!
//! `instance`: the Instance entity (v1, v2), peers, start-up lists; `accounts`: the Account
//! entity (loaded in batches: `Profiles`) and the account endpoints; `statuses`: threads and
//! replies as statuses, posting, context, delete, favourites; `timelines`: home and public;
//! `follows`: following communities (joining them), relationships; `search`: handles and
//! profile URLs, resolved through WebFinger when asked; `me`: read markers, favourites,
//! preferences and the caller's truthfully empty lists; `notifications`: replies to and likes
//! of the caller's posts, read from the posts and likes themselves; `media`: uploading and
//! describing images, the MediaAttachment entity; `edits`: editing statuses, their history and
//! source; `grouped`: notifications grouped as Mastodon 4.3 apps read them; `personal`:
//! bookmarks, mutes and blocks; `lists`: lists and their accounts; `reports`: reports filed
//! from apps; `streaming`: the streaming API over server-sent events; `boosts`: reblogs, as
//! signs to a post's author and readers; `filters`: a member's filters (v2 and v1);
//! `filtering`: applying them to what the member reads; `hashtags`: the Tag entity and
//! followed tags; `domains`: the domains a member blocks.

pub mod accounts;
pub mod boosts;
pub mod cards;
pub mod domains;
pub mod edits;
pub mod filtering;
pub mod filters;
pub mod follows;
pub mod grouped;
pub mod hashtags;
pub mod instance;
pub mod lists;
pub mod me;
pub mod media;
pub mod notifications;
pub mod personal;
pub mod reports;
pub mod search;
pub mod statuses;
pub mod streaming;
pub mod timelines;

use crate::{error::ApiError, node::Node};
use axum::{
    extract::{DefaultBodyLimit, Request, State},
    http::header,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
    Router,
};
use serde::Deserialize;

/// Mastodon-shaped errors are the API's: a status and `{"error": "…"}`.
pub type MastodonError = ApiError;

pub use crate::activitypub::objects::rfc3339;

/// The routes, at the node's root where apps look for them. Trailing slashes are accepted,
/// as some apps send them. Every request made with a token counts against its budget
/// ([`budget`]).
pub fn router(state: &Node) -> Router<Node> {
    let mut router = Router::new();
    let routes: Vec<(&str, axum::routing::MethodRouter<Node>)> = vec![
        ("/api/v1/instance", get(instance::v1)),
        ("/api/v2/instance", get(instance::v2)),
        ("/api/v1/instance/peers", get(instance::peers)),
        ("/api/v1/instance/activity", get(instance::activity)),
        (
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        ),
        (
            "/api/v1/accounts/update_credentials",
            patch(accounts::update_credentials),
        ),
        ("/api/v1/accounts/lookup", get(accounts::lookup)),
        ("/api/v1/accounts/search", get(search::accounts_search)),
        (
            "/api/v1/accounts/relationships",
            get(follows::relationships),
        ),
        (
            "/api/v1/accounts/familiar_followers",
            get(follows::familiar_followers),
        ),
        ("/api/v1/accounts/{id}/follow", post(follows::follow)),
        ("/api/v1/accounts/{id}/unfollow", post(follows::unfollow)),
        ("/api/v1/accounts/{id}/followers", get(follows::followers)),
        ("/api/v1/accounts/{id}/following", get(follows::following)),
        ("/api/v1/accounts/{id}/mute", post(personal::mute)),
        ("/api/v1/accounts/{id}/unmute", post(personal::unmute)),
        ("/api/v1/accounts/{id}/block", post(personal::block)),
        ("/api/v1/accounts/{id}/unblock", post(personal::unblock)),
        ("/api/v2/search", get(search::search)),
        ("/api/v1/accounts/{id}", get(accounts::get)),
        (
            "/api/v1/accounts/{id}/statuses",
            get(timelines::account_statuses),
        ),
        (
            "/api/v1/media",
            post(media::upload).layer(DefaultBodyLimit::disable()),
        ),
        (
            "/api/v2/media",
            post(media::upload).layer(DefaultBodyLimit::disable()),
        ),
        ("/api/v1/media/{id}", get(media::get).put(media::update)),
        ("/api/v1/statuses", post(statuses::create)),
        (
            "/api/v1/statuses/{id}",
            get(statuses::get)
                .delete(statuses::delete)
                .put(edits::update),
        ),
        ("/api/v1/statuses/{id}/history", get(edits::history)),
        ("/api/v1/statuses/{id}/source", get(edits::source)),
        ("/api/v1/statuses/{id}/context", get(statuses::context)),
        ("/api/v1/statuses/{id}/favourite", post(statuses::favourite)),
        (
            "/api/v1/statuses/{id}/favourited_by",
            get(statuses::favourited_by),
        ),
        (
            "/api/v1/statuses/{id}/unfavourite",
            post(statuses::unfavourite),
        ),
        ("/api/v1/statuses/{id}/bookmark", post(personal::bookmark)),
        ("/api/v1/statuses/{id}/reblog", post(boosts::reblog)),
        ("/api/v1/statuses/{id}/unreblog", post(boosts::unreblog)),
        (
            "/api/v1/statuses/{id}/reblogged_by",
            get(boosts::reblogged_by),
        ),
        ("/api/v1/statuses/{id}/pin", post(statuses::pin)),
        ("/api/v1/statuses/{id}/unpin", post(statuses::unpin)),
        (
            "/api/v1/statuses/{id}/unbookmark",
            post(personal::unbookmark),
        ),
        ("/api/v1/streaming", get(streaming::socket)),
        ("/api/v1/streaming/health", get(streaming::health)),
        ("/api/v1/streaming/user", get(streaming::user)),
        (
            "/api/v1/streaming/user/notification",
            get(streaming::user_notifications),
        ),
        ("/api/v1/streaming/public", get(streaming::public)),
        (
            "/api/v1/streaming/public/local",
            get(streaming::public_local),
        ),
        (
            "/api/v1/streaming/public/remote",
            get(streaming::public_remote),
        ),
        ("/api/v1/streaming/list", get(streaming::list)),
        ("/api/v1/streaming/hashtag", get(streaming::hashtag)),
        (
            "/api/v1/streaming/hashtag/local",
            get(streaming::hashtag_local),
        ),
        ("/api/v1/timelines/home", get(timelines::home)),
        ("/api/v1/timelines/public", get(timelines::public)),
        ("/api/v1/timelines/list/{id}", get(timelines::list)),
        ("/api/v1/timelines/tag/{hashtag}", get(timelines::tag)),
        ("/api/v1/tags/{hashtag}", get(hashtags::tag)),
        ("/api/v1/tags/{hashtag}/follow", post(hashtags::follow)),
        ("/api/v1/tags/{hashtag}/unfollow", post(hashtags::unfollow)),
        ("/api/v1/custom_emojis", get(instance::empty_list)),
        ("/api/v1/announcements", get(instance::empty_list)),
        ("/api/v1/trends", get(instance::empty_list)),
        ("/api/v1/trends/tags", get(instance::empty_list)),
        ("/api/v1/trends/statuses", get(instance::empty_list)),
        ("/api/v1/instance/rules", get(instance::empty_list)),
        ("/api/v1/markers", get(me::markers).post(me::set_markers)),
        ("/api/v1/notifications", get(notifications::list)),
        (
            "/api/v1/notifications/unread_count",
            get(notifications::unread_count),
        ),
        ("/api/v1/notifications/clear", post(notifications::clear)),
        ("/api/v2/notifications", get(grouped::list)),
        (
            "/api/v2/notifications/unread_count",
            get(grouped::unread_count),
        ),
        ("/api/v2/notifications/{key}", get(grouped::one)),
        (
            "/api/v2/notifications/{key}/accounts",
            get(grouped::accounts),
        ),
        (
            "/api/v2/notifications/{key}/dismiss",
            post(grouped::dismiss),
        ),
        ("/api/v1/notifications/{id}", get(notifications::one)),
        (
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        ),
        ("/api/v1/favourites", get(me::favourites)),
        ("/api/v1/preferences", get(me::preferences)),
        ("/api/v1/lists", get(lists::all).post(lists::create)),
        (
            "/api/v1/lists/{id}",
            get(lists::get).put(lists::update).delete(lists::delete),
        ),
        (
            "/api/v1/lists/{id}/accounts",
            get(lists::accounts)
                .post(lists::add_accounts)
                .delete(lists::remove_accounts),
        ),
        (
            "/api/v1/filters",
            get(filters::v1_all).post(filters::v1_create),
        ),
        (
            "/api/v1/filters/{id}",
            get(filters::v1_get)
                .put(filters::v1_update)
                .delete(filters::v1_delete),
        ),
        ("/api/v2/filters", get(filters::all).post(filters::create)),
        (
            "/api/v2/filters/keywords/{id}",
            get(filters::keyword)
                .put(filters::update_keyword)
                .delete(filters::delete_keyword),
        ),
        (
            "/api/v2/filters/statuses/{id}",
            get(filters::status).delete(filters::delete_status),
        ),
        (
            "/api/v2/filters/{id}",
            get(filters::get)
                .put(filters::update)
                .delete(filters::delete),
        ),
        (
            "/api/v2/filters/{id}/keywords",
            get(filters::keywords).post(filters::add_keyword),
        ),
        (
            "/api/v2/filters/{id}/statuses",
            get(filters::filter_statuses).post(filters::add_status),
        ),
        ("/api/v1/bookmarks", get(personal::bookmarks)),
        ("/api/v1/reports", post(reports::create)),
        ("/api/v1/mutes", get(personal::mutes)),
        ("/api/v1/blocks", get(personal::blocks)),
        (
            "/api/v1/domain_blocks",
            get(domains::list)
                .post(domains::block)
                .delete(domains::unblock),
        ),
        ("/api/v1/followed_tags", get(hashtags::followed)),
        ("/api/v1/follow_requests", get(follows::follow_requests)),
        (
            "/api/v1/follow_requests/{id}/authorize",
            post(follows::authorize),
        ),
        ("/api/v1/follow_requests/{id}/reject", post(follows::reject)),
        ("/api/v1/featured_tags", get(me::none_yet)),
        ("/api/v2/suggestions", get(me::none_yet)),
    ];
    for (path, route) in routes {
        router = router
            .route(&format!("{path}/"), route.clone())
            .route(path, route);
    }
    router
        .layer(middleware::from_fn_with_state(state.clone(), budget))
        .route("/static/avatar.png", get(default_avatar))
}

/// Counts a request made with a token against the token's window (`oauth.requests_per_token`)
/// and tells the app where it stands, as Mastodon does: `X-RateLimit-Limit`,
/// `X-RateLimit-Remaining` and `X-RateLimit-Reset` (when the window ends), and past the
/// limit 429 with `Retry-After`. Requests without a token (the public timeline, the instance)
/// are not counted here: behind a reverse proxy the node cannot tell their callers apart.
async fn budget(State(state): State<Node>, request: Request, next: Next) -> Response {
    let token = crate::api::bearer_token(request.headers())
        .ok()
        .map(str::to_owned);
    let Some(token) = token else {
        return next.run(request).await;
    };
    let Some(budget) = state.token_windows.take(&token).await else {
        return next.run(request).await;
    };
    let mut response = if budget.allowed {
        next.run(request).await
    } else {
        let wait = budget
            .reset
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .as_secs()
            + 1;
        MastodonError::too_many("Too many requests", wait).into_response()
    };
    let reset: chrono::DateTime<chrono::Utc> = budget.reset.into();
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", budget.limit.to_string()),
        ("x-ratelimit-remaining", budget.remaining.to_string()),
        (
            "x-ratelimit-reset",
            reset.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// The picture of accounts that have none (apps expect every account to have one).
pub fn avatar_url(state: &Node) -> String {
    format!("{}/static/avatar.png", state.settings.base_url())
}

async fn default_avatar() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        &include_bytes!("../../../static/avatar.png")[..],
    )
        .into_response()
}

/// A boolean as apps send it: `true`/`false`, `1`/`0`, or a JSON boolean.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    let value = Option::<serde_json::Value>::deserialize(d)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "on" => Ok(Some(true)),
            "0" | "false" | "off" | "" => Ok(Some(false)),
            other => Err(D::Error::custom(format!("{other:?} is not a boolean"))),
        },
        Some(_) => Err(D::Error::custom("expected a boolean")),
    }
}

/// Plain text as Mastodon's HTML: escaped, one `<p>` per paragraph, `<br>` for line breaks.
pub fn html_paragraphs(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    text.split("\n\n")
        .map(|p| {
            format!(
                "<p>{}</p>",
                crate::markdown::escape_html(p.trim()).replace('\n', "<br>")
            )
        })
        .collect()
}
