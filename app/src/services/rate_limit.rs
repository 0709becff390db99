//! Per-key rate limit (SPEC §1, §10, §14): `limit` requests a minute, refilled
//! continuously, and the same bucket whichever process answers.
//!
//! The bucket is kept as GCRA's "theoretical arrival time" (`tat`): the moment
//! it would be full again. A request fits when one more refill interval stays
//! within the minute; it then moves `tat` by that interval. One number per key
//! and integer microseconds, so PostgreSQL can run the same rule as one atomic
//! upsert ([`store::rate_limits::take`]) shared by every process, while SQLite
//! installations (one process) keep it in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::store::{self, Db, DbKind};

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
    /// This process's buckets: the store on SQLite, the fallback on PostgreSQL.
    buckets: Arc<Mutex<HashMap<String, i64>>>,
    prepared: Arc<OnceCell<()>>,
}

/// An empty bucket fills in a minute.
const WINDOW_US: i64 = 60_000_000;
const US_PER_SEC: i64 = 1_000_000;

impl RateLimiter {
    pub fn new(limit_per_minute: u32) -> RateLimiter {
        RateLimiter {
            limit: limit_per_minute.max(1),
            buckets: Arc::default(),
            prepared: Arc::default(),
        }
    }

    /// The time one request takes to refill.
    fn interval_us(&self) -> i64 {
        (WINDOW_US / i64::from(self.limit)).max(1)
    }

    /// Spends one request of `key` at `now_ms`, from the database's bucket on
    /// PostgreSQL. Should that statement fail, this process's bucket answers
    /// (and the failure is logged): the limit then holds per process.
    pub async fn check(&self, db: &Db, key: &str, now_ms: i64) -> Decision {
        if db.kind == DbKind::Postgres {
            self.prepared
                .get_or_init(|| async {
                    if let Err(e) = store::rate_limits::prepare(db).await {
                        tracing::warn!(error = %e, "rate limit table stays logged");
                    }
                })
                .await;
            let now_us = now_ms.saturating_mul(1000);
            match store::rate_limits::take(db, key, now_us, self.interval_us(), WINDOW_US).await {
                Ok((tat, allowed)) => return self.decision(tat, allowed, now_us),
                Err(e) => {
                    tracing::error!(error = %e, "shared rate limit failed; using this process's bucket")
                }
            }
        }
        self.check_local(key, now_ms)
    }

    /// The same rule on this process's buckets.
    pub fn check_local(&self, key: &str, now_ms: i64) -> Decision {
        let now_us = now_ms.saturating_mul(1000);
        let interval = self.interval_us();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Full buckets carry no information; dropping them bounds memory.
            buckets.retain(|_, tat| *tat > now_us);
        }
        let tat = buckets.entry(key.to_string()).or_insert(now_us);
        let start = (*tat).max(now_us);
        let allowed = start + interval - now_us <= WINDOW_US;
        if allowed {
            *tat = start + interval;
        }
        self.decision(*tat, allowed, now_us)
    }

    /// The headers' numbers from the bucket's state after the request.
    fn decision(&self, tat: i64, allowed: bool, now_us: i64) -> Decision {
        let interval = self.interval_us();
        let ahead = (tat - now_us).clamp(0, WINDOW_US);
        let remaining = if allowed {
            ((WINDOW_US - ahead) / interval).min(i64::from(self.limit))
        } else {
            0
        };
        let ceil_secs = |us: i64| (us.max(0) + US_PER_SEC - 1) / US_PER_SEC;
        Decision {
            allowed,
            limit: self.limit,
            remaining: remaining as u32,
            reset_secs: ceil_secs(ahead) as u64,
            retry_after_secs: if allowed {
                0
            } else {
                ceil_secs(ahead + interval - WINDOW_US).max(1) as u64
            },
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
            let d = rl.check_local("k", t);
            assert!(d.allowed, "request {i} refused");
            assert_eq!(d.remaining, 99 - i);
        }
        let d = rl.check_local("k", t);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 1);
        assert_eq!(d.reset_secs, 60);
        assert!(rl.check_local("other", t).allowed, "buckets are per key");
        assert!(
            rl.check_local("k", t + 600).allowed,
            "one token back after 0.6 s"
        );
        assert!(!rl.check_local("k", t + 600).allowed);
        let d = rl.check_local("k", t + 120_000);
        assert_eq!(d.remaining, 99);
    }

    #[test]
    fn limits_that_do_not_divide_a_minute() {
        let rl = RateLimiter::new(7);
        let t = 5_000;
        assert!((0..7).all(|_| rl.check_local("k", t).allowed));
        let d = rl.check_local("k", t);
        assert!(!d.allowed);
        // 60 s / 7 ≈ 8.57 s for the next one.
        assert_eq!(d.retry_after_secs, 9);
        assert!(rl.check_local("k", t + 8_572).allowed);
    }
}
