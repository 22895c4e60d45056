//! Text handling: members write markdown, which becomes sanitized HTML (raw HTML in the
//! markdown is shown as text, never interpreted); HTML from other servers is sanitized before
//! it is stored; plain-text excerpts feed `summary` fields.

use pulldown_cmark::{html, Event, Options, Parser};
use std::sync::OnceLock;

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.link_rel(Some("nofollow noopener noreferrer"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .add_tags(["span"])
            .add_allowed_classes("span", ["h-card", "mention", "invisible", "ellipsis"])
            .add_allowed_classes("a", ["u-url", "mention", "hashtag", "mention hashtag"]);
        b
    })
}

/// Markdown (CommonMark with tables, strikethrough, task lists) to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is shown as written, not interpreted.
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    sanitize(&out)
}

/// The people a member's markdown mentions: `@name` or `@name@host` tokens in its text (not in
/// code, not inside a word or an email address), as (name, host) with the name folded to lower
/// case, each once, at most `MAX_MENTIONS`.
pub fn mentioned_handles(markdown: &str) -> Vec<(String, Option<String>)> {
    let mut found: Vec<(String, Option<String>)> = Vec::new();
    let mut in_code = false;
    for event in pulldown_cmark::TextMergeStream::new(Parser::new(markdown)) {
        let text = match event {
            Event::Start(pulldown_cmark::Tag::CodeBlock(_)) => {
                in_code = true;
                continue;
            }
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => {
                in_code = false;
                continue;
            }
            Event::Text(text) if !in_code => text,
            _ => continue,
        };
        let mut prev = ' ';
        let mut rest = text.as_ref();
        while let Some((i, c)) = rest.char_indices().next() {
            let after = &rest[i + c.len_utf8()..];
            if c == '@' && !(prev.is_alphanumeric() || "_@.-/".contains(prev)) {
                let token: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "_@.-:".contains(*c))
                    .collect();
                let token = token.trim_end_matches(['.', '-', ':']);
                let (name, host) = match token.split_once('@') {
                    Some((n, h)) => (n, Some(h.to_ascii_lowercase())),
                    None => (token, None),
                };
                let valid_name = !name.is_empty()
                    && name.len() <= 64
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                let valid_host = host.as_deref().is_none_or(|h| {
                    h.contains('.') || h.starts_with("localhost") || h.contains(':')
                });
                if valid_name && valid_host {
                    let handle = (name.to_ascii_lowercase(), host);
                    if !found.contains(&handle) && found.len() < MAX_MENTIONS {
                        found.push(handle);
                    }
                }
            }
            prev = c;
            rest = after;
        }
    }
    found
}

/// The most people one post can mention (and so notify).
pub const MAX_MENTIONS: usize = 20;

/// The most hashtags one post is found under.
pub const MAX_HASHTAGS: usize = 30;

/// The hashtags of a post: those of its title (plain text), then of its HTML.
pub fn post_hashtags(title: Option<&str>, html: &str) -> Vec<String> {
    match title {
        Some(title) => hashtags(&format!("<p>{}</p>{html}", escape_html(title))),
        None => hashtags(html),
    }
}

/// The hashtags of a post's stored (sanitized) HTML, as Mastodon finds them: `#` not inside a
/// word, a URL or code, then letters, digits and `_`, not only digits; folded to lower case,
/// each once, at most [`MAX_HASHTAGS`]. Works for members' posts and for other servers' alike,
/// since a hashtag link's text is the tag itself.
pub fn hashtags(html: &str) -> Vec<String> {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    // Code is not prose: `#include` in a snippet is no tag.
    while let Some(start) = rest
        .find("<code")
        .into_iter()
        .chain(rest.find("<pre"))
        .min()
    {
        text.push_str(&rest[..start]);
        let close = if rest[start..].starts_with("<pre") {
            "</pre>"
        } else {
            "</code>"
        };
        rest = match rest[start..].find(close) {
            Some(end) => &rest[start + end + close.len()..],
            None => "",
        };
    }
    text.push_str(rest);
    let text = plain_text(&text);
    let mut found: Vec<String> = Vec::new();
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        if c == '#' && !(prev.is_alphanumeric() || "_&/#:.-".contains(prev)) {
            let tag: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let tag = tag.to_lowercase();
            let valid = !tag.is_empty()
                && tag.chars().count() <= 100
                && !tag.chars().all(|c| c.is_ascii_digit() || c == '_');
            if valid && !found.contains(&tag) && found.len() < MAX_HASHTAGS {
                found.push(tag);
            }
        }
        prev = c;
    }
    found
}

