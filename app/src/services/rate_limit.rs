//! Per-key token bucket (SPEC §1): `limit` requests a minute, refilled continuously.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again (`X-RateLimit-Reset`).
    pub reset_secs: u64,
    /// Seconds until one request is allowed again (`Retry-After`), when refused.
    pub retry_after_secs: u64,
}

#[derive(Clone, Debug)]
pub struct RateLimiter {
    limit: u32,
    buckets: Arc<Mutex<HashMap<String, (f64, i64)>>>,
}

const WINDOW_MS: f64 = 60_000.0;

impl RateLimiter {
    pub fn new(limit_per_minute: u32) -> RateLimiter {
        RateLimiter {
            limit: limit_per_minute,
            buckets: Arc::default(),
        }
    }

    pub fn check(&self, key: &str, now_ms: i64) -> Decision {
        let cap = self.limit as f64;
        let rate_per_ms = cap / WINDOW_MS;
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.len() > 100_000 {
            // Full buckets carry no information; dropping them bounds memory.
            buckets.retain(|_, (tokens, at)| *tokens + (now_ms - *at) as f64 * rate_per_ms < cap);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((cap, now_ms));
        *tokens = (*tokens + (now_ms - *at).max(0) as f64 * rate_per_ms).min(cap);
        *at = now_ms;
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        let reset_secs = ((cap - *tokens) / rate_per_ms / 1000.0).ceil() as u64;
        let retry_after_secs = if allowed {
            0
        } else {
            ((1.0 - *tokens) / rate_per_ms / 1000.0).ceil().max(1.0) as u64
        };
        Decision {
            allowed,
            limit: self.limit,
            remaining: tokens.floor() as u32,
            reset_secs,
            retry_after_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundred_then_refused_then_refilled() {
        let rl = RateLimiter::new(100);
        let t = 1_000_000;
        for i in 0..100 {
            let d = rl.check("k", t);
            assert!(d.allowed, "request {i} refused");
            assert_eq!(d.remaining, 99 - i);
        }
        let d = rl.check("k", t);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 1);
        assert_eq!(d.reset_secs, 60);
        assert!(rl.check("other", t).allowed, "buckets are per key");
        assert!(rl.check("k", t + 600).allowed, "one token back after 0.6 s");
        let d = rl.check("k", t + 120_000);
        assert_eq!(d.remaining, 99);
    }
}
