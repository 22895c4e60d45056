//! Keeping replicas complete: a node that replicates a community hosted elsewhere reads the
//! community's stream (`db::stream`, served at `{community}/stream`) from the last position it
//! applied, page by page, and applies each activity exactly as if the community had just
//! delivered it (`inbound::process`). The same pass is the backfill of a node that joins (from
//! position 0: the whole history, not the newest 50 threads), the catch-up after a restart or
//! an outage (from where it stopped), and the repair after a digest mismatch (from 0 again).
//!
//! Runs in the background ([`run`]): at start, every `federation.sync_interval_minutes`, and
//! whenever [`wake`] is called (a first member accepted, a position gap seen in a live announce,
//! a member or admin asking). One community at a time, pausing `federation.sync_pause_ms`
//! between pages, so a huge community costs bounded work per second and never stalls the node.
//! The position is stored after every page, so a pass that dies resumes at the page it was on.

use crate::{
    activitypub::{activities::parse_envelope, actors::host_of},
    db::stream::{Contents, ReplicaSync, POSITION},
    node::Node,
    service::{discussions, error::Error, inbound},
};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};
use url::Url;

/// Where a replica stands, as `GET …/communities/{handle}/sync` and `roundtable community
/// sync` report it.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub community: String,
    /// Whether this node hosts the community (then `position` is the head of its stream).
    pub hosted_here: bool,
    /// The last position applied here.
    pub position: i64,
    /// The host's last position, as last read.
    pub host_position: i64,
    pub digest: String,
    pub contents: Contents,
    /// The host's digest, when it was just read.
    pub host_digest: Option<String>,
    /// Whether this node holds what the host holds (position and digest equal).
    pub in_sync: Option<bool>,
    pub pages: i64,
    pub applied: i64,
    pub skipped: i64,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

/// The head and digest a host publishes on its stream collection.
struct HostState {
    position: i64,
    digest: Option<String>,
    /// The stream holds the community's whole history (false for communities that had content
    /// before their host kept streams).
    complete: bool,
}

fn stream_url(community: &str) -> Result<Url, Error> {
    Url::parse(&format!("{community}/stream")).map_err(|_| Error::invalid("bad community id"))
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("cannot read the community's stream: {e}"))
}

async fn host_state(state: &Node, community: &str) -> Result<HostState, Error> {
    let url = stream_url(community)?;
    let doc = state.fetch(&url).await.map_err(unreadable)?;
    let position = doc[POSITION]
        .as_i64()
        .ok_or_else(|| unreadable("it carries no position"))?;
    Ok(HostState {
        position,
        digest: doc["roundtable:digest"].as_str().map(str::to_string),
        complete: doc["roundtable:complete"].as_bool().unwrap_or(false),
    })
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    pub pages: i64,
    pub applied: i64,
    pub skipped: i64,
    /// The pass started over from position 0 because the digests differed.
    pub resynced: bool,
}

/// Refuses a community this node hosts (its stream is the original) or does not know.
async fn hosted_elsewhere(state: &Node, community: &str) -> Result<(), Error> {
    let view = discussions::known(state, community)
        .await?
        .ok_or_else(|| Error::not_found("no such community"))?;
    if view.local().is_some() {
        return Err(Error::invalid(
            "the community is hosted here: its stream is the original",
        ));
    }
    Ok(())
}

/// How long after a full replay (or the start of the replica) a background pass may replay
/// the stream again: a replica that refuses some of the host's content (a domain it blocks)
/// never matches the host's digest, and must not read the whole history on every pass.
const REPLAY_EVERY_MS: i64 = 24 * 3_600_000;

/// Brings this node's replica of `community` (hosted elsewhere) up to the host's position,
/// then compares digests and, when they differ at the same position, replays the stream from
/// the start once — when asked (`repair`: a member's or the operator's request), or when the
/// last replay is older than a day. `max_pages` bounds the pass (the rest waits for the next).
pub async fn sync_community(
    state: &Node,
    community: &str,
    max_pages: Option<i64>,
    repair: bool,
) -> Result<Pass, Error> {
    hosted_elsewhere(state, community).await?;
    state.db.begin_replica_sync(community, None).await?;
    let mut pass = Pass::default();
    if let Err(e) = catch_up(state, community, max_pages, &mut pass).await {
        state.db.fail_replica_sync(community, &e.message).await?;
        return Err(e);
    }
    if max_pages.is_some_and(|m| pass.pages >= m) {
        return Ok(pass);
    }
    // Caught up: the digests must agree, else something was lost (a delivery purged, an
    // activity refused for a reason since lifted): replay everything once.
    let host = host_state(state, community).await?;
    let here = state.db.replica_sync(community).await?;
    let (digest, _) = state.db.content_digest(community).await?;
    let at_head = here.as_ref().is_some_and(|s| s.position >= host.position);
    let may_replay = repair
        || here
            .as_ref()
            .is_some_and(|s| crate::db::now_ms() - s.started_at > REPLAY_EVERY_MS);
    // Only a complete stream can repair a copy by replaying it.
    if at_head && may_replay && host.complete && host.digest.as_ref().is_some_and(|d| *d != digest)
    {
        warn!(
            community,
            "the replica's digest differs from the host's: replaying its stream"
        );
        state.db.begin_replica_sync(community, Some(0)).await?;
        pass.resynced = true;
        if let Err(e) = catch_up(state, community, None, &mut pass).await {
            state.db.fail_replica_sync(community, &e.message).await?;
            return Err(e);
        }
        let (digest, _) = state.db.content_digest(community).await?;
        let host = host_state(state, community).await?;
        if host.digest.is_some_and(|d| d != digest) {
            state
                .db
                .fail_replica_sync(community, "the digest still differs after a full replay")
                .await?;
        }
    }
    Ok(pass)
}

