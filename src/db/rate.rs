//! Per-host inbox rate limits: a token bucket per sending host, kept in the database so that
//! every process of a node shares one budget. Hand-written rather than tower_governor because
//! the key is the host of a verified signature, known only once the inbox has checked it.

use crate::db::{now_ms, Db, DbErr};
use std::time::Duration;

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
