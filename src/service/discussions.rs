//! Communities and discussions: the use cases behind the native API (and, later, the Mastodon
//! API and the web UI), and what the inbox does with community activities.
//!
//! FEP-1b12: a community's node orders every change. Members' activities go to the community's
//! inbox; the community checks them and `Announce`s them unchanged to every follower inbox.
//! Replicas apply what the community announces; content authored on a third host is re-fetched
//! from its origin before it is stored, while moderation (deletes by moderators, locks, pins,
//! bans, likes) is taken on the community's word, since it is the authority over its own space.

use crate::{
    app::AppState,
    db::{
        discussions::{
            CommunityProfile, Membership, NewMembership, NewPost, Post, PostChange, Write,
        },
        now_ms,
        queue::NewJob,
        Community, LocalActor, RemoteActor, User,
    },
    domain::{ActorKind, Name},
    error::ApiError,
    federation::{
        activities::Envelope,
        actors::host_of,
        delivery,
        objects::{self, id_of, parse_post, IncomingPost, PostContext},
        proof,
    },
    markdown,
    service::{
        access::{self, Moderation},
        accounts, articles, events, privacy, remote,
    },
};
use serde_json::{json, Value};
use tracing::{info, warn};
use url::Url;

/// Longest markdown body accepted from a local member, in bytes.
const MAX_BODY: usize = 100 * 1024;
/// How many threads a node backfills when it starts replicating a community.
const BACKFILL_LIMIT: usize = 50;
/// How deep a chain of unknown parents is fetched.
const MAX_PARENT_DEPTH: usize = 8;

/// A community as this node sees it: hosted here, or replicated from another node.
#[derive(Clone, Debug)]
pub struct CommunityView {
    pub ap_id: String,
    pub slug: String,
    pub domain: String,
    pub title: String,
    pub summary: String,
    pub charter: String,
    pub visibility: String,
    pub icon_url: Option<String>,
    pub banner_url: Option<String>,
    pub local: Option<(LocalActor, Community)>,
    pub remote: Option<RemoteActor>,
}

impl CommunityView {
    pub fn handle(&self) -> String {
        format!("{}@{}", self.slug, self.domain)
    }

    pub fn mention(&self) -> String {
        format!("@{}@{}", self.slug, self.domain)
    }
}

/// The acting local user.
#[derive(Clone, Debug)]
pub struct Member {
    pub actor: LocalActor,
    pub user: User,
}

pub fn user_ap_id(state: &AppState, name: &str) -> String {
    format!("{}/u/{name}", state.settings.base_url())
}

pub fn community_ap_id(state: &AppState, name: &str) -> String {
    format!("{}/c/{name}", state.settings.base_url())
}

impl Member {
    pub fn ap_id(&self, state: &AppState) -> String {
        user_ap_id(state, &self.actor.name)
    }
}

fn local_view(state: &AppState, actor: LocalActor, community: Community) -> CommunityView {
    CommunityView {
        ap_id: community_ap_id(state, &actor.name),
        slug: actor.name.clone(),
        domain: state.settings.instance.domain.clone(),
        title: actor.display_name.clone(),
        summary: actor.summary.clone(),
        charter: community.charter.clone(),
        visibility: community.visibility.clone(),
        icon_url: actor.icon_url.clone(),
        banner_url: community.banner_url.clone(),
        local: Some((actor, community)),
        remote: None,
    }
}

fn remote_view(actor: RemoteActor) -> CommunityView {
    CommunityView {
        ap_id: actor.ap_id.clone(),
        slug: actor.preferred_username.clone(),
        domain: actor.host.clone(),
        title: actor
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| actor.preferred_username.clone()),
        summary: actor.summary.clone().unwrap_or_default(),
        charter: String::new(),
        visibility: actor.visibility.clone().unwrap_or_else(|| "public".into()),
        icon_url: actor.icon_url.clone(),
        banner_url: None,
        local: None,
        remote: Some(actor),
    }
}

/// A local community by slug.
pub async fn local_community(state: &AppState, slug: &str) -> Result<CommunityView, ApiError> {
    let (actor, community) = state
        .db
        .local_community(&slug.to_lowercase())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no community {slug:?} on this node")))?;
    Ok(local_view(state, actor, community))
}

/// Finds a community by `slug`, `slug@domain`, `@slug@domain` or actor URL, resolving remote
/// ones by WebFinger and fetching their `Group`.
pub async fn resolve(state: &AppState, handle: &str) -> Result<CommunityView, ApiError> {
    refuse_control_characters(handle)?;
    let handle = handle.trim();
    if handle.starts_with("https://") || handle.starts_with("http://") {
        let url = Url::parse(handle).map_err(|_| ApiError::bad_request("not a URL"))?;
        return by_url(state, &url)
            .await?
            .ok_or_else(|| ApiError::not_found("no community at that URL"));
    }
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let (slug, domain) = match handle.split_once('@') {
        Some((slug, domain)) => (slug, Some(domain)),
        None => (handle, None),
    };
    let ours = &state.settings.instance.domain;
    match domain {
        None => local_community(state, slug).await,
        Some(d) if d.eq_ignore_ascii_case(ours) => local_community(state, slug).await,
        Some(domain) => {
            if slug.is_empty() || domain.contains('/') || state.db.policy_key(domain).is_none() {
                return Err(ApiError::bad_request("expected a handle like slug@domain"));
            }
            if !state.db.federates_with(domain).await? {
                return Err(ApiError::forbidden(format!(
                    "this node does not federate with {domain}"
                )));
            }
            // A community already known resolves without the network, so replicas keep
            // working while its node is down.
            if let Some(known) = state
                .db
                .remote_group(&slug.to_lowercase(), &domain.to_lowercase())
                .await?
            {
                return Ok(remote_view(known));
            }
            let url =
                state.client.webfinger(slug, domain).await.map_err(|e| {
                    ApiError::not_found(format!("cannot find {slug}@{domain}: {e}"))
                })?;
            by_url(state, &url)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("{slug}@{domain} is not a community")))
        }
    }
}

/// Handles and actor URLs never hold control characters (CR/LF would otherwise travel into
/// the headers and URLs built from them).
fn refuse_control_characters(handle: &str) -> Result<(), ApiError> {
    if handle.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "a handle cannot contain control characters",
        ));
    }
    Ok(())
}

/// The community at an actor URL, if it is one.
pub async fn by_url(state: &AppState, url: &Url) -> Result<Option<CommunityView>, ApiError> {
    if host_of(url).eq_ignore_ascii_case(&state.settings.instance.domain) {
        let Some(slug) = url.path().strip_prefix("/c/") else {
            return Ok(None);
        };
        return Ok(state
            .db
            .local_community(slug)
            .await?
            .map(|(a, c)| local_view(state, a, c)));
    }
    let actor = remote::actor(state, url, false)
        .await
        .map_err(|e| ApiError::not_found(format!("cannot fetch {url}: {e}")))?;
    if actor.kind != "Group" {
        return Ok(None);
    }
    Ok(Some(remote_view(actor)))
}

/// A community this node already knows (hosted or replicated), by ActivityPub id.
pub async fn known(state: &AppState, ap_id: &str) -> Result<Option<CommunityView>, ApiError> {
    let Ok(url) = Url::parse(ap_id) else {
        return Ok(None);
    };
    if host_of(&url).eq_ignore_ascii_case(&state.settings.instance.domain) {
        return by_url(state, &url).await;
    }
    Ok(state
        .db
        .remote_actor(ap_id)
        .await?
        .filter(|a| a.kind == "Group")
        .map(remote_view))
}

// ----- local use cases -----

pub struct NewCommunity {
    pub slug: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub charter: Option<String>,
    pub visibility: Option<String>,
}

pub async fn create_community(
    state: &AppState,
    owner: &Member,
    new: NewCommunity,
) -> Result<CommunityView, ApiError> {
    Name::parse(&new.slug).map_err(|e| ApiError::unprocessable(format!("bad slug: {e}")))?;
    if state
        .db
        .local_actor_by_name(&new.slug.to_lowercase())
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "the name {:?} is already taken",
            new.slug
        )));
    }
    let summary = new.summary.unwrap_or_default();
    let charter = new.charter.unwrap_or_default();
    if summary.chars().count() > 1000 || charter.len() > MAX_BODY {
        return Err(ApiError::unprocessable(
            "summary is at most 1000 characters and charter at most 100 KiB",
        ));
    }
    let (actor, community) = accounts::create_community(
        &state.db,
        &state.settings.base_url(),
        &new.slug,
        &owner.actor.name,
        new.title.as_deref(),
        new.visibility.as_deref().unwrap_or("public"),
    )
    .await
    .map_err(|e| match e {
        accounts::AccountError::Taken(m) => ApiError::conflict(m),
        accounts::AccountError::Invalid(m) => ApiError::unprocessable(m),
        other => ApiError::bad_request(other.to_string()),
    })?;
    state
        .db
        .set_actor_summary(actor.id, &markdown::plain_text(&summary))
        .await?;
    state
        .db
        .set_community_profile(community.id, &charter)
        .await?;
    local_community(state, &actor.name).await
}

/// Changes of a community's profile; absent fields stay as they are.
#[derive(Default)]
pub struct ProfileChange {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub charter: Option<String>,
    pub icon_url: Option<Option<String>>,
    pub banner_url: Option<Option<String>>,
    /// For `partners` communities: whether every local user may read it.
    pub local_readers: Option<bool>,
}

