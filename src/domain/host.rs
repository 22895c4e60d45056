//! Hosts as the federation policy keys them.
//!
//! A policy key is a host name lowercased, in its ASCII (punycode) form, without trailing dots,
//! and without a port unless the caller keeps ports (federation debug mode, where test nodes
//! are all `localhost` and differ only by port). Several spellings of one host —
//! `EVIL.example.`, `evil.example:8443`, `xn--…` or its Unicode form — give one key.

use std::fmt;
use url::Host;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a host name", self.0)
    }
}

impl std::error::Error for HostError {}

/// The policy key of `raw` (`host`, `host:port`, `[v6]:port`); the port is kept only when
/// `keep_port`.
pub fn policy_key(raw: &str, keep_port: bool) -> Result<String, HostError> {
    let bad = || HostError(raw.to_string());
    let (host, port) = split_port(raw.trim()).ok_or_else(bad)?;
    let host = match Host::parse(host).map_err(|_| bad())? {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            if name.is_empty() || name.split('.').any(str::is_empty) {
                return Err(bad());
            }
            name.to_string()
        }
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Ok(match port {
        Some(port) if keep_port => format!("{host}:{port}"),
        _ => host,
    })
}

/// `host` and `port` of `host[:port]` (IPv6 in brackets); `None` for a bad port.
fn split_port(raw: &str) -> Option<(&str, Option<u16>)> {
    if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (host, port) = if raw.starts_with('[') {
        let end = raw.find(']')?;
        match &raw[end + 1..] {
            "" => (&raw[..=end], None),
            rest => (&raw[..=end], Some(rest.strip_prefix(':')?)),
        }
    } else {
        match raw.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (raw, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

/// The keys that name the node `key` (a policy key) itself: `key`, and the host without its
/// port when `key` has one (debug mode: a port-less listing covers every port).
pub fn own_keys(key: &str) -> Vec<String> {
    match split_port(key) {
        Some((host, Some(_))) => vec![key.to_string(), host.to_string()],
        _ => vec![key.to_string()],
    }
}

/// The keys whose listing covers `key` (a policy key): its [`own_keys`], and every parent
/// domain (`x.evil.example` → `evil.example`, `example`). IP addresses have no parents.
pub fn covering_keys(key: &str) -> Vec<String> {
    let mut keys = own_keys(key);
    let host = match split_port(key) {
        Some((host, _)) => host,
        None => return keys,
    };
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return keys;
    }
    let mut rest = host;
    while let Some((_, parent)) = rest.split_once('.') {
        keys.push(parent.to_string());
        rest = parent;
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_host_give_one_key() {
        for raw in [
            "evil.example",
            "EVIL.example",
            "evil.example.",
            "Evil.Example..",
            "evil.example:8443",
            "EVIL.EXAMPLE.:443",
        ] {
            assert_eq!(policy_key(raw, false).expect(raw), "evil.example", "{raw}");
        }
        assert_eq!(
            policy_key("EVIL.example.:8443", true).expect("key"),
            "evil.example:8443"
        );
        assert_eq!(policy_key("localhost", true).expect("key"), "localhost");
    }

    #[test]
    fn idna_becomes_punycode() {
        assert_eq!(
            policy_key("BÜCHER.example", false).expect("idna"),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            policy_key("xn--bcher-kva.example", false).expect("ascii"),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(policy_key("127.0.0.1:80", false).expect("v4"), "127.0.0.1");
        assert_eq!(policy_key("[::1]:8443", true).expect("v6"), "[::1]:8443");
        assert_eq!(policy_key("[0:0::1]", false).expect("v6"), "[::1]");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            ".",
            "a b",
            "evil.example:x",
            "evil.example:99999",
            "a..b",
            "evil\r\n.example",
            "x/y",
            "user@host",
            "[::1",
        ] {
            assert!(policy_key(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_listing_covers_subdomains_and_ports() {
        assert_eq!(
            covering_keys("x.evil.example"),
            ["x.evil.example", "evil.example", "example"]
        );
        assert_eq!(
            covering_keys("x.evil.example:8443"),
            [
                "x.evil.example:8443",
                "x.evil.example",
                "evil.example",
                "example"
            ]
        );
        assert!(!covering_keys("notevil.example").contains(&"evil.example".to_string()));
        assert_eq!(covering_keys("10.0.0.1"), ["10.0.0.1"]);
        assert_eq!(
            own_keys("x.evil.example:8443"),
            ["x.evil.example:8443", "x.evil.example"]
        );
        assert_eq!(own_keys("x.evil.example"), ["x.evil.example"]);
        assert_eq!(covering_keys("[::1]:80"), ["[::1]:80", "[::1]"]);
    }
}
