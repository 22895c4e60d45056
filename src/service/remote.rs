//! Actors of other servers: fetched (signed by the instance actor), checked and cached.

use crate::{
    activitypub::{
        actors::RemoteActorDoc,
        collections::{Collection, PageRef},
    },
    db::RemoteActor,
    node::Node,
};
use url::Url;

/// A cached actor younger than this is used without refetching.
const FRESH_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Fetch(#[from] crate::activitypub::client::FetchError),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// The actor at `url`, from the cache when fresh unless `refresh`.
pub async fn actor(state: &Node, url: &Url, refresh: bool) -> Result<RemoteActor, RemoteError> {
    actor_via(state, url, refresh, false).await
}

/// [`actor`], for the partnership handshake: the other node need not be a partner yet (but
/// must not be blocked).
pub async fn handshake_actor(
    state: &Node,
    url: &Url,
    refresh: bool,
) -> Result<RemoteActor, RemoteError> {
    actor_via(state, url, refresh, true).await
}

async fn actor_via(
    state: &Node,
    url: &Url,
    refresh: bool,
    handshake: bool,
) -> Result<RemoteActor, RemoteError> {
    if !refresh {
        if let Some(cached) = state.db.remembered_remote_actor(url.as_str()).await? {
            if crate::db::now_ms() - cached.fetched_at < FRESH_MS {
                return Ok(cached);
            }
        }
    }
    let value = if handshake {
        state.fetch_for_handshake(url).await?
    } else {
        state.fetch(url).await?
    };
    let doc = RemoteActorDoc::parse(value).map_err(RemoteError::Invalid)?;
    if doc.id != *url {
        return Err(RemoteError::Invalid("the actor's id is not its URL".into()));
    }
    Ok(state
        .db
        .upsert_remote_actor(doc.into_new_remote(state.settings.federation.debug))
        .await?)
}

/// The software `host` runs (from NodeInfo, lowercased), if it says; `None` when it cannot be
/// told or the host is not one this node federates with.
pub async fn software(state: &Node, host: &str) -> Option<String> {
    if !state.db.federates_with(host).await.unwrap_or(false) {
        return None;
    }
    match state.client.nodeinfo_software(host).await {
        Ok(name) => Some(name),
        Err(e) => {
            tracing::info!(host, error = %e, "no NodeInfo software name");
            None
        }
    }
}

/// The personal inbox of the actor at `actor` (for answers meant for that actor alone).
pub async fn personal_inbox(
    state: &Node,
    actor: &str,
) -> Result<Url, crate::service::error::Error> {
    use crate::service::error::Error;
    let url = Url::parse(actor).map_err(|_| Error::invalid("the actor id is not a URL"))?;
    let found = self::actor(state, &url, false)
        .await
        .map_err(|e| Error::invalid(format!("cannot reach {url}: {e}")))?;
    Url::parse(&found.inbox).map_err(|_| Error::invalid("the actor has no valid inbox"))
}

/// The items of a collection on `host` that another server serves: its pages from `first` on
/// (a URL or an embedded page, as Mastodon pages), or its inline `orderedItems`/`items` when
/// it has no pages (as Lemmy serves). At most `max_items` over at most `max_pages` fetches;
/// a page on another host ends the walk.
pub async fn collection_items(
    state: &Node,
    collection: &Collection,
    host: &str,
    max_items: usize,
    max_pages: usize,
) -> Result<Vec<serde_json::Value>, RemoteError> {
    use crate::activitypub::actors::host_of;
    let fetch = |link: &PageRef| {
        let link = link.clone();
        async move {
            match link {
                PageRef::Embedded(page) => Ok::<_, RemoteError>(Some(*page)),
                PageRef::Link(url) => {
                    if host_of(&url) != host {
                        return Ok(None);
                    }
                    Ok(Some(Collection::parse(&state.fetch(&url).await?)))
                }
                PageRef::Unreadable(u) => Err(RemoteError::Invalid(format!("bad page URL {u:?}"))),
            }
        }
    };
    let Some(first) = &collection.first else {
        let mut items = collection.items.clone();
        items.truncate(max_items);
        return Ok(items);
    };
    let mut items = Vec::new();
    let mut page = fetch(first).await?;
    let mut pages = 0;
    while let Some(current) = page.take() {
        pages += 1;
        items.extend(current.items);
        if items.len() >= max_items || pages >= max_pages {
            break;
        }
        if let Some(next) = &current.next {
            page = fetch(next).await?;
        }
    }
    items.truncate(max_items);
    Ok(items)
}
