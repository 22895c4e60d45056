//! Layered settings: compiled-in `config/default.toml`, then an optional `--config` file, then
//! `ROUNDTABLE__SECTION__KEY` environment variables. Unknown keys are an error naming the key.

use serde::Deserialize;
use std::{net::SocketAddr, path::Path, time::Duration};

/// The defaults, compiled into the binary so it runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

const ENV_PREFIX: &str = "ROUNDTABLE__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub instance: InstanceSettings,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub federation: FederationSettings,
    pub delivery: DeliverySettings,
    pub articles: ArticleSettings,
    pub accounts: AccountSettings,
    pub oauth: OAuthSettings,
    pub email: EmailSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub sso: SsoSettings,
    pub media: MediaSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSettings {
    pub max_bytes: usize,
    pub max_dimension: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSettings {
    pub domain: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub shutdown_grace_secs: u64,
    pub header_read_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub request_timeout_secs: u64,
    pub max_concurrent_requests: usize,
    /// Seconds between two looks of a quiet streaming connection for what another process of
    /// the node wrote (this process's writes wake it at once).
    pub stream_recheck_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    pub debug: bool,
    pub authorized_fetch: bool,
    pub inbox_rate_per_minute: u32,
    pub inbox_burst: u32,
    /// Inbox POSTs being read, verified and applied at once; past it, 429 with `Retry-After`.
    pub inbox_max_in_flight: usize,
    /// Tasks applying the inbox's durable record, each in its own lanes of actors.
    pub inbox_appliers: u32,
    /// Milliseconds a request waits for its activity to be applied before answering 202.
    pub inbox_wait_ms: u64,
    /// Activities recorded and not yet applied past which the inbox answers 429.
    pub inbox_max_pending: u64,
    /// Seconds the appliers' lease lasts without renewal; it is renewed five times as often.
    pub inbox_lease_secs: u64,
    /// Milliseconds between two looks of an idle applier for rows it was not woken for
    /// (retries that came due, activities another process recorded).
    pub inbox_poll_ms: u64,
    pub key_refreshes_per_minute: u32,
    pub request_timeout_secs: u64,
    pub signature_max_age_secs: u64,
    pub signature_max_future_secs: u64,
    /// Minutes between passes that bring every replica up to its host's stream (0: only at
    /// start and when something asks).
    pub sync_interval_minutes: u64,
    /// Milliseconds a replica waits between two pages of a host's stream.
    pub sync_pause_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub dead_after_hours: u64,
    pub lease_secs: u64,
    pub retention_days: u64,
    /// Jobs (of different hosts) a worker leases in one claim and sends together.
    pub batch: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleSettings {
    pub edit_wait_ms: u64,
}

/// Who may create an account on this node.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Only admins create accounts (and invitations).
    Closed,
    /// Sign-up only with an invitation link.
    Invite,
    /// Anyone may sign up; the account waits for an admin's approval.
    Approval,
    /// Anyone may sign up.
    Open,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Closed => "closed",
            Registration::Invite => "invite",
            Registration::Approval => "approval",
            Registration::Open => "open",
        }
    }

    pub const ALL: [Registration; 4] = [
        Registration::Closed,
        Registration::Invite,
        Registration::Approval,
        Registration::Open,
    ];

    pub fn parse(s: &str) -> Option<Registration> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    pub registration: Registration,
    pub allowed_email_domains: Vec<String>,
    pub require_verified_email: bool,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub sign_in_attempts_per_minute: u32,
    pub lockout_after: u32,
    pub lockout_minutes: u64,
    pub verify_link_hours: u64,
    pub reset_link_minutes: u64,
    pub invitation_days: u32,
    pub local_passwords: bool,
}

