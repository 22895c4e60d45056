//! Backfilling a new replica from the community's outbox.

use super::*;
use crate::activitypub::collections::Collection;

/// Reads a remote community's outbox (newest first, paged) and stores up to
/// [`BACKFILL_LIMIT`] recent threads, oldest first.
pub async fn backfill(state: &Node, community: &CommunityView) -> Result<usize, Error> {
    let outbox = community
        .remote()
        .and_then(|r| r.outbox.clone())
        .ok_or_else(|| Error::invalid("the community has no outbox"))?;
    let outbox = Url::parse(&outbox).map_err(|_| Error::invalid("bad outbox URL"))?;
    let community_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    if host_of(&outbox) != community_host {
        return Err(Error::forbidden("the outbox is on another host"));
    }
    let fetch = |url: Url| async move {
        state
            .fetch(&url)
            .await
            .map_err(|e| Error::invalid(format!("cannot read the outbox: {e}")))
    };
    let collection = Collection::parse(&fetch(outbox.clone()).await?);
    let items = remote::collection_items(state, &collection, &community_host, BACKFILL_LIMIT, 10)
        .await
        .map_err(|e| Error::invalid(format!("cannot read the outbox: {e}")))?;
    let mut stored = 0;
    for item in items.iter().rev() {
        let Object::Activity(announce) = Object::parse(item) else {
            continue;
        };
        if announce.kind != ActivityKind::Announce
            || announce.actor.as_ref().map(Url::as_str) != Some(community.ap_id.as_str())
            || matches!(announce.object, Object::Absent)
        {
            continue;
        }
        match apply_announced(state, community, &announce.object).await {
            Ok(()) => stored += 1,
            Err(e) => warn!(error = %e.message, "a backfilled item was skipped"),
        }
    }
    Ok(stored)
}
