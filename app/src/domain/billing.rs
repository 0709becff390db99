//! Tiers, licenses and what the Portal's Billing page shows (SPEC §7).

use serde::{Deserialize, Serialize};

/// A license's tier. `Pro` includes everything `Starter` has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Text messages only.
    Starter,
    /// Media, templates and onboarding links as well.
    Pro,
}

impl Tier {
    pub const ALL: [Tier; 2] = [Tier::Starter, Tier::Pro];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Pro => "pro",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starter" => Some(Tier::Starter),
            "pro" => Some(Tier::Pro),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Starter => "Starter",
            Tier::Pro => "Pro",
        }
    }

    /// What the tier allows, in a few words for people.
    pub fn features(self) -> &'static str {
        match self {
            Tier::Starter => "text messages",
            Tier::Pro => "text, media, templates and onboarding links",
        }
    }
}

/// Most licenses one subscription or grant may carry.
pub const MAX_QUANTITY: i64 = 1000;

/// `quantity` as a number of licenses from 1 to [`MAX_QUANTITY`].
pub fn parse_quantity(raw: &str) -> Result<i64, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(n),
        _ => Err(format!(
            "quantity: `{}` is not a whole number from 1 to {MAX_QUANTITY}",
            raw.trim()
        )),
    }
}

/// One block of licenses as the Billing page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LicenseView {
    pub id: String,
    /// Short name people can match with channels: `L1`, `L2`, …
    pub label: String,
    pub tier: Tier,
    /// `trial`, `stripe` or `enterprise`.
    pub source: String,
    /// `active`, `expired` or `canceled`.
    pub status: String,
    pub quantity: i64,
    pub expires_at: String,
    pub auto_renew: bool,
    /// A paid subscription the account can change or cancel from the Portal.
    pub manageable: bool,
}

/// Licenses of one tier: how many, and how many hold at least one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierUsage {
    pub tier: Tier,
    pub total: i64,
    pub used: i64,
}

/// Which license a channel uses; `license` is `None` when it holds none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelLicense {
    pub channel_id: String,
    pub name: String,
    pub channel_type: String,
    /// Label of the license unit, e.g. `L1 #2` (`None`: no license).
    pub license: Option<String>,
    pub tier: Option<Tier>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: String,
    pub number: Option<String>,
    /// `paid`, `open`, `failed` or `void`.
    pub status: String,
    /// Formatted, e.g. `USD 98.00`.
    pub amount: String,
    pub description: String,
    pub created_at: String,
    pub url: Option<String>,
}

/// The trial as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialView {
    pub ends_at: String,
    /// Whole days left, rounded up; 0 once it is over.
    pub days_left: i64,
    pub active: bool,
    /// Ended early because a subscription or grant replaced it.
    pub replaced: bool,
}

/// Everything the Billing page needs, in one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingOverview {
    /// `sandbox` or `stripe`.
    pub provider: String,
    /// Owners and admins manage billing; members only look.
    pub can_manage: bool,
    /// Account-wide: `active`, `expired`, `canceled` or `none`.
    pub status: String,
    pub trial: Option<TrialView>,
    /// The trial ends within two days, or the account has no active license.
    pub warning: Option<BillingWarning>,
    pub usage: Vec<TierUsage>,
    pub licenses: Vec<LicenseView>,
    pub channels: Vec<ChannelLicense>,
    pub invoices: Vec<InvoiceView>,
    /// Fewest licenses that still hold every active channel.
    pub min_quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingWarning {
    /// `ending` (within two days) or `over`.
    pub kind: String,
    pub title: String,
    pub text: String,
}

/// `--until` of `grant-license`: RFC 3339, or a date `YYYY-MM-DD` meaning
/// through the end of that day (UTC). Returns unix milliseconds.
#[cfg(feature = "ssr")]
pub fn parse_until(raw: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    let raw = raw.trim();
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(raw, &fmt) {
        Ok(d) => {
            let next = d
                .next_day()
                .ok_or_else(|| format!("until: `{raw}` is out of range"))?;
            Ok(next.midnight().assume_utc().unix_timestamp() * 1000)
        }
        Err(_) => Err(format!(
            "until: `{raw}` is neither RFC 3339 (2026-12-31T23:59:59Z) nor a date (2026-12-31)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_and_order() {
        assert_eq!(Tier::parse("PRO"), Some(Tier::Pro));
        assert_eq!(Tier::parse("starter"), Some(Tier::Starter));
        assert_eq!(Tier::parse("gold"), None);
        assert!(Tier::Pro > Tier::Starter);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity(" 3 "), Ok(3));
        assert!(parse_quantity("0").is_err());
        assert!(parse_quantity("1001").is_err());
        assert!(parse_quantity("two").unwrap_err().starts_with("quantity"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn until_accepts_rfc3339_and_dates() {
        assert_eq!(parse_until("2026-01-15T10:30:00Z"), Ok(1_768_473_000_000));
        // A date means through the end of that day.
        assert_eq!(parse_until("2026-01-15"), Ok(1_768_521_600_000));
        assert!(parse_until("15/01/2026").unwrap_err().starts_with("until"));
    }
}
