//! Every throttle of the Portal's accounts (SPEC §14) in one place: which
//! buckets an action spends from, how many hits each allows in its window, and
//! the 429 `rate_limited` (with `Retry-After`) it answers. Hits live in the
//! database (`store::throttle`), so limits hold across processes. Addresses
//! and IPs are hashed into bucket names: the table holds no personal data.

use crate::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use crate::crypto;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store;

/// How many hits a bucket allows within a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: i64,
    pub window_ms: i64,
    /// What the refusal says was limited ("failed log-ins", …).
    pub what: &'static str,
}

/// Failed log-ins (and wrong passwords on `accept_invite`) per email+IP.
pub const LOGIN_PER_EMAIL_IP: Limit = Limit {
    max: 10,
    window_ms: 15 * MINUTE_MS,
    what: "failed log-ins",
};
/// Failed log-ins from one IP, whatever the email: one source guessing many
/// accounts (credential stuffing).
pub const LOGIN_PER_IP: Limit = Limit {
    max: 50,
    window_ms: 15 * MINUTE_MS,
    what: "failed log-ins from your network",
};
/// Failed log-ins installation-wide: a ceiling on password-hashing work when
/// the guessing comes from many addresses at once.
pub const LOGIN_GLOBAL: Limit = Limit {
    max: 1000,
    window_ms: 15 * MINUTE_MS,
    what: "failed log-ins on this installation",
};
/// Password-reset and confirmation mails to one address.
pub const MAIL_PER_ADDRESS: Limit = Limit {
    max: 5,
    window_ms: HOUR_MS,
    what: "mails to this address",
};
/// Password-reset and confirmation mails requested from one IP (sign-ups
/// included: each mails a confirmation link to an address of the caller's
/// choosing).
pub const MAIL_PER_IP: Limit = Limit {
    max: 30,
    window_ms: HOUR_MS,
    what: "mails requested from your network",
};
/// Invitations one account sends.
pub const INVITES_PER_ACCOUNT: Limit = Limit {
    max: 50,
    window_ms: DAY_MS,
    what: "invitations from this account",
};
/// Invitations to one address, from any account.
pub const INVITES_PER_ADDRESS: Limit = Limit {
    max: 5,
    window_ms: DAY_MS,
    what: "invitations to this address",
};

/// One bucket of one limit.
pub struct Bucket {
    pub limit: Limit,
    pub key: String,
}

impl Bucket {
    fn new(limit: Limit, kind: &str, value: &str) -> Bucket {
        Bucket {
            limit,
            key: format!("{kind}:{}", crypto::sha256_hex(value)),
        }
    }
}

/// The buckets a failed log-in (or a wrong password on an invitation) spends from.
pub fn login(email: &str, ip: &str) -> Vec<Bucket> {
    vec![
        Bucket::new(
            LOGIN_PER_EMAIL_IP,
            "login:email_ip",
            &format!("{email}|{ip}"),
        ),
        Bucket::new(LOGIN_PER_IP, "login:ip", ip),
        Bucket::new(LOGIN_GLOBAL, "login:all", ""),
    ]
}

/// The buckets a mail with a single-use link (reset, confirmation) spends from.
pub fn link_mail(address: &str, ip: &str) -> Vec<Bucket> {
    vec![
        Bucket::new(MAIL_PER_ADDRESS, "mail:address", address),
        Bucket::new(MAIL_PER_IP, "mail:ip", ip),
    ]
}

/// The buckets an invitation spends from.
pub fn invitation(account_id: &str, address: &str) -> Vec<Bucket> {
    vec![
        Bucket::new(INVITES_PER_ACCOUNT, "invite:account", account_id),
        Bucket::new(INVITES_PER_ADDRESS, "invite:address", address),
    ]
}

/// Refuses with 429 when any bucket is full; spends nothing.
pub async fn check(state: &AppState, buckets: &[Bucket]) -> AppResult<()> {
    let now = state.now();
    for b in buckets {
        let (hits, oldest) =
            store::throttle::hits_since(&state.db, &b.key, now - b.limit.window_ms).await?;
        if hits >= b.limit.max {
            let retry_ms = oldest
                .map(|o| o + b.limit.window_ms - now)
                .unwrap_or(b.limit.window_ms)
                .max(1000);
            return Err(AppError::rate_limited(
                format!(
                    "too many {}; try again in {}",
                    b.limit.what,
                    human_wait(retry_ms)
                ),
                ((retry_ms + 999) / 1000) as u64,
            ));
        }
    }
    Ok(())
}

/// Counts one hit in every bucket.
pub async fn hit(state: &AppState, buckets: &[Bucket]) -> AppResult<()> {
    let now = state.now();
    for b in buckets {
        store::throttle::record(&state.db, &b.key, now, now + b.limit.window_ms).await?;
    }
    Ok(())
}

/// [`check`], then [`hit`]: for actions that cost something each time (mails).
/// Two requests racing may both pass the check; the overshoot is bounded by
/// the concurrency of one caller, which a throttle can live with.
pub async fn spend(state: &AppState, buckets: &[Bucket]) -> AppResult<()> {
    check(state, buckets).await?;
    hit(state, buckets).await
}

/// Forgets one bucket (a successful log-in clears its email+IP failures).
pub async fn clear(state: &AppState, bucket: &Bucket) -> AppResult<()> {
    Ok(store::throttle::clear(&state.db, &bucket.key).await?)
}

fn human_wait(ms: i64) -> String {
    let minutes = (ms + MINUTE_MS - 1) / MINUTE_MS;
    match minutes {
        1 => "a minute".into(),
        m if m < 120 => format!("{m} minutes"),
        m => format!("{} hours", (m + 59) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hash_what_they_count() {
        let b = login("ana@example.com", "203.0.113.5");
        assert_eq!(b.len(), 3);
        assert!(
            b.iter()
                .all(|b| !b.key.contains("ana@") && !b.key.contains("203.0"))
        );
        assert_ne!(
            login("ana@example.com", "1.1.1.1")[0].key,
            login("ana@example.com", "1.1.1.2")[0].key
        );
        assert_eq!(
            login("a@x.io", "1.1.1.1")[1].key,
            login("b@x.io", "1.1.1.1")[1].key,
            "per IP, whatever the email"
        );
        assert_eq!(human_wait(1000), "a minute");
        assert_eq!(human_wait(15 * MINUTE_MS), "15 minutes");
    }
}
