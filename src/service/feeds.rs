//! Atom feeds (RFC 4287) of public communities: their newest threads, for feed readers, paged
//! as RFC 5005 has it (`<link rel="next">` to older entries).

use crate::{
    activitypub::objects::rfc3339,
    db::discussions::Post,
    node::Node,
    paging::{rows_for, Page},
    service::discussions::{actor_handles, CommunityView},
    service::error::Error,
};
use std::fmt::Write as _;

/// How many threads a feed page carries.
const FEED_LENGTH: u64 = 50;

/// Text escaped for XML, without the characters XML 1.0 cannot carry.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// A page of the community's feed: its visible threads, newest first, below thread id
/// `before` (the newest when `None`), with a link to the next (older) page when there is one.
/// A fixed number of queries, whatever the page holds.
pub async fn community_atom(
    state: &Node,
    community: &CommunityView,
    before: Option<i64>,
) -> Result<String, Error> {
    let rows = state
        .db
        .threads(&community.ap_id, rows_for(FEED_LENGTH), before, false)
        .await?;
    let page = Page::from_rows(rows, FEED_LENGTH);
    let threads: Vec<&Post> = page
        .items
        .iter()
        .filter(|p| !p.deleted && p.removed_reason.is_none())
        .collect();
    let authors = actor_handles(state, threads.iter().map(|p| p.author.as_str())).await?;
    let updated = threads
        .iter()
        .map(|p| p.updated.unwrap_or(p.published))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let c = &community.ap_id;
    let feed = format!("{c}/feed.atom");
    let this = match before {
        Some(b) => format!("{feed}?before={b}"),
        None => feed.clone(),
    };
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{id}</id>\n<title>{title}</title>\n<subtitle>{subtitle}</subtitle>\n\
         <updated>{updated}</updated>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{this}\"/>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{id}\"/>\n<generator>Roundtable</generator>\n",
        id = xml(c),
        title = xml(&community.title),
        subtitle = xml(&crate::markdown::plain_text(&community.summary)),
        updated = rfc3339(updated),
        this = xml(&this),
    );
    if let Some(last) = page.next(|p| p.id) {
        let _ = writeln!(
            out,
            "<link rel=\"first\" type=\"application/atom+xml\" href=\"{}\"/>\n\
             <link rel=\"next\" type=\"application/atom+xml\" href=\"{}\"/>",
            xml(&feed),
            xml(&format!("{feed}?before={last}")),
        );
    }
    for post in threads {
        let author = authors
            .get(&post.author)
            .cloned()
            .unwrap_or_else(|| post.author.clone());
        let _ = write!(
            out,
            "<entry>\n<id>{id}</id>\n<title>{title}</title>\n\
             <link rel=\"alternate\" type=\"text/html\" href=\"{id}\"/>\n\
             <published>{published}</published>\n<updated>{updated}</updated>\n\
             <author><name>{name}</name><uri>{uri}</uri></author>\n\
             <summary>{summary}</summary>\n<content type=\"html\">{content}</content>\n</entry>\n",
            id = xml(&post.ap_id),
            title = xml(post.title.as_deref().unwrap_or("Untitled")),
            published = rfc3339(post.published),
            updated = rfc3339(post.updated.unwrap_or(post.published)),
            name = xml(&author),
            uri = xml(&post.author),
            summary = xml(post.summary.as_deref().unwrap_or_default()),
            content = xml(&post.content),
        );
    }
    out.push_str("</feed>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn xml_text_is_escaped_and_cleaned() {
        assert_eq!(
            xml("<a href=\"x\">Tom & 'Jerry'</a>\u{0}\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
    }
}
