//! The streaming API, over server-sent events (`/api/v1/streaming/…`) and over one WebSocket
//! (`/api/v1/streaming`, several streams per connection): `user` (new statuses of the
//! caller's communities and under the hashtags they follow as `update`, new notifications as
//! `notification`), `user:notification`, `public` (`:local`, `:remote`), `hashtag`
//! (`:local`; `tag=…`, where the tag timeline looks) and `list`.
//!
//! A stream reads the database, not an in-process bus: when it looks, it asks for the posts
//! and notifications after the last ones it sent — the same queries as the timelines and
//! notifications, so the same read checks, mutes and blocks apply. It looks when this
//! process wrote something readers are shown (`db::changes`: a post stored, from here or
//! from another server, a like, a follow…), at most every [`GAP`], and otherwise every
//! `http.stream_recheck_secs` for what another process of the node wrote; a quiet node's
//! streams cost no queries in between. A stream ends when the node stops, and apps
//! reconnect; SSE comments keep idle connections open.

use super::{
    cards,
    notifications::{self, Params},
    timelines, MastodonError,
};
use crate::{
    api::{Auth, Caller, Read},
    db::mastodon::{Timeline, Window},
    node::Node,
    service::notifications::{note_id, Kind},
    web::Q,
};
use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::stream;
use serde::Deserialize;
use std::{collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};
use tokio::time::Instant;
use tracing::warn;

/// The least time between two looks of one stream, however often things change.
const GAP: Duration = Duration::from_millis(250);

/// The most statuses or notifications one look sends.
const BATCH: u64 = 40;

/// Which statuses a stream sends.
#[derive(Clone, PartialEq, Eq)]
enum Posts {
    None,
    Home,
    Public {
        local: bool,
        remote: bool,
    },
    List(i64),
    /// A hashtag's statuses (folded to lower case), from where its timeline looks.
    Tag {
        tag: String,
        local: bool,
    },
}

/// One stream: what it sends, and how far it has sent.
struct Feed {
    state: Node,
    auth: Option<Arc<Caller>>,
    posts: Posts,
    notifications: bool,
    last_post: i64,
    last_note: i64,
    /// Events not yet sent: the event's name and its payload (JSON).
    pending: VecDeque<(&'static str, String)>,
    stop: tokio::sync::watch::Receiver<bool>,
    /// When it last looked, and the changes written by then.
    looked: Looked,
}

/// When a stream (or a WebSocket's streams) last looked, and the changes written by then.
#[derive(Clone, Copy)]
struct Looked {
    at: Instant,
    seen: u64,
}

impl Looked {
    fn now(state: &Node) -> Looked {
        Looked {
            at: Instant::now(),
            seen: state.db.changes().seen(),
        }
    }

    /// Returns when the next look is due: something was written since, or the recheck time
    /// passed; never sooner than [`GAP`] after this look.
    async fn next(self, state: &Node) {
        let recheck = Duration::from_secs(state.settings.http.stream_recheck_secs);
        tokio::select! {
            () = state.db.changes().after(self.seen) => {}
            () = tokio::time::sleep_until(self.at + recheck) => {}
        }
        tokio::time::sleep_until(self.at + GAP).await;
    }
}

impl Feed {
    async fn start(
        state: Node,
        auth: Option<Arc<Caller>>,
        posts: Posts,
        notifications: bool,
    ) -> Result<Feed, MastodonError> {
        let last_post = state.db.latest_post_id().await?;
        let last_note = note_id(crate::db::now_ms(), Kind::Reply, 0) - 1;
        let stop = state.stopping.subscribe();
        let looked = Looked::now(&state);
        Ok(Feed {
            state,
            auth,
            posts,
            notifications,
            last_post,
            last_note,
            pending: VecDeque::new(),
            stop,
            looked,
        })
    }