/// The OAuth 2 authorization server (`[oauth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// 0: access tokens last until revoked.
    pub access_token_hours: u64,
    pub refresh_token_days: u64,
    pub password_grant: bool,
    /// Requests an app may make with one token per `requests_window_secs` (0: no limit).
    pub requests_per_token: u32,
    pub requests_window_secs: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: String,
    pub smtp_password: String,
    pub smtp_ca_file: String,
    pub smtp_timeout_secs: u64,
    pub outbox_dir: String,
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// A bearer token `/metrics` asks for, when not empty.
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TOML in {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("environment variable {0} does not name a setting (use ROUNDTABLE__SECTION__KEY)")]
    BadEnvName(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Settings::load`], with the environment given explicitly (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut merged = parse_toml(DEFAULT_TOML, "the built-in defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let overlay = parse_toml(&text, &path.display().to_string())?;
            merge(&mut merged, overlay);
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            if path.len() < 2 || path.iter().any(String::is_empty) {
                return Err(ConfigError::BadEnvName(name));
            }
            // SECTION__KEY, or deeper for maps such as SSO__PROVIDERS__ID__KEY.
            let mut value = env_value(&value);
            for key in path.iter().rev() {
                let mut table = toml::Table::new();
                table.insert(key.clone(), value);
                value = toml::Value::Table(table);
            }
            if let toml::Value::Table(table) = value {
                merge(&mut merged, table);
            }
        }
        let settings: Settings = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Cross-field checks that types alone cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let domain = &self.instance.domain;
        let parsed = url::Url::parse(&format!("http://{domain}/")).map_err(|_| {
            ConfigError::Invalid(format!("instance.domain {domain:?} is not a host"))
        })?;
        if parsed.host_str().is_none() || parsed.path() != "/" || domain.contains('/') {
            return Err(ConfigError::Invalid(format!(
                "instance.domain {domain:?} must be a bare host name with an optional port"
            )));
        }
        if self.delivery.workers == 0 || self.delivery.batch == 0 {
            return Err(ConfigError::Invalid(
                "delivery.workers and delivery.batch must be at least 1".into(),
            ));
        }
        if self.delivery.retry_base_ms == 0
            || self.delivery.retry_max_ms < self.delivery.retry_base_ms
        {
            return Err(ConfigError::Invalid(
                "delivery.retry_base_ms must be > 0 and not above delivery.retry_max_ms".into(),
            ));
        }
        let http = &self.http;
        if http.header_read_timeout_secs == 0
            || http.body_timeout_secs == 0
            || http.request_timeout_secs == 0
        {
            return Err(ConfigError::Invalid(
                "http.header_read_timeout_secs, http.body_timeout_secs and http.request_timeout_secs must be at least 1".into(),
            ));
        }
        if http.stream_recheck_secs == 0 {
            return Err(ConfigError::Invalid(
                "http.stream_recheck_secs must be at least 1".into(),
            ));
        }
        if self.federation.inbox_max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "federation.inbox_max_in_flight must be at least 1".into(),
            ));
        }
        if self.federation.inbox_appliers == 0 || self.federation.inbox_appliers > 64 {
            return Err(ConfigError::Invalid(
                "federation.inbox_appliers must be between 1 and 64".into(),
            ));
        }
        if self.federation.inbox_lease_secs < 5 || self.federation.inbox_poll_ms == 0 {
            return Err(ConfigError::Invalid(
                "federation.inbox_lease_secs must be at least 5 and federation.inbox_poll_ms at least 1".into(),
            ));
        }
        if http.max_concurrent_requests == 0 {
            return Err(ConfigError::Invalid(
                "http.max_concurrent_requests must be at least 1".into(),
            ));
        }
        let accounts = &self.accounts;
        if accounts.session_idle_minutes == 0
            || accounts.session_absolute_hours == 0
            || accounts.verify_link_hours == 0
            || accounts.reset_link_minutes == 0
            || accounts.invitation_days == 0
        {
            return Err(ConfigError::Invalid(
                "accounts.session_idle_minutes, session_absolute_hours, verify_link_hours, reset_link_minutes and invitation_days must be at least 1".into(),
            ));
        }
        if self.oauth.refresh_token_days == 0 {
            return Err(ConfigError::Invalid(
                "oauth.refresh_token_days must be at least 1".into(),
            ));
        }
        if accounts.lockout_after == 0 || accounts.lockout_minutes == 0 {
            return Err(ConfigError::Invalid(
                "accounts.lockout_after and accounts.lockout_minutes must be at least 1".into(),
            ));
        }
        for domain in &accounts.allowed_email_domains {
            let d = domain.trim();
            if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
                return Err(ConfigError::Invalid(format!(
                    "accounts.allowed_email_domains: {domain:?} is not a domain"
                )));
            }
        }
        let email = &self.email;
        if email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "email.from {:?} is not an address like \"Name <user@example.org>\"",
                email.from
            )));
        }
        if email.workers == 0
            || email.retry_base_ms == 0
            || email.retry_max_ms < email.retry_base_ms
        {
            return Err(ConfigError::Invalid(
                "email.workers and email.retry_base_ms must be at least 1, and email.retry_max_ms not below email.retry_base_ms".into(),
            ));
        }
        if email.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "email.max_attempts must be at least 1".into(),
            ));
        }
        if email.smtp_username.is_empty() != email.smtp_password.is_empty() {
            return Err(ConfigError::Invalid(
                "email.smtp_username and email.smtp_password are set together".into(),
            ));
        }
        self.sso.check(self.federation.debug)?;
        if !accounts.local_passwords && self.sso.providers.is_empty() {
            return Err(ConfigError::Invalid(
                "accounts.local_passwords = false needs at least one [sso.providers.ID]: nobody could sign in".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// `https`, or `http` when federation debug mode is on (tests).
    pub fn scheme(&self) -> &'static str {
        if self.federation.debug {
            "http"
        } else {
            "https"
        }
    }

    /// Base URL of this node, e.g. `https://example.org`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.instance.domain)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.federation.request_timeout_secs)
    }

    /// How long after its arrival a signed request could still be replayed: its `Date` may be
    /// up to `signature_max_future_secs` ahead and is accepted for `signature_max_age_secs`.
    /// Received activity ids are remembered this long.
    pub fn replay_window_ms(&self) -> i64 {
        let secs = self
            .federation
            .signature_max_age_secs
            .saturating_add(self.federation.signature_max_future_secs);
        i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

fn parse_toml(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            message: e.message().to_string(),
        })
}

