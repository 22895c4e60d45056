//! Checks shared by Roundtable's fuzz targets: properties of the library's output that must
//! hold for every input, so that a violation is reported by libFuzzer like a crash.

use serde_json::Value;

/// Tags that must never survive rendering or sanitizing.
const FORBIDDEN_TAGS: [&str; 14] = [
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "form", "input", "link",
    "meta", "base", "svg", "math",
];

/// URL schemes a link or image may use; anything else must have been removed.
const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Attributes whose value is followed as a URL by a browser.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "cite", "action", "formaction", "srcset"];

/// Panics (so libFuzzer reports the input) unless `html` is safe to show: no forbidden tag,
/// no event-handler or style attribute, and every URL attribute relative or of an allowed
/// scheme. Text in sanitized output has its `<` escaped, so every raw `<` starts a tag.
pub fn assert_safe_html(html: &str, input: &str) {
    for tag in tags(html) {
        let name = tag.name.to_ascii_lowercase();
        assert!(
            !FORBIDDEN_TAGS.contains(&name.as_str()),
            "forbidden <{name}> in {html:?} (from {input:?})"
        );
        for (attr, value) in &tag.attributes {
            let attr = attr.to_ascii_lowercase();
            assert!(
                !attr.starts_with("on") && attr != "style",
                "attribute {attr} kept in {html:?} (from {input:?})"
            );
            if URL_ATTRIBUTES.contains(&attr.as_str()) {
                if let Some(scheme) = scheme_of(&decode_attribute(value)) {
                    assert!(
                        ALLOWED_SCHEMES.contains(&scheme.as_str()),
                        "{attr}={value:?} has scheme {scheme:?} in {html:?} (from {input:?})"
                    );
                }
            }
        }
    }
}

struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// The start and end tags of serialized HTML, with their attributes (quoted or not).
fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let body_end = tag_end(rest);
        let body = &rest[..body_end];
        rest = &rest[(body_end + 1).min(rest.len())..];
        let body = body.trim_start_matches('/');
        let name_len = body
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(body.len());
        out.push(Tag {
            name: body[..name_len].to_string(),
            attributes: attributes(&body[name_len..]),
        });
    }
    out
}

/// Where the tag that starts `s` ends: the first `>` outside a quoted attribute value.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    s.len()
}

fn attributes(mut s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if s.is_empty() {
            return out;
        }
        let name_len = s
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(s.len());
        let name = s[..name_len].to_string();
        s = s[name_len..].trim_start();
        let mut value = String::new();
        if let Some(after) = s.strip_prefix('=') {
            let after = after.trim_start();
            match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    value = inner[..end].to_string();
                    s = &inner[(end + 1).min(inner.len())..];
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    value = after[..end].to_string();
                    s = &after[end..];
                }
            }
        }
        out.push((name, value));
    }
}

/// An attribute value as a browser reads it: character references decoded.
fn decode_attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[..e];
            let code = match entity {
                "amp" => Some('&' as u32),
                "quot" => Some('"' as u32),
                "apos" => Some('\'' as u32),
                "lt" => Some('<' as u32),
                "gt" => Some('>' as u32),
                "nbsp" => Some(0xa0),
                "Tab" => Some(9),
                "NewLine" => Some(10),
                "colon" => Some(':' as u32),
                e if e.starts_with("#x") || e.starts_with("#X") => {
                    u32::from_str_radix(&e[2..], 16).ok()
                }
                e if e.starts_with('#') => e[1..].parse().ok(),
                _ => None,
            }?;
            Some((char::from_u32(code)?, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}

/// The scheme a browser would see in `url` (tabs and newlines removed, leading controls and
/// spaces trimmed, as the URL standard does), if it has one.
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_start_matches(|c: char| c <= ' ');
    let colon = cleaned.find(':')?;
    let candidate = &cleaned[..colon];
    let mut chars = candidate.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| candidate.to_ascii_lowercase())
}

/// Parses `data` as JSON and yields the document and, for an activity, the object it carries
/// (servers send both shapes to the parsers).
pub fn documents(data: &[u8]) -> Vec<Value> {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return Vec::new();
    };
    let inner = value.get("object").filter(|o| o.is_object()).cloned();
    let mut out = vec![value];
    out.extend(inner);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_catches_what_it_should() {
        assert_safe_html(
            r#"<p><a href="https://a.example/" rel="nofollow">x</a></p>"#,
            "",
        );
        assert_safe_html(r#"<a href="/relative?a=b:c">x</a>"#, "");
        for bad in [
            r#"<script>x</script>"#,
            r#"<p onclick="x()">"#,
            r#"<a href="javascript:alert(1)">"#,
            r#"<a href=" java&#9;script:alert(1)">"#,
            r#"<a title="a>b" href='data:text/html,x'>"#,
            r#"<img src=vbscript:x>"#,
        ] {
            assert!(
                std::panic::catch_unwind(|| assert_safe_html(bad, "")).is_err(),
                "{bad}"
            );
        }
    }
}