    /// The statuses stored since the last look, oldest first, as `update` events.
    async fn new_posts(&mut self) -> Result<(), MastodonError> {
        let state = &self.state;
        let caller = self.auth.as_deref();
        let context = match self.posts {
            Posts::Public { .. } | Posts::Tag { .. } => "public",
            _ => "home",
        };
        // Home also carries the posts under the caller's followed tags, as its timeline does.
        let mut followed = (Vec::new(), Vec::new());
        // A list's people show where the caller may read them.
        let mut authors_in: Option<Vec<String>> = None;
        let (communities, authors, threads_only) = match &self.posts {
            Posts::None => return Ok(()),
            Posts::Home => match caller {
                Some(c) => {
                    followed.0 = state.db.followed_tags(c.member.user.id).await?;
                    if !followed.0.is_empty() {
                        followed.1 =
                            timelines::tag_communities(state, Some(c), false, false).await?;
                    }
                    (
                        state
                            .db
                            .accepted_communities(&c.member.ap_id(state))
                            .await?,
                        Vec::new(),
                        false,
                    )
                }
                None => return Ok(()),
            },
            Posts::Public { local, remote } => (
                state
                    .db
                    .public_communities(&state.settings.base_url(), *local, *remote)
                    .await?,
                Vec::new(),
                false,
            ),
            Posts::Tag { local, .. } => (
                timelines::tag_communities(state, caller, *local, false).await?,
                Vec::new(),
                false,
            ),
            Posts::List(id) => match caller {
                Some(c) => match state.db.list(c.member.user.id, *id).await? {
                    Some(list) => {
                        let targets = state.db.list_targets(list.id).await?;
                        let (readable, within) =
                            timelines::list_readable(state, c, &targets).await?;
                        authors_in = Some(within);
                        (readable, targets, list.replies_policy == "none")
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
            authors_in: authors_in.as_deref(),
            hidden: &hidden,
            threads_only,
            tag: match &self.posts {
                Posts::Tag { tag, .. } => Some(tag),
                _ => None,
            },
            followed: (!followed.0.is_empty()).then_some((&followed.0, &followed.1)),
        };
        let window = Window {
            min_id: Some(self.last_post),
            ..Window::default()
        };
        let posts = state.db.timeline(of, window, BATCH).await?;
        // Home, list and the public streams carry articles' and events' statuses too, as their
        // timelines do; the oldest `BATCH` of both come first, the rest at the next look.
        let shown = match &self.posts {
            Posts::Home | Posts::Public { .. } => {
                timelines::cards_in(state, &communities, &hidden, window, BATCH).await?
            }
            // The list's communities are those the caller may read already.
            Posts::List(_) => {
                timelines::cards_in(state, &communities, &hidden, window, BATCH).await?
            }
            Posts::None | Posts::Tag { .. } => Vec::new(),
        };
        let items = cards::merge(posts, shown, BATCH, true);
        if let Some(newest) = items.first() {
            self.last_post = self.last_post.max(newest.id());
        }
        let mut statuses = timelines::statuses_of(state, caller, items, &hidden, context).await?;
        statuses.reverse();
        for status in statuses {
            self.pending.push_back(("update", status.to_string()));
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
        let (mut notes, posts, filters) = notifications::gather(&self.state, caller, &p).await?;
        if let Some(newest) = notes.first() {
            self.last_note = self.last_note.max(newest.id);
        }
        notes.reverse();
        for entity in notifications::render(&self.state, caller, &notes, &posts, &filters).await? {
            self.pending.push_back(("notification", entity.to_string()));
        }
        Ok(())
    }

    /// Looks for what is new, once.
    async fn look(&mut self) {
        crate::metrics::Metrics::inc(&self.state.metrics.stream_looks);
        let looked = match self.new_posts().await {
            Ok(()) => self.new_notifications().await,
            Err(e) => Err(e),
        };
        if let Err(e) = looked {
            warn!(error = %e.message, "a stream could not read what is new");
        }
    }

    /// The next server-sent event, waiting for one; none once the node stops.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if let Some((name, payload)) = self.pending.pop_front() {
                return Some((Ok(Event::default().event(name).data(payload)), self));
            }
            if *self.stop.borrow() {
                return None;
            }
            tokio::select! {
                () = self.looked.next(&self.state) => {}
                _ = self.stop.changed() => return None,
            }
            self.looked = Looked::now(&self.state);
            self.look().await;
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
    let auth = auth.map(|a| Arc::new(a.into_caller()));
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

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TagQuery {
    tag: String,
}

/// `GET /api/v1/streaming/hashtag?tag=…` (and `/hashtag/local`): a hashtag's statuses, in
/// what the caller may read, as its timeline.
pub async fn hashtag(
    State(state): State<Node>,
    crate::api::MaybeAuth(auth): crate::api::MaybeAuth<Read>,
    Q(q): Q<TagQuery>,
) -> Result<Events, MastodonError> {
    let tag = timelines::tag_name(&q.tag)?;
    open(state, auth, Posts::Tag { tag, local: false }, false).await
}

/// `GET /api/v1/streaming/hashtag/local?tag=…`.
pub async fn hashtag_local(
    State(state): State<Node>,
    crate::api::MaybeAuth(auth): crate::api::MaybeAuth<Read>,
    Q(q): Q<TagQuery>,
) -> Result<Events, MastodonError> {
    let tag = timelines::tag_name(&q.tag)?;
    open(state, auth, Posts::Tag { tag, local: true }, false).await
}

/// The most streams one WebSocket carries.
const MAX_SUBSCRIPTIONS: usize = 16;

/// What a stream name (and its `list` parameter) asks for: the statuses, whether
/// notifications come too, and the `stream` array events carry.
async fn subscription(
    state: &Node,
    caller: Option<&Caller>,
    stream: &str,
    list: Option<&str>,
    tag: Option<&str>,
) -> Result<(Posts, bool, Vec<String>), MastodonError> {
    let signed_in =
        || caller.ok_or_else(|| MastodonError::unauthorized("this stream needs an access token"));
    let name = vec![stream.to_string()];
    Ok(match stream {
        "user" => {
            signed_in()?;
            (Posts::Home, true, name)
        }
        "user:notification" => {
            signed_in()?;
            (Posts::None, true, name)
        }
        "public" => (
            Posts::Public {
                local: true,
                remote: true,
            },
            false,
            name,
        ),
        "public:local" => (
            Posts::Public {
                local: true,
                remote: false,
            },
            false,
            name,
        ),
        "public:remote" => (
            Posts::Public {
                local: false,
                remote: true,
            },
            false,
            name,
        ),
        "list" => {
            let list = super::lists::owned(state, signed_in()?, list.unwrap_or_default()).await?;
            (
                Posts::List(list.id),
                false,
                vec!["list".into(), list.id.to_string()],
            )
        }
        "hashtag" | "hashtag:local" => {
            let tag = timelines::tag_name(tag.unwrap_or_default())?;
            let local = stream == "hashtag:local";
            (
                Posts::Tag {
                    tag: tag.clone(),
                    local,
                },
                false,
                vec![stream.to_string(), tag],
            )
        }
        other => {
            return Err(MastodonError::bad_request(format!(
                "unknown stream {other:?}: this node streams user, user:notification, public, \
                 public:local, public:remote, hashtag, hashtag:local and list"
            )))
        }
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SocketQuery {
    access_token: Option<String>,
    stream: Option<String>,
    list: Option<String>,
    tag: Option<String>,
}

/// `GET /api/v1/streaming` upgraded to a WebSocket: the token comes in the `Authorization`
/// header, the `access_token` parameter or the `Sec-WebSocket-Protocol` header; `stream=…`
/// subscribes at once, and `{"type": "subscribe" | "unsubscribe", "stream": …, "list": …}`
/// messages change the subscriptions. Events are `{"stream": […], "event", "payload"}`.
pub async fn socket(
    State(state): State<Node>,
    headers: axum::http::HeaderMap,
    Q(q): Q<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<axum::response::Response, MastodonError> {
    let protocol = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    let token = crate::api::bearer_token(&headers)
        .ok()
        .map(str::to_string)
        .or(q.access_token.clone())
        .or(protocol.clone());
    let caller = match &token {
        Some(t) => Some(Arc::new(
            crate::api::caller_for_token(&state, t, "read").await?,
        )),
        None => None,
    };
    let mut feeds = Vec::new();
    if let Some(stream) = q.stream.as_deref().filter(|s| !s.is_empty()) {
        let (posts, notes, name) = subscription(
            &state,
            caller.as_deref(),
            stream,
            q.list.as_deref(),
            q.tag.as_deref(),
        )
        .await?;
        feeds.push((
            name,
            Feed::start(state.clone(), caller.clone(), posts, notes).await?,
        ));
    }
    let upgrade = match protocol.filter(|p| token.as_deref() == Some(p.as_str())) {
        Some(p) => upgrade.protocols([p]),
        None => upgrade,
    };
    Ok(upgrade.on_upgrade(move |socket| carry(state, caller, socket, feeds)))
}

/// Serves one WebSocket until the app closes it or the node stops.
async fn carry(
    state: Node,
    caller: Option<Arc<Caller>>,
    mut socket: WebSocket,
    mut feeds: Vec<(Vec<String>, Feed)>,
) {
    let mut stop = state.stopping.subscribe();
    let mut looked = Looked::now(&state);
    loop {
        tokio::select! {
            message = socket.recv() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let answer = change(&state, caller.as_ref(), &mut feeds, text.as_str()).await;
                if let Err(e) = answer {
                    let error = serde_json::json!({"error": e.message, "status": e.status.as_u16()});
                    if socket.send(Message::Text(error.to_string().into())).await.is_err() {
                        break;
                    }
                }
            }
            () = looked.next(&state) => {
                looked = Looked::now(&state);
                for (name, feed) in feeds.iter_mut() {
                    feed.look().await;
                    while let Some((event, payload)) = feed.pending.pop_front() {
                        let frame = serde_json::json!({"stream": name, "event": event, "payload": payload});
                        if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
            }
            _ = stop.changed() => break,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

#[derive(Deserialize)]
struct Change {
    #[serde(rename = "type")]
    kind: String,
    stream: String,
    #[serde(default)]
    list: Option<serde_json::Value>,
    #[serde(default)]
    tag: Option<String>,
}

/// A subscribe or unsubscribe message.
async fn change(
    state: &Node,
    caller: Option<&Arc<Caller>>,
    feeds: &mut Vec<(Vec<String>, Feed)>,
    text: &str,
) -> Result<(), MastodonError> {
    let change: Change = serde_json::from_str(text)
        .map_err(|e| MastodonError::bad_request(format!("malformed message: {e}")))?;
    let list = change.list.as_ref().map(|l| match l {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let (posts, notes, name) = subscription(
        state,
        caller.map(|c| c.as_ref()),
        &change.stream,
        list.as_deref(),
        change.tag.as_deref(),
    )
    .await?;
    match change.kind.as_str() {
        "subscribe" => {
            if feeds.iter().any(|(n, _)| *n == name) {
                return Ok(());
            }
            if feeds.len() >= MAX_SUBSCRIPTIONS {
                return Err(MastodonError::unprocessable(format!(
                    "a connection carries at most {MAX_SUBSCRIPTIONS} streams"
                )));
            }
            let feed = Feed::start(state.clone(), caller.cloned(), posts, notes).await?;
            feeds.push((name, feed));
        }
        "unsubscribe" => feeds.retain(|(n, _)| *n != name),
        other => {
            return Err(MastodonError::bad_request(format!(
                "unknown message type {other:?}: subscribe or unsubscribe"
            )))
        }
    }
    Ok(())
}