/// An environment value is read as a TOML value when it parses as one (numbers, booleans),
/// and as a plain string otherwise.
fn env_value(raw: &str) -> toml::Value {
    let probe = format!("v = {raw}");
    match probe.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Single sign-on: the OpenID Connect providers people may sign in with, by a short id that
/// names them in URLs (`/sso/{id}`) and in the environment
/// (`ROUNDTABLE__SSO__PROVIDERS__{ID}__ISSUER`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    #[serde(default)]
    pub providers: std::collections::BTreeMap<String, SsoProvider>,
}

/// One OpenID Connect provider (an organization's identity provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoProvider {
    /// The issuer URL; its `/.well-known/openid-configuration` is read on first use.
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret (surrounding whitespace is ignored).
    #[serde(default)]
    pub client_secret_file: String,
    /// The name of an environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: String,
    /// Shown on the sign-in page ("Sign in with …"); the id when empty.
    #[serde(default)]
    pub display_name: String,
    /// Email domains this provider's users must have (on every sign-in); empty allows all.
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// A claim that makes a user admin: true, or (for a string or a list such as `groups`)
    /// equal to / containing `admin_value`.
    #[serde(default)]
    pub admin_claim: String,
    #[serde(default)]
    pub admin_value: String,
    /// Scopes asked for besides `openid email profile` (e.g. `groups`).
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl SsoProvider {
    /// The name people see.
    pub fn label<'a>(&'a self, id: &'a str) -> &'a str {
        if self.display_name.trim().is_empty() {
            id
        } else {
            self.display_name.trim()
        }
    }
}

impl SsoSettings {
    fn check(&self, debug: bool) -> Result<(), ConfigError> {
        for (id, p) in &self.providers {
            let bad = |what: String| ConfigError::Invalid(format!("sso.providers.{id}: {what}"));
            if id.is_empty()
                || id.len() > 32
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return Err(bad(
                    "a provider id is 1-32 characters of a-z, 0-9, _ and -".into()
                ));
            }
            let issuer = url::Url::parse(&p.issuer)
                .map_err(|_| bad(format!("issuer {:?} is not a URL", p.issuer)))?;
            let scheme_ok = issuer.scheme() == "https" || (debug && issuer.scheme() == "http");
            if !scheme_ok || issuer.host_str().is_none() {
                return Err(bad(format!("issuer {:?} must be an https URL", p.issuer)));
            }
            if p.client_id.trim().is_empty() {
                return Err(bad("client_id is required".into()));
            }
            if !p.client_secret_file.is_empty() && !p.client_secret_env.is_empty() {
                return Err(bad(
                    "set client_secret_file or client_secret_env, not both".into()
                ));
            }
            for domain in &p.allowed_email_domains {
                let d = domain.trim();
                if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
                    return Err(bad(format!(
                        "allowed_email_domains: {domain:?} is not a domain"
                    )));
                }
            }
            if p.admin_claim.trim().is_empty() && !p.admin_value.is_empty() {
                return Err(bad("admin_value needs admin_claim".into()));
            }
            if p.scopes
                .iter()
                .any(|s| s.is_empty() || s.contains(char::is_whitespace))
            {
                return Err(bad("scopes are single words".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(s.instance.domain, "localhost:8080");
        assert_eq!(s.http.bind.to_string(), "127.0.0.1:8080");
        assert!(!s.federation.debug);
        assert!(s.database.url.starts_with("sqlite://data/"));
    }

    #[test]
    fn env_overrides_file_and_defaults() {
        let dir = std::env::temp_dir().join(format!("rt-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("node.toml");
        std::fs::write(
            &file,
            "[instance]\ndomain = \"file.example\"\n[federation]\ndebug = true\n",
        )
        .expect("write");
        let s = Settings::load_from(
            Some(&file),
            env(&[
                ("ROUNDTABLE__INSTANCE__DOMAIN", "env.example"),
                ("ROUNDTABLE__DELIVERY__WORKERS", "7"),
            ]),
        )
        .expect("load");
        assert_eq!(s.instance.domain, "env.example");
        assert!(s.federation.debug, "file value kept where env is silent");
        assert_eq!(s.delivery.workers, 7);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Settings::load_from(None, env(&[("ROUNDTABLE__HTTP__BINDD", "x")]))
            .expect_err("unknown key");
        assert!(err.to_string().contains("bindd"), "{err}");
        let err =
            Settings::load_from(None, env(&[("ROUNDTABLE__NOPE", "x")])).expect_err("bad name");
        assert!(err.to_string().contains("ROUNDTABLE__NOPE"), "{err}");
    }

    #[test]
    fn bad_domain_is_rejected() {
        let err = Settings::load_from(None, env(&[("ROUNDTABLE__INSTANCE__DOMAIN", "a/b")]))
            .expect_err("bad domain");
        assert!(err.to_string().contains("instance.domain"), "{err}");
    }
}
