//! Paid licenses (SPEC §7): a [`BillingProvider`] takes the money — the
//! built-in [`sandbox`] (default) or [`stripe`] — and this module holds what is
//! the same for both: who may manage billing, the rules for quantities, and the
//! Billing page's overview.

pub mod sandbox;
pub mod stripe;

use async_trait::async_trait;

use crate::clock::{DAY_MS, rfc3339};
use crate::config::BillingProviderKind;
use crate::domain::Me;
use crate::domain::billing::{
    BillingOverview, BillingWarning, ChannelLicense, InvoiceView, LicenseView, MAX_QUANTITY, Tier,
    TierUsage, TrialView,
};
use crate::error::{AppError, AppResult};
use crate::services::licenses::{self, Entitlement};
use crate::state::AppState;
use crate::store;
use crate::store::billing::License;

/// What a payment provider does for Switchboard. Activation of licenses comes
/// back through the provider's own path (the sandbox's pages, Stripe's
/// webhooks), never from the browser's return to the Portal.
#[async_trait]
pub trait BillingProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Starts a purchase of `quantity` licenses of `tier`; returns the URL of
    /// the checkout page to send the browser to.
    async fn checkout(
        &self,
        state: &AppState,
        me: &Me,
        tier: Tier,
        quantity: i64,
    ) -> AppResult<String>;
    /// The provider's customer portal (payment method, quantity, cancel).
    async fn portal(&self, state: &AppState, account_id: &str) -> AppResult<String>;
    /// Changes the number of licenses of a paid subscription.
    async fn set_quantity(
        &self,
        state: &AppState,
        license: &License,
        quantity: i64,
    ) -> AppResult<License>;
    /// Cancels at the end of the period (`true`) or takes that back (`false`).
    async fn set_cancel_at_period_end(
        &self,
        state: &AppState,
        license: &License,
        cancel: bool,
    ) -> AppResult<License>;
}

/// The configured provider.
pub fn provider(state: &AppState) -> Box<dyn BillingProvider> {
    match state.config.billing_provider {
        BillingProviderKind::Sandbox => Box::new(sandbox::Sandbox),
        BillingProviderKind::Stripe => Box::new(stripe::Stripe::from_config(&state.config)),
    }
}

fn require_manager(me: &Me) -> AppResult<()> {
    if me.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::forbidden_role(
            "only owners and admins can manage billing",
        ))
    }
}

/// Sandbox price of one license per period, in cents (nothing is charged).
pub fn sandbox_price_cents(tier: Tier) -> i64 {
    match tier {
        Tier::Starter => 1_900,
        Tier::Pro => 4_900,
    }
}

pub fn format_amount(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!(
        "{} {sign}{}.{:02}",
        currency.to_ascii_uppercase(),
        c / 100,
        c % 100
    )
}

/// Starts a checkout for `quantity` licenses of `tier`. An account that already
/// pays for licenses of that tier changes the quantity instead.
pub async fn start_checkout(
    state: &AppState,
    me: &Me,
    tier: &str,
    quantity: &str,
) -> AppResult<String> {
    require_manager(me)?;
    let tier = Tier::parse(tier).ok_or_else(|| {
        AppError::validation(format!("tier: `{tier}` is not one of starter, pro"))
    })?;
    let quantity =
        crate::domain::billing::parse_quantity(quantity).map_err(AppError::validation)?;
    let ent = licenses::entitlement(state, &me.account_id).await?;
    if ent
        .rows
        .iter()
        .any(|l| l.source == "stripe" && l.tier == tier.as_str() && l.is_active(ent.now))
    {
        return Err(AppError::conflict(
            "already_subscribed",
            format!(
                "the account already has a {} subscription; change its quantity instead",
                tier.as_str()
            ),
        ));
    }
    provider(state).checkout(state, me, tier, quantity).await
}

pub async fn open_portal(state: &AppState, me: &Me) -> AppResult<String> {
    require_manager(me)?;
    provider(state).portal(state, &me.account_id).await
}

/// The account's paid subscription `license_id`, still running.
async fn subscription_of(
    state: &AppState,
    account_id: &str,
    license_id: &str,
) -> AppResult<License> {
    match store::billing::license_by_id(&state.db, account_id, license_id).await? {
        Some(l) if l.source == "stripe" && l.is_active(state.now()) => Ok(l),
        Some(_) => Err(AppError::bad_request(
            "subscription_not_active",
            "only a running paid subscription can be changed; trials and operator grants cannot",
        )),
        None => Err(AppError::not_found("license")),
    }
}

