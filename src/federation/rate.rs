//! Per-host inbox rate limits: a token bucket per sending host, in memory (each process of a
//! node limits on its own). Hand-written rather than tower_governor because the key is the
//! host of a verified signature, known only once the inbox has checked it.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` requests sustained, up to `burst` at once. 0 turns limiting off.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `host`; Err carries how long until the next one.
    pub fn check(&self, host: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() > 10_000 {
            // Forget hosts that have been quiet long enough to be full again.
            let full_after = f64::from(self.burst) / rate;
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < full_after);
        }
        let (tokens, at) = buckets
            .entry(host.to_string())
            .or_insert((f64::from(self.burst), now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(f64::from(self.burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn bursts_then_refuses_per_host() {
        let limiter = RateLimiter::new(60, 3);
        for _ in 0..3 {
            assert!(limiter.check("a.example").is_ok());
        }
        let wait = limiter.check("a.example").expect_err("over the burst");
        assert!(
            wait.as_secs_f64() > 0.5 && wait.as_secs_f64() <= 1.0,
            "{wait:?}"
        );
        assert!(
            limiter.check("b.example").is_ok(),
            "hosts are limited separately"
        );
        assert!(RateLimiter::new(0, 1).check("a.example").is_ok());
    }
}
