//! Licenses and channel slots (SPEC §7). Every caller asks through
//! [`entitlement`], [`require_slot`] and [`require_tier`]; where licenses come
//! from (the trial, a paid subscription, an operator's grant) stays in here and
//! in [`super::billing`].
//!
//! Rules:
//! - One license = one WhatsApp + one Instagram + one Facebook channel.
//! - A `licenses` row is a block of `quantity` licenses. Active rows in creation
//!   order, each expanded to its units, are matched to active channels of each
//!   type in connection order: the n-th WhatsApp channel uses the n-th unit, and
//!   so on. The match is stable while nothing is added or removed, and each
//!   channel's `subscription` block shows the license it uses.
//! - A channel is licensed exactly when that match gives it a unit
//!   ([`Entitlement::covers`]). Sending ([`require_channel_license`]) and
//!   relaying ([`held`]) ask about the channel itself, never only whether the
//!   account has some license: after a license ends or shrinks, the channels
//!   connected last hold none.
//! - A connect takes a slot atomically: [`require_slot`] is only the early
//!   answer before Meta is called; [`take_slot`] counts again inside the
//!   transaction that activates the channel, under the account lock.
//! - The 7-day trial is a `pro` license with source `trial`. Accounts created
//!   before licenses were rows get theirs from `accounts.trial_ends_at`; the row
//!   is written the first time something changes it (a purchase ends it).

use std::collections::HashMap;

use crate::clock::{DAY_MS, rfc3339};
use crate::domain::billing::Tier;
use crate::domain::{ChannelType, SubscriptionView};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store;
use crate::store::billing::License;

/// Length of one sandbox billing period.
pub const SANDBOX_PERIOD_MS: i64 = 30 * DAY_MS;

/// What an account is entitled to right now.
#[derive(Clone, Debug)]
pub struct Entitlement {
    /// Account-wide: the best active license (pro before starter, latest end
    /// first), else the most recently ended one, else `none`.
    pub view: SubscriptionView,
    /// Number of active licenses; each holds one channel of every type.
    pub licenses: i64,
    /// The best active tier, `None` without an active license.
    pub tier: Option<Tier>,
    /// Every license row of the account in creation order (the trial included).
    pub rows: Vec<License>,
    /// Active licenses per tier.
    pub per_tier: HashMap<Tier, i64>,
    /// The time the entitlement was computed for.
    pub now: i64,
    /// channel id → (index in `rows`, 1-based unit number in that row).
    assignments: HashMap<String, (usize, i64)>,
    /// Active channels without a unit, in connection order.
    unlicensed: Vec<String>,
}

impl Entitlement {
    /// The `subscription` block of one channel: the license it uses. An active
    /// channel without a license shows the account's ended license when there is
    /// no active one at all, else `none`; an inactive channel holds none.
    pub fn view_for(&self, channel_id: &str, is_active: bool) -> SubscriptionView {
        if let Some((row, _)) = self.assignments.get(channel_id) {
            return license_view(&self.rows[*row], self.now);
        }
        if is_active && self.licenses == 0 {
            return self.view.clone();
        }
        none_view()
    }

    /// The license a channel uses: (row, unit number), or `None`.
    pub fn license_of(&self, channel_id: &str) -> Option<(&License, i64)> {
        self.assignments
            .get(channel_id)
            .map(|(row, unit)| (&self.rows[*row], *unit))
    }

    /// `L1`, `L2`, … for rows in creation order: what people see.
    pub fn label_of(&self, license_id: &str) -> String {
        let n = self
            .rows
            .iter()
            .position(|l| l.id == license_id)
            .map_or(0, |i| i + 1);
        format!("L{n}")
    }

    /// True when `channel_id` holds a unit of an active license: the one
    /// definition of a licensed channel.
    pub fn covers(&self, channel_id: &str) -> bool {
        self.assignments.contains_key(channel_id)
    }

    /// Whether deliveries for `channel_id` (`None`: an account event) wait
    /// for a license: a channel's wait for its own, an account's while it
    /// has none at all.
    pub fn holds(&self, channel_id: Option<&str>) -> bool {
        match channel_id {
            Some(id) => !self.covers(id),
            None => self.licenses == 0,
        }
    }

    /// Active channels that hold no license (connected after the licenses
    /// ran out, or left over when a license ended or shrank).
    pub fn unlicensed_channels(&self) -> &[String] {
        &self.unlicensed
    }

