//! Stripe as the billing provider: Checkout Sessions to subscribe, Billing
//! Portal sessions to manage, subscription updates for quantity and
//! cancellation, and the signed webhooks at `/webhooks/stripe` that turn
//! Stripe's state into licenses. Plain HTTP with reqwest against
//! `SWITCHBOARD_STRIPE_API_BASE`, form-encoded like Stripe's own clients.
//!
//! Works with both shapes of Stripe's API: billing periods on the
//! subscription (before 2025-03-31) or on its items (from then on), and an
//! invoice's subscription at `subscription` or at
//! `parent.subscription_details.subscription`.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::BillingProvider;
use crate::config::Config;
use crate::domain::Me;
use crate::domain::billing::Tier;
use crate::error::{AppError, AppResult};
use crate::services::licenses;
use crate::state::AppState;
use crate::store;
use crate::store::billing::{Invoice, License};

pub const PROVIDER: &str = "stripe";
/// Signatures older (or newer) than this are refused, against replays.
pub const TOLERANCE_S: i64 = 300;

pub struct Stripe {
    base: String,
    key: String,
    price_starter: String,
    price_pro: String,
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(format!("Switchboard/{}", crate::VERSION))
            .build()
            .expect("HTTP client")
    })
}

fn provider_error(detail: impl Into<String>) -> AppError {
    AppError::client(502, "billing_provider_error", detail)
}

impl Stripe {
    pub fn from_config(c: &Config) -> Stripe {
        Stripe {
            base: c.stripe_api_base.clone(),
            key: c.stripe_secret_key.clone().unwrap_or_default(),
            price_starter: c.stripe_price_starter.clone().unwrap_or_default(),
            price_pro: c.stripe_price_pro.clone().unwrap_or_default(),
        }
    }

    fn price(&self, tier: Tier) -> &str {
        match tier {
            Tier::Starter => &self.price_starter,
            Tier::Pro => &self.price_pro,
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder, what: &str) -> AppResult<Value> {
        let res = req.bearer_auth(&self.key).send().await.map_err(|e| {
            tracing::warn!(error = %e, what, "Stripe unreachable");
            provider_error(format!(
                "Stripe could not be reached ({what}); try again shortly"
            ))
        })?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = body["error"]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_string();
            tracing::warn!(status = status.as_u16(), message = %msg, what, "Stripe refused");
            return Err(provider_error(format!("Stripe refused {what}: {msg}")));
        }
        Ok(body)
    }

    pub async fn post(
        &self,
        path: &str,
        form: &[(String, String)],
        what: &str,
    ) -> AppResult<Value> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let req = http()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.call(req, what).await
    }

    pub async fn get(&self, path: &str, what: &str) -> AppResult<Value> {
        self.call(http().get(format!("{}{path}", self.base)), what)
            .await
    }

    pub async fn subscription(&self, id: &str) -> AppResult<Value> {
        self.get(
            &format!("/v1/subscriptions/{}", path_segment(id)?),
            "reading the subscription",
        )
        .await
    }
}

