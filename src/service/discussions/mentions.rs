//! Who a post mentions. A member's text names people as `@name` (someone on this node) or
//! `@name@host`; a post from another server names them in its `Mention` tags. Only people the
//! node already knows are recorded (no lookup on the write path): local people, so they are
//! notified, and known remote people, so the post's document tags them for their own node.

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
            None => local_person(state, &name).await?,
            Some(h) if h.eq_ignore_ascii_case(domain) => local_person(state, &name).await?,
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
pub(super) async fn in_tags(state: &Node, tags: &[Url]) -> Result<Vec<Mentioned>, Error> {
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
        if let Some(p) = local_person(state, name).await? {
            if p.actor == url.as_str() && !found.iter().any(|f| f.actor == p.actor) {
                found.push(p);
            }
        }
    }
    Ok(found)
}

async fn local_person(state: &Node, name: &str) -> Result<Option<Mentioned>, Error> {
    Ok(state
        .db
        .local_actor_by_name(name)
        .await?
        .filter(|a| a.kind == "person")
        .map(|a| Mentioned {
            actor: user_ap_id(state, &a.name),
            name: format!("@{}@{}", a.name, state.settings.instance.domain),
        }))
}