fn check_image_url(url: &Option<String>) -> Result<Option<String>, ApiError> {
    match url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => match Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {
                Ok(Some(parsed.to_string()))
            }
            _ => Err(ApiError::unprocessable("image URLs must be http(s) URLs")),
        },
    }
}

/// A moderator edits a community hosted here; followers get an `Update` of the `Group`.
pub async fn update_community(
    state: &AppState,
    moderator: &Member,
    community: &CommunityView,
    change: ProfileChange,
) -> Result<CommunityView, ApiError> {
    let Some((group, row)) = &community.local else {
        return Err(ApiError::forbidden("a community is edited on its own node"));
    };
    if !moderates(state, &community.ap_id, &moderator.ap_id(state)).await? {
        return Err(ApiError::forbidden("only moderators edit the community"));
    }
    let title = match change.title {
        Some(t) => check_title(&t)?,
        None => community.title.clone(),
    };
    let summary = change
        .summary
        .map(|s| markdown::plain_text(&s))
        .unwrap_or_else(|| community.summary.clone());
    if summary.chars().count() > 1000 {
        return Err(ApiError::unprocessable(
            "summary is at most 1000 characters",
        ));
    }
    let charter = change.charter.unwrap_or_else(|| community.charter.clone());
    if charter.len() > MAX_BODY {
        return Err(ApiError::unprocessable(
            "the charter is larger than 100 KiB",
        ));
    }
    let icon_url = match change.icon_url {
        Some(u) => check_image_url(&u)?,
        None => community.icon_url.clone(),
    };
    let banner_url = match change.banner_url {
        Some(u) => check_image_url(&u)?,
        None => community.banner_url.clone(),
    };
    if let Some(on) = change.local_readers {
        if on && community.visibility != "partners" {
            return Err(ApiError::unprocessable(
                "local_readers applies to partners communities only",
            ));
        }
        state.db.set_local_readers(row.id, on).await?;
        state
            .db
            .audit(
                &moderator.ap_id(state),
                "community.local_readers",
                &community.ap_id,
                Some(if on { "on" } else { "off" }),
            )
            .await?;
    }
    state
        .db
        .update_community_profile(
            group.id,
            row.id,
            CommunityProfile {
                title,
                summary,
                charter,
                icon_url,
                banner_url,
            },
        )
        .await?;
    let updated = local_community(state, &group.name).await?;
    let base = state.settings.base_url();
    let update = json!({
        "@context": objects::AS_CONTEXT,
        "id": objects::new_id(&base, "activities/update"),
        "type": "Update",
        "actor": updated.ap_id,
        "to": [objects::PUBLIC],
        "cc": [format!("{}/followers", updated.ap_id)],
        "object": {"id": updated.ap_id, "type": "Group"},
    });
    let jobs = broadcast_jobs(state, group, &updated.ap_id, vec![update], Vec::new()).await?;
    enqueue(state, jobs).await?;
    Ok(updated)
}

/// Joins a community. Local: accepted at once. Remote: a `Follow` is sent and the membership
/// stays `pending` until the community answers.
pub async fn join(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
) -> Result<Membership, ApiError> {
    let me = member.ap_id(state);
    if state
        .db
        .active_ban(&community.ap_id, &me, now_ms())
        .await?
        .is_some()
    {
        return Err(ApiError::forbidden("you are banned from this community"));
    }
    if let Some(existing) = state.db.membership(&community.ap_id, &me).await? {
        if existing.state == "accepted" {
            return Ok(existing);
        }
    }
    if community.local.is_some() {
        return Ok(state
            .db
            .upsert_membership(NewMembership {
                community: community.ap_id.clone(),
                actor: me,
                user_id: Some(member.user.id),
                role: "member",
                state: if needs_approval(community) {
                    "pending"
                } else {
                    "accepted"
                },
                follow_id: None,
                inbox: None,
            })
            .await?);
    }
    let base = state.settings.base_url();
    let follow_id = objects::new_id(&base, "activities/follow");
    let follow = json!({
        "@context": objects::AS_CONTEXT,
        "id": follow_id,
        "type": "Follow",
        "actor": me,
        "object": community.ap_id,
        "to": [community.ap_id],
    });
    let membership = state
        .db
        .upsert_membership(NewMembership {
            community: community.ap_id.clone(),
            actor: me,
            user_id: Some(member.user.id),
            role: "member",
            state: "pending",
            follow_id: Some(follow_id),
            inbox: None,
        })
        .await?;
    send_to_community(state, &member.actor, community, &follow).await?;
    Ok(membership)
}

pub async fn leave(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
) -> Result<(), ApiError> {
    let me = member.ap_id(state);
    let existing = state
        .db
        .membership(&community.ap_id, &me)
        .await?
        .ok_or_else(|| ApiError::not_found("you are not a member of this community"))?;
    if existing.role == "owner" {
        return Err(ApiError::conflict(
            "the owner cannot leave; transfer ownership first",
        ));
    }
    state.db.delete_membership(&community.ap_id, &me).await?;
    if community.local.is_none() {
        let base = state.settings.base_url();
        let follow = json!({
            "id": existing.follow_id,
            "type": "Follow",
            "actor": me,
            "object": community.ap_id,
        });
        let undo = json!({
            "@context": objects::AS_CONTEXT,
            "id": objects::new_id(&base, "activities/undo"),
            "type": "Undo",
            "actor": me,
            "object": follow,
            "to": [community.ap_id],
        });
        send_to_community(state, &member.actor, community, &undo).await?;
        // A confidential community's copy is kept for its members only: when the last one
        // here leaves, it goes.
        drop_copy_if_unread(state, community).await?;
    }
    Ok(())
}

/// Whether a local user may contribute: [`access::participant`].
pub(crate) async fn require_member(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
) -> Result<(), ApiError> {
    access::participant(state, community, &member.ap_id(state)).await
}

/// Whether joining waits for a moderator (communities visible to members only).
pub fn needs_approval(community: &CommunityView) -> bool {
    community.visibility == "members"
}

/// Whether `actor` moderates the local community `community`.
pub(crate) async fn moderates(
    state: &AppState,
    community: &str,
    actor: &str,
) -> Result<bool, ApiError> {
    access::is_moderator(state, community, actor).await
}

pub(crate) fn check_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ApiError::unprocessable("a thread needs a title"));
    }
    if title.chars().count() > objects::MAX_TITLE {
        return Err(ApiError::unprocessable("a title is at most 200 characters"));
    }
    Ok(title.to_string())
}

fn check_body(content: &str) -> Result<(), ApiError> {
    if content.trim().is_empty() {
        return Err(ApiError::unprocessable("the content is empty"));
    }
    if content.len() > MAX_BODY {
        return Err(ApiError::unprocessable(
            "the content is larger than 100 KiB",
        ));
    }
    Ok(())
}

/// The wire context of a stored post.
async fn post_context(state: &AppState, post: &Post) -> Result<(String, Option<String>), ApiError> {
    let mention = match known(state, &post.community).await? {
        Some(c) => c.mention(),
        None => String::new(),
    };
    let parent = match post.parent_id.or(post.thread_id) {
        Some(id) => state.db.post(id).await?.map(|p| p.ap_id),
        None => None,
    };
    Ok((mention, parent))
}

/// The `Page`/`Note` document of a stored post.
pub async fn post_document(state: &AppState, post: &Post) -> Result<Value, ApiError> {
    if let Some(signed) = signed_document(post) {
        return Ok(signed);
    }
    let (mention, parent) = post_context(state, post).await?;
    Ok(post_document_with(post, &mention, parent.as_deref()))
}

/// [`post_document`] with the community's mention and the parent's id already at hand, as
/// list presenters have them: no query per post.
pub fn post_document_with(post: &Post, community_mention: &str, parent: Option<&str>) -> Value {
    if let Some(signed) = signed_document(post) {
        return signed;
    }
    objects::post_json(
        post,
        &PostContext {
            community: &post.community,
            community_mention,
            in_reply_to: parent,
        },
    )
}

/// A post written elsewhere is served as its author's node signed it, so replicas can check
/// its proof.
fn signed_document(post: &Post) -> Option<Value> {
    post.signed_object
        .as_deref()
        .filter(|_| !post.deleted && post.removed_reason.is_none())
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
}

/// A post as it will be stored, for building its document before the write.
fn provisional(new: &NewPost) -> Post {
    Post {
        id: 0,
        ap_id: new.ap_id.clone(),
        community: new.community.clone(),
        author: new.author.clone(),
        thread_id: new.thread_id,
        parent_id: new.parent_id,
        title: new.title.clone(),
        content: new.content.clone(),
        source: new.source.clone(),
        summary: new.summary.clone(),
        published: new.published,
        updated: new.updated,
        deleted: false,
        removed_reason: None,
        locked: false,
        pinned: false,
        like_count: 0,
        local: new.local,
        created_at: new.published,
        signed_object: None,
    }
}

/// Stores a member's new post together with the deliveries of its `Create`.
async fn store_and_publish(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    new: NewPost,
    in_reply_to: Option<&str>,
) -> Result<Post, ApiError> {
    let draft = provisional(&new);
    let doc = objects::post_json(
        &draft,
        &PostContext {
            community: &community.ap_id,
            community_mention: &community.mention(),
            in_reply_to,
        },
    );
    let base = state.settings.base_url();
    let create = objects::activity(&base, "Create", &member.ap_id(state), doc, &community.ap_id);
    let new_thread = draft.thread_id.is_none().then_some(draft.ap_id.as_str());
    let jobs = plan(state, member, community, &create, new_thread).await?;
    let (post, _) = state.db.insert_post_and_enqueue(new, jobs).await?;
    state.delivery_wakeup.notify_waiters();
    Ok(post)
}

