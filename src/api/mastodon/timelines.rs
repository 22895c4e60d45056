//! Timelines: home (the caller's communities), public (public communities, `local` and
//! `remote` narrowing it), a hashtag's (in what the caller may read) and lists (a list's
//! people and communities), newest first, leaving
//! out what the caller muted or blocked, paged with `max_id`, `since_id`, `min_id` and `limit`
//! and a `Link` header, as Mastodon pages.

use super::{
    cards::{self, Item},
    domains::Blocked,
    filtering::Active,
    flag, statuses, MastodonError,
};
use crate::{
    api::{Auth, Caller, MaybeAuth, Read},
    db::{
        mastodon::{Timeline, Whose, Window},
        personal::KeptWindow,
        status_refs::Card,
    },
    node::Node,
    web::Q,
};
use axum::{
    extract::{OriginalUri, State},
    http::{header, HeaderValue, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

/// Mastodon's default and largest page of statuses.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 40;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Paging {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<String>,
    #[serde(deserialize_with = "flag")]
    local: Option<bool>,
    #[serde(deserialize_with = "flag")]
    remote: Option<bool>,
    #[serde(deserialize_with = "flag")]
    exclude_replies: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pinned: Option<bool>,
    #[serde(deserialize_with = "flag")]
    only_media: Option<bool>,
}

fn id_param(name: &str, value: &Option<String>) -> Result<Option<i64>, MastodonError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| MastodonError::bad_request(format!("{name} must be a status id"))),
    }
}

impl Paging {
    fn limit(&self, default: u64, max: u64) -> Result<u64, MastodonError> {
        Ok(match self.limit.as_deref().map(str::trim) {
            None | Some("") => default,
            Some(l) => l
                .parse::<u64>()
                .map_err(|_| MastodonError::bad_request("limit must be a number"))?
                .clamp(1, max),
        })
    }

    /// The window of a list of accounts or bookmarks (paged by their own row ids; Mastodon
    /// gives 40 accounts by default, at most 80).
    pub(super) fn kept(&self, default: u64, max: u64) -> Result<KeptWindow, MastodonError> {
        Ok(KeptWindow {
            max_id: id_param("max_id", &self.max_id)?,
            since_id: id_param("since_id", &self.since_id)?,
            min_id: id_param("min_id", &self.min_id)?,
            limit: self.limit(default, max)?,
        })
    }

    pub(super) fn window(&self) -> Result<(Window, u64), MastodonError> {
        let limit = self.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
        Ok((
            Window {
                max_id: id_param("max_id", &self.max_id)?,
                since_id: id_param("since_id", &self.since_id)?,
                min_id: id_param("min_id", &self.min_id)?,
            },
            limit,
        ))
    }
}

/// A page of statuses (posts, and articles' and events' statuses) with Mastodon's `Link`
/// header (`next`: older, `prev`: newer), under the caller's filters of `context` (`hide` ones
/// leave statuses out, the others mark them), without what accounts on the caller's blocked
/// domains wrote (nor, for articles and events, what the `hidden` accounts wrote).
async fn page(
    state: &Node,
    caller: Option<&Caller>,
    uri: &Uri,
    items: Vec<Item>,
    hidden: &[String],
    context: &str,
) -> Result<Response, MastodonError> {
    let cursors = (items.first().map(Item::id), items.last().map(Item::id));
    let statuses = statuses_of(state, caller, items, hidden, context).await?;
    Ok(linked(state, uri, Json(statuses).into_response(), cursors))
}

/// The Status entities of a page's items, newest first, as far as the caller may read them,
/// under their filters of `context` and without what the caller's blocked domains (and, for
/// articles and events, the `hidden` accounts) wrote. Timelines and streams show them alike.
pub(super) async fn statuses_of(
    state: &Node,
    caller: Option<&Caller>,
    items: Vec<Item>,
    hidden: &[String],
    context: &str,
) -> Result<Vec<serde_json::Value>, MastodonError> {
    let (mut posts, mut shown_cards) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Item::Post(p) => posts.push(p),
            Item::Card(c) => shown_cards.push(c),
        }
    }
    let filters = Active::load(state, caller.map(|c| c.member.user.id), context).await?;
    let blocked = Blocked::load(state, caller).await?;
    let posts = filters.keep(blocked.keep(statuses::readable_page(state, caller, posts).await?));
    let statuses = statuses::render(state, caller.map(|c| &c.member), &posts).await?;
    let mut statuses = filters.apply(&posts, statuses);
    if !shown_cards.is_empty() {
        let shown_cards = cards::readable(state, caller, &blocked, hidden, shown_cards).await?;
        statuses.extend(cards::filtered(
            &filters,
            cards::render(state, &shown_cards).await?,
        ));
        statuses.sort_by_key(|s| {
            std::cmp::Reverse(s["id"].as_str().and_then(|id| id.parse::<i64>().ok()))
        });
    }
    Ok(statuses)
}