/// The fewest licenses that still hold every active channel: the largest
/// number of active channels of one type.
pub fn min_licenses(channels: &[(String, String, String)]) -> i64 {
    ["whatsapp", "instagram", "facebook"]
        .iter()
        .map(|t| channels.iter().filter(|c| c.1 == *t).count() as i64)
        .max()
        .unwrap_or(0)
}

/// Sets the quantity of a paid subscription. Fewer licenses than active
/// channels of one type need are refused (`license_in_use`): deactivate
/// channels first.
pub async fn change_quantity(
    state: &AppState,
    account_id: &str,
    license_id: &str,
    quantity: &str,
) -> AppResult<License> {
    let quantity =
        crate::domain::billing::parse_quantity(quantity).map_err(AppError::validation)?;
    let l = subscription_of(state, account_id, license_id).await?;
    if quantity == l.quantity {
        return Ok(l);
    }
    let ent = licenses::entitlement(state, account_id).await?;
    let channels = store::billing::active_channels(&state.db, account_id).await?;
    let need = min_licenses(&channels);
    let after = ent.licenses - l.quantity + quantity;
    if after < need {
        return Err(AppError::bad_request(
            "license_in_use",
            format!(
                "{need} channels of one type are active, so the account needs at least {need} licenses (this change leaves {after}); deactivate channels first"
            ),
        ));
    }
    let updated = provider(state).set_quantity(state, &l, quantity).await?;
    if quantity > l.quantity {
        licenses::activated(state, account_id).await;
    }
    Ok(updated)
}

pub async fn set_cancel(
    state: &AppState,
    account_id: &str,
    license_id: &str,
    cancel: bool,
) -> AppResult<License> {
    let l = subscription_of(state, account_id, license_id).await?;
    if l.auto_renew != cancel {
        return Ok(l);
    }
    provider(state)
        .set_cancel_at_period_end(state, &l, cancel)
        .await
}

/// The Portal's change of quantity: owners and admins only.
pub async fn change_quantity_as(
    state: &AppState,
    me: &Me,
    license_id: &str,
    quantity: &str,
) -> AppResult<LicenseView> {
    require_manager(me)?;
    let l = change_quantity(state, &me.account_id, license_id, quantity).await?;
    let ent = licenses::entitlement(state, &me.account_id).await?;
    Ok(license_row_view(&ent, &l))
}

pub async fn set_cancel_as(
    state: &AppState,
    me: &Me,
    license_id: &str,
    cancel: bool,
) -> AppResult<LicenseView> {
    require_manager(me)?;
    let l = set_cancel(state, &me.account_id, license_id, cancel).await?;
    let ent = licenses::entitlement(state, &me.account_id).await?;
    Ok(license_row_view(&ent, &l))
}

pub fn license_row_view(ent: &Entitlement, l: &License) -> LicenseView {
    LicenseView {
        id: l.id.clone(),
        label: ent.label_of(&l.id),
        tier: Tier::parse(&l.tier).unwrap_or(Tier::Starter),
        source: l.source.clone(),
        status: l.state(ent.now).into(),
        quantity: l.quantity,
        expires_at: rfc3339(l.expires_at),
        auto_renew: l.is_active(ent.now) && l.auto_renew,
        manageable: l.source == "stripe" && l.is_active(ent.now),
    }
}

/// Trial ends within this long: the page warns.
const WARN_BEFORE_MS: i64 = 2 * DAY_MS;

