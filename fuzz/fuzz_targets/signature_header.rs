//! The signature checks of a request: `SignedRequest::parse` (Signature header, signed host,
//! Date window, required coverage) with arbitrary header values, `verify` with the Mastodon
//! fixture's key or a key given in the body, and `digest_matches` on the body.
//!
//! Input: a request as text, `METHOD path\nname: value\n…\n\nbody`. The clock is fixed 30 s
//! after the Date of the captured Mastodon request, so corpus entries with that Date reach the
//! signature and key parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::activitypub::signatures::{
    digest_header, digest_matches, DateWindow, PublicKey, SignedRequest,
};
use std::{collections::BTreeMap, time::Duration};

const FIXTURE_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA83uRWjCFO35FwfA38mzv
EL0TUaXB7+2hYvPwNrn1WY6me5DRbqB5zzMrzWMGr0HSooqNqEYBafGsmVTWUqIk
KM9ehtIBraJI+mT5X7DPR3LrXOJF4a9EEslg8XvAk8MN9IrAhm6UljnvB67RtDcA
TNB01VWy9yWnxFRtz9o/EMoBPyw5giOaXE2ibVNP8lQIqGKuuBKPzPjSJygdvQ5q
xfow2z1TpKRqdsNDqn4n6U6zCXYTzkr0J71/tGw7fsgfv78l0Wjrc7EcuBk74OaG
C65UDiu3X4Q6kxCfCEhPSfuwLN+UZkzxcn6goWR0iYpWs57+4tFKu9nJYP4QJ0K9
TwIDAQAB
-----END PUBLIC KEY-----
";

/// The policy of a node at the captured request's host.
const WINDOW: DateWindow<'static> = DateWindow {
    max_age: Duration::from_secs(3600),
    max_future: Duration::from_secs(300),
    host: "testing.pleroma.lol",
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, path) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_string(), value.trim().to_string());
        }
    }
    let lower: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();

    if let Some(digest) = lower.get("digest") {
        let matched = digest_matches(digest, body.as_bytes());
        let own = digest_header(body.as_bytes());
        let own_value = own.trim_start_matches("SHA-256=");
        assert!(
            !matched || digest.contains(own_value),
            "{digest:?} matched a body whose digest is {own:?}"
        );
    }
    assert!(digest_matches(
        &digest_header(body.as_bytes()),
        body.as_bytes()
    ));

    let now = httpdate::parse_http_date("Sun, 18 Feb 2018 20:31:51 GMT")
        .expect("the fixture's date parses")
        + Duration::from_secs(30);
    let Ok(signed) = SignedRequest::parse(method, path, headers, now, WINDOW) else {
        return;
    };
    // Whatever parsed passed the policy: signed for this host, dated within the window, a
    // digest on POSTs.
    assert!(lower.contains_key("signature") || lower.contains_key("authorization"));
    assert!(lower
        .get("host")
        .is_some_and(|h| h.trim().eq_ignore_ascii_case(WINDOW.host)));
    let date = lower
        .get("date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .expect("a parsed request has a valid Date");
    assert!(date + WINDOW.max_age >= now && date <= now + WINDOW.max_future);
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        assert!(
            lower.contains_key("digest"),
            "a POST without a Digest parsed"
        );
    }
    let _ = signed.key_id();
    if let Ok(key) = PublicKey::from_pem(FIXTURE_KEY) {
        let _ = signed.verify(&key);
    }
    // A key given in the body is parsed as the node parses published keys.
    if body.starts_with("-----BEGIN") {
        if let Ok(key) = PublicKey::from_pem(body) {
            let _ = signed.verify(&key);
        }
    }
});