/// HTML from anywhere to HTML that is safe to store and show.
pub fn sanitize(html: &str) -> String {
    cleaner().clean(html).to_string()
}

const BLOCK_TAGS: [&str; 22] = [
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "hr",
    "table",
    "section",
    "article",
    "img",
];

/// The text of an HTML fragment, tags removed and entities decoded, whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    let mut chars = html.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                // Block boundaries become spaces so words do not run together; inline tags
                // (a mention's `@<span>name</span>`) join their text.
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if BLOCK_TAGS.contains(&name.as_str()) {
                    text.push(' ');
                }
            }
            _ if in_tag => tag.push(c),
            '&' => {
                let mut entity = String::new();
                while let Some(&n) = chars.peek() {
                    if n == ';' || entity.len() > 10 {
                        break;
                    }
                    entity.push(n);
                    chars.next();
                }
                if chars.peek() == Some(&';') {
                    chars.next();
                    text.push_str(&decode_entity(&entity));
                } else {
                    text.push('&');
                    text.push_str(&entity);
                }
            }
            _ => text.push(c),
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entity(entity: &str) -> String {
    match entity {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" | "#39" | "#x27" => "'".into(),
        "nbsp" => " ".into(),
        e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default(),
        e if e.starts_with('#') => e[1..]
            .parse::<u32>()
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default(),
        other => format!("&{other};"),
    }
}

/// At most `max` characters of `text`, cut at a word boundary with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_come_from_prose_not_code_urls_or_headings() {
        let html = render(
            "# Heading\n\nWe met at #RustConf and #rustconf again, #2024 is no tag, #déjà_vu is.\n\n\
             See https://example.org/page#anchor and a&#35;b.\n\n```\n#include <stdio.h>\n```\n\n`#inline`",
        );
        assert_eq!(hashtags(&html), vec!["rustconf", "déjà_vu"]);
        // Another server's hashtag link reads as its text.
        let remote = r#"<p>On <a href="https://m.example/tags/Kafka" class="mention hashtag">#<span>Kafka</span></a></p>"#;
        assert_eq!(hashtags(remote), vec!["kafka"]);
    }

    #[test]
    fn mentions_are_read_from_the_text_only() {
        let md = "Hi @Bea and @carl@beta.example, see `@code` and\n\n    @indented\n\nmail bea@example.org, @bea again, @a@b@c, @x_y.";
        let found = super::mentioned_handles(md);
        assert_eq!(
            found,
            vec![
                ("bea".to_string(), None),
                ("carl".to_string(), Some("beta.example".to_string())),
                ("x_y".to_string(), None),
            ]
        );
        assert_eq!(
            super::mentioned_handles("@olga@127.0.0.1:8080 hi")[0]
                .1
                .as_deref(),
            Some("127.0.0.1:8080")
        );
    }

    #[test]
    fn markdown_renders_without_raw_html() {
        let html = render("# Title\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn remote_html_is_sanitized() {
        let html = sanitize(
            r#"<p onclick="x()">hi <img src=x onerror=alert(1)><a href="https://a.example/" class="mention">@a</a></p><iframe src="https://evil"></iframe>"#,
        );
        assert!(!html.contains("onclick") && !html.contains("onerror") && !html.contains("iframe"));
        assert!(html.contains(r#"class="mention""#), "{html}");
        assert!(html.contains("rel=\"nofollow noopener noreferrer\""));
    }

    #[test]
    fn plain_text_and_excerpts() {
        assert_eq!(
            plain_text("<p>Tom &amp; Jerry</p><p>say&nbsp;&#104;i &#x1F600;</p>"),
            "Tom & Jerry say hi 😀"
        );
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("one two three four five", 12), "one two…");
    }
}
