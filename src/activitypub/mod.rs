//! ActivityPub on the wire: documents and activities (what the JSON is), HTTP signatures, object
//! integrity proofs and the only outgoing HTTP client. It knows nothing of the node's state, the
//! delivery queue, the use cases or HTTP routing.

pub mod activities;
pub mod actors;
pub mod articles;
pub mod client;
pub mod collections;
pub mod events;
pub mod keys;
pub mod objects;
pub mod proof;
pub mod served;
pub mod signatures;

/// Longest URL from another server this node keeps.
pub const MAX_REMOTE_URL: usize = 2048;

/// A URL from another server (an icon, an event's link) as this node stores and shows it:
/// `https`, or `http` in federation debug mode, with a host; anything else (`javascript:`,
/// `data:`, `ftp:`, …) is dropped.
pub fn remote_url(raw: &str, allow_http: bool) -> Option<String> {
    let raw = raw.trim();
    if raw.len() > MAX_REMOTE_URL {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => allow_http,
        _ => false,
    };
    (scheme_ok && url.host_str().is_some_and(|h| !h.is_empty())).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::remote_url;

    #[test]
    fn remote_urls_are_web_urls() {
        assert_eq!(
            remote_url(" https://a.example/i.png ", false).as_deref(),
            Some("https://a.example/i.png")
        );
        assert_eq!(remote_url("http://a.example/i.png", false), None);
        assert!(remote_url("http://a.example/i.png", true).is_some());
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://a.example/x",
            "file:///etc/passwd",
            "//a.example/x",
            "not a url",
        ] {
            assert_eq!(remote_url(bad, true), None, "{bad}");
        }
        assert_eq!(
            remote_url(&format!("https://a.example/{}", "x".repeat(3000)), false),
            None
        );
    }
}
