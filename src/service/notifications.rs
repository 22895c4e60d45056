//! A member's notifications, newest first, shared by the Mastodon API and the notifications
//! page: replies to and likes of their posts, posts that mention them, answers to events they
//! organize, the organizer's answers to their own RSVPs, another node's answers to the
//! article edits they proposed there, requests to join the communities they moderate, and
//! members' boosts of their posts.
//! They are read from the rows that record those things
//! (posts, likes, mentions, RSVPs, edit proposals), written in the same transaction as the
//! thing itself, so one arriving from another node is there as soon as it is stored and none
//! is lost in a crash; what has been seen is the user's `notifications` read marker (the one
//! Mastodon apps move), so apps and the page agree.
//!
//! A notification's id is its moment in milliseconds times 1000, plus 100 times its kind's
//! number, plus its row id modulo 100: numeric, ordered by time across kinds, under 2^53.

use super::{
    discussions::{self as svc, CommunityView, Member},
    error::Error,
    privacy,
};
use crate::{
    db::{discussions::Post, notifications::Span},
    domain::RsvpState,
    node::Node,
};
use std::collections::{HashMap, HashSet};

/// The read marker the notifications' last seen id is kept under.
pub const MARKER: &str = "notifications";

/// The marker under which the id up to which the member cleared their notifications is kept
/// (not a timeline apps ask for).
const CLEARED: &str = "notifications.cleared";

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Someone replied to one of the member's posts.
    Reply,
    /// Someone liked one of the member's posts.
    Like,
    /// Someone's post mentions the member.
    Mention,
    /// Someone answered an event the member organizes (going, asking, waitlisted).
    Rsvp,
    /// The organizer (or the event's node) answered the member's own RSVP.
    RsvpAnswer,
    /// Another node answered an article edit the member proposed there.
    EditAnswer,
    /// Someone asks to join a community the member moderates (while the request waits).
    JoinRequest,
    /// Someone boosted one of the member's posts.
    Boost,
}

impl Kind {
    fn number(self) -> i64 {
        match self {
            Kind::Reply => 0,
            Kind::Like => 1,
            Kind::Mention => 2,
            Kind::Rsvp => 3,
            Kind::RsvpAnswer => 4,
            Kind::EditAnswer => 5,
            Kind::JoinRequest => 6,
            Kind::Boost => 7,
        }
    }
}

/// The thing a notification points at.
#[derive(Clone, Debug)]
pub enum About {
    /// A post: the reply, the liked post, the post that mentions.
    Post(i64),
    /// An event and the RSVP's state.
    Event {
        id: i64,
        title: String,
        community: String,
        state: RsvpState,
    },
    /// An article edit proposal and how it ended (`applied`, `conflict`, `rejected`).
    Edit {
        /// The article's ActivityPub id (`None` for a proposed new article).
        article: Option<String>,
        title: String,
        community: String,
        state: String,
        reason: Option<String>,
    },
    /// A community the member moderates, which the account asks to join.
    Join { community: String },
}

/// One notification: who did what, about what.
#[derive(Clone, Debug)]
pub struct Notification {
    pub id: i64,
    pub kind: Kind,
    /// The ActivityPub id of who acted: the replier, liker, author, participant,
    /// organizer, or the community that answered an edit.
    pub account: String,
    pub about: About,
    pub at: i64,
}

impl Notification {
    /// The post it is about, for the kinds about a post.
    pub fn post_id(&self) -> Option<i64> {
        match self.about {
            About::Post(id) => Some(id),
            _ => None,
        }
    }

    fn community<'a>(&'a self, posts: &'a HashMap<i64, Post>) -> Option<&'a str> {
        match &self.about {
            About::Post(id) => posts.get(id).map(|p| p.community.as_str()),
            About::Event { community, .. }
            | About::Edit { community, .. }
            | About::Join { community } => Some(community.as_str()),
        }
    }
}

pub fn note_id(at_ms: i64, kind: Kind, row: i64) -> i64 {
    at_ms * 1000 + kind.number() * 100 + row.rem_euclid(100)
}

/// Which notifications: ids below `max_id`, above `since_id`, at most `limit`, of the kinds
/// wanted.
pub struct Window {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub limit: u64,
    pub replies: bool,
    pub likes: bool,
    pub mentions: bool,
    /// RSVPs to the member's events and answers to their own.
    pub events: bool,
    /// Answers to their article edit proposals.
    pub edits: bool,
    /// Requests waiting to join the communities they moderate.
    pub joins: bool,
    /// Boosts of their posts.
    pub boosts: bool,
}

impl Window {
    /// Every kind.
    pub fn all(max_id: Option<i64>, since_id: Option<i64>, limit: u64) -> Window {
        Window {
            max_id,
            since_id,
            limit,
            replies: true,
            likes: true,
            mentions: true,
            events: true,
            edits: true,
            joins: true,
            boosts: true,
        }
    }
}

