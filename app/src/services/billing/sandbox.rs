//! The built-in billing provider: a checkout page that pays or declines on a
//! click and a customer portal to change the quantity or cancel at the end of
//! the period. Nothing is charged; subscriptions renew every 30 days (checked
//! whenever the account's licenses are read), each renewal writing a paid
//! invoice.

use async_trait::async_trait;

use super::{BillingProvider, sandbox_price_cents};
use crate::clock::{HOUR_MS, rfc3339};
use crate::crypto::random_hex;
use crate::domain::Me;
use crate::domain::billing::Tier;
use crate::error::{AppError, AppResult};
use crate::services::licenses::{self, SANDBOX_PERIOD_MS};
use crate::state::AppState;
use crate::store;
use crate::store::billing::{Invoice, License, Session};

pub const PROVIDER: &str = "sandbox";
/// Checkout and portal pages stay usable this long.
pub const SESSION_TTL_MS: i64 = HOUR_MS;

pub struct Sandbox;

#[async_trait]
impl BillingProvider for Sandbox {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn checkout(
        &self,
        state: &AppState,
        me: &Me,
        tier: Tier,
        quantity: i64,
    ) -> AppResult<String> {
        let id = new_session(state, &me.account_id, "checkout", Some((tier, quantity))).await?;
        Ok(format!(
            "{}/billing/sandbox/checkout/{id}",
            state.config.base()
        ))
    }

    async fn portal(&self, state: &AppState, account_id: &str) -> AppResult<String> {
        let id = new_session(state, account_id, "portal", None).await?;
        Ok(format!(
            "{}/billing/sandbox/portal/{id}",
            state.config.base()
        ))
    }

    async fn set_quantity(
        &self,
        state: &AppState,
        license: &License,
        quantity: i64,
    ) -> AppResult<License> {
        let mut l = license.clone();
        l.quantity = quantity;
        l.updated_at = state.now();
        store::billing::update_license(&state.db.pool, &l).await?;
        Ok(l)
    }

    async fn set_cancel_at_period_end(
        &self,
        state: &AppState,
        license: &License,
        cancel: bool,
    ) -> AppResult<License> {
        let mut l = license.clone();
        l.auto_renew = !cancel;
        l.updated_at = state.now();
        store::billing::update_license(&state.db.pool, &l).await?;
        Ok(l)
    }
}

async fn new_session(
    state: &AppState,
    account_id: &str,
    kind: &str,
    item: Option<(Tier, i64)>,
) -> AppResult<String> {
    let now = state.now();
    let s = Session {
        id: format!("sbcs_{}", random_hex(16)),
        account_id: account_id.to_string(),
        kind: kind.into(),
        tier: item.map(|(t, _)| t.as_str().to_string()),
        quantity: item.map(|(_, q)| q),
        status: "open".into(),
        license_id: None,
        expires_at: now + SESSION_TTL_MS,
        completed_at: None,
        created_at: now,
    };
    store::billing::insert_session(&state.db, &s).await?;
    Ok(s.id)
}

/// An open session of `kind`, or why the page cannot continue.
pub async fn open_session(state: &AppState, id: &str, kind: &str) -> AppResult<Session> {
    let s = store::billing::session(&state.db, id)
        .await?
        .filter(|s| s.kind == kind)
        .ok_or_else(|| AppError::not_found("billing session"))?;
    if s.status != "open" {
        return Err(AppError::client(
            410,
            "session_used",
            "this checkout was already completed; go back to the Billing page",
        ));
    }
    if s.expires_at <= state.now() {
        return Err(AppError::client(
            410,
            "session_expired",
            "this page has expired (it is valid for one hour); start again from the Billing page",
        ));
    }
    Ok(s)
}

fn invoice(l: &License, now: i64, period_start: i64, period_end: i64, what: &str) -> Invoice {
    let tier = Tier::parse(&l.tier).unwrap_or(Tier::Starter);
    Invoice {
        id: crate::services::new_id(),
        account_id: l.account_id.clone(),
        license_id: Some(l.id.clone()),
        provider: PROVIDER.into(),
        external_ref: format!("sbin_{}", random_hex(12)),
        number: Some(format!("SB-{}", random_hex(4).to_ascii_uppercase())),
        status: "paid".into(),
        amount_cents: sandbox_price_cents(tier) * l.quantity,
        currency: "usd".into(),
        description: format!(
            "{what}: {} × {} license, {} to {}",
            l.quantity,
            tier.as_str(),
            &rfc3339(period_start)[..10],
            &rfc3339(period_end)[..10]
        ),
        period_start: Some(period_start),
        period_end: Some(period_end),
        hosted_url: None,
        created_at: now,
        updated_at: now,
    }
}

