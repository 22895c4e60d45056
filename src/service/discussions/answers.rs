//! Solved questions: the author of a thread (or a moderator of its community) marks one reply
//! as the answer, or unmarks it. The community's node decides, like every other change: a
//! member elsewhere sends it an `Update` of the thread's `Page` carrying
//! [`objects::ANSWER_PROPERTY`]; it checks and stores the mark and announces the `Update`
//! unchanged to every replica (and into its stream); replicas take the mark on its word.

use super::*;

/// Who may mark `thread`'s answer and with which reply: its author or a moderator, and a
/// visible reply of that very thread.
async fn check(
    state: &Node,
    community: &CommunityView,
    thread: &Post,
    actor: &str,
    reply: Option<&Post>,
) -> Result<(), Error> {
    if thread.thread_id.is_some() {
        return Err(Error::refused("only a thread has an answer"));
    }
    if thread.deleted || thread.removed_reason.is_some() {
        return Err(Error::not_found("the thread is gone"));
    }
    if thread.author == actor {
        access::participant(state, community, actor).await?;
    } else if !moderates(state, &community.ap_id, actor).await? {
        return Err(Error::forbidden(
            "only the thread's author or a moderator can mark its answer",
        ));
    }
    if let Some(reply) = reply {
        if reply.thread_id != Some(thread.id) {
            return Err(Error::refused("the answer must be a reply of this thread"));
        }
        if reply.deleted || reply.removed_reason.is_some() {
            return Err(Error::refused("that reply is gone"));
        }
    }
    Ok(())
}

/// A member marks `reply` as `thread`'s answer (`None`: unmarks it). Stored at once when the
/// community lives here (with the announces, in one transaction); otherwise sent to the
/// community's node, and stored when it announces the change back.
pub async fn mark_answer(
    state: &Node,
    member: &Member,
    thread: &Post,
    reply: Option<&Post>,
) -> Result<Post, Error> {
    let community = known(state, &thread.community)
        .await?
        .ok_or_else(|| Error::not_found("the community is unknown"))?;
    let me = member.ap_id(state);
    check(state, &community, thread, &me, reply).await?;
    if thread.answer_id == reply.map(|r| r.id) {
        return Ok(thread.clone());
    }
    let doc = objects::with_answer(
        post_document(state, thread).await?,
        reply.map(|r| r.ap_id.as_str()),
    );
    let base = state.settings.base_url();
    let update = objects::activity(&base, "Update", &me, doc, &community.ap_id);
    let jobs = plan(state, member, &community, &update, None).await?;
    let writes = match community.local() {
        Some(_) => vec![Write::Answer {
            thread: thread.id,
            answer: reply.map(|r| r.id),
        }],
        None => Vec::new(),
    };
    state
        .db
        .apply_and_enqueue(&writes, jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    let action = if reply.is_some() {
        "thread.answer"
    } else {
        "thread.unanswer"
    };
    state.db.audit(&me, action, &thread.ap_id, None).await?;
    if let Some(reply) = reply {
        like_the_answer(state, member, reply, &me).await;
    }
    state
        .db
        .post(thread.id)
        .await?
        .ok_or_else(|| Error::not_found("gone"))
}

/// Software that ignores `roundtable:answer` (Lemmy, Mastodon) still sees a sign of the mark:
/// the marker likes the answer through the ordinary like path, so it federates as the same
/// `Like` any like does (an upvote on Lemmy, a favourite on Mastodon). Not when the marker
/// wrote the reply or already likes it: a like is one per person and post, so a Roundtable
/// node counts it once, and nothing counts the mark itself as a like. Unmarking leaves the
/// like, which the member may undo like any other. The mark stands if the like fails.
async fn like_the_answer(state: &Node, member: &Member, reply: &Post, me: &str) {
    if reply.author == me {
        return;
    }
    match state.db.like_of(reply.id, me).await {
        Ok(None) => {}
        Ok(Some(_)) => return,
        Err(error) => {
            warn!(%error, reply = %reply.ap_id, "could not read the marker's like of the answer");
            return;
        }
    }
    if let Err(error) = like(state, member, reply, true).await {
        warn!(%error, reply = %reply.ap_id, "the answer's like was not sent");
    }
}

/// The thread and the reply an answer mark names, both of `community`; `Ok(None)` when this
/// node does not hold them (a replica that has not seen them yet).
async fn marked(
    state: &Node,
    community: &CommunityView,
    doc: &Document,
    mark: Option<&Url>,
) -> Result<Option<(Post, Option<Post>)>, Error> {
    let Some(thread) = announced_post(state, community, doc.id.clone()).await? else {
        return Ok(None);
    };
    let reply = match mark {
        Some(url) => match announced_post(state, community, Some(url.clone())).await? {
            Some(reply) => Some(reply),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some((thread, reply)))
}

/// The community's node receives a member's answer mark: checked as a local one, stored and
/// announced unchanged in one transaction.
pub(super) async fn hosted_answer(
    state: &Node,
    community: &CommunityView,
    group: &LocalActor,
    actor: &str,
    doc: &Document,
    body: &Value,
) -> Result<(), Error> {
    let mark = objects::answer_mark(&doc.raw).ok_or_else(|| Error::invalid("no answer mark"))?;
    let (thread, reply) = marked(state, community, doc, mark.as_ref())
        .await?
        .ok_or_else(|| Error::not_found("no such thread or reply in this community"))?;
    check(state, community, &thread, actor, reply.as_ref()).await?;
    let jobs = announce_jobs(state, group, &community.ap_id, body, None).await?;
    let write = Write::Answer {
        thread: thread.id,
        answer: reply.map(|r| r.id),
    };
    state
        .db
        .apply_and_enqueue(&[write], jobs, false)
        .await?
        .wake(&state.delivery_wakeup);
    Ok(())
}

/// A replica applies the answer mark its community announced (the community checked it).
pub(super) async fn relayed_answer(
    state: &Node,
    community: &CommunityView,
    doc: &Document,
) -> Result<(), Error> {
    let Some(mark) = objects::answer_mark(&doc.raw) else {
        return Ok(());
    };
    match marked(state, community, doc, mark.as_ref()).await? {
        Some((thread, reply)) if thread.thread_id.is_none() => {
            if let Some(reply) = &reply {
                if reply.thread_id != Some(thread.id) {
                    return Err(Error::invalid("the answer is not a reply of the thread"));
                }
            }
            state.db.set_answer(thread.id, reply.map(|r| r.id)).await?;
        }
        _ => info!(thread = ?doc.id, "answer mark for a thread or reply not held here ignored"),
    }
    Ok(())
}
