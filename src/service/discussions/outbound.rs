//! Delivery planning: who receives what a community or a member sends, signing our users' posts for remote communities, and announcing.

use super::*;

/// The deliveries a member's activity causes: the community's announces to its followers when
/// it lives here, otherwise one request to the community's inbox.
pub(super) async fn plan(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    activity: &Value,
    new_thread: Option<&str>,
) -> Result<Vec<NewJob>, Error> {
    match community.local() {
        Some((group, _)) => {
            announce_jobs(state, group, &community.ap_id, activity, new_thread).await
        }
        None => {
            let remote = community.remote().ok_or_else(Error::internal)?;
            let inbox = Url::parse(&remote.inbox)
                .map_err(|_| Error::invalid("the community has no valid inbox"))?;
            let mut activity = activity.clone();
            privacy::address(&mut activity, community);
            sign_own_object(state, member, &mut activity)?;
            Ok(delivery::jobs_for(state, &member.actor, &activity, [inbox]))
        }
    }
}

/// Adds the author's integrity proof to the post a member's `Create`/`Update` carries, once
/// it is addressed as it will travel, so the community can relay it and every replica can
/// check it without fetching it from here.
pub(super) fn sign_own_object(
    state: &Node,
    member: &Member,
    activity: &mut Value,
) -> Result<(), Error> {
    let key = delivery::signing_key(state, &member.actor).map_err(|e| {
        warn!(error = %e, "cannot sign a post");
        Error::internal()
    })?;
    proof::sign_authored_post(
        activity,
        member.ap_id(state).as_str(),
        &key.key_id,
        &key.private_key,
        &objects::rfc3339(now_ms()),
    )
    .map_err(|e| {
        warn!(error = %e, "cannot sign a post");
        Error::internal()
    })
}

/// Whether `doc` carries a valid integrity proof by `author`'s own key. Anything else (no
/// proof, another suite, a key of someone else, a signature that fails) is false.
pub(super) async fn proven_by(state: &Node, doc: &Value, author: &Url) -> Result<bool, Error> {
    let Some(method) = proof::verification_method(doc).and_then(|m| Url::parse(m).ok()) else {
        return Ok(false);
    };
    if !crate::activitypub::signatures::key_owned_by(&method, author) {
        return Ok(false);
    }
    for refresh in [false, true] {
        if refresh && !state.may_refresh_key(&host_of(author)).await? {
            return Ok(false);
        }
        let Ok(actor) = remote::actor(state, author, refresh).await else {
            return Ok(false);
        };
        let verified = actor.key_id == method.as_str()
            && state
                .public_key(&actor.public_key_pem)
                .is_ok_and(|key| proof::verify(doc, &key).is_ok());
        if verified {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The signed document to keep with a post received from its author: the object itself when
/// its proof is the author's; a proof that does not verify is refused.
pub(super) async fn signed_object(
    state: &Node,
    doc: &Value,
    author: &Url,
) -> Result<Option<String>, Error> {
    if !proof::has_proof(doc) {
        return Ok(None);
    }
    if proven_by(state, doc, author).await? {
        Ok(Some(doc.to_string()))
    } else {
        Err(Error::invalid(
            "the object's integrity proof does not verify with its author's key",
        ))
    }
}

/// A member's activity whose effect is already stored: queued as [`plan`] says.
pub(super) async fn distribute(
    state: &Node,
    member: &Member,
    community: &CommunityView,
    activity: Value,
    new_thread: Option<&str>,
) -> Result<(), Error> {
    let jobs = plan(state, member, community, &activity, new_thread).await?;
    enqueue(state, jobs).await
}

pub(super) async fn enqueue(state: &Node, jobs: Vec<NewJob>) -> Result<(), Error> {
    if !jobs.is_empty() {
        state.db.enqueue(jobs).await?.wake(&state.delivery_wakeup);
    }
    Ok(())
}

pub(super) async fn send_to_community(
    state: &Node,
    sender: &LocalActor,
    community: &CommunityView,
    activity: &Value,
) -> Result<(), Error> {
    let remote = community.remote().ok_or_else(Error::internal)?;
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| Error::invalid("the community has no valid inbox"))?;
    delivery::send(state, sender, activity, [inbox]).await?;
    Ok(())
}

/// The community's `Announce` of `activity` to every follower inbox. A new thread is also
/// announced as a plain `Announce` of its id, which is what Mastodon followers show.
pub(super) async fn announce_jobs(
    state: &Node,
    group: &LocalActor,
    community: &str,
    activity: &Value,
    new_thread: Option<&str>,
) -> Result<Vec<NewJob>, Error> {
    let base = state.settings.base_url();
    let mut activities = vec![objects::announce(&base, community, activity.clone())];
    if let Some(thread) = new_thread {
        activities.push(objects::announce(&base, community, json!(thread)));
    }
    broadcast_jobs(state, group, community, activities, Vec::new()).await
}

/// The jobs that deliver `activities`, in order, from a local community to its followers and
/// to `extra` inboxes: only to nodes that may receive its content, addressed as its visibility
/// says (see [`privacy`]). Each activity's entry in the community's stream comes first, even
/// without a follower (`db::stream`): what a node that joins later, or was away, reads back.
/// The plain `Announce` of an id that Mastodon followers need is left out of the stream: the
/// activity it repeats is there.
pub(crate) async fn broadcast_jobs(
    state: &Node,
    group: &LocalActor,
    community: &str,
    activities: Vec<Value>,
    extra: Vec<Url>,
) -> Result<Vec<NewJob>, Error> {
    let view = privacy::community_of(state, community).await?;
    let mut activities = activities;
    for activity in &mut activities {
        privacy::address(activity, &view);
    }
    let mut jobs: Vec<NewJob> = activities
        .iter()
        .filter(|a| !(a["type"] == "Announce" && a["object"].is_string()))
        .map(|a| crate::db::stream::stream_entry(community, a))
        .collect();
    let mut inboxes = follower_urls(state, community).await?;
    for url in extra {
        if !inboxes.contains(&url) {
            inboxes.push(url);
        }
    }
    let inboxes = privacy::receiving_inboxes(state, &view, inboxes).await?;
    for activity in &activities {
        jobs.extend(delivery::jobs_for(state, group, activity, inboxes.clone()));
    }
    Ok(jobs)
}

pub(super) async fn announce(
    state: &Node,
    group: &LocalActor,
    community: &str,
    activity: Value,
    new_thread: Option<&str>,
) -> Result<(), Error> {
    let jobs = announce_jobs(state, group, community, &activity, new_thread).await?;
    enqueue(state, jobs).await
}

/// Where a community delivers: its accepted remote members' inboxes, one per shared inbox.
pub(super) async fn follower_urls(state: &Node, community: &str) -> Result<Vec<Url>, Error> {
    Ok(state
        .db
        .follower_inboxes(community)
        .await?
        .iter()
        .filter_map(|i| Url::parse(i).ok())
        .collect())
}
