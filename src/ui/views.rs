//! What the pages show of times, people and posts: relative times with an absolute tooltip,
//! people as links with their handle, posts as sanitized HTML — each looked up once per page
//! (one query for every remote author of a page), never once per item.

use crate::{
    db::discussions::Post,
    markdown,
    node::Node,
    service::{discussions as svc, error::Error},
};
use std::collections::HashMap;

/// A moment, as the pages show it: "3 hours ago", with the exact time in a tooltip and in
/// `<time datetime>`.
pub struct When {
    pub iso: String,
    pub absolute: String,
    pub relative: String,
}

pub fn when(ms: i64) -> When {
    when_from(ms, crate::db::now_ms())
}

/// [`when`] as seen at `now_ms` (for tests).
pub fn when_from(ms: i64, now_ms: i64) -> When {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return When {
            iso: String::new(),
            absolute: String::new(),
            relative: String::new(),
        };
    };
    let secs = (now_ms - ms) / 1000;
    let ahead = secs < 0;
    let s = secs.abs();
    let (n, unit) = match s {
        0..=44 => (0, ""),
        45..=3_599 => ((s + 30) / 60, "minute"),
        3_600..=86_399 => ((s + 1_800) / 3_600, "hour"),
        86_400..=2_591_999 => ((s + 43_200) / 86_400, "day"),
        2_592_000..=31_535_999 => ((s + 1_296_000) / 2_592_000, "month"),
        _ => ((s + 15_768_000) / 31_536_000, "year"),
    };
    let relative = if unit.is_empty() {
        "just now".to_string()
    } else {
        let plural = if n == 1 { "" } else { "s" };
        if ahead {
            format!("in {n} {unit}{plural}")
        } else {
            format!("{n} {unit}{plural} ago")
        }
    };
    When {
        iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        absolute: t.format("%Y-%m-%d %H:%M UTC").to_string(),
        relative,
    }
}

/// A person (or community) as a link: its handle, and where its page is — on this node for
/// local people, at its origin for others.
#[derive(Clone)]
pub struct PersonLink {
    pub handle: String,
    pub href: String,
}

/// Looks up every actor of a page at once.
pub struct People {
    handles: HashMap<String, String>,
    domain: String,
}

impl People {
    pub async fn load<'a>(
        state: &Node,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<People, Error> {
        Ok(People {
            handles: svc::actor_handles(state, ids).await?,
            domain: state.settings.instance.domain.clone(),
        })
    }

    pub fn link(&self, ap_id: &str) -> PersonLink {
        let handle = self
            .handles
            .get(ap_id)
            .cloned()
            .unwrap_or_else(|| ap_id.to_string());
        let href = match handle.strip_suffix(&format!("@{}", self.domain)) {
            Some(name) => format!("/people/{name}"),
            None => format!("/people/{}", encode(&handle)),
        };
        PersonLink { handle, href }
    }
}

/// A path segment or query value, percent-encoded.
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The community of an item (post, article, event) the reader is looking at, after the one
/// read check (`service::privacy::may_read`): an item the reader may not read is "not found"
/// with `missing` as its message, exactly as if it did not exist.
pub async fn readable_in(
    state: &Node,
    reader: Option<&svc::Member>,
    community: &str,
    missing: &str,
) -> Result<svc::CommunityView, super::PageError> {
    let view = crate::service::privacy::community_of(state, community).await?;
    if crate::service::privacy::may_read(state, reader, &view)
        .await
        .is_err()
    {
        return Err(Error::not_found(missing).into());
    }
    Ok(view)
}

/// A post's HTML, sanitized again on the way out (stored HTML is sanitized when it arrives;
/// this keeps a page safe even from a row written by an older version).
pub fn post_html(post: &Post) -> String {
    markdown::sanitize(&post.content)
}

/// The page of a community: local ones by slug, remote ones by `slug@host`.
pub fn community_href(view: &svc::CommunityView) -> String {
    if view.local().is_some() {
        format!("/communities/{}", view.slug)
    } else {
        format!("/communities/{}", encode(&view.handle()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_800_000_000_000;
        assert_eq!(when_from(now - 10_000, now).relative, "just now");
        assert_eq!(when_from(now - 60_000, now).relative, "1 minute ago");
        assert_eq!(when_from(now - 3 * 3_600_000, now).relative, "3 hours ago");
        assert_eq!(when_from(now + 2 * 86_400_000, now).relative, "in 2 days");
        assert_eq!(when_from(now, now).iso, "2027-01-15T08:00:00Z");
        assert_eq!(when_from(now, now).absolute, "2027-01-15 08:00 UTC");
    }
}
