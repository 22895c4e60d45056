//! A replica applies what a followed community relays (and the answers to its memberships).

use super::*;

pub(super) async fn post_in(
    state: &Node,
    community: &CommunityView,
    id: Option<Url>,
) -> Result<Post, Error> {
    let id = id.ok_or_else(|| Error::invalid("the activity names no object"))?;
    let post = state
        .db
        .post_by_ap_id(id.as_str())
        .await?
        .ok_or_else(|| Error::not_found("no such post"))?;
    if post.community != community.ap_id {
        return Err(Error::forbidden("the post is not in this community"));
    }
    Ok(post)
}

pub(super) async fn apply_update(
    state: &Node,
    existing: &Post,
    incoming: &IncomingPost,
    signed_object: Option<String>,
    jobs: Vec<NewJob>,
) -> Result<(), Error> {
    if existing.deleted {
        return Ok(());
    }
    let title = if existing.thread_id.is_none() {
        incoming.title.clone().or(existing.title.clone())
    } else {
        None
    };
    state
        .db
        .change_post_and_enqueue(
            existing.id,
            PostChange::Content {
                title,
                content: incoming.content.clone(),
                source: incoming.source.clone(),
                summary: incoming.summary.clone(),
                updated: incoming.updated.unwrap_or_else(now_ms),
                signed_object,
            },
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// Stores a post received for `community`, finding (or fetching) its parent first.
/// Returns the post and whether it is new.
pub(super) async fn store_incoming(
    state: &Node,
    community: &CommunityView,
    incoming: &IncomingPost,
    signed_object: Option<String>,
    depth: usize,
    jobs: Vec<NewJob>,
) -> Result<(Post, bool), Error> {
    if let Some(existing) = state.db.post_by_ap_id(incoming.ap_id.as_str()).await? {
        return Ok((existing, false));
    }
    remember_author(state, &incoming.author).await?;
    let (thread_id, parent_id) = match &incoming.in_reply_to {
        None => {
            if !incoming
                .addressed
                .iter()
                .any(|u| u.as_str() == community.ap_id)
            {
                return Err(Error::invalid(
                    "the thread is not addressed to the community",
                ));
            }
            (None, None)
        }
        Some(parent_url) => {
            let parent = match state.db.post_by_ap_id(parent_url.as_str()).await? {
                Some(p) => p,
                None if depth < MAX_PARENT_DEPTH => {
                    fetch_post(state, community, parent_url, depth + 1).await?
                }
                None => return Err(Error::invalid("the reply chain is too deep")),
            };
            if parent.community != community.ap_id {
                return Err(Error::forbidden("the parent is in another community"));
            }
            let thread_id = parent.thread_id.unwrap_or(parent.id);
            let thread = state
                .db
                .post(thread_id)
                .await?
                .ok_or_else(|| Error::not_found("the thread is gone"))?;
            if community.local().is_some() {
                check_open(&thread)?;
            }
            let parent_id = parent.thread_id.map(|_| parent.id);
            (Some(thread_id), parent_id)
        }
    };
    let title = match thread_id {
        None => Some(
            incoming
                .title
                .clone()
                .unwrap_or_else(|| objects::title_from_content(&incoming.content)),
        ),
        Some(_) => None,
    };
    Ok(state
        .db
        .insert_post_and_enqueue(
            NewPost {
                ap_id: incoming.ap_id.to_string(),
                community: community.ap_id.clone(),
                author: incoming.author.to_string(),
                thread_id,
                parent_id,
                title,
                content: incoming.content.clone(),
                source: incoming.source.clone(),
                summary: incoming.summary.clone(),
                published: incoming.published,
                updated: incoming.updated,
                local: false,
                signed_object,
                mentions: mentions::in_tags(state, community, &incoming.mentions).await?,
                attachments: crate::service::media::remote(state, &incoming.attachments),
            },
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup))
}

/// Makes sure the node knows the author of a post from another server (its name and picture,
/// for the apps that show the post), fetching it once through the node's signed client. An
/// author who cannot be fetched does not stop the post: it is shown under its id.
async fn remember_author(state: &Node, author: &Url) -> Result<(), Error> {
    let ours = host_of(author).eq_ignore_ascii_case(&state.settings.instance.domain);
    if ours || state.db.remote_actor(author.as_str()).await?.is_some() {
        return Ok(());
    }
    if let Err(e) = crate::service::remote::actor(state, author, false).await {
        tracing::info!(author = %author, error = %e, "the author of a relayed post could not be fetched");
    }
    Ok(())
}

/// Fetches a post from its origin and stores it for `community`.
pub(super) async fn fetch_post(
    state: &Node,
    community: &CommunityView,
    url: &Url,
    depth: usize,
) -> Result<Post, Error> {
    let incoming = fetch_incoming(state, url).await?;
    Ok(Box::pin(store_incoming(
        state,
        community,
        &incoming,
        None,
        depth,
        Vec::new(),
    ))
    .await?
    .0)
}

/// An object fetched from its origin.
pub(super) async fn fetch_doc(state: &Node, url: &Url) -> Result<Object, Error> {
    state
        .fetch(url)
        .await
        .map(|doc| Object::parse(&doc))
        .map_err(|e| Error::invalid(format!("cannot fetch {url} from its origin: {e}")))
}

pub(super) async fn fetch_incoming(state: &Node, url: &Url) -> Result<IncomingPost, Error> {
    post_of(&fetch_doc(state, url).await?)
}

/// The thread or reply an object is.
pub(super) fn post_of(object: &Object) -> Result<IncomingPost, Error> {
    match object {
        Object::Document(doc) => doc.post().map_err(Error::invalid),
        other => Err(not_a_post(other)),
    }
}

/// Why an object that is no document is not a thread or a reply.
pub(super) fn not_a_post(object: &Object) -> Error {
    let kind = object.activity().map_or("", |a| a.kind.name());
    Error::invalid(format!("a {kind:?} is not a thread or a reply"))
}

/// A follower node receives what a remote community announces.
pub(crate) async fn receive_announce(state: &Node, env: &Verified) -> Result<(), Error> {
    let Some(community) = known(state, env.actor.as_str()).await? else {
        info!(actor = %env.actor, "announce from an actor that is not a known community ignored");
        return Ok(());
    };
    if community.local().is_some() {
        return Ok(());
    }
    // Only a community that someone here belongs to (an accepted membership; a pending request
    // is not enough) is replicated.
    if state.db.local_member_count(&community.ap_id).await? == 0 {
        info!(community = %community.ap_id, "announce from a community nobody here belongs to ignored");
        return Ok(());
    }
    if matches!(env.object(), Object::Absent) {
        return Err(Error::invalid("Announce without an object"));
    }
    apply_announced(state, &community, env.object()).await
}

/// Applies one thing a remote community announced (also used for backfill): an object it
/// boosts, or an activity it relays.
pub(super) async fn apply_announced(
    state: &Node,
    community: &CommunityView,
    inner: &Object,
) -> Result<(), Error> {
    match inner {
        Object::Activity(activity) => apply_relayed(state, community, activity).await,
        Object::Link(url) => announced_object(state, community, url).await,
        Object::Document(doc) if doc.kind.is_post() => match &doc.id {
            Some(url) => announced_object(state, community, url).await,
            None => Err(Error::invalid("the announced activity has no actor")),
        },
        Object::Document(doc) if doc.actor.is_some() => {
            info!("announced object of an unhandled kind ignored");
            Ok(())
        }
        _ => Err(Error::invalid("the announced activity has no actor")),
    }
}

/// A plain announce of an object (by id, or embedded): fetched from its origin unless known.
async fn announced_object(state: &Node, community: &CommunityView, url: &Url) -> Result<(), Error> {
    if !state.db.federates_with(&host_of(url)).await? {
        info!(from = %host_of(url), "announced content from a refused domain dropped");
        return Ok(());
    }
    if host_of(url).eq_ignore_ascii_case(&state.settings.instance.domain) {
        // This node's own content: nothing to learn from a relay.
        return Ok(());
    }
    if state.db.post_by_ap_id(url.as_str()).await?.is_some()
        || state.db.article_by_ap_id(url.as_str()).await?.is_some()
        || state.db.event_by_ap_id(url.as_str()).await?.is_some()
    {
        return Ok(());
    }
    let doc = fetch_doc(state, url).await?;
    match doc.document() {
        // Events arrive as the community's Create/Update(Event); this boost is for Mastodon.
        Some(d) if d.kind == DocumentKind::Event => Ok(()),
        // A knowledge article of this community (announced for Mastodon's sake).
        Some(d) if d.kind == DocumentKind::Article && articles::is_revision(d) => {
            articles::store_replica_revision(state, community, d, 0).await
        }
        _ => {
            let incoming = post_of(&doc)?;
            store_incoming(state, community, &incoming, None, 0, Vec::new()).await?;
            Ok(())
        }
    }
}

/// An activity a remote community relays (or a moderator's, applied at the community's node
/// with the same rules).
pub(super) async fn apply_relayed(
    state: &Node,
    community: &CommunityView,
    inner: &Activity,
) -> Result<(), Error> {
    let community_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    let actor = inner
        .actor
        .clone()
        .ok_or_else(|| Error::invalid("the announced activity has no actor"))?;
    // Content from a domain this node does not federate with is dropped, even when an allowed
    // community relays it.
    for url in [Some(&actor), inner.object.id()].into_iter().flatten() {
        if !state.db.federates_with(&host_of(url)).await? {
            info!(from = %host_of(url), "announced content from a refused domain dropped");
            return Ok(());
        }
    }
    if state.db.suspension(actor.as_str()).await?.is_some() {
        info!(%actor, "announced activity of a suspended actor dropped");
        return Ok(());
    }
    let same_host = host_of(&actor) == community_host;
    let object = &inner.object;
    let at = Relayed {
        state,
        community,
        inner,
        actor,
        same_host,
    };
    use ActivityKind::*;
    match inner.kind {
        Update if is_this_community(object, community) => {
            let url =
                Url::parse(&community.ap_id).map_err(|_| Error::invalid("bad community id"))?;
            remote::actor(state, &url, true)
                .await
                .map_err(|e| Error::invalid(format!("cannot refresh the community: {e}")))?;
            Ok(())
        }
        Update
            if object
                .document()
                .is_some_and(|d| objects::answer_mark(&d.raw).is_some()) =>
        {
            let doc = object.document().ok_or_else(Error::internal)?;
            answers::relayed_answer(state, community, doc).await
        }
        Create | Update => relayed_post(&at).await,
        Delete => relayed_delete(&at).await,
        Like => relayed_like(&at).await,
        Lock => set_flag(state, community, object.id().cloned(), Some(true), None).await,
        Add | Remove => relayed_add_remove(&at).await,
        Block => relayed_block(&at).await,
        Undo => relayed_undo(&at).await,
        other => {
            info!(
                kind = other.name(),
                "announced activity of an unhandled kind ignored"
            );
            Ok(())
        }
    }
}

/// Whether `object` is the community's own `Group` (an `Update` of its profile).
fn is_this_community(object: &Object, community: &CommunityView) -> bool {
    object.is_document(DocumentKind::Group)
        && object.id().map(|u| u.as_str()) == Some(community.ap_id.as_str())
}

/// An activity a remote community relays, with its checked actor.
struct Relayed<'a> {
    state: &'a Node,
    community: &'a CommunityView,
    inner: &'a Activity,
    actor: Url,
    /// Whether the actor is on the community's own host.
    same_host: bool,
}

/// A new or edited post the community relays: trusted as embedded only from the community's host or with its author's proof, otherwise fetched from its origin.
async fn relayed_post(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let actor = &at.actor;
    let object = &at.inner.object;
    let same_host = at.same_host;
    let object_id = object
        .id()
        .cloned()
        .ok_or_else(|| Error::invalid("the announced activity has no object"))?;
    // This node knows its own posts: a relayed copy of one changes nothing, and nothing
    // from outside may claim an id on this node's domain.
    let ours = &state.settings.instance.domain;
    if host_of(&object_id).eq_ignore_ascii_case(ours) || host_of(actor).eq_ignore_ascii_case(ours) {
        if state
            .db
            .post_by_ap_id(object_id.as_str())
            .await?
            .is_some_and(|p| p.local)
        {
            return Ok(());
        }
        return Err(Error::forbidden(
            "ids on this node's domain are not taken from other nodes",
        ));
    }
    // An embedded object is taken on the community's word only when the community's
    // own host wrote it, or when it carries its author's integrity proof; anything else
    // is fetched from its origin (which, for a confidential community, serves it to the
    // community's node alone, so an unproven relay goes nowhere).
    let incoming = match object {
        Object::Document(doc) if same_host => doc.post().map_err(Error::invalid)?,
        Object::Document(doc) => {
            let parsed = doc.post().map_err(Error::invalid)?;
            if parsed.ap_id == object_id && proven_by(state, &doc.raw, &parsed.author).await? {
                parsed
            } else {
                fetch_incoming(state, &object_id).await?
            }
        }
        Object::Activity(_) => post_of(object)?,
        _ => fetch_incoming(state, &object_id).await?,
    };
    if incoming.author != *actor {
        return Err(Error::forbidden(
            "the announced object is not its actor's own",
        ));
    }
    match state.db.post_by_ap_id(incoming.ap_id.as_str()).await? {
        // A relayed change never replaces a post written here.
        Some(existing) if existing.local => Ok(()),
        Some(existing) => {
            if existing.author != incoming.author.as_str() || existing.community != community.ap_id
            {
                return Err(Error::forbidden("that post belongs elsewhere"));
            }
            apply_update(state, &existing, &incoming, None, Vec::new()).await
        }
        None => store_incoming(state, community, &incoming, None, 0, Vec::new())
            .await
            .map(|_| ()),
    }
}

/// A post deleted by its author or removed by a moderator, as the community relays it.
async fn relayed_delete(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let inner = at.inner;
    let actor = &at.actor;
    let Some(post) = announced_post(state, community, inner.object.id().cloned()).await? else {
        return Ok(());
    };
    if post.author == actor.as_str() {
        state.db.mark_post_deleted(post.id).await?;
    } else {
        let reason = inner
            .summary
            .as_deref()
            .map(markdown::plain_text)
            .unwrap_or_else(|| "removed by a moderator".into());
        state.db.set_post_removed(post.id, Some(reason)).await?;
    }
    Ok(())
}

/// A like the community relays.
async fn relayed_like(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let inner = at.inner;
    let actor = &at.actor;
    if let Some(post) = announced_post(state, community, inner.object.id().cloned()).await? {
        let id = inner.id.as_ref().map(|u| u.to_string()).unwrap_or_default();
        state.db.add_like(post.id, actor.as_str(), &id).await?;
    }
    Ok(())
}

/// A moderator added or removed, or a post pinned or unpinned.
async fn relayed_add_remove(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let inner = at.inner;
    let object = inner.object.id().cloned();
    let adding = inner.kind == ActivityKind::Add;
    let target = inner
        .target
        .as_ref()
        .map(|t| t.to_string())
        .unwrap_or_default();
    if target == format!("{}/moderators", community.ap_id) {
        if let Some(who) = object {
            let role = if adding {
                Role::Moderator
            } else {
                Role::Member
            };
            state
                .db
                .set_membership_role(&community.ap_id, who.as_str(), role, None)
                .await?;
        }
        Ok(())
    } else {
        set_flag(state, community, object, None, Some(adding)).await
    }
}

/// A ban the community relays; in a confidential community it ends the banned local user's membership and may end the copy.
async fn relayed_block(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let inner = at.inner;
    if let Some(target) = inner.object.id() {
        let reason = inner.summary.as_deref().map(markdown::plain_text);
        let expires = inner.end_time;
        state
            .db
            .ban(&community.ap_id, target.as_str(), reason, expires)
            .await?;
        // A ban ends a membership of a confidential community here too.
        if community.local().is_none() && !privacy::is_public(community) {
            if let Some(m) = state
                .db
                .membership(&community.ap_id, target.as_str())
                .await?
            {
                if m.user_id.is_some() {
                    state
                        .db
                        .set_membership_state(
                            &community.ap_id,
                            target.as_str(),
                            MemberState::Rejected,
                        )
                        .await?;
                }
            }
            drop_copy_if_unread(state, community).await?;
        }
    }
    Ok(())
}

/// An undone like, lock or ban the community relays.
async fn relayed_undo(at: &Relayed<'_>) -> Result<(), Error> {
    let state = at.state;
    let community = at.community;
    let actor = &at.actor;
    let Some(undone) = at.inner.object.activity() else {
        return match at.inner.object {
            Object::Absent => Err(Error::invalid("Undo without an object")),
            _ => Ok(()),
        };
    };
    let target = undone.object.id().cloned();
    match undone.kind {
        ActivityKind::Like => {
            if let Some(post) = announced_post(state, community, target).await? {
                state.db.remove_like(post.id, actor.as_str()).await?;
            }
            Ok(())
        }
        ActivityKind::Lock => set_flag(state, community, target, Some(false), None).await,
        ActivityKind::Block => {
            if let Some(target) = target {
                state.db.unban(&community.ap_id, target.as_str()).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(super) async fn announced_post(
    state: &Node,
    community: &CommunityView,
    id: Option<Url>,
) -> Result<Option<Post>, Error> {
    let Some(id) = id else { return Ok(None) };
    Ok(state
        .db
        .post_by_ap_id(id.as_str())
        .await?
        .filter(|p| p.community == community.ap_id))
}

pub(super) async fn set_flag(
    state: &Node,
    community: &CommunityView,
    id: Option<Url>,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<(), Error> {
    if let Some(post) = announced_post(state, community, id).await? {
        state.db.set_post_flags(post.id, locked, pinned).await?;
    }
    Ok(())
}

/// A remote community answered one of our members' `Follow`.
pub(crate) async fn receive_follow_answer(state: &Node, env: &Verified) -> Result<(), Error> {
    let Some(follow_id) = env.object().id().cloned() else {
        return Err(Error::invalid("the answer names no Follow"));
    };
    let Some(membership) = state.db.membership_by_follow(follow_id.as_str()).await? else {
        info!(follow = %follow_id, "answer to an unknown follow ignored");
        return Ok(());
    };
    if membership.community != env.actor.as_str() {
        return Err(Error::forbidden("only the followed community can answer"));
    }
    if env.kind == ActivityKind::Reject {
        // A refused request, or the end of a membership (after a ban in a confidential
        // community).
        state
            .db
            .set_membership_state(
                &membership.community,
                &membership.actor,
                MemberState::Rejected,
            )
            .await?;
        if membership.state == MemberState::Accepted {
            if let Some(community) = known(state, &membership.community).await? {
                drop_copy_if_unread(state, &community).await?;
            }
        }
        return Ok(());
    }
    let first = state.db.local_member_count(&membership.community).await? == 0;
    state
        .db
        .set_membership_state(
            &membership.community,
            &membership.actor,
            MemberState::Accepted,
        )
        .await?;
    info!(community = %membership.community, member = %membership.actor, "membership accepted");
    if first {
        if let Some(community) = known(state, &membership.community).await? {
            let state = state.clone();
            tokio::spawn(async move {
                // Another Roundtable node serves the community's whole stream: the replication
                // pass reads it from the start. Other software's communities: the outbox.
                use crate::service::replication::{start, Started};
                match start(&state, &community.ap_id, true).await {
                    Ok(Started::Whole) => return,
                    Ok(Started::NoStream | Started::FromNow) => {}
                    Err(e) => {
                        warn!(community = %community.ap_id, error = %e.message, "cannot start the replica's sync")
                    }
                }
                match backfill(&state, &community).await {
                    Ok(n) => info!(community = %community.ap_id, threads = n, "backfilled"),
                    Err(e) => {
                        warn!(community = %community.ap_id, error = %e.message, "backfill failed")
                    }
                }
                match articles::backfill(&state, &community).await {
                    Ok(n) => {
                        info!(community = %community.ap_id, articles = n, "articles backfilled")
                    }
                    Err(e) => {
                        warn!(community = %community.ap_id, error = %e.message, "article backfill failed")
                    }
                }
            });
        }
    }
    Ok(())
}