/// The articles' and events' statuses of `communities` in `window` (up to `limit`).
pub(super) async fn cards_in(
    state: &Node,
    communities: &[String],
    hidden: &[String],
    window: Window,
    limit: u64,
) -> Result<Vec<Card>, MastodonError> {
    let refs = state
        .db
        .status_refs_page(communities, hidden, window, limit)
        .await?;
    Ok(state.db.cards(refs).await?)
}

/// Posts only, for the timelines that show no articles or events.
fn only_posts(posts: Vec<crate::db::discussions::Post>) -> Vec<Item> {
    posts.into_iter().map(Item::Post).collect()
}

/// `response` with Mastodon's `Link` header for a page whose newest and oldest paging keys
/// are `cursors` (none on an empty page).
pub fn linked(
    state: &Node,
    uri: &Uri,
    mut response: Response,
    cursors: (Option<i64>, Option<i64>),
) -> Response {
    if let (Some(first), Some(last)) = cursors {
        let base = state.settings.base_url();
        let kept: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| !matches!(k.as_ref(), "max_id" | "since_id" | "min_id"))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let link = |param: &str, id: i64| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &kept {
                query.append_pair(k, v);
            }
            query.append_pair(param, &id.to_string());
            format!("<{base}{}?{}>", uri.path(), query.finish())
        };
        let value = format!(
            "{}; rel=\"next\", {}; rel=\"prev\"",
            link("max_id", last),
            link("min_id", first)
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

/// `GET /api/v1/timelines/home`: the threads and replies of the caller's communities.
pub async fn home(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let (window, limit) = q.window()?;
    let communities = state
        .db
        .accepted_communities(&auth.member.ap_id(&state))
        .await?;
    let hidden = state.db.hidden(auth.member.user.id).await?.posts_list();
    // Followed hashtags bring their posts from where the tag timeline finds them.
    let tags = state.db.followed_tags(auth.member.user.id).await?;
    let tagged_in = if tags.is_empty() {
        Vec::new()
    } else {
        tag_communities(&state, Some(&auth), false, false).await?
    };
    let of = Timeline {
        communities: &communities,
        hidden: &hidden,
        followed: Some((&tags, &tagged_in)),
        ..Timeline::default()
    };
    let posts = state.db.timeline(of, window, limit).await?;
    let shown = cards_in(&state, &communities, &hidden, window, limit).await?;
    let items = cards::merge(posts, shown, limit, window.min_id.is_some());
    page(&state, Some(&auth), &uri, items, &hidden, "home").await
}

/// `GET /api/v1/timelines/public`: the public communities' threads and replies (`local=true`:
/// this node's communities only; `remote=true`: other servers' only).
pub async fn public(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let (window, limit) = q.window()?;
    let local_only = q.local.unwrap_or(false);
    let remote_only = q.remote.unwrap_or(false);
    let communities = state
        .db
        .public_communities(&state.settings.base_url(), !remote_only, !local_only)
        .await?;
    let hidden = match &auth {
        Some(a) => state.db.hidden(a.member.user.id).await?.posts_list(),
        None => Vec::new(),
    };
    let of = Timeline {
        communities: &communities,
        hidden: &hidden,
        ..Timeline::default()
    };
    let posts = state.db.timeline(of, window, limit).await?;
    let shown = cards_in(&state, &communities, &hidden, window, limit).await?;
    let items = cards::merge(posts, shown, limit, window.min_id.is_some());
    page(&state, auth.as_deref(), &uri, items, &hidden, "public").await
}

/// `GET /api/v1/timelines/tag/{hashtag}`: the posts under a hashtag in the communities the
/// caller may read: the public ones (`local`, `remote` narrowing them as on the public
/// timeline) and, for a member, their own confidential ones too.
pub async fn tag(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    axum::extract::Path(hashtag): axum::extract::Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let (window, limit) = q.window()?;
    let tag = tag_name(&hashtag)?;
    let communities = tag_communities(
        &state,
        auth.as_deref(),
        q.local.unwrap_or(false),
        q.remote.unwrap_or(false),
    )
    .await?;
    let hidden = match &auth {
        Some(a) => state.db.hidden(a.member.user.id).await?.posts_list(),
        None => Vec::new(),
    };
    let of = Timeline {
        communities: &communities,
        hidden: &hidden,
        tag: Some(&tag),
        ..Timeline::default()
    };
    let posts = state.db.timeline(of, window, limit).await?;
    page(
        &state,
        auth.as_deref(),
        &uri,
        only_posts(posts),
        &[],
        "public",
    )
    .await
}

/// Where a hashtag's posts are looked for: the public communities (`local_only`,
/// `remote_only` narrowing them as on the public timeline) and, for a member, their own
/// confidential ones too. The page is then kept to what the caller may read
/// (`statuses::readable_page`), as every timeline is.
pub(super) async fn tag_communities(
    state: &Node,
    caller: Option<&Caller>,
    local_only: bool,
    remote_only: bool,
) -> Result<Vec<String>, MastodonError> {
    let mut communities = state
        .db
        .public_communities(&state.settings.base_url(), !remote_only, !local_only)
        .await?;
    if let Some(a) = caller {
        let base = state.settings.base_url();
        let theirs = state
            .db
            .accepted_communities(&a.member.ap_id(state))
            .await?;
        communities.extend(theirs.into_iter().filter(|c| {
            let here = c.starts_with(&format!("{base}/"));
            (here || !local_only) && (!here || !remote_only)
        }));
    }
    Ok(communities)
}

/// A hashtag as apps send it (with or without `#`, any case), as stored; 404 when it cannot
/// be one.
pub(super) fn tag_name(hashtag: &str) -> Result<String, MastodonError> {
    let name = hashtag.trim().trim_start_matches('#').to_lowercase();
    if name.is_empty()
        || name.chars().count() > 100
        || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(MastodonError::not_found("Record not found"));
    }
    Ok(name)
}