pub async fn create_thread(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    title: &str,
    content: &str,
) -> Result<Post, ApiError> {
    let title = check_title(title)?;
    check_body(content)?;
    require_member(state, member, community).await?;
    let html = markdown::render(content);
    let new = NewPost {
        ap_id: objects::new_id(&state.settings.base_url(), "p"),
        community: community.ap_id.clone(),
        author: member.ap_id(state),
        thread_id: None,
        parent_id: None,
        title: Some(title),
        summary: Some(markdown::excerpt(&markdown::plain_text(&html), 500)),
        content: html,
        source: Some(content.to_string()),
        published: now_ms(),
        updated: None,
        local: true,
        signed_object: None,
    };
    store_and_publish(state, member, community, new, None).await
}

pub async fn create_reply(
    state: &AppState,
    member: &Member,
    thread: &Post,
    parent: Option<&Post>,
    content: &str,
) -> Result<Post, ApiError> {
    check_body(content)?;
    let community = known(state, &thread.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the thread's community is unknown"))?;
    require_member(state, member, &community).await?;
    check_open(thread)?;
    if let Some(parent) = parent {
        if parent.thread_id != Some(thread.id) && parent.id != thread.id {
            return Err(ApiError::unprocessable("the parent is not in this thread"));
        }
        if parent.deleted || parent.removed_reason.is_some() {
            return Err(ApiError::gone("the reply you answer was removed"));
        }
    }
    let parent = parent.filter(|p| p.id != thread.id);
    let html = markdown::render(content);
    let new = NewPost {
        ap_id: objects::new_id(&state.settings.base_url(), "p"),
        community: community.ap_id.clone(),
        author: member.ap_id(state),
        thread_id: Some(thread.id),
        parent_id: parent.map(|p| p.id),
        title: None,
        summary: None,
        content: html,
        source: Some(content.to_string()),
        published: now_ms(),
        updated: None,
        local: true,
        signed_object: None,
    };
    let in_reply_to = parent.unwrap_or(thread).ap_id.clone();
    store_and_publish(state, member, &community, new, Some(&in_reply_to)).await
}

fn check_open(thread: &Post) -> Result<(), ApiError> {
    if thread.thread_id.is_some() {
        return Err(ApiError::unprocessable("that is a reply, not a thread"));
    }
    if thread.deleted || thread.removed_reason.is_some() {
        return Err(ApiError::gone("the thread was removed"));
    }
    if thread.locked {
        return Err(ApiError::forbidden("the thread is locked"));
    }
    Ok(())
}

pub async fn edit_post(
    state: &AppState,
    member: &Member,
    post: &Post,
    title: Option<&str>,
    content: Option<&str>,
) -> Result<Post, ApiError> {
    if post.author != member.ap_id(state) {
        return Err(ApiError::forbidden("only the author can edit this"));
    }
    if post.deleted || post.removed_reason.is_some() {
        return Err(ApiError::gone("this was removed"));
    }
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the community is unknown"))?;
    require_member(state, member, &community).await?;
    let title = match (title, post.thread_id) {
        (Some(t), None) => Some(check_title(t)?),
        (Some(_), Some(_)) => return Err(ApiError::unprocessable("replies have no title")),
        (None, _) => post.title.clone(),
    };
    let (html, source) = match content {
        Some(c) => {
            check_body(c)?;
            (markdown::render(c), Some(c.to_string()))
        }
        None => (post.content.clone(), post.source.clone()),
    };
    let summary = post
        .thread_id
        .is_none()
        .then(|| markdown::excerpt(&markdown::plain_text(&html), 500));
    let updated_at = now_ms();
    let mut draft = post.clone();
    draft.title = title.clone();
    draft.content = html.clone();
    draft.source = source.clone();
    draft.summary = summary.clone();
    draft.updated = Some(updated_at);
    let doc = post_document(state, &draft).await?;
    let base = state.settings.base_url();
    let update = objects::activity(&base, "Update", &member.ap_id(state), doc, &community.ap_id);
    let jobs = plan(state, member, &community, &update, None).await?;
    state
        .db
        .change_post_and_enqueue(
            post.id,
            PostChange::Content {
                title,
                content: html,
                source,
                summary,
                updated: updated_at,
                signed_object: None,
            },
            jobs,
        )
        .await?;
    state.delivery_wakeup.notify_waiters();
    state
        .db
        .post(post.id)
        .await?
        .ok_or_else(|| ApiError::not_found("gone"))
}

/// Deletes by the author, or removes by a moderator of the community.
pub async fn delete_post(
    state: &AppState,
    member: &Member,
    post: &Post,
    reason: Option<String>,
) -> Result<(), ApiError> {
    let me = member.ap_id(state);
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the community is unknown"))?;
    let base = state.settings.base_url();
    let mut delete = objects::activity(&base, "Delete", &me, json!(post.ap_id), &community.ap_id);
    let change = if post.author == me {
        PostChange::Deleted
    } else {
        if !moderates(state, &community.ap_id, &me).await? {
            return Err(ApiError::forbidden(
                "only the author or a moderator of the community can delete this",
            ));
        }
        let reason = reason.unwrap_or_else(|| "removed by a moderator".into());
        delete["summary"] = json!(reason);
        if community.local.is_none() {
            // The community applies it and announces it back; only its word changes replicas.
            return distribute(state, member, &community, delete, None).await;
        }
        state
            .db
            .audit(&me, "post.remove", &post.ap_id, Some(&reason))
            .await?;
        PostChange::Removed(reason)
    };
    let jobs = plan(state, member, &community, &delete, None).await?;
    state
        .db
        .change_post_and_enqueue(post.id, change, jobs)
        .await?;
    state.delivery_wakeup.notify_waiters();
    Ok(())
}

pub async fn like(
    state: &AppState,
    member: &Member,
    post: &Post,
    liked: bool,
) -> Result<(), ApiError> {
    let community = known(state, &post.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the community is unknown"))?;
    require_member(state, member, &community).await?;
    let me = member.ap_id(state);
    let base = state.settings.base_url();
    // The like and its deliveries are committed together.
    let (write, activity) = if liked {
        let like = objects::activity(&base, "Like", &me, json!(post.ap_id), &community.ap_id);
        let id = like["id"].as_str().unwrap_or_default().to_string();
        let write = Write::AddLike {
            post_id: post.id,
            actor: me.clone(),
            ap_id: id,
        };
        (write, like)
    } else if let Some(existing) = state.db.like_of(post.id, &me).await? {
        let inner =
            json!({"id": existing.ap_id, "type": "Like", "actor": me, "object": post.ap_id});
        let undo = objects::activity(&base, "Undo", &me, inner, &community.ap_id);
        let write = Write::RemoveLike {
            post_id: post.id,
            actor: me.clone(),
        };
        (write, undo)
    } else {
        return Ok(());
    };
    let jobs = plan(state, member, &community, &activity, None).await?;
    if state.db.apply_and_enqueue(&[write], jobs, true).await? {
        state.delivery_wakeup.notify_waiters();
    }
    Ok(())
}

/// Moderator actions on a thread of a community hosted here: lock and pin.
pub async fn set_thread_flags(
    state: &AppState,
    member: &Member,
    thread: &Post,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<Post, ApiError> {
    let community = known(state, &thread.community)
        .await?
        .ok_or_else(|| ApiError::not_found("the community is unknown"))?;
    let me = member.ap_id(state);
    if thread.thread_id.is_some() {
        return Err(ApiError::unprocessable(
            "only threads can be locked or pinned",
        ));
    }
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(ApiError::forbidden(
            "only moderators of the community can do this",
        ));
    }
    let base = state.settings.base_url();
    let mut activities = Vec::new();
    if let Some(locked) = locked.filter(|l| *l != thread.locked) {
        let lock = objects::activity(&base, "Lock", &me, json!(thread.ap_id), &community.ap_id);
        let activity = if locked {
            lock
        } else {
            objects::activity(&base, "Undo", &me, lock, &community.ap_id)
        };
        activities.push(activity);
    }
    if let Some(pinned) = pinned.filter(|p| *p != thread.pinned) {
        let mut activity = objects::activity(
            &base,
            if pinned { "Add" } else { "Remove" },
            &me,
            json!(thread.ap_id),
            &community.ap_id,
        );
        activity["target"] = json!(format!("{}/featured", community.ap_id));
        activities.push(activity);
    }
    // The change (made here when the community is ours) and its deliveries commit together.
    let mut jobs = Vec::new();
    for activity in &activities {
        jobs.extend(plan(state, member, &community, activity, None).await?);
    }
    let writes = match community.local {
        Some(_) => vec![Write::PostFlags {
            id: thread.id,
            locked,
            pinned,
        }],
        None => Vec::new(),
    };
    state.db.apply_and_enqueue(&writes, jobs, false).await?;
    state.delivery_wakeup.notify_waiters();
    for (flag, value) in [("lock", locked), ("pin", pinned)] {
        if let Some(v) = value {
            let action = format!("thread.{}{flag}", if v { "" } else { "un" });
            state.db.audit(&me, &action, &thread.ap_id, None).await?;
        }
    }
    state
        .db
        .post(thread.id)
        .await?
        .ok_or_else(|| ApiError::not_found("gone"))
}

/// Bans `target` (an actor id) from a community hosted here.
pub async fn ban(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    target: &str,
    reason: Option<String>,
    expires_at: Option<i64>,
) -> Result<(), ApiError> {
    let me = member.ap_id(state);
    if community.local.is_some() {
        access::moderation(state, community, &me, Moderation::Ban { target }).await?;
    } else {
        // A moderator elsewhere: checked here as far as this node knows the roles, and again
        // by the community's node, which decides.
        if !moderates(state, &community.ap_id, &me).await? {
            return Err(ApiError::forbidden(
                "only moderators of the community can ban",
            ));
        }
        if target == me {
            return Err(ApiError::unprocessable("you cannot ban yourself"));
        }
        if moderates(state, &community.ap_id, target).await? {
            return Err(ApiError::forbidden("moderators cannot be banned"));
        }
    }
    if expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(ApiError::unprocessable("the ban would already be over"));
    }
    let audit_reason = reason.clone();
    let base = state.settings.base_url();
    let mut block = objects::activity(&base, "Block", &me, json!(target), &community.ap_id);
    block["target"] = json!(community.ap_id);
    if let Some(reason) = &reason {
        block["summary"] = json!(reason);
    }
    if let Some(t) = expires_at {
        block["endTime"] = json!(objects::rfc3339(t));
    }
    let mut jobs = plan(state, member, community, &block, None).await?;
    let mut writes = Vec::new();
    if community.local.is_some() {
        writes.push(Write::Ban {
            community: community.ap_id.clone(),
            actor: target.to_string(),
            reason,
            expires_at,
        });
        // Someone banned from a confidential community stops being a member, so their node
        // stops receiving it unless others there still belong; it is told so.
        if !privacy::is_public(community) {
            writes.push(Write::DeleteMembership {
                community: community.ap_id.clone(),
                actor: target.to_string(),
            });
            if let (Some((group, _)), Some(m)) = (
                &community.local,
                state.db.membership(&community.ap_id, target).await?,
            ) {
                jobs.extend(farewell_jobs(state, group, &m));
            }
        }
    }
    state.db.apply_and_enqueue(&writes, jobs, false).await?;
    state.delivery_wakeup.notify_waiters();
    state
        .db
        .audit(&me, "community.ban", target, audit_reason.as_deref())
        .await?;
    Ok(())
}

pub async fn unban(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    target: &str,
) -> Result<(), ApiError> {
    let me = member.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(ApiError::forbidden(
            "only moderators of the community can unban",
        ));
    }
    if community.local.is_some()
        && state
            .db
            .active_ban(&community.ap_id, target, now_ms())
            .await?
            .is_none()
    {
        return Err(ApiError::not_found("that actor is not banned here"));
    }
    let base = state.settings.base_url();
    let mut block = json!({"type": "Block", "actor": me, "object": target});
    block["target"] = json!(community.ap_id);
    let undo = objects::activity(&base, "Undo", &me, block, &community.ap_id);
    let jobs = plan(state, member, community, &undo, None).await?;
    let writes = match community.local {
        Some(_) => vec![Write::Unban {
            community: community.ap_id.clone(),
            actor: target.to_string(),
        }],
        None => Vec::new(),
    };
    state.db.apply_and_enqueue(&writes, jobs, false).await?;
    state.delivery_wakeup.notify_waiters();
    state.db.audit(&me, "community.unban", target, None).await?;
    Ok(())
}