/// The member's notifications in a window, newest first, with the posts they are about,
/// keeping only those on posts still shown, in communities the member may still read
/// (`privacy::readable_each`, once for the page).
pub async fn gather(
    state: &Node,
    member: &Member,
    w: &Window,
) -> Result<(Vec<Notification>, HashMap<i64, Post>), Error> {
    let me = member.ap_id(state);
    let span = Span {
        before: w.max_id.map(|m| m / 1000 + 1),
        after: w.since_id.map(|s| s / 1000 - 1),
        limit: w.limit,
    };
    let (replies, likes) = state
        .db
        .reactions(&me, span.before, span.after, w.limit, (w.replies, w.likes))
        .await?;
    let mut notes: Vec<Notification> = Vec::new();
    let post_note = |kind, row, account: &str, post, at| Notification {
        id: note_id(at, kind, row),
        kind,
        account: account.to_string(),
        about: About::Post(post),
        at,
    };
    notes.extend(
        replies
            .iter()
            .map(|r| post_note(Kind::Reply, r.id, &r.author, r.id, r.created_at)),
    );
    notes.extend(
        likes
            .iter()
            .map(|l| post_note(Kind::Like, l.id, &l.actor, l.post_id, l.created_at)),
    );
    let mut authors: HashMap<i64, String> = HashMap::new();
    if w.mentions {
        for m in state.db.mentions_of(&me, span).await? {
            notes.push(post_note(Kind::Mention, m.id, "", m.post_id, m.created_at));
            authors.insert(m.post_id, String::new());
        }
    }
    if w.events {
        let event =
            |p: &crate::db::events::Participant, e: &crate::db::events::Event| About::Event {
                id: e.id,
                title: e.title.clone(),
                community: e.community.clone(),
                state: p.state,
            };
        for (p, e) in state.db.rsvps_to_events_of(&me, span).await? {
            notes.push(Notification {
                id: note_id(p.created_at, Kind::Rsvp, p.id),
                kind: Kind::Rsvp,
                account: p.actor.clone(),
                about: event(&p, &e),
                at: p.created_at,
            });
        }
        for (p, e) in state.db.rsvp_answers_for(member.user.id, span).await? {
            let at = p.decided_at.unwrap_or(p.created_at);
            notes.push(Notification {
                id: note_id(at, Kind::RsvpAnswer, p.id),
                kind: Kind::RsvpAnswer,
                account: e.organizer.clone(),
                about: event(&p, &e),
                at,
            });
        }
    }
    if w.edits {
        let wait = i64::try_from(state.settings.articles.edit_wait_ms).unwrap_or(i64::MAX / 2);
        for e in state
            .db
            .edit_answers_for(member.user.id, wait, span)
            .await?
        {
            let at = e.decided_at.unwrap_or(e.created_at);
            notes.push(Notification {
                id: note_id(at, Kind::EditAnswer, e.id),
                kind: Kind::EditAnswer,
                account: e.community.clone(),
                about: About::Edit {
                    article: e.article,
                    title: e.title.unwrap_or_default(),
                    community: e.community,
                    state: e.state,
                    reason: e.reason,
                },
                at,
            });
        }
    }
    if w.boosts {
        for b in state
            .db
            .boosts_of_posts_by(&me, span.before, span.after, w.limit)
            .await?
        {
            notes.push(post_note(
                Kind::Boost,
                b.id,
                &b.actor,
                b.post_id,
                b.created_at,
            ));
        }
    }
    if w.joins {
        for m in state.db.join_requests_to(&me, span).await? {
            notes.push(Notification {
                id: note_id(m.created_at, Kind::JoinRequest, m.id),
                kind: Kind::JoinRequest,
                account: m.actor,
                about: About::Join {
                    community: m.community,
                },
                at: m.created_at,
            });
        }
    }
    // What the member cleared or dismissed, and what muted or blocked accounts did, is gone.
    let cleared = cleared_upto(state, member).await?;
    let dismissed = state.db.dismissed_after(member.user.id, cleared).await?;
    let hidden = state.db.hidden(member.user.id).await?;
    notes.retain(|n| {
        w.max_id.is_none_or(|m| n.id < m)
            && w.since_id.is_none_or(|s| n.id > s)
            && n.id > cleared
            && !dismissed.contains(&n.id)
    });
    notes.sort_by_key(|n| std::cmp::Reverse(n.id));
    notes.truncate(usize::try_from(w.limit).unwrap_or(80));
    let mut posts: HashMap<i64, Post> = replies.into_iter().map(|r| (r.id, r)).collect();
    let missing: Vec<i64> = notes
        .iter()
        .filter_map(Notification::post_id)
        .filter(|id| !posts.contains_key(id))
        .collect();
    posts.extend(
        state
            .db
            .posts_by_ids(&missing)
            .await?
            .into_iter()
            .map(|p| (p.id, p)),
    );
    // A mention is from the author of the post that makes it.
    for n in notes.iter_mut().filter(|n| n.kind == Kind::Mention) {
        if let Some(post) = n.post_id().and_then(|id| posts.get(&id)) {
            n.account = post.author.clone();
        }
    }
    notes.retain(|n| !hidden.notifications.contains(&n.account));
    let communities: HashSet<&str> = notes.iter().filter_map(|n| n.community(&posts)).collect();
    let known = svc::known_many(state, communities).await?;
    let refs: Vec<&CommunityView> = known.values().collect();
    let readable = privacy::readable_each(state, Some(member), &refs).await?;
    notes.retain(|n| {
        let shown = match n.post_id() {
            Some(id) => posts
                .get(&id)
                .is_some_and(|p| !p.deleted && p.removed_reason.is_none()),
            None => true,
        };
        shown
            && n.community(&posts)
                .is_some_and(|c| !known.contains_key(c) || readable.contains(c))
    });
    Ok((notes, posts))
}

