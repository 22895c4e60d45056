//! Keyset paging for every list the node serves — the native API, ActivityPub collections,
//! Atom and iCalendar feeds: a `limit` clamped to a maximum, a cursor naming the sort key of
//! the last item a page showed, and the URL of the next page.
//!
//! A page is read with one query for `limit + 1` rows; the extra row only tells that more
//! follow, so the last page says so (no empty page at the end). Cursors are the sort key
//! itself, not an offset, so a page costs the same wherever it is, and items added or removed
//! meanwhile do not shift the pages still to come.

use serde::{de, Deserialize, Deserializer};
use std::{fmt, str::FromStr};

/// `limit` as asked (`default` when absent), lowered to `max` and raised to 1: never refused.
pub fn limit(requested: Option<u64>, default: u64, max: u64) -> u64 {
    requested.unwrap_or(default).clamp(1, max)
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Whether more items follow this page.
    pub more: bool,
}

impl<T> Page<T> {
    /// A page from the rows of a query for `limit + 1` rows.
    pub fn from_rows(mut rows: Vec<T>, limit: u64) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        Page { items: rows, more }
    }

    /// The cursor of the next page: `key` of this page's last item, when more follow.
    pub fn next<K>(&self, key: impl FnOnce(&T) -> K) -> Option<K> {
        if self.more {
            self.items.last().map(key)
        } else {
            None
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            more: self.more,
        }
    }
}

/// `limit + 1`, the rows a page query asks for.
pub fn rows_for(limit: u64) -> u64 {
    limit.saturating_add(1)
}

/// A cursor of two parts, written `a,b`. The first part never holds a comma; the second may
/// (a title, an actor URL), and may itself be a `Pair`: `Pair<f64, Pair<i64, String>>` reads
/// `0.5,12,thread`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair<A, B>(pub A, pub B);

impl<A: FromStr, B: FromStr> FromStr for Pair<A, B> {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once(',').ok_or_else(|| bad_cursor(s))?;
        Ok(Pair(
            a.parse().map_err(|_| bad_cursor(s))?,
            b.parse().map_err(|_| bad_cursor(s))?,
        ))
    }
}

impl<A: fmt::Display, B: fmt::Display> fmt::Display for Pair<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.0, self.1)
    }
}

impl<'de, A: FromStr, B: FromStr> Deserialize<'de> for Pair<A, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// The position in a community's thread list, which shows pinned threads first: `pinned,id`
/// of the last thread seen (`1,42`). A bare id, as clients sent before lists carried `next`,
/// is the position of an unpinned thread (`0,id`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCursor {
    pub pinned: bool,
    pub id: i64,
}

impl FromStr for ThreadCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(id) = s.parse() {
            return Ok(ThreadCursor { pinned: false, id });
        }
        match s.parse::<Pair<u8, i64>>()? {
            Pair(pinned @ (0 | 1), id) => Ok(ThreadCursor {
                pinned: pinned == 1,
                id,
            }),
            _ => Err(bad_cursor(s)),
        }
    }
}

impl fmt::Display for ThreadCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", u8::from(self.pinned), self.id)
    }
}

impl<'de> Deserialize<'de> for ThreadCursor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

fn bad_cursor(s: &str) -> String {
    format!("bad cursor {s:?}: take cursors from a page's `next`")
}

/// A search position: the score (lower is better) and the identity of the last hit seen.
pub type SearchCursor = Pair<f64, Pair<i64, String>>;

/// The URL of the next page: `base` + `path` with the query `query`, `param` set to `cursor`
/// and every other parameter kept (filters, `limit`).
pub fn next_url(base: &str, path: &str, query: Option<&str>, param: &str, cursor: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k != param {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair(param, cursor);
    format!("{base}{path}?{}", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_never_refused() {
        assert_eq!(limit(None, 100, 200), 100);
        assert_eq!(limit(Some(0), 100, 200), 1);
        assert_eq!(limit(Some(1_000_000), 100, 200), 200);
        assert_eq!(limit(Some(u64::MAX), 100, 200), 200);
    }

    #[test]
    fn a_page_knows_whether_more_follow() {
        let page = Page::from_rows(vec![1, 2, 3], 2);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next(|n| *n), Some(2));
        let last = Page::from_rows(vec![1, 2], 2);
        assert_eq!(last.next(|n| *n), None);
        assert_eq!(rows_for(u64::MAX), u64::MAX);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c: Pair<i64, String> = "1700000000000,https://x.example/u/a,b".parse().expect("c");
        assert_eq!(c, Pair(1_700_000_000_000, "https://x.example/u/a,b".into()));
        assert_eq!(c.to_string(), "1700000000000,https://x.example/u/a,b");
        let s: SearchCursor = "-0.000001234,12,thread".parse().expect("search");
        assert_eq!(s.to_string().parse::<SearchCursor>().expect("again"), s);
        assert!("12".parse::<Pair<i64, i64>>().is_err());
        assert!("a,b".parse::<Pair<i64, i64>>().is_err());
        assert_eq!(
            "42".parse(),
            Ok(ThreadCursor {
                pinned: false,
                id: 42
            })
        );
        let pinned: ThreadCursor = "1,42".parse().expect("pinned");
        assert_eq!((pinned.pinned, pinned.to_string()), (true, "1,42".into()));
        assert!("2,42".parse::<ThreadCursor>().is_err());
        assert!("x".parse::<ThreadCursor>().is_err());
    }

    #[test]
    fn the_next_url_keeps_other_parameters() {
        assert_eq!(
            next_url(
                "https://n.example",
                "/api/roundtable/v1/communities/c/members",
                Some("state=pending&after=3&limit=2"),
                "after",
                "9"
            ),
            "https://n.example/api/roundtable/v1/communities/c/members?state=pending&limit=2&after=9"
        );
        assert_eq!(
            next_url("https://n.example", "/x", None, "after", "a b,c"),
            "https://n.example/x?after=a+b%2Cc"
        );
    }
}
