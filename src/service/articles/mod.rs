//! Knowledge articles: a versioned knowledge base in every community, owned by the community's
//! node, which orders every change.
//!
//! Every edit is a revision holding the full markdown text, identified by a content hash that
//! every node computes the same way (and checks on receipt). An edit names the revision it was
//! based on; if the article moved on since, the owner three-way merges base → latest and
//! base → proposed. A clean merge becomes a new revision; a conflict stores nothing and answers
//! with the conflicting text (with markers) and the latest revision. Members on other nodes
//! propose edits to the owner (`Update` with `baseRevision`); the owner decides and either
//! sends the new revision to every follower (`Update(Article)` from the community) or answers
//! the editor's node with a `Reject` carrying the conflict.

use crate::{
    activitypub::{
        activities::{ActivityKind, Document, Object, Verified},
        actors::host_of,
        articles::{ArticleDoc, RevisionDoc},
        collections::{Collection, PageRef},
        objects::{self, rfc3339, AS_CONTEXT, PUBLIC},
    },
    db::{
        articles::{Article, ArticleEdit, NewArticle, NewRevision, Revision},
        now_ms,
        queue::NewJob,
        LocalActor,
    },
    delivery, markdown,
    node::Node,
    service::error::Error,
    service::{
        access,
        discussions::{
            broadcast_jobs, check_title, known, moderates, require_member, CommunityView, Member,
        },
        remote,
    },
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tracing::{info, warn};
use url::Url;

mod document;
mod edits;
mod proposals;
mod replica;
pub use document::*;
pub use edits::*;
pub use proposals::*;
pub use replica::*;

/// Largest article text, in bytes.
pub const MAX_ARTICLE: usize = 512 * 1024;
/// Revisions per page of an article's history collection.
const HISTORY_PAGE: u64 = 10;
/// Most revisions one page of the API's history list holds (`?limit=N`, default and maximum).
pub const MAX_REVISIONS_LISTED: u64 = 100;
/// Most lines a text may have to be diffed or merged. Myers' diff costs up to the product of
/// the two lengths: two unrelated texts of this size take about 0.2 s of one core.
pub const MAX_DIFF_LINES: usize = 4_000;
/// How long a diff or merge waits for a free slot before the request is answered 503.
const DIFF_WAIT: Duration = Duration::from_secs(10);

/// Diffs and merges run on the blocking pool, never on the async runtime, and at most one per
/// core at a time.
static DIFF_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs `work` (a diff or a merge of `texts`) off the async runtime behind [`DIFF_SLOTS`].
/// Texts of more than [`MAX_DIFF_LINES`] lines are refused with 422 before any work.
pub fn bounded_diff<T: Send + 'static>(
    texts: &[&str],
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Result<T, Error>> {
    // Checked before the future exists, so it borrows nothing.
    let too_long = texts.iter().any(|t| t.lines().count() > MAX_DIFF_LINES);
    let refusal = format!("{what} compares texts of at most {MAX_DIFF_LINES} lines");
    async move {
        if too_long {
            return Err(Error::refused(refusal));
        }
        run_blocking_diff(work).await
    }
}

async fn run_blocking_diff<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    let slot = tokio::time::timeout(DIFF_WAIT, DIFF_SLOTS.acquire())
        .await
        .map_err(|_| Error::unavailable("the node is busy comparing texts; try again later"))?
        .map_err(|_| Error::internal())?;
    // The slot goes with the work, so a client that hangs up does not free it early.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| {
        warn!(error = %e, "a diff or merge failed");
        Error::internal()
    })
}

/// The id of a revision: a hash of everything it consists of, the same on every node.
pub fn revision_id(
    article: &str,
    parent: Option<&str>,
    author: &str,
    title: &str,
    content: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [article, parent.unwrap_or(""), author, title, content] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A URL slug from any Unicode title: lowercase letters and digits joined by dashes.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c);
        } else {
            dash = true;
        }
        if slug.chars().count() >= 80 {
            break;
        }
    }
    if slug.is_empty() {
        "article".into()
    } else {
        slug
    }
}

async fn unique_slug(state: &Node, community: &str, title: &str) -> Result<String, Error> {
    let base = slugify(title);
    let mut candidate = base.clone();
    let mut n = 2;
    while state.db.slug_taken(community, &candidate).await? {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Plain-text summary: the first paragraph, at most 500 characters.
pub fn summary_of(content_md: &str) -> String {
    let html = markdown::render(content_md);
    let first = html.split("</p>").next().unwrap_or(&html);
    let text = markdown::plain_text(first);
    let text = if text.is_empty() {
        markdown::plain_text(&html)
    } else {
        text
    };
    markdown::excerpt(&text, 500)
}

fn check_content(content: &str) -> Result<(), Error> {
    if content.trim().is_empty() {
        return Err(Error::refused("the article is empty"));
    }
    if content.len() > MAX_ARTICLE {
        return Err(Error::refused("an article is at most 512 KiB"));
    }
    Ok(())
}

/// What became of a create or edit.
#[derive(Debug)]
pub enum Outcome {
    /// Stored as `rev` (also when nothing changed: then `rev` is the unchanged head).
    Applied { article: Article, rev: String },
    /// Nothing stored; the editor resolves `conflict` against `latest` and resubmits.
    Conflict { conflict: String, latest: String },
    /// The owner refused it.
    Rejected { reason: String },
    /// The owner has not answered yet; the proposal stays recorded and resolves later.
    Pending { edit: ArticleEdit },
}

/// Whether `article` is past its review interval at `now` (never, without an interval).
pub fn overdue(article: &Article, now: i64) -> bool {
    article.review_interval_days.is_some_and(|days| {
        article.last_reviewed_at.unwrap_or(article.created_at) + i64::from(days) * 86_400_000 <= now
    })
}

/// What one line of a diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Delete,
    Insert,
}

impl LineKind {
    /// The word the API names it with.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Context => "context",
            LineKind::Delete => "delete",
            LineKind::Insert => "insert",
        }
    }
}

/// One line of a diff, without its line ending.
#[derive(Debug, Clone)]
pub struct DiffLine {
    pub kind: LineKind,
    pub text: String,
}

/// A hunk of a line diff: where it starts in each text, how many lines it spans there, and
/// its lines.
#[derive(Debug, Clone)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<DiffLine>,
}

/// The line diff of two revisions' texts (a unified patch and its hunks), computed off the
/// async runtime within the bounds of [`bounded_diff`]; the API and the pages show it.
pub async fn line_diff(old: &str, new: &str) -> Result<(String, Vec<Hunk>), Error> {
    let (a, b) = (old.to_string(), new.to_string());
    bounded_diff(&[old, new], "a diff", move || {
        let patch = diffy::create_patch(&a, &b);
        let hunks = patch
            .hunks()
            .iter()
            .map(|h| Hunk {
                old_start: h.old_range().start(),
                old_lines: h.old_range().len(),
                new_start: h.new_range().start(),
                new_lines: h.new_range().len(),
                lines: h
                    .lines()
                    .iter()
                    .map(|l| {
                        let (kind, text) = match l {
                            diffy::Line::Context(t) => (LineKind::Context, *t),
                            diffy::Line::Delete(t) => (LineKind::Delete, *t),
                            diffy::Line::Insert(t) => (LineKind::Insert, *t),
                        };
                        DiffLine {
                            kind,
                            text: text.strip_suffix('\n').unwrap_or(text).to_string(),
                        }
                    })
                    .collect(),
            })
            .collect();
        (patch.to_string(), hunks)
    })
    .await
}