fn warning(ent: &Entitlement, trial: Option<&License>) -> Option<BillingWarning> {
    let now = ent.now;
    let held = "Kept meanwhile: inbound messages are still received and stored, and webhook deliveries to your endpoints are held — they go out in order as soon as a license is active again.";
    if ent.licenses == 0 {
        let why = match trial {
            Some(t) if !ent.rows.iter().any(|l| l.source != "trial") => {
                format!("The trial ended on {}.", rfc3339(t.expires_at))
            }
            _ if ent.rows.is_empty() => "The account has no license.".to_string(),
            _ => "The account has no active license.".to_string(),
        };
        return Some(BillingWarning {
            kind: "over".into(),
            title: "No active license: sending and delivering are stopped".into(),
            text: format!(
                "{why} Stopped: sending messages (the API answers 402 subscription_required), delivering webhooks, and connecting channels. {held} Subscribe below to continue."
            ),
        });
    }
    let paid = ent
        .rows
        .iter()
        .any(|l| l.source != "trial" && l.is_active(now));
    match trial {
        Some(t) if !paid && t.is_active(now) && t.expires_at - now <= WARN_BEFORE_MS => {
            Some(BillingWarning {
                kind: "ending".into(),
                title: format!("The trial ends {}", rfc3339(t.expires_at)),
                text: format!(
                    "After that, sending messages, delivering webhooks and connecting channels stop until you subscribe. {held}"
                ),
            })
        }
        _ => None,
    }
}

/// Everything the Billing page shows.
pub async fn overview(state: &AppState, me: &Me) -> AppResult<BillingOverview> {
    let ent = licenses::entitlement(state, &me.account_id).await?;
    let now = ent.now;
    let channels = store::billing::active_channels(&state.db, &me.account_id).await?;
    let trial = ent.rows.iter().find(|l| l.source == "trial");
    let trial_view = trial.map(|t| TrialView {
        ends_at: rfc3339(t.expires_at),
        days_left: if t.is_active(now) {
            (t.expires_at - now + DAY_MS - 1) / DAY_MS
        } else {
            0
        },
        active: t.is_active(now),
        replaced: t.status == "canceled",
    });
    let mut usage = Vec::new();
    for tier in Tier::ALL {
        let total = ent.per_tier.get(&tier).copied().unwrap_or(0);
        let mut used_units = std::collections::HashSet::new();
        for (id, _, _) in &channels {
            if let Some((l, n)) = ent.license_of(id)
                && l.tier == tier.as_str()
            {
                used_units.insert((l.id.clone(), n));
            }
        }
        if total > 0 || !used_units.is_empty() {
            usage.push(TierUsage {
                tier,
                total,
                used: used_units.len() as i64,
            });
        }
    }
    let channel_views = channels
        .iter()
        .map(|(id, t, name)| {
            let lic = ent.license_of(id);
            ChannelLicense {
                channel_id: id.clone(),
                name: name.clone(),
                channel_type: t.clone(),
                license: lic.map(|(l, n)| {
                    if l.quantity > 1 {
                        format!("{} #{n}", ent.label_of(&l.id))
                    } else {
                        ent.label_of(&l.id)
                    }
                }),
                tier: lic.and_then(|(l, _)| Tier::parse(&l.tier)),
            }
        })
        .collect();
    let invoices = store::billing::invoices_of(&state.db, &me.account_id, 50)
        .await?
        .into_iter()
        .map(|i| InvoiceView {
            id: i.id,
            number: i.number,
            status: i.status,
            amount: format_amount(i.amount_cents, &i.currency),
            description: i.description,
            created_at: rfc3339(i.created_at),
            url: i.hosted_url,
        })
        .collect();
    let licenses = ent
        .rows
        .iter()
        .map(|l| license_row_view(&ent, l))
        .rev()
        .collect();
    Ok(BillingOverview {
        provider: state.config.billing_provider.as_str().into(),
        can_manage: me.role.can_manage(),
        status: ent.view.status.clone(),
        trial: trial_view,
        warning: warning(&ent, trial),
        usage,
        licenses,
        channels: channel_views,
        invoices,
        min_quantity: min_licenses(&channels).max(1),
    })
}

/// Upper bound of a subscription's quantity, for forms.
pub const QUANTITY_MAX: i64 = MAX_QUANTITY;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_well() {
        assert_eq!(format_amount(9_800, "usd"), "USD 98.00");
        assert_eq!(format_amount(5, "eur"), "EUR 0.05");
        assert_eq!(format_amount(-150, "usd"), "USD -1.50");
    }

    #[test]
    fn min_licenses_is_the_busiest_type() {
        let c = |t: &str| (String::new(), t.to_string(), String::new());
        assert_eq!(min_licenses(&[]), 0);
        assert_eq!(
            min_licenses(&[c("whatsapp"), c("facebook"), c("whatsapp")]),
            2
        );
    }
}
