//! The rows community insights are computed from, over a window of time `[from, to)` (epoch
//! milliseconds): one query per kind, each a range scan of an index on the community and a
//! time (`posts_community_published`, `memberships_community_created`,
//! `article_revisions_article_created`, `events_community_start`), never a query per row. Replies, the most numerous
//! rows, are counted here rather than read: a window reads one row per thread, per pair of
//! authors and per week. What the rows mean is `service::insights`'s business.
//!
//! A closed window's figures are remembered ([`Remembered`], bounded) under the community's
//! change stamp (`insight_stamps`, migration `m20261208_000040_insight_stamps`): triggers grow
//! it in the transaction of every insert, delete, or update of a column these queries read, in
//! each of the six tables they read, so a remembered value is used only while nothing it was
//! computed from has changed, whichever process or path wrote.

use super::{queue::sql, Db, DbErr};
use crate::domain::{MemberState, RsvpState};
use sea_orm::{ConnectionTrait, QueryResult};
use std::{
    any::Any,
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

/// How many closed windows are remembered per process (least recently used forgotten first).
const REMEMBERED: usize = 32;

type Value = Arc<dyn Any + Send + Sync>;

/// Closed windows' figures, by community and window, each with the stamp it was computed at.
#[derive(Default)]
pub struct Remembered {
    entries: Mutex<HashMap<(String, i64, i64), Entry>>,
    clock: AtomicU64,
    /// Times the rows of a window were read (`insight_rows`), for tests and metrics.
    reads: AtomicU64,
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let windows = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("Remembered")
            .field("windows", &windows)
            .finish()
    }
}

struct Entry {
    stamp: i64,
    used: u64,
    value: Value,
}

/// A thread opened in the window.
#[derive(Debug, Clone)]
pub struct ThreadRow {
    pub id: i64,
    pub ap_id: String,
    pub title: Option<String>,
    pub author: String,
    pub published: i64,
    pub answer_id: Option<i64>,
    /// When the first reply by someone other than the author was written (before the
    /// window's end), if one was.
    pub first_answer: Option<i64>,
    /// When the reply marked as the answer was written, if it is visible and was written
    /// before the window's end.
    pub solved_at: Option<i64>,
}

/// The replies written in the window by one person in the threads of another (or of
/// themselves), counted in the database rather than read one by one.
#[derive(Debug, Clone)]
pub struct ReplyPair {
    pub author: String,
    pub thread_author: String,
    pub replies: usize,
    /// The earliest of these replies written after the author joined, if they joined in
    /// the window (a newcomer's first reply).
    pub newcomer_first: Option<i64>,
}

/// An article revision written in the window.
#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub article_id: i64,
    pub author: String,
    pub seq: i32,
    pub created_at: i64,
}

/// An article of the community, with its review state.
#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub ap_id: String,
    pub review_interval_days: Option<i32>,
    pub last_reviewed_at: Option<i64>,
    pub created_at: i64,
}

/// An event starting in the window.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub capacity: Option<i32>,
    pub starts_at: i64,
    pub status: String,
}

/// A `going` RSVP to an event starting in the window.
#[derive(Debug, Clone)]
pub struct RsvpRow {
    pub event_id: i64,
    pub actor: String,
    pub created_at: i64,
}

/// Everything insights read for one community and window.
#[derive(Debug, Clone, Default)]
pub struct InsightRows {
    /// Threads opened in the window (visible ones).
    pub threads: Vec<ThreadRow>,
    /// Replies written in the window (visible ones), to any thread, per author and thread
    /// author.
    pub reply_pairs: Vec<ReplyPair>,
    /// The same replies per ISO week: the week's Monday (epoch milliseconds) and the count.
    pub reply_weeks: Vec<(i64, usize)>,
    /// Accepted members: actor and when they joined (every member: the organizations taking
    /// part are counted at the window's end).
    pub members: Vec<(String, i64)>,
    pub revisions: Vec<RevisionRow>,
    /// Articles created before the window's end.
    pub articles: Vec<ArticleRow>,
    /// Contents of the threads and replies written in the window that may link to an article
    /// (they contain `/a/`): `(is_thread, content)`.
    pub linking: Vec<(bool, String)>,
    pub events: Vec<EventRow>,
    pub rsvps: Vec<RsvpRow>,
}

const VISIBLE: &str = "p.deleted = $4 AND p.removed_reason IS NULL";

/// 1970-01-05, the first Monday after the epoch, and a week, in milliseconds: a Monday is
/// `MONDAY_MS + n * WEEK_MS`.
const MONDAY_MS: i64 = 4 * 86_400_000;
const WEEK_MS: i64 = 7 * 86_400_000;
/// Weeks added before dividing so that times before 1970 also divide down to their week
/// (integer division truncates towards zero on both databases).
const WEEKS_BEFORE: i64 = 10_000;

