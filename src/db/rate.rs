//! Rate limits. Per sending host for the inbox: a token bucket per host, kept in the database
//! so that every process of a node shares one budget. Hand-written rather than tower_governor
//! because the key is the host of a verified signature, known only once the inbox has checked
//! it. Per app token for the Mastodon API: fixed windows in memory ([`TokenWindows`]).

use crate::db::{now_ms, Db, DbErr};
use sha2::{Digest, Sha256};
use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};
use std::time::{Duration, SystemTime};

pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
}

impl RateLimiter {
    /// `per_minute` requests sustained, up to `burst` at once. 0 turns limiting off.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
        }
    }

    /// Takes a token for `host`; the inner Err carries how long until the next one. A refused
    /// request takes nothing, so a sender that retries early is not pushed further back.
    pub async fn check(&self, db: &Db, host: &str) -> Result<Result<(), Duration>, DbErr> {
        if self.per_minute == 0 {
            return Ok(Ok(()));
        }
        let per_ms = f64::from(self.per_minute) / 60_000.0;
        let (tokens, taken) = db
            .take_inbox_token(host, f64::from(self.burst), per_ms, now_ms())
            .await?;
        if taken {
            Ok(Ok(()))
        } else {
            let wait_ms = ((1.0 - tokens) / per_ms).max(1.0);
            Ok(Err(Duration::from_millis(wait_ms.ceil() as u64)))
        }
    }
}

/// Requests per app token in fixed windows, as Mastodon counts them (300 per 5 minutes by
/// default), so a runaway app slows down instead of crowding out everyone else. Kept in this
/// process's memory, not in the database: a count per API request would cost a write per
/// request, and a window lost in a restart only gives an app a fresh budget early. The table
/// is bounded (`MAX_TOKENS`, least recently used forgotten first) and a window expires with
/// its period, so tokens invented by a caller cannot grow it.
pub struct TokenWindows {
    limit: u32,
    period: Duration,
    windows: moka::future::Cache<[u8; 32], Arc<Window>>,
}

struct Window {
    started: SystemTime,
    used: AtomicU32,
}

/// Where a token stands after a request: what apps read in `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
    /// When the window ends and the whole budget is back.
    pub reset: SystemTime,
    /// Whether this request is within the budget.
    pub allowed: bool,
}

/// The most tokens counted at once.
const MAX_TOKENS: u64 = 100_000;

impl TokenWindows {
    /// `limit` requests per `period` for each token; 0 turns counting off.
    pub fn new(limit: u32, period: Duration) -> TokenWindows {
        TokenWindows {
            limit,
            period,
            windows: moka::future::Cache::builder()
                .max_capacity(MAX_TOKENS)
                .time_to_live(period.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Counts one request made with `token`; `None` when counting is off.
    pub async fn take(&self, token: &str) -> Option<Budget> {
        if self.limit == 0 {
            return None;
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = SystemTime::now();
        let fresh = || {
            Arc::new(Window {
                started: now,
                used: AtomicU32::new(0),
            })
        };
        let mut window = self.windows.get_with(key, async { fresh() }).await;
        if now.duration_since(window.started).unwrap_or_default() >= self.period {
            window = fresh();
            self.windows.insert(key, window.clone()).await;
        }
        let used = window
            .used
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        Some(Budget {
            limit: self.limit,
            remaining: self.limit.saturating_sub(used),
            reset: window.started + self.period,
            allowed: used <= self.limit,
        })
    }
}