/// Reads and applies pages from the stored position until the host's head.
async fn catch_up(
    state: &Node,
    community: &str,
    max_pages: Option<i64>,
    pass: &mut Pass,
) -> Result<(), Error> {
    let base = stream_url(community)?;
    let community_url = Url::parse(community).map_err(|_| Error::invalid("bad community id"))?;
    let host = host_of(&community_url);
    let pause = Duration::from_millis(state.settings.federation.sync_pause_ms);
    loop {
        let mut position = state
            .db
            .replica_sync(community)
            .await?
            .map(|s| s.position)
            .unwrap_or(0);
        let mut url = base.clone();
        url.query_pairs_mut()
            .append_pair("after", &position.to_string());
        let page = state.fetch(&url).await.map_err(unreadable)?;
        state.db.count_stream_page(community).await?;
        pass.pages += 1;
        let head = page[POSITION].as_i64().unwrap_or(position);
        let items = page["orderedItems"].as_array().cloned().unwrap_or_default();
        let (mut applied, mut skipped) = (0, 0);
        for item in items {
            let Some(at) = item[POSITION].as_i64() else {
                return Err(unreadable("an item carries no position"));
            };
            if at <= position {
                continue;
            }
            match apply(state, community, &host, item).await {
                Ok(()) => applied += 1,
                Err(e) => {
                    skipped += 1;
                    info!(community, position = at, error = %e.message, "a stream item was not applied");
                }
            }
            position = at;
        }
        state
            .db
            .advance_replica_sync(community, position, head.max(position), applied, skipped)
            .await?;
        pass.applied += applied;
        pass.skipped += skipped;
        if position >= head || page["next"].is_null() || applied + skipped == 0 {
            return Ok(());
        }
        if max_pages.is_some_and(|m| pass.pages >= m) {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
    }
}

/// Applies one activity of the stream as the inbox would, once it is known to be the
/// community's own: its actor is the community, and its id is on the community's host (the
/// page came from there, over the node's signed fetch).
async fn apply(
    state: &Node,
    community: &str,
    host: &str,
    mut item: serde_json::Value,
) -> Result<(), Error> {
    if let Some(map) = item.as_object_mut() {
        map.remove(POSITION);
    }
    let env = parse_envelope(item).map_err(Error::invalid)?;
    if env.actor.as_str() != community || host_of(&env.id) != host {
        return Err(Error::forbidden(
            "a stream item that is not the community's own activity",
        ));
    }
    inbound::process(state, &env).await
}

/// This node's view of `community`'s replication.
pub async fn status(state: &Node, community: &str, ask_host: bool) -> Result<SyncStatus, Error> {
    let view = discussions::known(state, community)
        .await?
        .ok_or_else(|| Error::not_found("no such community"))?;
    let (digest, contents) = state.db.content_digest(community).await?;
    if view.local().is_some() {
        let head = state.db.stream_head(community).await?;
        return Ok(SyncStatus {
            community: community.to_string(),
            hosted_here: true,
            position: head,
            host_position: head,
            host_digest: Some(digest.clone()),
            digest,
            contents,
            in_sync: Some(true),
            pages: 0,
            applied: 0,
            skipped: 0,
            last_error: None,
            finished_at: None,
        });
    }
    let here = state.db.replica_sync(community).await?;
    let ReplicaSync {
        position,
        mut host_position,
        pages,
        applied,
        skipped,
        last_error,
        finished_at,
        ..
    } = here.unwrap_or_default();
    let mut host_digest = None;
    let mut in_sync = None;
    if ask_host {
        let host = host_state(state, community).await?;
        host_position = host.position;
        in_sync = host
            .digest
            .as_ref()
            .map(|d| *d == digest && position >= host.position);
        host_digest = host.digest;
    }
    Ok(SyncStatus {
        community: community.to_string(),
        hosted_here: false,
        position,
        host_position,
        digest,
        contents,
        host_digest,
        in_sync,
        pages,
        applied,
        skipped,
        last_error,
        finished_at,
    })
}

/// A community's live delivery was applied: when it carries its stream position, the
/// replica's place moves on (the next position) or a pass is asked for (a gap: something was
/// lost on the way, or arrives out of order).
pub async fn heard(
    state: &Node,
    env: &crate::activitypub::activities::Verified,
) -> Result<(), Error> {
    let Some(position) = env.raw.get(POSITION).and_then(serde_json::Value::as_i64) else {
        return Ok(());
    };
    let community = env.actor.as_str();
    if let Some(before) = state.db.heard_position(community, position).await? {
        if position > before + 1 {
            info!(
                community,
                position,
                kept = before,
                "a gap in the community's stream: catching up"
            );
            wake(state);
        }
    }
    Ok(())
}

/// Asks the background pass to run now.
pub fn wake(state: &Node) {
    state.sync_wakeup.notify_one();
}

/// Starts keeping a replica of `community` in step with its host's stream, when the host
/// serves one (another Roundtable node). `from_start`: read the whole stream again (a first
/// member joined: whatever was kept from an earlier membership may be gone).
pub async fn start(state: &Node, community: &str, from_start: bool) -> Result<Started, Error> {
    let Ok(host) = host_state(state, community).await else {
        return Ok(Started::NoStream);
    };
    let from = match (from_start, host.complete) {
        (true, true) => Some(0),
        (true, false) => Some(host.position),
        (false, _) => None,
    };
    state.db.begin_replica_sync(community, from).await?;
    wake(state);
    Ok(if host.complete {
        Started::Whole
    } else {
        Started::FromNow
    })
}

/// How a replica follows its community's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The host serves no stream (other software): the outbox backfill brings the recent past.
    NoStream,
    /// The stream holds the whole history: the replica reads it from the start.
    Whole,
    /// The stream began after the community's first content (its host kept none before): the
    /// outbox backfill brings the recent past, and the stream is followed from its head.
    FromNow,
}