fn count(r: &QueryResult, column: &str) -> Result<usize, DbErr> {
    let n: i64 = r.try_get("", column)?;
    Ok(usize::try_from(n).unwrap_or_default())
}

impl Db {
    /// `community`'s change stamp: it moves with every change of what its insights read (0
    /// before the first).
    pub async fn insight_stamp(&self, community: &str) -> Result<i64, DbErr> {
        let row = self
            .conn()
            .query_one_raw(sql(
                self.backend(),
                "SELECT stamp FROM insight_stamps WHERE community = $1",
                vec![community.into()],
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get("", "stamp")?,
            None => 0,
        })
    }

    /// The value remembered for `community` over `[from, to)` at `stamp`, if any of type `T`.
    pub fn remembered_insights<T: Any + Send + Sync>(
        &self,
        community: &str,
        (from, to): (i64, i64),
        stamp: i64,
    ) -> Option<Arc<T>> {
        let memo = &self.insights;
        let mut entries = memo.entries.lock().ok()?;
        let entry = entries.get_mut(&(community.to_string(), from, to))?;
        if entry.stamp != stamp {
            return None;
        }
        entry.used = memo.clock.fetch_add(1, Ordering::Relaxed);
        entry.value.clone().downcast::<T>().ok()
    }

    /// Remembers `value` for `community` over `[from, to)`, computed from rows read after the
    /// stamp was `stamp`; forgets the least recently used window past the bound.
    pub fn remember_insights<T: Any + Send + Sync>(
        &self,
        community: &str,
        (from, to): (i64, i64),
        stamp: i64,
        value: Arc<T>,
    ) {
        let memo = &self.insights;
        let Ok(mut entries) = memo.entries.lock() else {
            return;
        };
        if entries.len() >= REMEMBERED {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                entries.remove(&key);
            }
        }
        let used = memo.clock.fetch_add(1, Ordering::Relaxed);
        entries.insert(
            (community.to_string(), from, to),
            Entry { stamp, used, value },
        );
    }

    /// How many times insights' rows were read since start.
    pub fn insight_reads(&self) -> u64 {
        self.insights.reads.load(Ordering::Relaxed)
    }

    /// The rows of `community`'s insights over `[from, to)`: nine queries. Replies, the most
    /// numerous rows, are counted in the database (per author pair and per week), so what is
    /// read grows with the threads, not with the replies.
    pub async fn insight_rows(
        &self,
        community: &str,
        from: i64,
        to: i64,
    ) -> Result<InsightRows, DbErr> {
        self.insights.reads.fetch_add(1, Ordering::Relaxed);
        let backend = self.backend();
        let conn = self.conn();
        let window = || vec![community.into(), from.into(), to.into(), false.into()];
        let rows = conn
            .query_all_raw(sql(
                backend,
                &format!(
                    "SELECT p.id, p.ap_id, p.title, p.author, p.published, p.answer_id, \
                       a.published AS solved_at, \
                       (SELECT MIN(r.published) FROM posts r \
                        WHERE r.thread_id = p.id AND r.author <> p.author AND r.published < $3 \
                          AND r.deleted = $4 AND r.removed_reason IS NULL) AS first_answer \
                     FROM posts p LEFT JOIN posts a ON a.id = p.answer_id AND a.thread_id = p.id \
                       AND a.published < $3 AND a.deleted = $4 AND a.removed_reason IS NULL \
                     WHERE p.community = $1 AND p.published >= $2 AND p.published < $3 \
                       AND p.thread_id IS NULL AND {VISIBLE} ORDER BY p.published, p.id"
                ),
                window(),
            ))
            .await?;
        let threads = rows
            .iter()
            .map(|r| {
                Ok(ThreadRow {
                    id: r.try_get("", "id")?,
                    ap_id: r.try_get("", "ap_id")?,
                    title: r.try_get("", "title")?,
                    author: r.try_get("", "author")?,
                    published: r.try_get("", "published")?,
                    answer_id: r.try_get("", "answer_id")?,
                    first_answer: r.try_get("", "first_answer")?,
                    solved_at: r.try_get("", "solved_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        // A newcomer is an accepted member who joined in the window; their replies written
        // after joining give their first reply.
        let rows = conn
            .query_all_raw(sql(
                backend,
                &format!(
                    "SELECT p.author, t.author AS thread_author, COUNT(*) AS replies, \
                       MIN(CASE WHEN m.created_at >= $2 AND m.created_at < $3 \
                         AND p.published >= m.created_at THEN p.published END) AS newcomer_first \
                     FROM posts p JOIN posts t ON t.id = p.thread_id \
                     LEFT JOIN memberships m ON m.community = p.community AND m.actor = p.author \
                       AND m.state = $5 \
                     WHERE p.community = $1 AND p.published >= $2 AND p.published < $3 \
                       AND p.thread_id IS NOT NULL AND {VISIBLE} \
                     GROUP BY p.author, t.author ORDER BY p.author, t.author"
                ),
                {
                    let mut v = window();
                    v.push(MemberState::Accepted.as_str().into());
                    v
                },
            ))
            .await?;
        let reply_pairs = rows
            .iter()
            .map(|r| {
                Ok(ReplyPair {
                    author: r.try_get("", "author")?,
                    thread_author: r.try_get("", "thread_author")?,
                    replies: count(r, "replies")?,
                    newcomer_first: r.try_get("", "newcomer_first")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                &format!(
                    "SELECT (p.published - {MONDAY_MS} + {shift}) / {WEEK_MS} AS week, \
                       COUNT(*) AS replies FROM posts p \
                     WHERE p.community = $1 AND p.published >= $2 AND p.published < $3 \
                       AND p.thread_id IS NOT NULL AND {VISIBLE} GROUP BY week ORDER BY week",
                    shift = WEEKS_BEFORE * WEEK_MS
                ),
                window(),
            ))
            .await?;
        let reply_weeks = rows
            .iter()
            .map(|r| {
                let week: i64 = r.try_get("", "week")?;
                Ok((
                    MONDAY_MS + (week - WEEKS_BEFORE) * WEEK_MS,
                    count(r, "replies")?,
                ))
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                "SELECT actor, created_at FROM memberships \
                 WHERE community = $1 AND state = $2 ORDER BY created_at, id",
                vec![community.into(), MemberState::Accepted.as_str().into()],
            ))
            .await?;
        let members = rows
            .iter()
            .map(|r| Ok((r.try_get("", "actor")?, r.try_get("", "created_at")?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                "SELECT r.article_id, r.author, r.seq, r.created_at \
                 FROM articles a JOIN article_revisions r ON r.article_id = a.id \
                 WHERE a.community = $1 AND r.created_at >= $2 AND r.created_at < $3 \
                 ORDER BY r.created_at, r.id",
                vec![community.into(), from.into(), to.into()],
            ))
            .await?;
        let revisions = rows
            .iter()
            .map(|r| {
                Ok(RevisionRow {
                    article_id: r.try_get("", "article_id")?,
                    author: r.try_get("", "author")?,
                    seq: r.try_get("", "seq")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                "SELECT ap_id, review_interval_days, last_reviewed_at, created_at FROM articles \
                 WHERE community = $1 AND created_at < $2 ORDER BY id",
                vec![community.into(), to.into()],
            ))
            .await?;
        let articles = rows
            .iter()
            .map(|r| {
                Ok(ArticleRow {
                    ap_id: r.try_get("", "ap_id")?,
                    review_interval_days: r.try_get("", "review_interval_days")?,
                    last_reviewed_at: r.try_get("", "last_reviewed_at")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                &format!(
                    "SELECT p.thread_id, p.content FROM posts p \
                     WHERE p.community = $1 AND p.published >= $2 AND p.published < $3 \
                       AND {VISIBLE} AND p.content LIKE $5"
                ),
                {
                    let mut v = window();
                    v.push("%/a/%".into());
                    v
                },
            ))
            .await?;
        let linking = rows
            .iter()
            .map(|r| {
                let thread: Option<i64> = r.try_get("", "thread_id")?;
                Ok((thread.is_none(), r.try_get("", "content")?))
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                "SELECT id, capacity, starts_at, status FROM events \
                 WHERE community = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at, id",
                vec![community.into(), from.into(), to.into()],
            ))
            .await?;
        let events = rows
            .iter()
            .map(|r| {
                Ok(EventRow {
                    id: r.try_get("", "id")?,
                    capacity: r.try_get("", "capacity")?,
                    starts_at: r.try_get("", "starts_at")?,
                    status: r.try_get("", "status")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let rows = conn
            .query_all_raw(sql(
                backend,
                "SELECT p.event_id, p.actor, p.created_at \
                 FROM events e JOIN event_participants p ON p.event_id = e.id \
                 WHERE e.community = $1 AND e.starts_at >= $2 AND e.starts_at < $3 AND p.state = $4 \
                 ORDER BY p.created_at, p.id",
                vec![
                    community.into(),
                    from.into(),
                    to.into(),
                    RsvpState::Going.as_str().into(),
                ],
            ))
            .await?;
        let rsvps = rows
            .iter()
            .map(|r| {
                Ok(RsvpRow {
                    event_id: r.try_get("", "event_id")?,
                    actor: r.try_get("", "actor")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        Ok(InsightRows {
            threads,
            reply_pairs,
            reply_weeks,
            members,
            revisions,
            articles,
            linking,
            events,
            rsvps,
        })
    }
}