/// The id of the last notification the member has seen (their `notifications` marker).
pub async fn last_read(state: &Node, member: &Member) -> Result<Option<i64>, Error> {
    Ok(state
        .db
        .markers(member.user.id, &[MARKER])
        .await?
        .into_iter()
        .next()
        .and_then(|m| m.last_read_id.parse::<i64>().ok()))
}

/// Marks every notification up to `id` seen; the marker never moves back.
pub async fn mark_read(state: &Node, member: &Member, id: i64) -> Result<(), Error> {
    if last_read(state, member)
        .await?
        .is_some_and(|seen| seen >= id)
    {
        return Ok(());
    }
    state
        .db
        .set_marker(member.user.id, MARKER, &id.to_string())
        .await?;
    Ok(())
}

/// The id up to which the member cleared their notifications (0 if never).
async fn cleared_upto(state: &Node, member: &Member) -> Result<i64, Error> {
    Ok(state
        .db
        .markers(member.user.id, &[CLEARED])
        .await?
        .into_iter()
        .next()
        .and_then(|m| m.last_read_id.parse::<i64>().ok())
        .unwrap_or(0))
}

/// Clears every notification the member has now: none of them shows again, and none counts
/// as unread.
pub async fn clear(state: &Node, member: &Member) -> Result<(), Error> {
    let upto = note_id(crate::db::now_ms(), Kind::Boost, 99);
    state
        .db
        .set_marker(member.user.id, CLEARED, &upto.to_string())
        .await?;
    state.db.forget_dismissals(member.user.id, upto).await?;
    Ok(())
}

/// Dismisses one notification: it no longer shows.
pub async fn dismiss(state: &Node, member: &Member, id: i64) -> Result<(), Error> {
    state.db.dismiss_notification(member.user.id, id).await?;
    Ok(())
}

/// How many notifications arrived after the marker (or the last clear), cheaply enough for
/// every page's header: two marker lookups, eight `COUNT`s and the dismissals since, without
/// the per-community read check or the mutes of [`gather`] (a reply in a community the member
/// can no longer read, or from an account they muted, may be counted until it is seen).
pub async fn unread_count(state: &Node, member: &Member) -> Result<u64, Error> {
    let seen = last_read(state, member)
        .await?
        .unwrap_or(0)
        .max(cleared_upto(state, member).await?);
    let after = seen / 1000;
    let dismissed = state.db.dismissed_after(member.user.id, seen).await?.len() as u64;
    let me = member.ap_id(state);
    let wait = i64::try_from(state.settings.articles.edit_wait_ms).unwrap_or(i64::MAX / 2);
    let reactions =
        state.db.reactions_since(&me, after).await? + state.db.boosts_since(&me, after).await?;
    let others = state
        .db
        .other_notes_since(&me, member.user.id, wait, after)
        .await?;
    Ok((reactions + others).saturating_sub(dismissed))
}

#[cfg(test)]
mod tests {
    use super::{note_id, Kind};

    #[test]
    fn ids_order_by_time_across_kinds_and_stay_below_2_pow_53() {
        let at = 1_800_000_000_000;
        assert!(note_id(at, Kind::Reply, 7) < note_id(at + 1, Kind::Reply, 3));
        assert!(note_id(at + 1, Kind::Like, 999) > note_id(at + 1, Kind::Reply, 499));
        assert!(note_id(at, Kind::Boost, 99) < note_id(at + 1, Kind::Reply, 0));
        assert!(note_id(7_258_118_400_000, Kind::Boost, 123_456) < (1i64 << 53));
    }
}