/// A moderator approves or rejects a pending join of a community hosted here. A remote
/// member's node hears the answer as `Accept` or `Reject` of its `Follow`.
pub async fn decide_membership(
    state: &AppState,
    moderator: &Member,
    community: &CommunityView,
    membership_id: i64,
    approve: bool,
) -> Result<Option<Membership>, ApiError> {
    let Some((group, _)) = &community.local else {
        return Err(ApiError::forbidden(
            "memberships are decided on the community's node",
        ));
    };
    if !moderates(state, &community.ap_id, &moderator.ap_id(state)).await? {
        return Err(ApiError::forbidden("only moderators decide on members"));
    }
    let membership = state
        .db
        .membership_by_id(membership_id)
        .await?
        .filter(|m| m.community == community.ap_id)
        .ok_or_else(|| ApiError::not_found("no such member in this community"))?;
    if membership.state != "pending" {
        return Err(ApiError::conflict(format!(
            "the membership is {}, not pending",
            membership.state
        )));
    }
    let action = if approve {
        "membership.approve"
    } else {
        "membership.reject"
    };
    state
        .db
        .audit(&moderator.ap_id(state), action, &membership.actor, None)
        .await?;
    if approve {
        state
            .db
            .set_membership_state(&community.ap_id, &membership.actor, "accepted")
            .await?;
    } else {
        state
            .db
            .delete_membership(&community.ap_id, &membership.actor)
            .await?;
    }
    if membership.user_id.is_none() {
        let answer = if approve { "Accept" } else { "Reject" };
        let follow = json!({
            "id": membership.follow_id,
            "type": "Follow",
            "actor": membership.actor,
            "object": community.ap_id,
        });
        let reply = json!({
            "@context": objects::AS_CONTEXT,
            "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", answer.to_lowercase())),
            "type": answer,
            "actor": community.ap_id,
            "to": [membership.actor],
            "object": follow,
        });
        let inbox = remote::personal_inbox(state, &membership.actor).await?;
        delivery::send(state, group, &reply, [inbox]).await?;
    }
    Ok(state
        .db
        .membership(&community.ap_id, &membership.actor)
        .await?)
}

/// Sets a member's role (`moderator` or `member`) and title in a community hosted here;
/// moderator changes are announced as `Add`/`Remove` on the moderators collection.
pub async fn set_role(
    state: &AppState,
    moderator: &Member,
    community: &CommunityView,
    membership_id: i64,
    role: &str,
    title: Option<&str>,
) -> Result<Membership, ApiError> {
    if community.local.is_none() {
        return Err(ApiError::forbidden("roles are set on the community's node"));
    }
    let me = moderator.ap_id(state);
    if !moderates(state, &community.ap_id, &me).await? {
        return Err(ApiError::forbidden("only moderators set roles"));
    }
    if !matches!(role, "moderator" | "member") {
        return Err(ApiError::unprocessable("role must be moderator or member"));
    }
    if title.is_some_and(|t| t.chars().count() > 100) {
        return Err(ApiError::unprocessable("a title is at most 100 characters"));
    }
    let membership = state
        .db
        .membership_by_id(membership_id)
        .await?
        .filter(|m| m.community == community.ap_id)
        .ok_or_else(|| ApiError::not_found("no such member in this community"))?;
    access::moderation(
        state,
        community,
        &me,
        Moderation::Role {
            target: &membership.actor,
        },
    )
    .await?;
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    state
        .db
        .set_membership_role(&community.ap_id, &membership.actor, role, title)
        .await?;
    state
        .db
        .audit(&me, "membership.role", &membership.actor, Some(role))
        .await?;
    if role != membership.role {
        let base = state.settings.base_url();
        let mut activity = objects::activity(
            &base,
            if role == "moderator" { "Add" } else { "Remove" },
            &me,
            json!(membership.actor),
            &community.ap_id,
        );
        activity["target"] = json!(format!("{}/moderators", community.ap_id));
        distribute(state, moderator, community, activity, None).await?;
    }
    state
        .db
        .membership_by_id(membership_id)
        .await?
        .ok_or_else(|| ApiError::not_found("gone"))
}

