//! Wire shape of knowledge articles as other nodes send them: an `Article` with Roundtable's
//! `revision` (the revision it shows) and `history` (every revision, with texts), and the items
//! of that history.

use super::{
    activities::{Document, DocumentKind},
    objects::parse_time,
};
use serde_json::Value;
use url::Url;

/// A revision as the wire names it; the reader checks its id against its content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevisionDoc {
    pub id: Option<String>,
    pub parent: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// The proposal this revision applied.
    pub edit: Option<String>,
    pub published: Option<i64>,
    /// A history item's own title and text (an `Article` carries them beside its revision).
    pub title: Option<String>,
    pub content: Option<String>,
}

/// An `Article` document.
#[derive(Debug, Clone)]
pub struct ArticleDoc {
    pub id: Option<Url>,
    pub audience: Option<Url>,
    /// Its `name`: the plain-text title as the owner hashed it.
    pub title: Option<String>,
    /// The markdown it was written in (`source.content`), …
    pub source: Option<String>,
    /// … and whether `source` says it is markdown.
    pub source_is_markdown: bool,
    pub revision: Option<RevisionDoc>,
    pub history: Option<Url>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

impl RevisionDoc {
    /// Reads a revision (an `Article`'s `revision`, or an item of its history).
    pub fn parse(value: &Value) -> RevisionDoc {
        RevisionDoc {
            id: text(value, "id"),
            parent: text(value, "parent"),
            author: text(value, "author"),
            message: text(value, "message"),
            edit: text(value, "edit"),
            published: parse_time(value.get("published")),
            title: text(value, "title"),
            content: text(value, "content"),
        }
    }
}

impl ArticleDoc {
    /// Reads an `Article`; `None` for any other document.
    pub fn parse(value: &Value) -> Option<ArticleDoc> {
        if value.get("type").and_then(Value::as_str) != Some("Article") {
            return None;
        }
        let id_of = |key: &str| {
            match value.get(key) {
                Some(Value::String(s)) => Some(s.as_str()),
                Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
                _ => None,
            }
            .and_then(|s| Url::parse(s).ok())
        };
        let source = value.get("source");
        Some(ArticleDoc {
            id: id_of("id"),
            audience: id_of("audience"),
            title: text(value, "name"),
            source: source.and_then(|s| text(s, "content")),
            source_is_markdown: source
                .and_then(|s| s.get("mediaType"))
                .and_then(Value::as_str)
                == Some("text/markdown"),
            revision: value
                .get("revision")
                .filter(|r| r.is_object())
                .map(RevisionDoc::parse),
            history: id_of("history"),
        })
    }
}

impl Document {
    /// The article this document is, when it is one.
    pub fn article(&self) -> Option<ArticleDoc> {
        (self.kind == DocumentKind::Article)
            .then(|| ArticleDoc::parse(&self.raw))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn articles_and_revisions() {
        let doc = ArticleDoc::parse(&json!({
            "id": "https://a.example/articles/1", "type": "Article", "name": "Runbook",
            "audience": "https://a.example/c/kb", "history": "https://a.example/articles/1/history",
            "source": {"content": "# Steps", "mediaType": "text/markdown"},
            "revision": {"id": "abc", "parent": null, "author": "https://a.example/u/ada",
                         "published": "2026-01-02T03:04:05Z"}
        }))
        .expect("an article");
        assert_eq!(doc.title.as_deref(), Some("Runbook"));
        assert!(doc.source_is_markdown);
        let rev = doc.revision.expect("a revision");
        assert_eq!(rev.id.as_deref(), Some("abc"));
        assert_eq!(rev.parent, None);
        assert_eq!(rev.published, Some(1_767_323_045_000));
        assert!(ArticleDoc::parse(&json!({"type": "Note"})).is_none());
        let no_rev =
            ArticleDoc::parse(&json!({"type": "Article", "revision": "abc"})).expect("read");
        assert!(no_rev.revision.is_none(), "a revision must be an object");
    }
}