/// **Pay** on the checkout page: the subscription starts now for one period,
/// a paid invoice is written, a running trial ends and held deliveries go out.
pub async fn pay(
    state: &AppState,
    session_id: &str,
    tier: &str,
    quantity: &str,
) -> AppResult<License> {
    let s = open_session(state, session_id, "checkout").await?;
    let tier = Tier::parse(tier).ok_or_else(|| {
        AppError::validation(format!("tier: `{tier}` is not one of starter, pro"))
    })?;
    let quantity =
        crate::domain::billing::parse_quantity(quantity).map_err(AppError::validation)?;
    let account = store::accounts::account(&state.db, &s.account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let now = state.now();
    let l = License {
        id: crate::services::new_id(),
        account_id: s.account_id.clone(),
        tier: tier.as_str().into(),
        source: "stripe".into(),
        provider: Some(PROVIDER.into()),
        status: "active".into(),
        quantity,
        starts_at: now,
        expires_at: now + SANDBOX_PERIOD_MS,
        auto_renew: true,
        subscription_ref: Some(format!("sbsub_{}", random_hex(12))),
        subscription_item_ref: None,
        note: None,
        canceled_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    if !store::billing::complete_session(&mut *tx, &s.id, &l.id, now).await? {
        return Err(AppError::client(
            410,
            "session_used",
            "this checkout was already completed; go back to the Billing page",
        ));
    }
    store::billing::insert_license(&mut *tx, &l).await?;
    store::billing::remember_customer(
        &mut *tx,
        &s.account_id,
        PROVIDER,
        &format!("sbcus_{}", s.account_id),
        now,
    )
    .await?;
    store::billing::upsert_invoice(
        &mut *tx,
        &invoice(&l, now, now, l.expires_at, "Subscription"),
    )
    .await?;
    licenses::end_trial(&mut tx, &account, now).await?;
    tx.commit().await?;
    tracing::info!(account = %s.account_id, tier = tier.as_str(), quantity, "sandbox checkout paid");
    licenses::activated(state, &s.account_id).await;
    Ok(l)
}

/// Renews sandbox subscriptions whose period ended while they were set to
/// renew: one paid invoice per period passed. Returns whether any renewed.
pub async fn renew_due(state: &AppState, rows: &[License], now: i64) -> AppResult<bool> {
    let mut renewed = false;
    for l in rows.iter().filter(|l| {
        l.provider.as_deref() == Some(PROVIDER)
            && l.status == "active"
            && l.auto_renew
            && l.expires_at <= now
    }) {
        let mut next = l.clone();
        let mut tx = state.db.begin().await?;
        // Every request reads the entitlement, so several may find the same
        // period due at once: under the account lock, only the one that
        // still sees the old end renews (one invoice per period).
        store::locks::account(&mut tx, &l.account_id).await?;
        let current = match &l.subscription_ref {
            Some(r) => store::billing::license_by_subscription(&mut *tx, r).await?,
            None => None,
        };
        if current.is_none_or(|c| c.expires_at != l.expires_at) {
            // Renewed by another request meanwhile: the caller reads it again.
            renewed = true;
            continue;
        }
        // At most three years of missed periods in one go.
        for _ in 0..36 {
            if next.expires_at > now {
                break;
            }
            let start = next.expires_at;
            next.expires_at = start + SANDBOX_PERIOD_MS;
            store::billing::upsert_invoice(
                &mut *tx,
                &invoice(&next, now, start, next.expires_at, "Renewal"),
            )
            .await?;
        }
        next.updated_at = now;
        store::billing::update_license(&mut *tx, &next).await?;
        tx.commit().await?;
        renewed = true;
    }
    Ok(renewed)
}

/// The paid sandbox subscriptions the customer portal lists.
pub async fn portal_subscriptions(state: &AppState, account_id: &str) -> AppResult<Vec<License>> {
    let now = state.now();
    Ok(store::billing::licenses_of(&state.db, account_id)
        .await?
        .into_iter()
        .filter(|l| l.provider.as_deref() == Some(PROVIDER) && l.is_active(now))
        .collect())
}
