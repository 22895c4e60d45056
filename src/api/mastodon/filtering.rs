//! Applying a member's filters to what they read: the filters of one context (home,
//! notifications, public, thread, account) that have not expired are loaded once per request,
//! and each status is matched against them in memory — its title and text without HTML,
//! case-insensitively, a `whole_word` keyword only between word boundaries, and the statuses a
//! filter names. A `hide` filter leaves the status out; the others mark it with Mastodon's
//! `filtered: [FilterResult]` so apps can warn.

use super::{filters::entity, MastodonError};
use crate::{
    db::{discussions::Post, filters::Filter},
    markdown::plain_text,
    node::Node,
};
use serde_json::{json, Value};

/// The contexts a filter applies in.
pub const CONTEXTS: [&str; 5] = ["home", "notifications", "public", "thread", "account"];

/// A filter ready to match: its entity (for `FilterResult.filter`) and its keywords folded
/// to lower case.
struct Loaded {
    hide: bool,
    entity: Value,
    keywords: Vec<(String, String, bool)>,
    statuses: Vec<i64>,
}

/// What the caller's filters say of one status.
#[derive(Debug, Default)]
pub struct Verdict {
    pub hide: bool,
    pub results: Vec<Value>,
}

/// The caller's live filters of one context.
#[derive(Default)]
pub struct Active {
    filters: Vec<Loaded>,
}

impl Active {
    /// The unexpired filters of `user_id` (none for an anonymous reader) for `context`, in
    /// three queries.
    pub async fn load(
        state: &Node,
        user_id: Option<i64>,
        context: &str,
    ) -> Result<Active, MastodonError> {
        let Some(user_id) = user_id else {
            return Ok(Active::default());
        };
        let filters = state.db.filters(user_id, Some(crate::db::now_ms())).await?;
        Ok(Active::of(&filters, context))
    }

    fn of(filters: &[Filter], context: &str) -> Active {
        Active {
            filters: filters
                .iter()
                .filter(|f| f.context.iter().any(|c| c == context))
                .map(|f| Loaded {
                    hide: f.action == "hide",
                    entity: entity(f),
                    keywords: f
                        .keywords
                        .iter()
                        .filter(|k| !k.keyword.trim().is_empty())
                        .map(|k| (k.keyword.clone(), k.keyword.to_lowercase(), k.whole_word))
                        .collect(),
                    statuses: f.statuses.iter().map(|s| s.post_id).collect(),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Matches one post.
    pub fn judge(&self, post: &Post) -> Verdict {
        self.judge_text(post.id, post.title.as_deref(), &post.content)
    }

    /// Matches one status by its id, title and HTML content (a post's, or what an article's
    /// or event's status shows).
    pub fn judge_text(&self, id: i64, title: Option<&str>, html: &str) -> Verdict {
        let mut verdict = Verdict::default();
        if self.filters.is_empty() {
            return verdict;
        }
        let text = format!("{}\n{}", title.unwrap_or_default(), plain_text(html)).to_lowercase();
        for f in &self.filters {
            let keywords: Vec<&str> = f
                .keywords
                .iter()
                .filter(|(_, folded, whole)| matches(&text, folded, *whole))
                .map(|(keyword, _, _)| keyword.as_str())
                .collect();
            let by_status = f.statuses.contains(&id);
            if keywords.is_empty() && !by_status {
                continue;
            }
            verdict.hide |= f.hide;
            verdict.results.push(json!({
                "filter": f.entity,
                "keyword_matches": (!keywords.is_empty()).then_some(keywords),
                "status_matches": by_status.then(|| vec![id.to_string()]),
            }));
        }
        verdict
    }

    /// The statuses of `posts` (rendered in the same order) that no `hide` filter matches,
    /// each with its `filtered` results.
    pub fn apply(&self, posts: &[Post], statuses: Vec<Value>) -> Vec<Value> {
        if self.filters.is_empty() {
            return statuses;
        }
        posts
            .iter()
            .zip(statuses)
            .filter_map(|(post, mut status)| {
                let verdict = self.judge(post);
                if verdict.hide {
                    return None;
                }
                status["filtered"] = Value::Array(verdict.results);
                Some(status)
            })
            .collect()
    }

    /// `posts` without those a `hide` filter matches.
    pub fn keep(&self, posts: Vec<Post>) -> Vec<Post> {
        if self.filters.is_empty() {
            return posts;
        }
        posts.into_iter().filter(|p| !self.judge(p).hide).collect()
    }
}

/// Whether `keyword` (folded) occurs in `text` (folded); a `whole` one only where it is not
/// part of a longer word (a boundary is checked on each side that begins or ends with a word
/// character, as a regular expression's `\b` would).
fn matches(text: &str, keyword: &str, whole: bool) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !whole {
        return text.contains(keyword);
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let starts_word = keyword.chars().next().is_some_and(word);
    let ends_word = keyword.chars().next_back().is_some_and(word);
    text.match_indices(keyword).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + keyword.len()..].chars().next();
        (!starts_word || !before.is_some_and(word)) && (!ends_word || !after.is_some_and(word))
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn whole_words_stop_at_word_boundaries() {
        let text = "the carpet, and a car! café";
        assert!(matches(text, "car", false));
        assert!(matches(text, "car", true));
        assert!(!matches("carpets and cars", "car", true));
        assert!(matches("carpets and cars", "car", false));
        assert!(matches(text, "café", true));
        assert!(!matches("cafés", "café", true));
        assert!(matches("a #tag here", "#tag", true));
        assert!(!matches("", "x", false));
        assert!(!matches("text", "", false));
    }
}