/// Stripe ids go into paths: letters, digits and `_` only.
fn path_segment(id: &str) -> AppResult<&str> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(id)
    } else {
        Err(AppError::Internal(format!("unexpected Stripe id `{id}`")))
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[async_trait]
impl BillingProvider for Stripe {
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
        let base = state.config.base();
        let q = quantity.to_string();
        let success = format!("{base}/billing?checkout=success");
        let cancel = format!("{base}/billing?checkout=canceled");
        let mut form = pairs(&[
            ("mode", "subscription"),
            ("line_items[0][price]", self.price(tier)),
            ("line_items[0][quantity]", &q),
            ("success_url", &success),
            ("cancel_url", &cancel),
            ("client_reference_id", &me.account_id),
            ("metadata[account_id]", &me.account_id),
            ("metadata[tier]", tier.as_str()),
            ("subscription_data[metadata][account_id]", &me.account_id),
            ("subscription_data[metadata][tier]", tier.as_str()),
        ]);
        match store::billing::customer_of(&state.db, &me.account_id, PROVIDER).await? {
            Some(c) => form.push(("customer".into(), c)),
            None => form.push(("customer_email".into(), me.email.clone())),
        }
        let v = self
            .post("/v1/checkout/sessions", &form, "the checkout session")
            .await?;
        v["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| provider_error("Stripe answered without a checkout URL"))
    }

    async fn portal(&self, state: &AppState, account_id: &str) -> AppResult<String> {
        let customer = store::billing::customer_of(&state.db, account_id, PROVIDER)
            .await?
            .ok_or_else(|| {
                AppError::bad_request(
                    "no_billing_customer",
                    "the account has no Stripe customer yet; subscribe first",
                )
            })?;
        let ret = format!("{}/billing", state.config.base());
        let v = self
            .post(
                "/v1/billing_portal/sessions",
                &pairs(&[("customer", &customer), ("return_url", &ret)]),
                "the billing portal session",
            )
            .await?;
        v["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| provider_error("Stripe answered without a portal URL"))
    }

    async fn set_quantity(
        &self,
        state: &AppState,
        license: &License,
        quantity: i64,
    ) -> AppResult<License> {
        let sub = license
            .subscription_ref
            .as_deref()
            .ok_or_else(|| AppError::Internal("paid license without subscription".into()))?;
        let item = match &license.subscription_item_ref {
            Some(i) => i.clone(),
            None => first_item(&self.subscription(sub).await?)["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| provider_error("the Stripe subscription has no item"))?,
        };
        let q = quantity.to_string();
        let v = self
            .post(
                &format!("/v1/subscriptions/{}", path_segment(sub)?),
                &pairs(&[
                    ("items[0][id]", &item),
                    ("items[0][quantity]", &q),
                    ("proration_behavior", "create_prorations"),
                ]),
                "the quantity change",
            )
            .await?;
        apply_now(state, &license.account_id, &v).await
    }

    async fn set_cancel_at_period_end(
        &self,
        state: &AppState,
        license: &License,
        cancel: bool,
    ) -> AppResult<License> {
        let sub = license
            .subscription_ref
            .as_deref()
            .ok_or_else(|| AppError::Internal("paid license without subscription".into()))?;
        let v = self
            .post(
                &format!("/v1/subscriptions/{}", path_segment(sub)?),
                &pairs(&[(
                    "cancel_at_period_end",
                    if cancel { "true" } else { "false" },
                )]),
                "the cancellation",
            )
            .await?;
        apply_now(state, &license.account_id, &v).await
    }
}

/// Applies a subscription Stripe just returned (its webhook follows later and
/// changes nothing more).
async fn apply_now(state: &AppState, account_id: &str, sub: &Value) -> AppResult<License> {
    let mut tx = state.db.begin().await?;
    let out = sync_subscription(&mut tx, state, Some(account_id), sub).await?;
    tx.commit().await?;
    out.map(|(l, _)| l)
        .ok_or_else(|| provider_error("Stripe returned a subscription that is not running"))
}

// ---- webhook signature ----------------------------------------------------

/// Checks `Stripe-Signature: t=…,v1=…[,v1=…]`: HMAC-SHA256 with the endpoint's
/// signing secret over `t.payload`, compared in constant time, `t` within
/// [`TOLERANCE_S`] of `now_s`.
pub fn verify_signature(
    secret: &str,
    header: &str,
    payload: &[u8],
    now_s: i64,
) -> Result<(), String> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let t = t.ok_or("Stripe-Signature has no timestamp (t=…)")?;
    if sigs.is_empty() {
        return Err("Stripe-Signature has no v1 signature".into());
    }
    if (now_s - t).abs() > TOLERANCE_S {
        return Err(format!(
            "Stripe-Signature timestamp is more than {TOLERANCE_S} s away from now"
        ));
    }
    let expected = sign(secret, t, payload);
    let ok = sigs.iter().any(|s| {
        use subtle::ConstantTimeEq;
        s.len() == expected.len() && bool::from(s.as_bytes().ct_eq(expected.as_bytes()))
    });
    if ok {
        Ok(())
    } else {
        Err("Stripe-Signature does not match the payload and the signing secret".into())
    }
}

/// The hex `v1` signature of `payload` at `t` (also used by tests).
pub fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

// ---- webhook events -------------------------------------------------------

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A field that may be an id or an expanded object.
fn id_of(v: &Value) -> Option<String> {
    s(v).or_else(|| s(&v["id"]))
}

fn first_item(sub: &Value) -> &Value {
    &sub["items"]["data"][0]
}

fn tier_for_price(state: &AppState, price: Option<&str>) -> Option<Tier> {
    let price = price?;
    if state.config.stripe_price_pro.as_deref() == Some(price) {
        Some(Tier::Pro)
    } else if state.config.stripe_price_starter.as_deref() == Some(price) {
        Some(Tier::Starter)
    } else {
        None
    }
}

/// Brings the license of a Stripe subscription in line with it, creating it
/// when the subscription is new and running. Returns the license and whether
/// it became active by this call.
async fn sync_subscription(
    tx: &mut sqlx::AnyConnection,
    state: &AppState,
    account_hint: Option<&str>,
    sub: &Value,
) -> AppResult<Option<(License, bool)>> {
    let Some(sub_id) = s(&sub["id"]) else {
        return Ok(None);
    };
    let now = state.now();
    let item = first_item(sub);
    let quantity = item["quantity"]
        .as_i64()
        .or_else(|| sub["quantity"].as_i64())
        .unwrap_or(1)
        .max(0);
    let period_end = item["current_period_end"]
        .as_i64()
        .or_else(|| sub["current_period_end"].as_i64())
        .map(|secs| secs * 1000);
    let running = match sub["status"].as_str().unwrap_or("") {
        "active" | "trialing" | "past_due" => Some(true),
        "canceled" | "unpaid" | "incomplete_expired" => Some(false),
        // `incomplete`, `paused`: not paid yet; nothing to grant.
        _ => None,
    };
    let cancel_at_end = sub["cancel_at_period_end"].as_bool().unwrap_or(false);
    let existing = store::billing::license_by_subscription(&mut *tx, &sub_id).await?;
    let tier = tier_for_price(state, item["price"]["id"].as_str())
        .or_else(|| sub["metadata"]["tier"].as_str().and_then(Tier::parse))
        .or_else(|| existing.as_ref().and_then(|l| Tier::parse(&l.tier)))
        .unwrap_or(Tier::Starter);
    match existing {
        Some(mut l) => {
            let was_active = l.is_active(now);
            l.tier = tier.as_str().into();
            l.quantity = quantity;
            l.auto_renew = !cancel_at_end;
            if let Some(id) = s(&item["id"]) {
                l.subscription_item_ref = Some(id);
            }
            match running {
                Some(true) => {
                    if let Some(end) = period_end {
                        l.expires_at = l.expires_at.max(end);
                    }
                    l.status = "active".into();
                    l.canceled_at = None;
                }
                Some(false) if l.status != "canceled" => {
                    l.status = "canceled".into();
                    l.canceled_at = Some(now);
                    let ended = sub["ended_at"].as_i64().map(|t| t * 1000).unwrap_or(now);
                    l.expires_at = l.expires_at.min(ended.max(l.starts_at));
                }
                _ => {}
            }
            if l.status == "canceled" {
                l.auto_renew = false;
            }
            l.updated_at = now;
            store::billing::update_license(&mut *tx, &l).await?;
            let became = !was_active && l.is_active(now);
            Ok(Some((l, became)))
        }
        None => {
            if running != Some(true) {
                return Ok(None);
            }
            let customer = id_of(&sub["customer"]);
            let account_id = match (account_hint, s(&sub["metadata"]["account_id"])) {
                (Some(a), _) => Some(a.to_string()),
                (None, Some(a)) => Some(a),
                (None, None) => match &customer {
                    Some(c) => store::billing::account_of_customer(&mut *tx, PROVIDER, c).await?,
                    None => None,
                },
            };
            let Some(account_id) = account_id else {
                tracing::warn!(subscription = %sub_id, "Stripe subscription names no Switchboard account; ignored");
                return Ok(None);
            };
            let Some(account) = store::accounts::account(&state.db, &account_id).await? else {
                tracing::warn!(subscription = %sub_id, account = %account_id, "Stripe subscription for an unknown account; ignored");
                return Ok(None);
            };
            if let Some(c) = &customer {
                store::billing::remember_customer(&mut *tx, &account_id, PROVIDER, c, now).await?;
            }
            let start = sub["start_date"].as_i64().map(|t| t * 1000).unwrap_or(now);
            let l = License {
                id: crate::services::new_id(),
                account_id: account_id.clone(),
                tier: tier.as_str().into(),
                source: "stripe".into(),
                provider: Some(PROVIDER.into()),
                status: "active".into(),
                quantity,
                starts_at: start,
                expires_at: period_end.unwrap_or(now + licenses::SANDBOX_PERIOD_MS),
                auto_renew: !cancel_at_end,
                subscription_ref: Some(sub_id),
                subscription_item_ref: s(&item["id"]),
                note: None,
                canceled_at: None,
                created_at: now,
                updated_at: now,
            };
            store::billing::insert_license(&mut *tx, &l).await?;
            licenses::end_trial(tx, &account, now).await?;
            let active = l.is_active(now);
            Ok(Some((l, active)))
        }
    }
}

/// The subscription an invoice belongs to, in either API shape.
fn invoice_subscription(inv: &Value) -> Option<String> {
    id_of(&inv["subscription"])
        .or_else(|| id_of(&inv["parent"]["subscription_details"]["subscription"]))
        .or_else(|| id_of(&inv["lines"]["data"][0]["subscription"]))
}

/// What one webhook changed, for the work done after its commit.
#[derive(Default, Debug)]
pub struct Outcome {
    pub duplicate: bool,
    pub activated: Vec<String>,
    pub payment_failed: Vec<(String, String)>,
}

/// Reads the subscription a `checkout.session.completed` refers to, before the
/// transaction (Stripe calls are never made while holding the write lock).
async fn prefetch(state: &AppState, event: &Value) -> AppResult<Option<Value>> {
    if event["type"] != "checkout.session.completed" {
        return Ok(None);
    }
    match id_of(&event["data"]["object"]["subscription"]) {
        Some(id) => Ok(Some(
            Stripe::from_config(&state.config).subscription(&id).await?,
        )),
        None => Ok(None),
    }
}

/// Handles one verified event; idempotent by its id.
pub async fn handle_event(state: &AppState, event: &Value) -> AppResult<Outcome> {
    let (Some(id), Some(kind)) = (s(&event["id"]), s(&event["type"])) else {
        return Err(AppError::validation("the event needs an id and a type"));
    };
    let obj = &event["data"]["object"];
    if !obj.is_object() {
        return Err(AppError::validation("data.object: missing"));
    }
    let mut out = Outcome::default();
    if store::billing::event_seen(&state.db, &id).await? {
        out.duplicate = true;
        return Ok(out);
    }
    let fetched = prefetch(state, event).await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !store::billing::first_sight_of_event(&mut *tx, &id, &kind, now).await? {
        tx.commit().await?;
        out.duplicate = true;
        return Ok(out);
    }
    match kind.as_str() {
        "checkout.session.completed" => {
            let account =
                s(&obj["client_reference_id"]).or_else(|| s(&obj["metadata"]["account_id"]));
            if let (Some(a), Some(c)) = (&account, id_of(&obj["customer"]))
                && store::accounts::account(&state.db, a).await?.is_some()
            {
                store::billing::remember_customer(&mut *tx, a, PROVIDER, &c, now).await?;
            }
            if let Some(sub) = &fetched
                && let Some((l, became)) =
                    sync_subscription(&mut tx, state, account.as_deref(), sub).await?
                && became
            {
                out.activated.push(l.account_id);
            }
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            if let Some((l, became)) = sync_subscription(&mut tx, state, None, obj).await?
                && became
            {
                out.activated.push(l.account_id);
            }
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            let paid = kind != "invoice.payment_failed";
            let sub = invoice_subscription(obj);
            let license = match &sub {
                Some(sid) => store::billing::license_by_subscription(&mut *tx, sid).await?,
                None => None,
            };
            let account = match &license {
                Some(l) => Some(l.account_id.clone()),
                None => match id_of(&obj["customer"]) {
                    Some(c) => store::billing::account_of_customer(&mut *tx, PROVIDER, &c).await?,
                    None => None,
                },
            };
            if let (Some(account_id), Some(inv_id)) = (account, s(&obj["id"])) {
                let line_end = obj["lines"]["data"][0]["period"]["end"]
                    .as_i64()
                    .map(|t| t * 1000);
                let amount = if paid {
                    obj["amount_paid"].as_i64()
                } else {
                    obj["amount_due"].as_i64()
                }
                .unwrap_or(0);
                let created = obj["created"].as_i64().map(|t| t * 1000).unwrap_or(now);
                store::billing::upsert_invoice(
                    &mut *tx,
                    &Invoice {
                        id: crate::services::new_id(),
                        account_id: account_id.clone(),
                        license_id: license.as_ref().map(|l| l.id.clone()),
                        provider: PROVIDER.into(),
                        external_ref: inv_id,
                        number: s(&obj["number"]),
                        status: if paid { "paid" } else { "failed" }.into(),
                        amount_cents: amount,
                        currency: s(&obj["currency"]).unwrap_or_else(|| "usd".into()),
                        description: s(&obj["description"])
                            .or_else(|| s(&obj["lines"]["data"][0]["description"]))
                            .unwrap_or_else(|| "Switchboard licenses".into()),
                        period_start: obj["lines"]["data"][0]["period"]["start"]
                            .as_i64()
                            .map(|t| t * 1000),
                        period_end: line_end,
                        hosted_url: s(&obj["hosted_invoice_url"]),
                        created_at: created,
                        updated_at: now,
                    },
                )
                .await?;
                if let Some(mut l) = license {
                    if paid && l.status != "canceled" {
                        let was_active = l.is_active(now);
                        if let Some(end) = line_end {
                            l.expires_at = l.expires_at.max(end);
                        }
                        l.updated_at = now;
                        store::billing::update_license(&mut *tx, &l).await?;
                        if !was_active && l.is_active(now) {
                            out.activated.push(account_id.clone());
                        }
                    } else if !paid {
                        out.payment_failed
                            .push((account_id.clone(), crate::clock::rfc3339(l.expires_at)));
                    }
                }
            }
        }
        other => tracing::debug!(event = other, "Stripe event not used"),
    }
    tx.commit().await?;
    Ok(out)
}

/// `POST /webhooks/stripe`: verifies, handles, then releases held deliveries
/// and mails owners/admins about failed payments.
pub async fn receive(state: &AppState, signature: Option<&str>, body: &[u8]) -> AppResult<Value> {
    let secret = match (
        &state.config.billing_provider,
        &state.config.stripe_webhook_secret,
    ) {
        (crate::config::BillingProviderKind::Stripe, Some(s)) => s.clone(),
        _ => {
            return Err(AppError::not_found(
                "Stripe billing is not configured on this installation; the endpoint",
            ));
        }
    };
    let header = signature.ok_or_else(|| {
        AppError::bad_request(
            "invalid_signature",
            "the Stripe-Signature header is missing",
        )
    })?;
    verify_signature(&secret, header, body, state.now() / 1000)
        .map_err(|e| AppError::bad_request("invalid_signature", e))?;
    let event: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request("invalid_json", format!("the body is not JSON: {e}")))?;
    let out = handle_event(state, &event).await?;
    for account in &out.activated {
        licenses::activated(state, account).await;
    }
    for (account, until) in &out.payment_failed {
        payment_failed_mail(state, account, until).await;
    }
    Ok(json!({"received": true, "duplicate": out.duplicate}))
}

async fn payment_failed_mail(state: &AppState, account_id: &str, until: &str) {
    let body = format!(
        "Stripe could not charge the payment method for your Switchboard licenses.\n\n\
         The licenses stay active until {until} while Stripe retries. Update the payment \
         method from the Billing page to keep sending and receiving after that:\n\n{}/billing\n",
        state.config.base()
    );
    let to = store::accounts::manager_emails(&state.db, account_id)
        .await
        .unwrap_or_default();
    for addr in to {
        let mail = crate::services::email::Outgoing {
            to: &addr,
            subject: "Payment for your Switchboard licenses failed".into(),
            body: body.clone(),
            account_id: Some(account_id),
        };
        if let Err(e) = state.mailer.send(mail).await {
            tracing::error!(account = %account_id, error = %e, "queueing the payment mail failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_within_the_tolerance() {
        let body = br#"{"id":"evt_1"}"#;
        let sig = sign("whsec_test", 1_700_000_000, body);
        let header = format!("t=1700000000,v1=deadbeef,v1={sig}");
        assert!(verify_signature("whsec_test", &header, body, 1_700_000_100).is_ok());
        // Too old.
        assert!(verify_signature("whsec_test", &header, body, 1_700_000_301).is_err());
        // Wrong secret, changed body, missing parts.
        assert!(verify_signature("whsec_other", &header, body, 1_700_000_000).is_err());
        assert!(verify_signature("whsec_test", &header, b"{}", 1_700_000_000).is_err());
        assert!(verify_signature("whsec_test", "v1=abc", body, 1_700_000_000).is_err());
        assert!(verify_signature("whsec_test", "t=1700000000", body, 1_700_000_000).is_err());
    }

    #[test]
    fn invoices_find_their_subscription_in_both_shapes() {
        let old = json!({"subscription": "sub_1"});
        let new = json!({"parent": {"subscription_details": {"subscription": "sub_2"}}});
        assert_eq!(invoice_subscription(&old).as_deref(), Some("sub_1"));
        assert_eq!(invoice_subscription(&new).as_deref(), Some("sub_2"));
        assert_eq!(invoice_subscription(&json!({})), None);
    }

    #[test]
    fn ids_in_paths_are_plain() {
        assert!(path_segment("sub_1MowQVLkdIwHu7ix").is_ok());
        assert!(path_segment("../v1/customers").is_err());
        assert!(path_segment("").is_err());
    }
}