/// Rebuilds this node's copy of `community` from nothing: its content is dropped (members
/// stay) and the whole stream is read again, now.
pub async fn rebuild(state: &Node, community: &str) -> Result<Pass, Error> {
    hosted_elsewhere(state, community).await?;
    match start(state, community, true).await? {
        Started::Whole => {}
        Started::NoStream => {
            return Err(Error::conflict(
                "the community's host serves no stream (it is not a Roundtable node)",
            ))
        }
        Started::FromNow => {
            return Err(Error::conflict(
                "the community's stream does not reach back to its beginning; a rebuild would lose its past",
            ))
        }
    }
    let dropped = state.db.drop_copy_content(community).await?;
    info!(
        community,
        dropped, "the replica's copy is rebuilt from its host's stream"
    );
    sync_community(state, community, None, true).await
}

/// The background pass: every replicated community at start and every
/// `federation.sync_interval_minutes` (0: only when woken), and whenever woken.
pub async fn run(state: Node, mut stop: watch::Receiver<bool>) {
    let minutes = state.settings.federation.sync_interval_minutes;
    // Communities replicated before this node kept stream positions: asked once per process
    // whether their host serves a stream.
    let mut probed = std::collections::HashSet::new();
    loop {
        if *stop.borrow() {
            return;
        }
        let base = state.settings.base_url();
        let tracked = match state.db.replica_syncs().await {
            Ok(rows) => rows.into_iter().map(|r| r.community).collect(),
            Err(e) => {
                warn!(error = %e, "cannot read the replicas' positions");
                std::collections::HashSet::new()
            }
        };
        match state.db.replicated_communities(&base).await {
            Ok(communities) => {
                for community in communities {
                    if *stop.borrow() {
                        return;
                    }
                    if !tracked.contains(&community)
                        && (!probed.insert(community.clone())
                            || matches!(
                                start(&state, &community, false).await,
                                Ok(Started::NoStream) | Err(_)
                            ))
                    {
                        continue;
                    }
                    match sync_community(&state, &community, None, false).await {
                        Ok(pass) if pass.applied > 0 || pass.resynced => {
                            info!(%community, pages = pass.pages, applied = pass.applied, skipped = pass.skipped, resynced = pass.resynced, "replica caught up")
                        }
                        Ok(_) => {}
                        Err(e) => warn!(%community, error = %e.message, "replica sync failed"),
                    }
                }
            }
            Err(e) => warn!(error = %e, "cannot list the replicated communities"),
        }
        let periodic = async {
            if minutes == 0 {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_secs(minutes.saturating_mul(60))).await
            }
        };
        tokio::select! {
            _ = state.sync_wakeup.notified() => {}
            _ = periodic => {}
            _ = stop.changed() => return,
        }
    }
}
