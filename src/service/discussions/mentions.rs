//! Who a post mentions. A member's text names people as `@name` (someone on this node) or
//! `@name@host`; a post from another server names them in its `Mention` tags. Only people the
//! node already knows are recorded (no lookup on the write path): local people, so they are
//! notified, and known remote people, so the post's document tags them for their own node.
//! In a confidential community only people of this node who may read it (the one check,
//! `privacy::may_read`) are recorded: naming anyone else tells them nothing, not even that
//! they were named (no notification, no unread count).

use super::*;
use crate::{activitypub::actors::host_of, db::discussions::Mentioned, markdown};

/// The people `markdown` (a member's new post in `community`) mentions, each once.
pub(super) async fn in_text(
    state: &Node,
    community: &CommunityView,
    markdown: &str,
) -> Result<Vec<Mentioned>, Error> {
    let domain = &state.settings.instance.domain;
    let mut found = Vec::new();
    for (name, host) in markdown::mentioned_handles(markdown) {
        let person = match host.as_deref() {
            None => local_person(state, community, &name).await?,
            Some(h) if h.eq_ignore_ascii_case(domain) => {
                local_person(state, community, &name).await?
            }
            Some(h) => state
                .db
                .remote_actor_by_handle(&name, h)
                .await?
                .filter(|a| a.kind == "Person")
                .map(|a| Mentioned {
                    actor: a.ap_id,
                    name: format!("@{name}@{h}"),
                }),
        };
        // The community itself is named by the document's first tag already.
        if let Some(p) = person.filter(|p| p.actor != community.ap_id) {
            if !found.iter().any(|f: &Mentioned| f.actor == p.actor) {
                found.push(p);
            }
        }
    }
    Ok(found)
}

/// The people of this node a post from another server tags with `Mention`.
pub(super) async fn in_tags(
    state: &Node,
    community: &CommunityView,
    tags: &[Url],
) -> Result<Vec<Mentioned>, Error> {
    let domain = &state.settings.instance.domain;
    let mut found: Vec<Mentioned> = Vec::new();
    for url in tags {
        if found.len() >= markdown::MAX_MENTIONS {
            break;
        }
        if !host_of(url).eq_ignore_ascii_case(domain) {
            continue;
        }
        let Some(name) = url.path().strip_prefix("/u/") else {
            continue;
        };
        if let Some(p) = local_person(state, community, name).await? {
            if p.actor == url.as_str() && !found.iter().any(|f| f.actor == p.actor) {
                found.push(p);
            }
        }
    }
    Ok(found)
}

/// A person of this node named `name` who may read `community`.
async fn local_person(
    state: &Node,
    community: &CommunityView,
    name: &str,
) -> Result<Option<Mentioned>, Error> {
    let Some(actor) = state
        .db
        .local_actor_by_name(name)
        .await?
        .filter(|a| a.kind == "person")
    else {
        return Ok(None);
    };
    if !privacy::is_public(community) {
        let Ok(account) = crate::service::accounts::account_named(&state.db, &actor.name).await
        else {
            return Ok(None);
        };
        let reader = Member {
            actor: account.actor,
            user: account.user,
        };
        if privacy::may_read(state, Some(&reader), community)
            .await
            .is_err()
        {
            return Ok(None);
        }
    }
    Ok(Some(Mentioned {
        actor: user_ap_id(state, &actor.name),
        name: format!("@{}@{}", actor.name, state.settings.instance.domain),
    }))
}
