//! A member's notifications: replies to and likes of their posts, newest first, shared by the
//! Mastodon API and the notifications page. They are read from the posts and likes
//! themselves, so one arriving from another node is there as soon as the post or like is
//! stored, and none is lost in a crash; what has been seen is the user's `notifications`
//! read marker (the one Mastodon apps move), so apps and the page agree.
//!
//! A notification's id is its moment in milliseconds times 1000, plus 500 for a like, plus
//! its row id modulo 500: numeric, ordered by time across both kinds, under 2^53.

use super::{
    discussions::{self as svc, CommunityView, Member},
    error::Error,
    privacy,
};
use crate::{db::discussions::Post, node::Node};
use std::collections::HashMap;

/// The read marker the notifications' last seen id is kept under.
pub const MARKER: &str = "notifications";

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Someone replied to one of the member's posts.
    Reply,
    /// Someone liked one of the member's posts.
    Like,
}

/// One notification: who did what, about which post (a reply's own post, or the liked one).
#[derive(Clone, Debug)]
pub struct Notification {
    pub id: i64,
    pub kind: Kind,
    /// The ActivityPub id of who replied or liked.
    pub account: String,
    pub post_id: i64,
    pub at: i64,
}

pub fn note_id(at_ms: i64, kind: Kind, row: i64) -> i64 {
    let k = match kind {
        Kind::Reply => 0,
        Kind::Like => 1,
    };
    at_ms * 1000 + k * 500 + row.rem_euclid(500)
}

/// Which notifications: ids below `max_id`, above `since_id`, at most `limit`, of the kinds
/// wanted.
pub struct Window {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub limit: u64,
    pub replies: bool,
    pub likes: bool,
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
    let before = w.max_id.map(|m| m / 1000 + 1);
    let after = w.since_id.map(|s| s / 1000 - 1);
    let (replies, likes) = state
        .db
        .reactions(&me, before, after, w.limit, (w.replies, w.likes))
        .await?;
    let mut notes: Vec<Notification> = replies
        .iter()
        .map(|r| Notification {
            id: note_id(r.created_at, Kind::Reply, r.id),
            kind: Kind::Reply,
            account: r.author.clone(),
            post_id: r.id,
            at: r.created_at,
        })
        .chain(likes.iter().map(|l| Notification {
            id: note_id(l.created_at, Kind::Like, l.id),
            kind: Kind::Like,
            account: l.actor.clone(),
            post_id: l.post_id,
            at: l.created_at,
        }))
        .filter(|n| w.max_id.is_none_or(|m| n.id < m) && w.since_id.is_none_or(|s| n.id > s))
        .collect();
    notes.sort_by_key(|n| std::cmp::Reverse(n.id));
    notes.truncate(usize::try_from(w.limit).unwrap_or(80));
    let mut posts: HashMap<i64, Post> = replies.into_iter().map(|r| (r.id, r)).collect();
    let liked: Vec<i64> = notes
        .iter()
        .filter(|n| !posts.contains_key(&n.post_id))
        .map(|n| n.post_id)
        .collect();
    posts.extend(
        state
            .db
            .posts_by_ids(&liked)
            .await?
            .into_iter()
            .map(|p| (p.id, p)),
    );
    let known = svc::known_many(
        state,
        notes
            .iter()
            .filter_map(|n| posts.get(&n.post_id))
            .map(|p| p.community.as_str()),
    )
    .await?;
    let refs: Vec<&CommunityView> = known.values().collect();
    let readable = privacy::readable_each(state, Some(member), &refs).await?;
    notes.retain(|n| {
        posts.get(&n.post_id).is_some_and(|post| {
            !post.deleted
                && post.removed_reason.is_none()
                && (!known.contains_key(&post.community) || readable.contains(&post.community))
        })
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

/// How many notifications arrived after the marker, cheaply enough for every page's header:
/// one marker lookup and two `COUNT`s, without the per-community read check of [`gather`]
/// (a reply in a community the member can no longer read may be counted until it is seen).
pub async fn unread_count(state: &Node, member: &Member) -> Result<u64, Error> {
    let after = last_read(state, member).await?.map_or(0, |id| id / 1000);
    Ok(state
        .db
        .reactions_since(&member.ap_id(state), after)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::{note_id, Kind};

    #[test]
    fn ids_order_by_time_across_kinds_and_stay_below_2_pow_53() {
        let at = 1_800_000_000_000;
        assert!(note_id(at, Kind::Reply, 7) < note_id(at + 1, Kind::Reply, 3));
        assert!(note_id(at + 1, Kind::Like, 999) > note_id(at + 1, Kind::Reply, 499));
        assert!(note_id(7_258_118_400_000, Kind::Like, 123_456) < (1i64 << 53));
    }
}