    /// The best active tier is at least `tier`.
    pub fn allows(&self, tier: Tier) -> bool {
        self.tier.is_some_and(|t| t >= tier)
    }
}

fn none_view() -> SubscriptionView {
    SubscriptionView {
        status: "none".into(),
        source: None,
        tier: None,
        expires_at: None,
        auto_renew: false,
    }
}

pub fn license_view(l: &License, now: i64) -> SubscriptionView {
    let active = l.is_active(now);
    SubscriptionView {
        status: l.state(now).into(),
        source: Some(l.source.clone()),
        tier: Some(l.tier.clone()),
        expires_at: Some(rfc3339(l.expires_at)),
        auto_renew: active && l.auto_renew,
    }
}

fn tier_of(l: &License) -> Tier {
    Tier::parse(&l.tier).unwrap_or(Tier::Starter)
}

/// The trial as a row: written or (for accounts older than license rows) only
/// implied by `accounts.trial_ends_at`.
pub fn trial_id(account_id: &str) -> String {
    format!("trial-{account_id}")
}

fn implied_trial(account: &store::accounts::Account) -> Option<License> {
    let end = account.trial_ends_at?;
    Some(License {
        id: trial_id(&account.id),
        account_id: account.id.clone(),
        tier: Tier::Pro.as_str().into(),
        source: "trial".into(),
        provider: None,
        status: "active".into(),
        quantity: 1,
        starts_at: account.created_at,
        expires_at: end,
        auto_renew: false,
        subscription_ref: None,
        subscription_item_ref: None,
        note: None,
        canceled_at: None,
        created_at: account.created_at,
        updated_at: account.created_at,
    })
}

/// Computes the entitlement from the rows: pure, for tests and for callers that
/// already hold the rows and channels.
pub fn compute(rows: Vec<License>, channels: &[(String, String, String)], now: i64) -> Entitlement {
    let active: Vec<usize> = (0..rows.len())
        .filter(|i| rows[*i].is_active(now))
        .collect();
    let licenses: i64 = active.iter().map(|i| rows[*i].quantity.max(0)).sum();
    let mut per_tier = HashMap::new();
    for i in &active {
        *per_tier.entry(tier_of(&rows[*i])).or_insert(0) += rows[*i].quantity.max(0);
    }
    let best = active.iter().copied().max_by(|a, b| {
        (tier_of(&rows[*a]), rows[*a].expires_at).cmp(&(tier_of(&rows[*b]), rows[*b].expires_at))
    });
    let view = match best {
        Some(i) => license_view(&rows[i], now),
        None => rows
            .iter()
            .max_by_key(|l| {
                (
                    l.canceled_at.unwrap_or(l.expires_at).min(l.expires_at),
                    l.created_at,
                )
            })
            .map_or_else(none_view, |l| license_view(l, now)),
    };
    // Units in creation order: (row index, unit number).
    let units: Vec<(usize, i64)> = active
        .iter()
        .flat_map(|i| (1..=rows[*i].quantity.max(0)).map(move |n| (*i, n)))
        .collect();
    let mut assignments = HashMap::new();
    let mut unlicensed = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, t, _) in channels {
        let k = seen.entry(t.as_str()).or_insert(0);
        match units.get(*k) {
            Some(u) => {
                assignments.insert(id.clone(), *u);
            }
            None => unlicensed.push(id.clone()),
        }
        *k += 1;
    }
    Entitlement {
        view,
        licenses,
        tier: per_tier.keys().copied().max(),
        rows,
        per_tier,
        now,
        assignments,
        unlicensed,
    }
}

