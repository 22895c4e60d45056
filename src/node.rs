//! The running node's shared state: settings, database, the outgoing client with the instance
//! actor's key, the delivery workers' wake-up, counters and rate limiters. Every handler, worker,
//! CLI command and service call takes a `&Node`; it knows no HTTP routing.

use crate::{
    activitypub::{
        client::{FederationClient, FetchError, Reach, SigningKey},
        keys::{KeyCache, PrivateKey, PublicKey},
        served::Served,
    },
    config::Settings,
    db::{
        rate::{RateLimiter, TokenWindows},
        Db,
    },
    metrics::Metrics,
};
use std::{future::Future, pin::Pin, sync::Arc};
use tokio::sync::Notify;

/// The rule that decides, just before a send, whether content of the community `audience` may
/// still go to `host` (a confidential community's members may have left meanwhile). It lives in
/// `service::privacy`; the composition root hands it to the node, so the delivery worker asks
/// it without depending on the use cases.
pub trait Recipients: Send + Sync {
    fn may_receive<'a>(
        &'a self,
        node: &'a Node,
        audience: &'a str,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>>;
}

/// Shared state of every handler, worker and service call.
#[derive(Clone)]
pub struct Node {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub client: FederationClient,
    /// Signs every outgoing GET.
    pub instance_key: SigningKey,
    /// Wakes idle delivery workers when a job is queued.
    pub delivery_wakeup: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Per-host inbox rate limits.
    pub inbox_limiter: Arc<RateLimiter>,
    /// Inbox POSTs in flight, from all hosts (`federation.inbox_max_in_flight`).
    pub inbox_slots: Arc<tokio::sync::Semaphore>,
    /// The inbox's group commit of accepted activities, and the requests waiting for their
    /// outcome (`db::inbox`, applied by `service::intake`).
    pub inbox: Arc<crate::db::inbox::Intake>,
    /// Fresh key fetches after a failed verification, per remote host.
    pub key_refresh_limiter: Arc<RateLimiter>,
    /// Asked by the delivery worker before each send of a community's content.
    pub recipients: Arc<dyn Recipients>,
    /// Wakes idle mail workers when a message is queued.
    pub mail_wakeup: Arc<Notify>,
    /// Sign-in attempts (and reset requests) per account name or email address.
    pub sign_in_limiter: Arc<RateLimiter>,
    /// Mastodon API requests per app token (`oauth.requests_per_token`).
    pub token_windows: Arc<TokenWindows>,
    /// Keys parsed once: local actors' private keys (signing deliveries and proofs) and other
    /// actors' public keys (verifying requests and proofs), by PEM text.
    pub keys: Arc<KeyCache>,
    /// Documents served to other servers, kept as last rendered (`activitypub::served`).
    pub served: Served,
    /// The registration policy as last read, for the page header (see
    /// `service::accounts::signup::registration_hint`).
    pub registration_hint: Arc<RegistrationHint>,
    /// Wakes the replication pass (`service::replication`).
    pub sync_wakeup: Arc<Notify>,
    /// Turns true when the node begins to stop, so long-lived responses (the Mastodon
    /// streaming API) end and let the server finish.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Node {
    /// GETs an ActivityPub document, signed by the instance actor, from a host this node
    /// federates with. Every outgoing fetch goes through here; the client checks the policy
    /// again at every redirect.
    pub async fn fetch(&self, url: &url::Url) -> Result<serde_json::Value, FetchError> {
        self.client
            .fetch_json_reaching(url, Some(&self.instance_key), Reach::Federated)
            .await
    }

    /// A GET that the partnership handshake may make to a node this node does not (yet)
    /// federate with: anything but a blocked host (at every hop).
    pub async fn fetch_for_handshake(
        &self,
        url: &url::Url,
    ) -> Result<serde_json::Value, FetchError> {
        self.client
            .fetch_json_reaching(url, Some(&self.instance_key), Reach::NotBlocked)
            .await
    }