/// The deliveries a member's activity causes: the community's announces to its followers when
/// it lives here, otherwise one request to the community's inbox.
async fn plan(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    activity: &Value,
    new_thread: Option<&str>,
) -> Result<Vec<NewJob>, ApiError> {
    match &community.local {
        Some((group, _)) => {
            announce_jobs(state, group, &community.ap_id, activity, new_thread).await
        }
        None => {
            let remote = community.remote.as_ref().ok_or_else(ApiError::internal)?;
            let inbox = Url::parse(&remote.inbox)
                .map_err(|_| ApiError::bad_request("the community has no valid inbox"))?;
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
fn sign_own_object(
    state: &AppState,
    member: &Member,
    activity: &mut Value,
) -> Result<(), ApiError> {
    if !matches!(inner_kind(activity), "Create" | "Update") {
        return Ok(());
    }
    let me = member.ap_id(state);
    let Some(object) = activity.get_mut("object") else {
        return Ok(());
    };
    if !matches!(inner_kind(object), "Page" | "Note")
        || object.get("attributedTo").and_then(Value::as_str) != Some(me.as_str())
    {
        return Ok(());
    }
    let key = delivery::signing_key(state, &member.actor);
    proof::sign(
        object,
        &key.key_id,
        &key.private_key_pem,
        &objects::rfc3339(now_ms()),
    )
    .map_err(|e| {
        warn!(error = %e, "cannot sign a post");
        ApiError::internal()
    })
}

/// Whether `doc` carries a valid integrity proof by `author`'s own key. Anything else (no
/// proof, another suite, a key of someone else, a signature that fails) is false.
async fn proven_by(state: &AppState, doc: &Value, author: &Url) -> Result<bool, ApiError> {
    let Some(method) = proof::verification_method(doc).and_then(|m| Url::parse(m).ok()) else {
        return Ok(false);
    };
    if !crate::federation::inbox::key_owned_by(&method, author) {
        return Ok(false);
    }
    for refresh in [false, true] {
        if refresh
            && crate::federation::inbox::refresh_allowed(state, &host_of(author))
                .await
                .is_err()
        {
            return Ok(false);
        }
        let Ok(actor) = remote::actor(state, author, refresh).await else {
            return Ok(false);
        };
        if actor.key_id == method.as_str() && proof::verify(doc, &actor.public_key_pem).is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The signed document to keep with a post received from its author: the object itself when
/// its proof is the author's; a proof that does not verify is refused.
async fn signed_object(
    state: &AppState,
    doc: &Value,
    author: &Url,
) -> Result<Option<String>, ApiError> {
    if doc.get("proof").is_none() {
        return Ok(None);
    }
    if proven_by(state, doc, author).await? {
        Ok(Some(doc.to_string()))
    } else {
        Err(ApiError::bad_request(
            "the object's integrity proof does not verify with its author's key",
        ))
    }
}

/// A member's activity whose effect is already stored: queued as [`plan`] says.
async fn distribute(
    state: &AppState,
    member: &Member,
    community: &CommunityView,
    activity: Value,
    new_thread: Option<&str>,
) -> Result<(), ApiError> {
    let jobs = plan(state, member, community, &activity, new_thread).await?;
    enqueue(state, jobs).await
}

async fn enqueue(state: &AppState, jobs: Vec<NewJob>) -> Result<(), ApiError> {
    if !jobs.is_empty() {
        state.db.enqueue(jobs).await?;
        state.delivery_wakeup.notify_waiters();
    }
    Ok(())
}

async fn send_to_community(
    state: &AppState,
    sender: &LocalActor,
    community: &CommunityView,
    activity: &Value,
) -> Result<(), ApiError> {
    let remote = community.remote.as_ref().ok_or_else(ApiError::internal)?;
    let inbox = Url::parse(&remote.inbox)
        .map_err(|_| ApiError::bad_request("the community has no valid inbox"))?;
    delivery::send(state, sender, activity, [inbox]).await?;
    Ok(())
}

/// The community's `Announce` of `activity` to every follower inbox. A new thread is also
/// announced as a plain `Announce` of its id, which is what Mastodon followers show.
async fn announce_jobs(
    state: &AppState,
    group: &LocalActor,
    community: &str,
    activity: &Value,
    new_thread: Option<&str>,
) -> Result<Vec<NewJob>, ApiError> {
    let base = state.settings.base_url();
    let mut activities = vec![objects::announce(&base, community, activity.clone())];
    if let Some(thread) = new_thread {
        activities.push(objects::announce(&base, community, json!(thread)));
    }
    broadcast_jobs(state, group, community, activities, Vec::new()).await
}

/// The jobs that deliver `activities`, in order, from a local community to its followers and
/// to `extra` inboxes: only to nodes that may receive its content, addressed as its visibility
/// says (see [`privacy`]).
pub(crate) async fn broadcast_jobs(
    state: &AppState,
    group: &LocalActor,
    community: &str,
    activities: Vec<Value>,
    extra: Vec<Url>,
) -> Result<Vec<NewJob>, ApiError> {
    let view = privacy::community_of(state, community).await?;
    let mut inboxes = follower_urls(state, community).await?;
    for url in extra {
        if !inboxes.contains(&url) {
            inboxes.push(url);
        }
    }
    let inboxes = privacy::receiving_inboxes(state, &view, inboxes).await?;
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let mut jobs = Vec::new();
    for mut activity in activities {
        privacy::address(&mut activity, &view);
        jobs.extend(delivery::jobs_for(state, group, &activity, inboxes.clone()));
    }
    Ok(jobs)
}

async fn announce(
    state: &AppState,
    group: &LocalActor,
    community: &str,
    activity: Value,
    new_thread: Option<&str>,
) -> Result<(), ApiError> {
    let jobs = announce_jobs(state, group, community, &activity, new_thread).await?;
    enqueue(state, jobs).await
}

/// Where a community delivers: its accepted remote members' inboxes, one per shared inbox.
async fn follower_urls(state: &AppState, community: &str) -> Result<Vec<Url>, ApiError> {
    Ok(state
        .db
        .follower_inboxes(community)
        .await?
        .iter()
        .filter_map(|i| Url::parse(i).ok())
        .collect())
}

// ----- the inbox side -----

pub(crate) fn inner_kind(value: &Value) -> &str {
    value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Routes a verified activity that concerns communities. Returns Ok for activities that are
/// accepted or harmlessly ignored.
pub async fn receive(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let kind = env.type_name.as_str();
    let object = env.body.get("object");
    // An actor announcing a change of its own profile (a community's title, icon…).
    if kind == "Update"
        && object.is_some_and(|o| {
            crate::federation::actors::ACTOR_TYPES.contains(&inner_kind(o))
                && id_of(Some(o)).as_ref() == Some(&env.actor)
        })
    {
        remote::actor(state, &env.actor, true)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot refresh the actor: {e}")))?;
        return Ok(());
    }
    if events::concerns_events(state, env).await? {
        return events::receive(state, env).await;
    }
    if matches!(kind, "Accept" | "Reject") {
        if let Some(edit_id) = id_of(object) {
            if let Some(edit) = state.db.edit_by_edit_id(edit_id.as_str()).await? {
                return articles::receive_answer(state, env, edit).await;
            }
        }
    }
    if matches!(kind, "Create" | "Update") && articles::concerns_articles(env) {
        if known(state, env.actor.as_str())
            .await?
            .is_some_and(|c| c.local.is_none())
        {
            return articles::receive_from_owner(state, env).await;
        }
        return match target_community(state, env).await? {
            Some(community) => match community.local.clone() {
                Some((group, _)) => {
                    articles::receive_proposal(state, env, &community, &group).await
                }
                None => Err(ApiError::forbidden(
                    "articles are only accepted from the community that owns them",
                )),
            },
            None => Err(ApiError::forbidden(
                "articles are only accepted from the community that owns them",
            )),
        };
    }
    match kind {
        "Announce" => return receive_announce(state, env).await,
        "Accept" | "Reject" => return receive_follow_answer(state, env).await,
        _ => {}
    }
    let Some(community) = target_community(state, env).await? else {
        info!(activity = %env.id, "activity for no community of this node ignored");
        return Ok(());
    };
    let Some((group, _)) = community.local.clone() else {
        return Ok(());
    };
    host_receive(state, env, &community, &group).await
}

/// The local community an incoming activity is meant for.
async fn target_community(
    state: &AppState,
    env: &Envelope,
) -> Result<Option<CommunityView>, ApiError> {
    let body = &env.body;
    let object = body.get("object");
    let mut candidates: Vec<Url> = Vec::new();
    for v in [
        body.get("audience"),
        body.get("target"),
        object.and_then(|o| o.get("audience")),
    ] {
        candidates.extend(id_of(v));
    }
    if env.type_name == "Follow" {
        candidates.extend(id_of(object));
    }
    for holder in [Some(body), object] {
        let Some(holder) = holder else { continue };
        for key in ["to", "cc"] {
            match holder.get(key) {
                Some(Value::Array(items)) => {
                    candidates.extend(items.iter().filter_map(|i| id_of(Some(i))))
                }
                other => candidates.extend(id_of(other)),
            }
        }
        if let Some(Value::Array(tags)) = holder.get("tag") {
            for tag in tags {
                if inner_kind(tag) == "Mention" {
                    candidates.extend(
                        tag.get("href")
                            .and_then(Value::as_str)
                            .and_then(|h| Url::parse(h).ok()),
                    );
                }
            }
        }
    }
    let ours = &state.settings.instance.domain;
    for url in &candidates {
        if host_of(url).eq_ignore_ascii_case(ours) && url.path().starts_with("/c/") {
            if let Some(view) = by_url(state, url).await? {
                return Ok(Some(view));
            }
        }
    }
    // A reply, like or delete that only names a post: its community.
    let post_ref = match env.type_name.as_str() {
        "Create" | "Update" => object.and_then(|o| id_of(o.get("inReplyTo"))),
        "Undo" => object.and_then(|o| id_of(o.get("object"))),
        _ => id_of(object),
    };
    if let Some(url) = post_ref {
        if let Some(post) = state.db.post_by_ap_id(url.as_str()).await? {
            return known(state, &post.community).await;
        }
    }
    Ok(None)
}

/// The community's node receives a member's activity: checks it, applies it, announces it.
async fn host_receive(
    state: &AppState,
    env: &Envelope,
    community: &CommunityView,
    group: &LocalActor,
) -> Result<(), ApiError> {
    let actor = env.actor.as_str();
    let body = &env.body;
    let object = body.get("object");
    let banned = state
        .db
        .active_ban(&community.ap_id, actor, now_ms())
        .await?
        .is_some();
    match env.type_name.as_str() {
        "Follow" => {
            let follower = remote::actor(state, &env.actor, false)
                .await
                .map_err(|e| ApiError::bad_request(format!("cannot fetch the follower: {e}")))?;
            let refusal = privacy::refuse_follower(state, community, &host_of(&env.actor)).await?;
            if let Some(why) = &refusal {
                info!(follower = actor, community = %community.ap_id, reason = %why, "follow refused");
            }
            let refused = banned || refusal.is_some();
            let answer = if refused { "Reject" } else { "Accept" };
            if !refused {
                let pending = needs_approval(community);
                state
                    .db
                    .upsert_membership(NewMembership {
                        community: community.ap_id.clone(),
                        actor: actor.to_string(),
                        user_id: None,
                        role: "member",
                        state: if pending { "pending" } else { "accepted" },
                        follow_id: Some(env.id.to_string()),
                        inbox: Some(
                            follower
                                .shared_inbox
                                .clone()
                                .unwrap_or(follower.inbox.clone()),
                        ),
                    })
                    .await?;
                if pending {
                    info!(follower = actor, community = %community.ap_id, "join request waits for a moderator");
                    return Ok(());
                }
            }
            let reply = json!({
                "@context": objects::AS_CONTEXT,
                "id": objects::new_id(&state.settings.base_url(), &format!("activities/{}", answer.to_lowercase())),
                "type": answer,
                "actor": community.ap_id,
                "to": [actor],
                "object": body,
            });
            let inbox = Url::parse(&follower.inbox)
                .map_err(|_| ApiError::bad_request("the follower has no valid inbox"))?;
            delivery::send(state, group, &reply, [inbox]).await?;
            info!(follower = actor, community = %community.ap_id, answer, "follow answered");
            Ok(())
        }
        "Undo" => {
            let inner = object.ok_or_else(|| ApiError::bad_request("Undo without an object"))?;
            let inner_actor = id_of(inner.get("actor"));
            if inner_actor.as_ref().is_some_and(|a| a.as_str() != actor) {
                return Err(ApiError::forbidden(
                    "an actor can only undo its own activities",
                ));
            }
            match inner_kind(inner) {
                "Follow" => {
                    let m = state.db.membership(&community.ap_id, actor).await?;
                    if m.is_some_and(|m| m.role != "owner") {
                        state.db.delete_membership(&community.ap_id, actor).await?;
                    }
                    Ok(())
                }
                "Like" => {
                    let post = post_in(state, community, id_of(inner.get("object"))).await?;
                    let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
                    let write = Write::RemoveLike {
                        post_id: post.id,
                        actor: actor.to_string(),
                    };
                    if state.db.apply_and_enqueue(&[write], jobs, true).await? {
                        state.delivery_wakeup.notify_waiters();
                    }
                    Ok(())
                }
                "Lock" | "Block" => {
                    if !moderates(state, &community.ap_id, actor).await? {
                        return Err(ApiError::forbidden("only moderators can do this"));
                    }
                    apply_announced(state, community, body).await?;
                    announce(state, group, &community.ap_id, body.clone(), None).await
                }
                _ => Ok(()),
            }
        }
        "Lock" | "Add" | "Remove" | "Block" => {
            if !moderates(state, &community.ap_id, actor).await? {
                return Err(ApiError::forbidden("only moderators can do this"));
            }
            let target = id_of(object);
            let to_moderators = id_of(body.get("target"))
                .is_some_and(|t| t.as_str() == format!("{}/moderators", community.ap_id));
            // The same rules as for a local moderator.
            match (env.type_name.as_str(), &target) {
                ("Block", Some(who)) => {
                    access::moderation(
                        state,
                        community,
                        actor,
                        Moderation::Ban {
                            target: who.as_str(),
                        },
                    )
                    .await?
                }
                ("Add" | "Remove", Some(who)) if to_moderators => {
                    access::moderation(
                        state,
                        community,
                        actor,
                        Moderation::Role {
                            target: who.as_str(),
                        },
                    )
                    .await?
                }
                ("Block", None) => return Err(ApiError::bad_request("a Block names nobody")),
                _ => {}
            }
            // Applied here with the same rules replicas use for the community's announces.
            apply_announced(state, community, body).await?;
            if env.type_name == "Block" && !privacy::is_public(community) {
                if let Some(who) = &target {
                    end_membership(state, community, group, who.as_str()).await?;
                }
            }
            let target = id_of(object).map(|u| u.to_string()).unwrap_or_default();
            state
                .db
                .audit(
                    actor,
                    &format!("remote.{}", env.type_name.to_lowercase()),
                    &target,
                    None,
                )
                .await?;
            announce(state, group, &community.ap_id, body.clone(), None).await
        }
        "Create" => {
            // The same rule as for a local member: accepted, not banned.
            access::participant(state, community, actor).await?;
            let doc = object.ok_or_else(|| ApiError::bad_request("Create without an object"))?;
            let incoming = parse_post(doc).map_err(ApiError::bad_request)?;
            if incoming.author.as_str() != actor {
                return Err(ApiError::forbidden("the object is not the actor's own"));
            }
            // Stored and announced in one transaction: an accepted post always reaches the
            // followers.
            let new_thread = incoming
                .in_reply_to
                .is_none()
                .then_some(incoming.ap_id.as_str());
            let signed = signed_object(state, doc, &incoming.author).await?;
            let jobs = announce_jobs(state, group, &community.ap_id, body, new_thread).await?;
            let (_, new) = store_incoming(state, community, &incoming, signed, 0, jobs).await?;
            if new {
                state.delivery_wakeup.notify_waiters();
            }
            Ok(())
        }
        "Update" => {
            // The same rule as for a local member: accepted, not banned.
            access::participant(state, community, actor).await?;
            let doc = object.ok_or_else(|| ApiError::bad_request("Update without an object"))?;
            let incoming = parse_post(doc).map_err(ApiError::bad_request)?;
            let existing = state
                .db
                .post_by_ap_id(incoming.ap_id.as_str())
                .await?
                .ok_or_else(|| ApiError::not_found("no such post in this community"))?;
            if existing.author != actor || incoming.author.as_str() != actor {
                return Err(ApiError::forbidden("only the author can edit this"));
            }
            if existing.community != community.ap_id {
                return Err(ApiError::forbidden("the post is not in this community"));
            }
            let signed = signed_object(state, doc, &incoming.author).await?;
            let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
            apply_update(state, &existing, &incoming, signed, jobs).await?;
            state.delivery_wakeup.notify_waiters();
            Ok(())
        }
        "Delete" => {
            let post = post_in(state, community, id_of(object)).await?;
            let change = if post.author == actor {
                PostChange::Deleted
            } else if moderates(state, &community.ap_id, actor).await? {
                let reason = body
                    .get("summary")
                    .and_then(Value::as_str)
                    .map(markdown::plain_text)
                    .unwrap_or_else(|| "removed by a moderator".into());
                state
                    .db
                    .audit(actor, "post.remove", &post.ap_id, Some(&reason))
                    .await?;
                PostChange::Removed(reason)
            } else {
                return Err(ApiError::forbidden(
                    "only the author or a moderator can delete this",
                ));
            };
            let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
            state
                .db
                .change_post_and_enqueue(post.id, change, jobs)
                .await?;
            state.delivery_wakeup.notify_waiters();
            Ok(())
        }
        "Like" => {
            // The same rule as for a local member: accepted, not banned.
            access::participant(state, community, actor).await?;
            let post = post_in(state, community, id_of(object)).await?;
            let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
            let write = Write::AddLike {
                post_id: post.id,
                actor: actor.to_string(),
                ap_id: env.id.to_string(),
            };
            if state.db.apply_and_enqueue(&[write], jobs, true).await? {
                state.delivery_wakeup.notify_waiters();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The `Reject` of a remote member's `Follow` that tells their node the membership is over
/// (Mastodon and Lemmy drop a follow they receive a `Reject` for). None for local members.
fn farewell_jobs(state: &AppState, group: &LocalActor, membership: &Membership) -> Vec<NewJob> {
    let (Some(follow_id), Some(inbox)) = (
        membership.follow_id.as_deref(),
        membership.inbox.as_deref().and_then(|i| Url::parse(i).ok()),
    ) else {
        return Vec::new();
    };
    let reject = json!({
        "@context": objects::AS_CONTEXT,
        "id": objects::new_id(&state.settings.base_url(), "activities/reject"),
        "type": "Reject",
        "actor": membership.community,
        "to": [membership.actor],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": membership.actor,
            "object": membership.community,
        },
    });
    delivery::jobs_for(state, group, &reject, [inbox])
}

/// Ends `actor`'s membership of a confidential community hosted here (after a ban) and tells
/// their node.
async fn end_membership(
    state: &AppState,
    community: &CommunityView,
    group: &LocalActor,
    actor: &str,
) -> Result<(), ApiError> {
    let Some(membership) = state.db.membership(&community.ap_id, actor).await? else {
        return Ok(());
    };
    if membership.role == "owner" {
        return Ok(());
    }
    let writes = [Write::DeleteMembership {
        community: community.ap_id.clone(),
        actor: actor.to_string(),
    }];
    let jobs = farewell_jobs(state, group, &membership);
    state.db.apply_and_enqueue(&writes, jobs, false).await?;
    state.delivery_wakeup.notify_waiters();
    Ok(())
}

/// On a replica of a confidential community: when no local user is an accepted member any
/// more, the copy goes.
async fn drop_copy_if_unread(state: &AppState, community: &CommunityView) -> Result<(), ApiError> {
    if community.local.is_none()
        && !privacy::is_public(community)
        && state.db.local_member_count(&community.ap_id).await? == 0
    {
        let n = state.db.purge_community_copy(&community.ap_id).await?;
        info!(community = %community.ap_id, records = n, "copy of a confidential community deleted: no member here any more");
    }
    Ok(())
}

async fn post_in(
    state: &AppState,
    community: &CommunityView,
    id: Option<Url>,
) -> Result<Post, ApiError> {
    let id = id.ok_or_else(|| ApiError::bad_request("the activity names no object"))?;
    let post = state
        .db
        .post_by_ap_id(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("no such post"))?;
    if post.community != community.ap_id {
        return Err(ApiError::forbidden("the post is not in this community"));
    }
    Ok(post)
}

async fn apply_update(
    state: &AppState,
    existing: &Post,
    incoming: &IncomingPost,
    signed_object: Option<String>,
    jobs: Vec<NewJob>,
) -> Result<(), ApiError> {
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
        .await?;
    Ok(())
}

/// Stores a post received for `community`, finding (or fetching) its parent first.
/// Returns the post and whether it is new.
async fn store_incoming(
    state: &AppState,
    community: &CommunityView,
    incoming: &IncomingPost,
    signed_object: Option<String>,
    depth: usize,
    jobs: Vec<NewJob>,
) -> Result<(Post, bool), ApiError> {
    if let Some(existing) = state.db.post_by_ap_id(incoming.ap_id.as_str()).await? {
        return Ok((existing, false));
    }
    let (thread_id, parent_id) = match &incoming.in_reply_to {
        None => {
            if !incoming
                .addressed
                .iter()
                .any(|u| u.as_str() == community.ap_id)
            {
                return Err(ApiError::bad_request(
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
                None => return Err(ApiError::bad_request("the reply chain is too deep")),
            };
            if parent.community != community.ap_id {
                return Err(ApiError::forbidden("the parent is in another community"));
            }
            let thread_id = parent.thread_id.unwrap_or(parent.id);
            let thread = state
                .db
                .post(thread_id)
                .await?
                .ok_or_else(|| ApiError::not_found("the thread is gone"))?;
            if community.local.is_some() {
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
            },
            jobs,
        )
        .await?)
}

/// Fetches a post from its origin and stores it for `community`.
async fn fetch_post(
    state: &AppState,
    community: &CommunityView,
    url: &Url,
    depth: usize,
) -> Result<Post, ApiError> {
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

async fn fetch_doc(state: &AppState, url: &Url) -> Result<Value, ApiError> {
    state
        .fetch(url)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot fetch {url} from its origin: {e}")))
}

async fn fetch_incoming(state: &AppState, url: &Url) -> Result<IncomingPost, ApiError> {
    parse_post(&fetch_doc(state, url).await?).map_err(ApiError::bad_request)
}

/// A follower node receives what a remote community announces.
async fn receive_announce(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let Some(community) = known(state, env.actor.as_str()).await? else {
        info!(actor = %env.actor, "announce from an actor that is not a known community ignored");
        return Ok(());
    };
    if community.local.is_some() {
        return Ok(());
    }
    // Only a community that someone here belongs to (an accepted membership; a pending request
    // is not enough) is replicated.
    if state.db.local_member_count(&community.ap_id).await? == 0 {
        info!(community = %community.ap_id, "announce from a community nobody here belongs to ignored");
        return Ok(());
    }
    let inner = env
        .body
        .get("object")
        .ok_or_else(|| ApiError::bad_request("Announce without an object"))?;
    apply_announced(state, &community, inner).await
}

/// Applies one thing a remote community announced (also used for backfill).
async fn apply_announced(
    state: &AppState,
    community: &CommunityView,
    inner: &Value,
) -> Result<(), ApiError> {
    let community_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    // A plain announce of an object id, or of an embedded object.
    if let Some(url) = id_of(Some(inner))
        .filter(|_| inner.is_string() || matches!(inner_kind(inner), "Page" | "Note" | "Article"))
    {
        if !state.db.federates_with(&host_of(&url)).await? {
            info!(from = %host_of(&url), "announced content from a refused domain dropped");
            return Ok(());
        }
        if host_of(&url).eq_ignore_ascii_case(&state.settings.instance.domain) {
            // This node's own content: nothing to learn from a relay.
            return Ok(());
        }
        if state.db.post_by_ap_id(url.as_str()).await?.is_some()
            || state.db.article_by_ap_id(url.as_str()).await?.is_some()
            || state.db.event_by_ap_id(url.as_str()).await?.is_some()
        {
            return Ok(());
        }
        let doc = fetch_doc(state, &url).await?;
        if inner_kind(&doc) == "Event" {
            // Events arrive as the community's Create/Update(Event); this boost is for Mastodon.
            return Ok(());
        }
        if doc.get("revision").is_some() && inner_kind(&doc) == "Article" {
            // A knowledge article of this community (announced for Mastodon's sake).
            return articles::store_replica_revision(state, community, &doc, 0).await;
        }
        let incoming = parse_post(&doc).map_err(ApiError::bad_request)?;
        store_incoming(state, community, &incoming, None, 0, Vec::new()).await?;
        return Ok(());
    }
    let actor = id_of(inner.get("actor"))
        .ok_or_else(|| ApiError::bad_request("the announced activity has no actor"))?;
    // Content from a domain this node does not federate with is dropped, even when an allowed
    // community relays it.
    for url in [Some(actor.clone()), id_of(inner.get("object"))]
        .into_iter()
        .flatten()
    {
        if !state.db.federates_with(&host_of(&url)).await? {
            info!(from = %host_of(&url), "announced content from a refused domain dropped");
            return Ok(());
        }
    }
    if state.db.suspension(actor.as_str()).await?.is_some() {
        info!(%actor, "announced activity of a suspended actor dropped");
        return Ok(());
    }
    let same_host = host_of(&actor) == community_host;
    let object = inner.get("object");
    match inner_kind(inner) {
        "Update"
            if object.is_some_and(|o| {
                inner_kind(o) == "Group"
                    && id_of(Some(o)).map(|u| u.to_string()) == Some(community.ap_id.clone())
            }) =>
        {
            let url = Url::parse(&community.ap_id)
                .map_err(|_| ApiError::bad_request("bad community id"))?;
            remote::actor(state, &url, true)
                .await
                .map_err(|e| ApiError::bad_request(format!("cannot refresh the community: {e}")))?;
            Ok(())
        }
        "Create" | "Update" => {
            let object_id = id_of(object)
                .ok_or_else(|| ApiError::bad_request("the announced activity has no object"))?;
            // This node knows its own posts: a relayed copy of one changes nothing, and nothing
            // from outside may claim an id on this node's domain.
            let ours = &state.settings.instance.domain;
            if host_of(&object_id).eq_ignore_ascii_case(ours)
                || host_of(&actor).eq_ignore_ascii_case(ours)
            {
                if state
                    .db
                    .post_by_ap_id(object_id.as_str())
                    .await?
                    .is_some_and(|p| p.local)
                {
                    return Ok(());
                }
                return Err(ApiError::forbidden(
                    "ids on this node's domain are not taken from other nodes",
                ));
            }
            // An embedded object is taken on the community's word only when the community's
            // own host wrote it, or when it carries its author's integrity proof; anything else
            // is fetched from its origin (which, for a confidential community, serves it to the
            // community's node alone, so an unproven relay goes nowhere).
            let incoming = match object.filter(|o| o.is_object()) {
                Some(doc) if same_host => parse_post(doc).map_err(ApiError::bad_request)?,
                Some(doc) => {
                    let parsed = parse_post(doc).map_err(ApiError::bad_request)?;
                    if parsed.ap_id == object_id && proven_by(state, doc, &parsed.author).await? {
                        parsed
                    } else {
                        fetch_incoming(state, &object_id).await?
                    }
                }
                None => fetch_incoming(state, &object_id).await?,
            };
            if incoming.author != actor {
                return Err(ApiError::forbidden(
                    "the announced object is not its actor's own",
                ));
            }
            match state.db.post_by_ap_id(incoming.ap_id.as_str()).await? {
                // A relayed change never replaces a post written here.
                Some(existing) if existing.local => Ok(()),
                Some(existing) => {
                    if existing.author != incoming.author.as_str()
                        || existing.community != community.ap_id
                    {
                        return Err(ApiError::forbidden("that post belongs elsewhere"));
                    }
                    apply_update(state, &existing, &incoming, None, Vec::new()).await
                }
                None => store_incoming(state, community, &incoming, None, 0, Vec::new())
                    .await
                    .map(|_| ()),
            }
        }
        "Delete" => {
            let Some(post) = announced_post(state, community, id_of(object)).await? else {
                return Ok(());
            };
            if post.author == actor.as_str() {
                state.db.mark_post_deleted(post.id).await?;
            } else {
                let reason = inner
                    .get("summary")
                    .and_then(Value::as_str)
                    .map(markdown::plain_text)
                    .unwrap_or_else(|| "removed by a moderator".into());
                state.db.set_post_removed(post.id, Some(reason)).await?;
            }
            Ok(())
        }
        "Like" => {
            if let Some(post) = announced_post(state, community, id_of(object)).await? {
                let id = id_of(Some(inner))
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                state.db.add_like(post.id, actor.as_str(), &id).await?;
            }
            Ok(())
        }
        "Lock" => set_flag(state, community, id_of(object), Some(true), None).await,
        "Add" | "Remove" => {
            let adding = inner_kind(inner) == "Add";
            let target = id_of(inner.get("target"))
                .map(|t| t.to_string())
                .unwrap_or_default();
            if target == format!("{}/moderators", community.ap_id) {
                if let Some(who) = id_of(object) {
                    let role = if adding { "moderator" } else { "member" };
                    state
                        .db
                        .set_membership_role(&community.ap_id, who.as_str(), role, None)
                        .await?;
                }
                Ok(())
            } else {
                set_flag(state, community, id_of(object), None, Some(adding)).await
            }
        }
        "Block" => {
            if let Some(target) = id_of(object) {
                let reason = inner
                    .get("summary")
                    .and_then(Value::as_str)
                    .map(markdown::plain_text);
                let expires = objects::parse_time(inner.get("endTime"));
                state
                    .db
                    .ban(&community.ap_id, target.as_str(), reason, expires)
                    .await?;
                // A ban ends a membership of a confidential community here too.
                if community.local.is_none() && !privacy::is_public(community) {
                    if let Some(m) = state
                        .db
                        .membership(&community.ap_id, target.as_str())
                        .await?
                    {
                        if m.user_id.is_some() {
                            state
                                .db
                                .set_membership_state(&community.ap_id, target.as_str(), "rejected")
                                .await?;
                        }
                    }
                    drop_copy_if_unread(state, community).await?;
                }
            }
            Ok(())
        }
        "Undo" => {
            let undone = object.ok_or_else(|| ApiError::bad_request("Undo without an object"))?;
            let target = undone.get("object");
            match inner_kind(undone) {
                "Like" => {
                    if let Some(post) = announced_post(state, community, id_of(target)).await? {
                        state.db.remove_like(post.id, actor.as_str()).await?;
                    }
                    Ok(())
                }
                "Lock" => set_flag(state, community, id_of(target), Some(false), None).await,
                "Block" => {
                    if let Some(target) = id_of(target) {
                        state.db.unban(&community.ap_id, target.as_str()).await?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        other => {
            info!(
                kind = other,
                "announced activity of an unhandled kind ignored"
            );
            Ok(())
        }
    }
}

async fn announced_post(
    state: &AppState,
    community: &CommunityView,
    id: Option<Url>,
) -> Result<Option<Post>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    Ok(state
        .db
        .post_by_ap_id(id.as_str())
        .await?
        .filter(|p| p.community == community.ap_id))
}

async fn set_flag(
    state: &AppState,
    community: &CommunityView,
    id: Option<Url>,
    locked: Option<bool>,
    pinned: Option<bool>,
) -> Result<(), ApiError> {
    if let Some(post) = announced_post(state, community, id).await? {
        state.db.set_post_flags(post.id, locked, pinned).await?;
    }
    Ok(())
}

/// A remote community answered one of our members' `Follow`.
async fn receive_follow_answer(state: &AppState, env: &Envelope) -> Result<(), ApiError> {
    let Some(follow_id) = id_of(env.body.get("object")) else {
        return Err(ApiError::bad_request("the answer names no Follow"));
    };
    let Some(membership) = state.db.membership_by_follow(follow_id.as_str()).await? else {
        info!(follow = %follow_id, "answer to an unknown follow ignored");
        return Ok(());
    };
    if membership.community != env.actor.as_str() {
        return Err(ApiError::forbidden(
            "only the followed community can answer",
        ));
    }
    if env.type_name == "Reject" {
        // A refused request, or the end of a membership (after a ban in a confidential
        // community).
        state
            .db
            .set_membership_state(&membership.community, &membership.actor, "rejected")
            .await?;
        if membership.state == "accepted" {
            if let Some(community) = known(state, &membership.community).await? {
                drop_copy_if_unread(state, &community).await?;
            }
        }
        return Ok(());
    }
    let first = state.db.local_member_count(&membership.community).await? == 0;
    state
        .db
        .set_membership_state(&membership.community, &membership.actor, "accepted")
        .await?;
    info!(community = %membership.community, member = %membership.actor, "membership accepted");
    if first {
        if let Some(community) = known(state, &membership.community).await? {
            let state = state.clone();
            tokio::spawn(async move {
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

/// Reads a remote community's outbox (newest first, paged) and stores up to
/// [`BACKFILL_LIMIT`] recent threads, oldest first.
pub async fn backfill(state: &AppState, community: &CommunityView) -> Result<usize, ApiError> {
    let outbox = community
        .remote
        .as_ref()
        .and_then(|r| r.outbox.clone())
        .ok_or_else(|| ApiError::bad_request("the community has no outbox"))?;
    let outbox = Url::parse(&outbox).map_err(|_| ApiError::bad_request("bad outbox URL"))?;
    let community_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    if host_of(&outbox) != community_host {
        return Err(ApiError::forbidden("the outbox is on another host"));
    }
    let fetch = |url: Url| async move {
        state
            .fetch(&url)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the outbox: {e}")))
    };
    let collection = fetch(outbox.clone()).await?;
    let items = remote::collection_items(state, &collection, &community_host, BACKFILL_LIMIT, 10)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the outbox: {e}")))?;
    let mut stored = 0;
    for item in items.iter().rev() {
        if inner_kind(item) != "Announce"
            || id_of(item.get("actor")).map(|a| a.to_string()) != Some(community.ap_id.clone())
        {
            continue;
        }
        let Some(inner) = item.get("object") else {
            continue;
        };
        match apply_announced(state, community, inner).await {
            Ok(()) => stored += 1,
            Err(e) => warn!(error = %e.message, "a backfilled item was skipped"),
        }
    }
    Ok(stored)
}

/// Whether this kind of actor id belongs to a local user (for API lookups of members).
pub fn local_user_name<'a>(state: &AppState, ap_id: &'a str) -> Option<&'a str> {
    let prefix = format!("{}/u/", state.settings.base_url());
    ap_id
        .strip_prefix(prefix.as_str())
        .filter(|n| !n.contains('/'))
}

/// `name@domain` of an actor id, from what this node knows.
pub async fn actor_handle(state: &AppState, ap_id: &str) -> Result<String, ApiError> {
    if let Some(name) = local_user_name(state, ap_id) {
        return Ok(format!("{name}@{}", state.settings.instance.domain));
    }
    if let Some(actor) = state.db.remote_actor(ap_id).await? {
        return Ok(format!("{}@{}", actor.preferred_username, actor.host));
    }
    Ok(Url::parse(ap_id)
        .map(|u| {
            let name = u
                .path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or("")
                .to_string();
            format!("{name}@{}", host_of(&u))
        })
        .unwrap_or_else(|_| ap_id.to_string()))
}

/// `name@domain` of each of `ids`, as [`actor_handle`] gives it, with one query for all the
/// remote ones: list presenters call this once per list, never once per item.
pub async fn actor_handles<'a>(
    state: &AppState,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut out = std::collections::HashMap::new();
    let mut remote = Vec::new();
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        match local_user_name(state, id) {
            Some(name) => {
                out.insert(
                    id.to_string(),
                    format!("{name}@{}", state.settings.instance.domain),
                );
            }
            None => remote.push(id.to_string()),
        }
    }
    remote.sort();
    remote.dedup();
    for actor in state.db.remote_actors(&remote).await? {
        out.insert(
            actor.ap_id.clone(),
            format!("{}@{}", actor.preferred_username, actor.host),
        );
    }
    for id in remote {
        // Not known here: the last path segment at the id's host, as `actor_handle` does.
        out.entry(id).or_insert_with_key(|id| {
            Url::parse(id)
                .map(|u| {
                    let name = u
                        .path_segments()
                        .and_then(|mut s| s.next_back())
                        .unwrap_or("")
                        .to_string();
                    format!("{name}@{}", host_of(&u))
                })
                .unwrap_or_else(|_| id.clone())
        });
    }
    Ok(out)
}

/// [`known`] for each of `ap_ids`, in at most three queries: list presenters call this once
/// per list, never once per item. Ids of no known community are absent.
pub async fn known_many<'a>(
    state: &AppState,
    ap_ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, CommunityView>, ApiError> {
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for id in ap_ids {
        let Ok(url) = Url::parse(id) else {
            continue;
        };
        if host_of(&url).eq_ignore_ascii_case(&state.settings.instance.domain) {
            if let Some(slug) = url.path().strip_prefix("/c/") {
                local.push(slug.to_string());
            }
        } else {
            remote.push(id.to_string());
        }
    }
    for list in [&mut local, &mut remote] {
        list.sort();
        list.dedup();
    }
    let mut out = std::collections::HashMap::new();
    for (actor, community) in state.db.local_communities(&local).await? {
        let view = local_view(state, actor, community);
        out.insert(view.ap_id.clone(), view);
    }
    for actor in state.db.remote_actors(&remote).await? {
        if actor.kind == "Group" {
            out.insert(actor.ap_id.clone(), remote_view(actor));
        }
    }
    Ok(out)
}

/// Resolves an actor given as URL or `name@domain` to its id (for bans and role changes).
pub async fn resolve_actor(state: &AppState, who: &str) -> Result<String, ApiError> {
    refuse_control_characters(who)?;
    let who = who.trim().trim_start_matches('@');
    if who.starts_with("http://") || who.starts_with("https://") {
        return Url::parse(who)
            .map(|u| u.to_string())
            .map_err(|_| ApiError::bad_request("not a URL"));
    }
    let (name, domain) = who.split_once('@').unwrap_or((who, ""));
    if domain.is_empty() || domain.eq_ignore_ascii_case(&state.settings.instance.domain) {
        let actor = state
            .db
            .local_actor_by_name(&name.to_lowercase())
            .await?
            .filter(|a| a.kind == ActorKind::Person.as_str())
            .ok_or_else(|| ApiError::not_found(format!("no user {name:?} on this node")))?;
        return Ok(user_ap_id(state, &actor.name));
    }
    if state.db.policy_key(domain).is_none() {
        return Err(ApiError::bad_request("expected an actor like name@domain"));
    }
    // No WebFinger to a host the policy refuses.
    if !state.db.federates_with(domain).await? {
        return Err(ApiError::forbidden(format!(
            "this node does not federate with {domain}"
        )));
    }
    state
        .client
        .webfinger(name, domain)
        .await
        .map(|u| u.to_string())
        .map_err(|e| ApiError::not_found(format!("cannot find {who}: {e}")))
}