pub async fn entitlement(state: &AppState, account_id: &str) -> AppResult<Entitlement> {
    let account = store::accounts::account(&state.db, account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let mut rows = store::billing::licenses_of(&state.db, account_id).await?;
    let now = state.now();
    let renewed = super::billing::sandbox::renew_due(state, &rows, now).await?;
    if renewed {
        rows = store::billing::licenses_of(&state.db, account_id).await?;
    }
    if !rows.iter().any(|l| l.source == "trial")
        && let Some(t) = implied_trial(&account)
    {
        rows.insert(0, t);
        rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }
    let channels = store::billing::active_channels(&state.db, account_id).await?;
    let ent = compute(rows, &channels, now);
    if renewed {
        release(state, account_id, &ent).await;
    }
    Ok(ent)
}

/// Ends a running trial because a paid or granted license replaces it. Writes
/// the trial row first when it was only implied.
pub async fn end_trial(
    conn: &mut sqlx::AnyConnection,
    account: &store::accounts::Account,
    now: i64,
) -> AppResult<()> {
    if let Some(t) = implied_trial(account) {
        store::billing::insert_license(&mut *conn, &t).await?;
    }
    store::billing::end_trial(&mut *conn, &account.id, now).await?;
    Ok(())
}

/// Call after a license became active (checkout paid, grant, renewal): held
/// deliveries go out in order (SPEC §4.3).
pub async fn activated(state: &AppState, account_id: &str) {
    match entitlement(state, account_id).await {
        Ok(ent) => release(state, account_id, &ent).await,
        Err(e) => {
            tracing::error!(account = %account_id, error = %e, "releasing held deliveries failed")
        }
    }
}

async fn release(state: &AppState, account_id: &str, ent: &Entitlement) {
    match super::relay::release_held_for(state, account_id, ent).await {
        Ok(n) => tracing::info!(account = %account_id, released = n, "license active"),
        Err(e) => {
            tracing::error!(account = %account_id, error = %e, "releasing held deliveries failed")
        }
    }
}

fn no_license() -> AppError {
    AppError::client(
        402,
        "subscription_required",
        "the account has no active license (the trial is over or the subscription ended); subscribe on the Billing page",
    )
}

/// Refuses a (re)connect that would need a slot the account does not have:
/// 402 `subscription_required` without any license, 402 `license_limit_reached`
/// when every license already holds a channel of this type. The early answer
/// before anything is asked of Meta; the slot itself is taken by [`take_slot`].
pub async fn require_slot(state: &AppState, account_id: &str, t: ChannelType) -> AppResult<()> {
    let ent = entitlement(state, account_id).await?;
    let used = store::channels::count_active(&state.db.pool, account_id, t.as_str()).await?;
    check_slot(ent.licenses, used, t)
}

/// Takes a slot for one more active channel of type `t`, inside the
/// transaction that then activates it: locks the account row
/// ([`store::locks::account`]) and counts the active channels again, so
/// racing connects of one account take slots one at a time. `licenses` comes
/// from [`entitlement`] read before the transaction (reading it may write).
pub async fn take_slot(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    t: ChannelType,
    licenses: i64,
) -> AppResult<()> {
    if !store::locks::account(&mut *tx, account_id).await? {
        return Err(AppError::not_found("account"));
    }
    let used = store::channels::count_active(&mut *tx, account_id, t.as_str()).await?;
    check_slot(licenses, used, t)
}

fn check_slot(licenses: i64, used: i64, t: ChannelType) -> AppResult<()> {
    if licenses <= 0 {
        return Err(AppError::client(
            402,
            "subscription_required",
            "the account has no active license (the trial is over); subscribe to connect channels",
        ));
    }
    if used >= licenses {
        return Err(AppError::client(
            402,
            "license_limit_reached",
            format!(
                "every license already holds an active {} channel ({used} of {licenses}); deactivate one or add a license",
                t.label(),
            ),
        ));
    }
    Ok(())
}

/// Whether new deliveries for `channel_id` (`None`: account events) are
/// stored `held` (SPEC §4.3): see [`Entitlement::holds`].
pub async fn held(state: &AppState, account_id: &str, channel_id: Option<&str>) -> AppResult<bool> {
    Ok(entitlement(state, account_id).await?.holds(channel_id))
}

/// Sending on a channel needs a license of its own: 402
/// `subscription_required` when the account has none, and also when it has
/// some but this channel is not one of those they cover.
pub async fn require_channel_license(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<()> {
    let ent = entitlement(state, account_id).await?;
    check_channel(&ent, channel_id)
}

fn check_channel(ent: &Entitlement, channel_id: &str) -> AppResult<()> {
    if ent.licenses == 0 {
        return Err(no_license());
    }
    if !ent.covers(channel_id) {
        return Err(channel_unlicensed());
    }
    Ok(())
}

fn channel_unlicensed() -> AppError {
    AppError::client(
        402,
        "subscription_required",
        "this channel holds no license (the account has more active channels than licenses); add a license on the Billing page or deactivate another channel",
    )
}

/// Refuses what the account's licenses do not cover: 402
/// `subscription_required` without an active license, 402 `plan_required` when
/// no active license is of `tier` or better (a `starter` account asking for
/// media, templates or onboarding links).
pub async fn require_tier(state: &AppState, account_id: &str, tier: Tier) -> AppResult<()> {
    let ent = entitlement(state, account_id).await?;
    check_tier(&ent, tier)
}

/// As [`require_tier`] for one channel: the license that channel uses must be
/// of `tier`. A channel that holds no license is refused with
/// `subscription_required`.
pub async fn require_channel_tier(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    tier: Tier,
) -> AppResult<()> {
    let ent = entitlement(state, account_id).await?;
    check_tier(&ent, tier)?;
    match ent.license_of(channel_id) {
        None => Err(channel_unlicensed()),
        Some((l, _)) if tier_of(l) < tier => Err(plan_required(tier, tier_of(l))),
        Some(_) => Ok(()),
    }
}

fn plan_required(needed: Tier, have: Tier) -> AppError {
    AppError::client(
        402,
        "plan_required",
        format!(
            "this needs the {} tier ({}); the license in use is {} ({} only). Upgrade on the Billing page",
            needed.as_str(),
            needed.features(),
            have.as_str(),
            have.features()
        ),
    )
}

fn check_tier(ent: &Entitlement, tier: Tier) -> AppResult<()> {
    match ent.tier {
        None => Err(no_license()),
        Some(have) if have < tier => Err(plan_required(tier, have)),
        Some(_) => Ok(()),
    }
}

// ---- operator grants (`switchboard admin grant-license`) ------------------

/// Grants `quantity` licenses of `tier` until `until` (unix ms) to the account
/// (source `enterprise`). Granting the same tier again replaces quantity and
/// end of the running grant instead of adding another. A running trial ends.
pub async fn grant(
    state: &AppState,
    account_id: &str,
    tier: Tier,
    until: i64,
    quantity: i64,
) -> AppResult<License> {
    let account = store::accounts::account(&state.db, account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let now = state.now();
    if until <= now {
        return Err(AppError::validation(format!(
            "until: {} is not in the future",
            rfc3339(until)
        )));
    }
    if !(1..=crate::domain::billing::MAX_QUANTITY).contains(&quantity) {
        return Err(AppError::validation(format!(
            "quantity: {quantity} is not from 1 to {}",
            crate::domain::billing::MAX_QUANTITY
        )));
    }
    let mut tx = state.db.begin().await?;
    // Under the account lock: two grants at once replace one block instead
    // of adding two.
    store::locks::account(&mut tx, account_id).await?;
    let existing = store::billing::licenses_of(&state.db, account_id)
        .await?
        .into_iter()
        .find(|l| l.source == "enterprise" && l.tier == tier.as_str() && l.is_active(now));
    let license = match existing {
        Some(mut l) => {
            l.quantity = quantity;
            l.expires_at = until;
            l.updated_at = now;
            store::billing::update_license(&mut *tx, &l).await?;
            l
        }
        None => {
            let l = License {
                id: super::new_id(),
                account_id: account_id.to_string(),
                tier: tier.as_str().into(),
                source: "enterprise".into(),
                provider: None,
                status: "active".into(),
                quantity,
                starts_at: now,
                expires_at: until,
                auto_renew: false,
                subscription_ref: None,
                subscription_item_ref: None,
                note: Some("granted by an operator".into()),
                canceled_at: None,
                created_at: now,
                updated_at: now,
            };
            store::billing::insert_license(&mut *tx, &l).await?;
            l
        }
    };
    end_trial(&mut tx, &account, now).await?;
    tx.commit().await?;
    activated(state, account_id).await;
    Ok(license)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lic(id: &str, tier: &str, qty: i64, created: i64, expires: i64) -> License {
        License {
            id: id.into(),
            account_id: "a".into(),
            tier: tier.into(),
            source: "enterprise".into(),
            provider: None,
            status: "active".into(),
            quantity: qty,
            starts_at: created,
            expires_at: expires,
            auto_renew: false,
            subscription_ref: None,
            subscription_item_ref: None,
            note: None,
            canceled_at: None,
            created_at: created,
            updated_at: created,
        }
    }

    fn ch(id: &str, t: &str) -> (String, String, String) {
        (id.into(), t.into(), id.into())
    }

    #[test]
    fn trial_states() {
        let account = store::accounts::Account {
            id: "a".into(),
            name: "A".into(),
            trial_ends_at: Some(2_000),
            created_at: 0,
        };
        let t = implied_trial(&account).unwrap();
        let e = compute(vec![t.clone()], &[], 1_000);
        assert_eq!(e.licenses, 1);
        assert_eq!(e.view.status, "active");
        assert_eq!(e.tier, Some(Tier::Pro));
        let e = compute(vec![t], &[], 3_000);
        assert_eq!(e.licenses, 0);
        assert_eq!(e.view.status, "expired");
        assert_eq!(e.view.source.as_deref(), Some("trial"));
        let e = compute(vec![], &[], 3_000);
        assert_eq!(e.view.status, "none");
        assert_eq!(e.view.source, None);
        assert_eq!(e.tier, None);
    }

    #[test]
    fn channels_take_units_in_order_per_type() {
        let rows = vec![lic("x", "starter", 1, 1, 100), lic("y", "pro", 2, 2, 100)];
        let chans = [
            ch("w1", "whatsapp"),
            ch("f1", "facebook"),
            ch("w2", "whatsapp"),
            ch("w3", "whatsapp"),
            ch("w4", "whatsapp"),
        ];
        let e = compute(rows, &chans, 50);
        assert_eq!(e.licenses, 3);
        assert_eq!(e.per_tier[&Tier::Pro], 2);
        assert_eq!(
            e.license_of("w1").map(|(l, n)| (l.id.as_str(), n)),
            Some(("x", 1))
        );
        assert_eq!(
            e.license_of("f1").map(|(l, n)| (l.id.as_str(), n)),
            Some(("x", 1))
        );
        assert_eq!(
            e.license_of("w2").map(|(l, n)| (l.id.as_str(), n)),
            Some(("y", 1))
        );
        assert_eq!(
            e.license_of("w3").map(|(l, n)| (l.id.as_str(), n)),
            Some(("y", 2))
        );
        assert!(e.license_of("w4").is_none());
        assert_eq!(e.view_for("w1", true).tier.as_deref(), Some("starter"));
        assert_eq!(e.view_for("w3", true).tier.as_deref(), Some("pro"));
        assert_eq!(e.view_for("w4", true).status, "none");
        // The account view is the best tier.
        assert_eq!(e.view.tier.as_deref(), Some("pro"));
        assert_eq!(e.label_of("y"), "L2");
    }

    #[test]
    fn a_channel_is_licensed_only_by_a_unit_of_its_own() {
        let rows = vec![lic("x", "pro", 1, 1, 100)];
        let e = compute(rows, &[ch("w1", "whatsapp"), ch("w2", "whatsapp")], 50);
        assert_eq!(e.licenses, 1);
        assert!(e.covers("w1") && !e.covers("w2"));
        assert!(!e.holds(Some("w1")) && e.holds(Some("w2")));
        assert!(
            !e.holds(None),
            "account events go out while a license is active"
        );
        assert_eq!(e.unlicensed_channels(), ["w2".to_string()]);
        assert!(check_channel(&e, "w1").is_ok());
        let err = check_channel(&e, "w2").unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (402, "subscription_required")
        );
        // Without any license everything waits.
        let e = compute(
            vec![lic("x", "pro", 1, 1, 100)],
            &[ch("w1", "whatsapp")],
            500,
        );
        assert!(e.holds(None) && e.holds(Some("w1")));
    }

    #[test]
    fn slots_are_counted_per_type() {
        assert!(check_slot(1, 0, ChannelType::Whatsapp).is_ok());
        assert_eq!(
            check_slot(1, 1, ChannelType::Whatsapp).unwrap_err().code(),
            "license_limit_reached"
        );
        assert_eq!(
            check_slot(0, 0, ChannelType::Whatsapp).unwrap_err().code(),
            "subscription_required"
        );
    }

    #[test]
    fn tiers_are_checked() {
        let e = compute(vec![lic("x", "starter", 1, 1, 100)], &[], 50);
        assert!(check_tier(&e, Tier::Starter).is_ok());
        assert_eq!(
            check_tier(&e, Tier::Pro).unwrap_err().code(),
            "plan_required"
        );
        let e = compute(vec![lic("x", "pro", 1, 1, 100)], &[], 500);
        assert_eq!(
            check_tier(&e, Tier::Starter).unwrap_err().code(),
            "subscription_required"
        );
    }

    #[test]
    fn canceled_rows_count_no_more() {
        let mut l = lic("x", "pro", 3, 1, 100);
        l.status = "canceled".into();
        l.canceled_at = Some(20);
        let e = compute(vec![l], &[ch("w1", "whatsapp")], 50);
        assert_eq!(e.licenses, 0);
        assert_eq!(e.view.status, "canceled");
        assert_eq!(e.view_for("w1", true).status, "canceled");
        assert_eq!(e.view_for("w1", false).status, "none");
    }
}
