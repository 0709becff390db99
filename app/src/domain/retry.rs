//! The relay's retry schedules (SPEC §4.3). One place for the numbers; the
//! relay worker and the fan-out that creates deliveries both read them.

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// `standard`: retries 30 s, 1 m, then 2 m five times; 20-minute deadline.
const STANDARD_DELAYS: [i64; 7] = [
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    2 * MINUTE,
    2 * MINUTE,
    2 * MINUTE,
    2 * MINUTE,
];
const STANDARD_DEADLINE: i64 = 20 * MINUTE;

/// `extended`: the same start, then backing off to every 2 h, for 24 h.
const EXTENDED_DELAYS: [i64; 10] = [
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    2 * HOUR,
    2 * HOUR,
];
const EXTENDED_DEADLINE: i64 = 24 * HOUR;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryPolicy {
    Standard,
    Extended,
}

impl RetryPolicy {
    pub fn parse(raw: &str) -> Option<RetryPolicy> {
        match raw {
            "standard" => Some(RetryPolicy::Standard),
            "extended" => Some(RetryPolicy::Extended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RetryPolicy::Standard => "standard",
            RetryPolicy::Extended => "extended",
        }
    }

    /// How long after its first possible attempt a delivery is given up.
    pub fn deadline_ms(self) -> i64 {
        match self {
            RetryPolicy::Standard => STANDARD_DEADLINE,
            RetryPolicy::Extended => EXTENDED_DEADLINE,
        }
    }

    /// When to try again after `failed_attempts` failures (1 after the first
    /// failed attempt), or `None` when the schedule or the deadline is over.
    pub fn next_attempt(self, failed_attempts: i64, now: i64, deadline_at: i64) -> Option<i64> {
        let delays: &[i64] = match self {
            RetryPolicy::Standard => &STANDARD_DELAYS,
            RetryPolicy::Extended => &EXTENDED_DELAYS,
        };
        let idx = usize::try_from(failed_attempts - 1).ok()?;
        let delay = match self {
            RetryPolicy::Standard => *delays.get(idx)?,
            // Extended keeps the last delay until the deadline.
            RetryPolicy::Extended => *delays.get(idx).unwrap_or(&delays[delays.len() - 1]),
        };
        let at = now + delay;
        (at <= deadline_at).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedule_is_seven_retries_within_twenty_minutes() {
        let p = RetryPolicy::Standard;
        let start = 0;
        let deadline = start + p.deadline_ms();
        let mut now = start;
        let mut gaps = vec![];
        let mut failures = 1;
        while let Some(next) = p.next_attempt(failures, now, deadline) {
            gaps.push((next - now) / 1000);
            now = next;
            failures += 1;
        }
        assert_eq!(gaps, vec![30, 60, 120, 120, 120, 120, 120]);
        assert!(now <= deadline);
    }

    #[test]
    fn deadline_cuts_the_schedule_short() {
        let p = RetryPolicy::Standard;
        assert_eq!(p.next_attempt(1, 1_000, 1_000 + 29_000), None);
        assert_eq!(p.next_attempt(1, 1_000, 1_000 + 30_000), Some(31_000));
    }

    #[test]
    fn extended_keeps_going_until_a_day() {
        let p = RetryPolicy::Extended;
        let deadline = p.deadline_ms();
        assert_eq!(p.next_attempt(20, 0, deadline), Some(2 * HOUR));
        assert_eq!(p.next_attempt(20, deadline - HOUR, deadline), None);
        assert_eq!(RetryPolicy::parse("extended"), Some(p));
        assert_eq!(RetryPolicy::parse("x"), None);
    }
}