    /// The state of a node without its HTTP server: the signing client and the rate limiters,
    /// for the instance actor whose private key is given. `app::node` builds it (creating the
    /// instance actor on first use); the CLI uses it to send activities that the running node's
    /// delivery workers pick up from the queue.
    pub fn new(
        settings: Settings,
        db: Db,
        instance_key_pem: &str,
        recipients: Arc<dyn Recipients>,
    ) -> Result<Node, String> {
        let db = db.with_policy_ports(settings.federation.debug);
        let client = FederationClient::new(
            settings.federation.debug,
            settings.request_timeout(),
            &settings.instance.domain,
        )?
        .with_policy(db.clone());
        let keys = Arc::new(KeyCache::default());
        let instance_key = SigningKey {
            key_id: format!("{}/actor#main-key", settings.base_url()),
            private_key: keys
                .private(instance_key_pem)
                .map_err(|e| format!("the instance actor's key: {e}"))?,
        };
        let key_refresh_limiter = Arc::new(RateLimiter::new(
            settings.federation.key_refreshes_per_minute,
            3,
        ));
        let inbox_limiter = Arc::new(RateLimiter::new(
            settings.federation.inbox_rate_per_minute,
            settings.federation.inbox_burst,
        ));
        let per_minute = settings.accounts.sign_in_attempts_per_minute;
        let sign_in_limiter = Arc::new(RateLimiter::new(per_minute, per_minute));
        let inbox_slots = Arc::new(tokio::sync::Semaphore::new(
            settings.federation.inbox_max_in_flight,
        ));
        let token_windows = Arc::new(TokenWindows::new(
            settings.oauth.requests_per_token,
            std::time::Duration::from_secs(settings.oauth.requests_window_secs),
        ));
        Ok(Node {
            inbox_slots,
            inbox: Arc::default(),
            token_windows,
            mail_wakeup: Arc::new(Notify::new()),
            sign_in_limiter,
            settings: Arc::new(settings),
            db,
            client,
            instance_key,
            delivery_wakeup: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            inbox_limiter,
            key_refresh_limiter,
            recipients,
            keys,
            served: Served::default(),
            registration_hint: Arc::default(),
            sync_wakeup: Arc::new(Notify::new()),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
        })
    }

    /// The parsed private key of a local actor's PEM (parsed on first use).
    pub fn private_key(&self, pem: &str) -> Result<Arc<PrivateKey>, String> {
        self.keys.private(pem)
    }

    /// The parsed public key of a remote actor's PEM (parsed on first use).
    pub fn public_key(&self, pem: &str) -> Result<Arc<PublicKey>, String> {
        self.keys.public(pem)
    }

    /// Takes one of `host`'s key refreshes (a fresh fetch of a key after a signature failed to
    /// verify with the cached one): false once the host has used its budget.
    pub async fn may_refresh_key(&self, host: &str) -> Result<bool, crate::db::DbErr> {
        Ok(self
            .key_refresh_limiter
            .check(&self.db, &format!("key-refresh {host}"))
            .await?
            .is_ok())
    }
}

/// The registration policy as last read, at most a few seconds old: what every page's header
/// needs ("Sign up" or not) without a query per request. Decisions read
/// `service::accounts::signup::registration` instead.
#[derive(Default)]
pub struct RegistrationHint(
    std::sync::Mutex<Option<(crate::config::Registration, std::time::Instant)>>,
);

impl RegistrationHint {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn remember(&self, policy: crate::config::Registration) {
        if let Ok(mut hint) = self.0.lock() {
            *hint = Some((policy, std::time::Instant::now()));
        }
    }

    pub fn fresh(&self) -> Option<crate::config::Registration> {
        let hint = self.0.lock().ok()?;
        hint.filter(|(_, at)| at.elapsed() < Self::FRESH)
            .map(|(policy, _)| policy)
    }
}
