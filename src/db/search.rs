//! The full-text index: FTS5 on SQLite, `tsvector` + GIN on PostgreSQL, one API over both.
//! Writers keep it in step with posts and articles inside their own transactions.

use super::{queue::sql, Db, DbErr};
use crate::paging::{rows_for, Page};
use sea_orm::{ConnectionTrait, DbBackend};

/// Marks the start and end of a highlighted match in titles and snippets (private-use
/// characters, so they cannot occur in indexed text); the API turns them into `<mark>`.
pub const MARK_START: char = '\u{E000}';
pub const MARK_END: char = '\u{E001}';

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub kind: String,
    pub ref_id: i64,
    pub community: String,
    pub title: String,
    pub snippet: String,
    /// How well it matches; lower is better.
    pub score: f64,
}

/// Adds or replaces a document.
pub(super) async fn index_upsert<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    ref_id: i64,
    community: &str,
    title: &str,
    body: &str,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let values = || {
        vec![
            kind.into(),
            ref_id.into(),
            community.into(),
            title.into(),
            body.into(),
        ]
    };
    if backend == DbBackend::Postgres {
        conn.execute_raw(sql(
            backend,
            "INSERT INTO search_documents (kind, ref_id, community, title, body, tsv) \
             VALUES ($1, $2, $3, $4, $5, setweight(to_tsvector('simple', $4), 'A') || setweight(to_tsvector('simple', $5), 'B')) \
             ON CONFLICT (kind, ref_id) DO UPDATE SET community = EXCLUDED.community, \
             title = EXCLUDED.title, body = EXCLUDED.body, tsv = EXCLUDED.tsv",
            values(),
        ))
        .await?;
    } else {
        index_remove(conn, kind, ref_id).await?;
        conn.execute_raw(sql(
            backend,
            "INSERT INTO search_documents (kind, ref_id, community, title, body) VALUES ($1, $2, $3, $4, $5)",
            values(),
        ))
        .await?;
    }
    Ok(())
}

pub(super) async fn index_remove<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    ref_id: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(sql(
        backend,
        "DELETE FROM search_documents WHERE kind = $1 AND ref_id = $2",
        vec![kind.into(), ref_id.into()],
    ))
    .await?;
    Ok(())
}

/// An FTS5 query that matches every word of `q` literally (no query syntax from users).
fn fts5_query(q: &str) -> String {
    q.split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a search page starts: after the hit with this score (lower is better), `ref_id` and
/// kind.
pub type SearchAfter<'a> = (f64, i64, &'a str);

impl Db {
    /// A page of the documents matching every word of `q`, best first (title matches rank
    /// above body matches; ties by `ref_id` descending, then kind): at most `limit` after
    /// `after`. Each hit carries its score, the cursor of the next page.
    pub async fn search(
        &self,
        q: &str,
        community: Option<&str>,
        after: Option<SearchAfter<'_>>,
        limit: u64,
    ) -> Result<Page<SearchHit>, DbErr> {
        if q.split_whitespace().next().is_none() {
            return Ok(Page::from_rows(Vec::new(), limit));
        }
        let backend = self.backend();
        let (s, e) = (MARK_START, MARK_END);
        let filter = if community.is_some() {
            "AND community = $2"
        } else {
            "AND $2 = $2"
        };
        // A lower score is a better match on both databases.
        let score = if backend == DbBackend::Postgres {
            "CAST(-ts_rank(tsv, q) AS DOUBLE PRECISION)"
        } else {
            "bm25(search_documents, 0.0, 0.0, 0.0, 10.0, 1.0)"
        };
        let beyond = match after {
            Some(_) => format!(
                "AND ({score} > $4 OR ({score} = $4 AND (ref_id < $5 OR (ref_id = $5 AND kind > $6))))"
            ),
            None => String::new(),
        };
        let text = if backend == DbBackend::Postgres {
            format!(
                "SELECT kind, ref_id, community, {score} AS score, \
                 ts_headline('simple', title, q, 'StartSel={s}, StopSel={e}, HighlightAll=true') AS title, \
                 ts_headline('simple', body, q, 'StartSel={s}, StopSel={e}, MaxWords=24, MinWords=8') AS snippet \
                 FROM search_documents, websearch_to_tsquery('simple', $1) AS q \
                 WHERE tsv @@ q {filter} {beyond} ORDER BY score, ref_id DESC, kind LIMIT $3"
            )
        } else {
            format!(
                "SELECT kind, ref_id, community, {score} AS score, \
                 highlight(search_documents, 3, '{s}', '{e}') AS title, \
                 snippet(search_documents, 4, '{s}', '{e}', '…', 16) AS snippet \
                 FROM search_documents WHERE search_documents MATCH $1 {filter} {beyond} \
                 ORDER BY score, ref_id DESC, kind LIMIT $3"
            )
        };
        let query = if backend == DbBackend::Postgres {
            q.to_string()
        } else {
            fts5_query(q)
        };
        let mut values: Vec<sea_orm::Value> = vec![
            query.into(),
            community.unwrap_or("").into(),
            i64::try_from(rows_for(limit)).unwrap_or(i64::MAX).into(),
        ];
        if let Some((score, ref_id, kind)) = after {
            values.extend([score.into(), ref_id.into(), kind.into()]);
        }
        let rows = self
            .conn()
            .query_all_raw(sql(backend, &text, values))
            .await?;
        let hits = rows
            .iter()
            .map(|r| {
                Ok(SearchHit {
                    kind: r.try_get("", "kind")?,
                    ref_id: r.try_get("", "ref_id")?,
                    community: r.try_get("", "community")?,
                    title: r.try_get("", "title")?,
                    snippet: r.try_get("", "snippet")?,
                    score: r.try_get("", "score")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        Ok(Page::from_rows(hits, limit))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_text_never_becomes_query_syntax() {
        assert_eq!(
            super::fts5_query("NEAR(a b) \"x"),
            "\"NEAR(a\" \"b)\" \"\"\"x\""
        );
    }
}
