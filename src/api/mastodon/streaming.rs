//! The streaming API over server-sent events (`/api/v1/streaming/…`): `user` (new statuses
//! of the caller's communities as `update`, new notifications as `notification`),
//! `user/notification`, `public` (`/local`, `/remote`) and `list?list=ID`.
//!
//! A stream reads the database, not an in-process bus: every `POLL` it asks for the posts
//! and notifications after the last ones it sent — the same queries as the timelines and
//! notifications, so the same read checks, mutes and blocks apply — which also covers posts
//! stored by another process of the node or arriving from other servers. A stream ends when
//! the node stops, and apps reconnect; SSE comments keep idle connections open.

use super::{
    notifications::{self, Params},
    statuses, MastodonError,
};
use crate::{
    api::{Auth, Read},
    db::mastodon::{Timeline, Window},
    node::Node,
    service::notifications::{note_id, Kind},
    web::Q,
};
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::stream;
use serde::Deserialize;
use std::{collections::VecDeque, convert::Infallible, time::Duration};
use tracing::warn;

/// How often a stream looks for what is new.
const POLL: Duration = Duration::from_millis(1000);

/// The most statuses or notifications one look sends.
const BATCH: u64 = 40;

/// Which statuses a stream sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Posts {
    None,
    Home,
    Public { local: bool, remote: bool },
    List(i64),
}

struct Feed {
    state: Node,
    auth: Option<Auth<Read>>,
    posts: Posts,
    notifications: bool,
    last_post: i64,
    last_note: i64,
    pending: VecDeque<Event>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    async fn start(
        state: Node,
        auth: Option<Auth<Read>>,
        posts: Posts,
        notifications: bool,
    ) -> Result<Feed, MastodonError> {
        let last_post = state.db.latest_post_id().await?;
        let last_note = note_id(crate::db::now_ms(), Kind::Reply, 0) - 1;
        let stop = state.stopping.subscribe();
        Ok(Feed {
            state,
            auth,
            posts,
            notifications,
            last_post,
            last_note,
            pending: VecDeque::new(),
            stop,
        })
    }

    /// The statuses stored since the last look, oldest first, as `update` events.
    async fn new_posts(&mut self) -> Result<(), MastodonError> {
        let state = &self.state;
        let caller = self.auth.as_deref();
        let (communities, authors, threads_only) = match self.posts {
            Posts::None => return Ok(()),
            Posts::Home => match caller {
                Some(c) => (
                    state
                        .db
                        .accepted_communities(&c.member.ap_id(state))
                        .await?,
                    Vec::new(),
                    false,
                ),
                None => return Ok(()),
            },
            Posts::Public { local, remote } => (
                state
                    .db
                    .public_communities(&state.settings.base_url(), local, remote)
                    .await?,
                Vec::new(),
                false,
            ),
            Posts::List(id) => match caller {
                Some(c) => match state.db.list(c.member.user.id, id).await? {
                    Some(list) => {
                        let targets = state.db.list_targets(list.id).await?;
                        (targets.clone(), targets, list.replies_policy == "none")
                    }
                    None => return Ok(()),
                },
                None => return Ok(()),
            },
        };
        let hidden = match caller {
            Some(c) => state.db.hidden(c.member.user.id).await?.posts_list(),
            None => Vec::new(),
        };
        let of = Timeline {
            communities: &communities,
            authors: &authors,
            hidden: &hidden,
            threads_only,
        };
        let window = Window {
            min_id: Some(self.last_post),
            ..Window::default()
        };
        let mut posts = state.db.timeline(of, window, BATCH).await?;
        if let Some(newest) = posts.first() {
            self.last_post = self.last_post.max(newest.id);
        }
        posts.reverse();
        let posts = statuses::readable_page(state, caller, posts).await?;
        let viewer = caller.map(|c| &c.member);
        for status in statuses::render(state, viewer, &posts).await? {
            self.pending
                .push_back(Event::default().event("update").data(status.to_string()));
        }
        Ok(())
    }