/// `GET /api/v1/timelines/list/{id}`: the posts of a list's people and in its communities,
/// with its communities' articles and events (`replies_policy` `none` leaves replies out), as
/// far as the caller may read them.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let (window, limit) = q.window()?;
    let list = super::lists::owned(&state, &auth, &id).await?;
    let targets = state.db.list_targets(list.id).await?;
    let hidden = state.db.hidden(auth.member.user.id).await?.posts_list();
    // Of its communities and its people's, only those the caller may read, so no page comes
    // back short of what the caller may see.
    let (readable, authors_in) = list_readable(&state, &auth, &targets).await?;
    let of = Timeline {
        communities: &readable,
        authors: &targets,
        authors_in: Some(&authors_in),
        hidden: &hidden,
        threads_only: list.replies_policy == "none",
        ..Timeline::default()
    };
    let posts = state.db.timeline(of, window, limit).await?;
    let shown = cards_in(&state, &readable, &hidden, window, limit).await?;
    let items = cards::merge(posts, shown, limit, window.min_id.is_some());
    page(&state, Some(&auth), &uri, items, &hidden, "home").await
}

/// Of a list's `targets`, the communities the caller may read, and those where its people
/// wrote that the caller may read.
pub(super) async fn list_readable(
    state: &Node,
    caller: &Caller,
    targets: &[String],
) -> Result<(Vec<String>, Vec<String>), MastodonError> {
    let readable = cards::readable_communities(state, Some(caller), targets).await?;
    let theirs = state.db.communities_of_authors(targets).await?;
    let authors_in = cards::readable_communities(state, Some(caller), &theirs).await?;
    Ok((readable, authors_in))
}

/// `GET /api/v1/accounts/{id}/statuses`: a person's threads and replies with the articles they
/// created and the events they organize, or a community's with its articles and events, as
/// far as this node holds them and the caller may read them (`exclude_replies`, `pinned`;
/// `only_media` answers none).
pub async fn account_statuses(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let (window, limit) = q.window()?;
    let who = super::accounts::existing(&state, &id).await?;
    let group = match &who {
        super::accounts::Who::Local(a) => a.kind == crate::domain::ActorKind::Group.as_str(),
        super::accounts::Who::Remote(a) => a.kind == "Group",
    };
    let ap_id = who.ap_id(&state);
    let posts = if q.only_media.unwrap_or(false) {
        Vec::new()
    } else {
        // A person's posts in the communities the caller may read, decided before paging.
        let within = if group {
            Vec::new()
        } else {
            let theirs = state
                .db
                .communities_of_authors(std::slice::from_ref(&ap_id))
                .await?;
            cards::readable_communities(&state, auth.as_deref(), &theirs).await?
        };
        let whose = if group {
            Whose::Community(&ap_id)
        } else {
            Whose::Author {
                author: &ap_id,
                within: &within,
            }
        };
        state
            .db
            .posts_of(
                whose,
                window,
                limit,
                q.exclude_replies.unwrap_or(false),
                q.pinned.unwrap_or(false),
            )
            .await?
    };
    // A community's account also shows its articles and events, a person's the articles they
    // created and the events they organize (none of them has media or is pinned).
    let shown = if q.only_media.unwrap_or(false) || q.pinned.unwrap_or(false) {
        Vec::new()
    } else if group {
        cards_in(&state, &[who.ap_id(&state)], &[], window, limit).await?
    } else {
        // Of the communities the caller may read.
        let theirs = state
            .db
            .status_ref_communities_by(&who.ap_id(&state))
            .await?;
        let readable = cards::readable_communities(&state, auth.as_deref(), &theirs).await?;
        let refs = state
            .db
            .status_refs_by(&who.ap_id(&state), &readable, window, limit)
            .await?;
        state.db.cards(refs).await?
    };
    let items = cards::merge(posts, shown, limit, window.min_id.is_some());
    page(&state, auth.as_deref(), &uri, items, &[], "account").await
}