    /// The caller's notifications since the last look, oldest first.
    async fn new_notifications(&mut self) -> Result<(), MastodonError> {
        let Some(caller) = self.auth.as_deref().filter(|_| self.notifications) else {
            return Ok(());
        };
        let mut p = Params::between(self.last_note, i64::MAX, BATCH);
        p.max_id = None;
        let (mut notes, posts) = notifications::gather(&self.state, caller, &p).await?;
        if let Some(newest) = notes.first() {
            self.last_note = self.last_note.max(newest.id);
        }
        notes.reverse();
        for entity in notifications::render(&self.state, caller, &notes, &posts).await? {
            self.pending.push_back(
                Event::default()
                    .event("notification")
                    .data(entity.to_string()),
            );
        }
        Ok(())
    }

    /// The next event, waiting for one; none once the node stops.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if *self.stop.borrow() {
                return None;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = self.stop.changed() => return None,
            }
            let looked = match self.new_posts().await {
                Ok(()) => self.new_notifications().await,
                Err(e) => Err(e),
            };
            if let Err(e) = looked {
                warn!(error = %e.message, "a stream could not read what is new");
            }
        }
    }
}

type Events = Sse<
    axum::response::sse::KeepAliveStream<stream::BoxStream<'static, Result<Event, Infallible>>>,
>;

async fn open(
    state: Node,
    auth: Option<Auth<Read>>,
    posts: Posts,
    notifications: bool,
) -> Result<Events, MastodonError> {
    let feed = Feed::start(state, auth, posts, notifications).await?;
    let events: stream::BoxStream<'static, _> = Box::pin(stream::unfold(feed, Feed::next));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `GET /api/v1/streaming/health`.
pub async fn health() -> &'static str {
    "OK"
}

/// `GET /api/v1/streaming/user`.
pub async fn user(State(state): State<Node>, auth: Auth<Read>) -> Result<Events, MastodonError> {
    open(state, Some(auth), Posts::Home, true).await
}

/// `GET /api/v1/streaming/user/notification`.
pub async fn user_notifications(
    State(state): State<Node>,
    auth: Auth<Read>,
) -> Result<Events, MastodonError> {
    open(state, Some(auth), Posts::None, true).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PublicQuery {
    #[serde(deserialize_with = "super::flag")]
    local: Option<bool>,
    #[serde(deserialize_with = "super::flag")]
    remote: Option<bool>,
}

async fn public_stream(
    state: Node,
    auth: Option<Auth<Read>>,
    local: bool,
    remote: bool,
) -> Result<Events, MastodonError> {
    open(state, auth, Posts::Public { local, remote }, false).await
}

/// `GET /api/v1/streaming/public` (`local=true`, `remote=true` narrow it).
pub async fn public(
    State(state): State<Node>,
    crate::api::MaybeAuth(auth): crate::api::MaybeAuth<Read>,
    Q(q): Q<PublicQuery>,
) -> Result<Events, MastodonError> {
    let local_only = q.local.unwrap_or(false);
    let remote_only = q.remote.unwrap_or(false);
    public_stream(state, auth, !remote_only, !local_only).await
}

/// `GET /api/v1/streaming/public/local`.
pub async fn public_local(
    State(state): State<Node>,
    crate::api::MaybeAuth(auth): crate::api::MaybeAuth<Read>,
) -> Result<Events, MastodonError> {
    public_stream(state, auth, true, false).await
}

/// `GET /api/v1/streaming/public/remote`.
pub async fn public_remote(
    State(state): State<Node>,
    crate::api::MaybeAuth(auth): crate::api::MaybeAuth<Read>,
) -> Result<Events, MastodonError> {
    public_stream(state, auth, false, true).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    list: String,
}

/// `GET /api/v1/streaming/list?list=ID`: one of the caller's lists.
pub async fn list(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<ListQuery>,
) -> Result<Events, MastodonError> {
    let list = super::lists::owned(&state, &auth, &q.list).await?;
    open(state, Some(auth), Posts::List(list.id), false).await
}
