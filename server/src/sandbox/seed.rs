//! Seed data of SPEC §9: "Sandbox Business" with one WABA and two numbers,
//! two Pages and an Instagram account linked to the first Page, plus the
//! `hello_world` template Meta gives every new WABA. Also the generators
//! behind `POST /sandbox/api/assets` and `switchboard sandbox seed`.

use app::store::Db;
use serde_json::{Value, json};

use super::db::{self, Asset, DbResult, Template};

pub const BUSINESS_ID: &str = "1400000000000001";
pub const WABA_ID: &str = "100000000000001";
pub const PHONE_1: &str = "110000000000001";
pub const PHONE_2: &str = "110000000000002";
pub const PAGE_1: &str = "150000000000001";
pub const PAGE_2: &str = "150000000000002";
pub const INSTAGRAM_1: &str = "17841400000000001";

/// A fresh Graph-style numeric id (15 digits, never starting with 0).
pub fn numeric_id() -> String {
    format!(
        "{}{:014}",
        1 + rand::random::<u8>() % 9,
        rand::random::<u64>() % 100_000_000_000_000
    )
}

fn asset(id: &str, kind: &str, parent: Option<&str>, name: &str, data: Value, now: i64) -> Asset {
    Asset {
        id: id.to_string(),
        kind: kind.to_string(),
        parent_id: parent.map(str::to_string),
        name: name.to_string(),
        data,
        created_at: now,
    }
}

fn phone_data(display: &str, verified_name: &str) -> Value {
    json!({
        "display_phone_number": display,
        "verified_name": verified_name,
        "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "messaging_limit_tier": "TIER_1K",
        // Like a number fresh out of Embedded Signup: it must be registered
        // (POST /{id}/register with a PIN) before it can send.
        "registered": false,
        "pin": null
    })
}

/// Creates the seed set when the sandbox has no assets; true when it did.
pub async fn ensure(db: &Db, now: i64) -> DbResult<bool> {
    if db::count_assets(db).await? > 0 {
        return Ok(false);
    }
    let items = [
        asset(
            BUSINESS_ID,
            "business",
            None,
            "Sandbox Business",
            json!({}),
            now,
        ),
        asset(
            WABA_ID,
            "waba",
            Some(BUSINESS_ID),
            "Sandbox Business",
            json!({"currency": "USD", "timezone_id": "1"}),
            now,
        ),
        asset(
            PHONE_1,
            "phone",
            Some(WABA_ID),
            "Sandbox Business",
            phone_data("+1 555 0100 001", "Sandbox Business"),
            now,
        ),
        asset(
            PHONE_2,
            "phone",
            Some(WABA_ID),
            "Sandbox Business",
            phone_data("+1 555 0100 002", "Sandbox Business"),
            now + 1,
        ),
        asset(
            PAGE_1,
            "page",
            Some(BUSINESS_ID),
            "Sandbox Store",
            json!({"category": "Shopping & retail"}),
            now,
        ),
        asset(
            PAGE_2,
            "page",
            Some(BUSINESS_ID),
            "Sandbox Outlet",
            json!({"category": "Shopping & retail"}),
            now + 1,
        ),
        asset(
            INSTAGRAM_1,
            "instagram",
            Some(PAGE_1),
            "Sandbox Store",
            json!({"username": "sandbox.store"}),
            now,
        ),
    ];
    for a in &items {
        db::insert_asset(db, a).await?;
    }
    db::insert_template(db, &hello_world(WABA_ID, now)).await?;
    Ok(true)
}

fn hello_world(waba_id: &str, now: i64) -> Template {
    Template {
        id: numeric_id(),
        waba_id: waba_id.to_string(),
        name: "hello_world".into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        status: "APPROVED".into(),
        parameter_format: "POSITIONAL".into(),
        components: json!([
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta."},
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}
        ]),
        rejected_reason: None,
        created_at: now,
    }
}

/// How a new sandbox number starts (SPEC §13), from the control API's
/// `pin` (it already has that two-step PIN, so registering it with another
/// one earns 133005) and `coexistence` (it is used in the WhatsApp Business
/// app: registered there, `is_on_biz_app`).
fn phone_state(spec: &Value, data: &mut Value) -> Result<(), String> {
    if let Some(pin) = spec.get("pin").filter(|v| !v.is_null()) {
        let pin = pin.as_str().unwrap_or_default();
        if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
            return Err("pin must be 6 digits".into());
        }
        data["pin"] = json!(pin);
    }
    if spec.get("coexistence").and_then(Value::as_bool) == Some(true) {
        data["registered"] = json!(true);
        data["on_biz_app"] = json!(true);
    }
    Ok(())
}

/// `POST /sandbox/api/assets {"kind": "whatsapp"|"page"|"instagram", …}`.
/// Returns the created assets (a new WABA comes with its number, unless
/// `"without_phone": true`: a WABA shared without a number).
pub async fn add(db: &Db, spec: &Value, now: i64) -> Result<Vec<Asset>, String> {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_string);
    let mut created = Vec::new();
    match spec.get("kind").and_then(Value::as_str) {
        Some("whatsapp") => {
            let without_phone = spec.get("without_phone").and_then(Value::as_bool) == Some(true);
            if without_phone && s("waba_id").is_some() {
                return Err("without_phone creates a new WABA; leave out waba_id".into());
            }
            // Checked before anything is written.
            phone_state(spec, &mut json!({}))?;
            let waba_id = match s("waba_id") {
                Some(id) => match db::asset_by_id(db, &id).await.map_err(|e| e.to_string())? {
                    Some(a) if a.kind == "waba" => id,
                    _ => return Err(format!("waba_id {id} is not a sandbox WABA")),
                },
                None => {
                    let waba = asset(
                        &numeric_id(),
                        "waba",
                        Some(BUSINESS_ID),
                        &s("name").unwrap_or_else(|| "Sandbox Business".into()),
                        json!({"currency": "USD", "timezone_id": "1"}),
                        now,
                    );
                    db::insert_asset(db, &waba)
                        .await
                        .map_err(|e| e.to_string())?;
                    db::insert_template(db, &hello_world(&waba.id, now))
                        .await
                        .map_err(|e| e.to_string())?;
                    let id = waba.id.clone();
                    created.push(waba);
                    id
                }
            };
            if without_phone {
                return Ok(created);
            }
            let display = s("display_phone_number")
                .unwrap_or_else(|| format!("+1 555 0100 {:03}", 100 + rand::random::<u16>() % 900));
            if !display.chars().any(|c| c.is_ascii_digit()) {
                return Err("display_phone_number must contain digits".into());
            }
            let name = s("verified_name").unwrap_or_else(|| "Sandbox Business".into());
            let mut data = phone_data(&display, &name);
            phone_state(spec, &mut data)?;
            let phone = asset(&numeric_id(), "phone", Some(&waba_id), &name, data, now);
            db::insert_asset(db, &phone)
                .await
                .map_err(|e| e.to_string())?;
            created.push(phone);
        }
        Some("page") => {
            let name = s("name")
                .unwrap_or_else(|| format!("Sandbox Page {}", rand::random::<u16>() % 1000));
            let page = asset(
                &numeric_id(),
                "page",
                Some(BUSINESS_ID),
                &name,
                json!({"category": "Shopping & retail"}),
                now,
            );
            db::insert_asset(db, &page)
                .await
                .map_err(|e| e.to_string())?;
            created.push(page);
        }
        Some("instagram") => {
            let page_id = match s("page_id") {
                Some(id) => match db::asset_by_id(db, &id).await.map_err(|e| e.to_string())? {
                    Some(a) if a.kind == "page" => id,
                    _ => return Err(format!("page_id {id} is not a sandbox Page")),
                },
                None => {
                    let page = asset(
                        &numeric_id(),
                        "page",
                        Some(BUSINESS_ID),
                        "Sandbox IG Page",
                        json!({"category": "Shopping & retail"}),
                        now,
                    );
                    db::insert_asset(db, &page)
                        .await
                        .map_err(|e| e.to_string())?;
                    let id = page.id.clone();
                    created.push(page);
                    id
                }
            };
            let username = s("username")
                .unwrap_or_else(|| format!("sandbox.shop{}", rand::random::<u16>() % 1000));
            let ig = asset(
                &format!("1784140{:010}", rand::random::<u64>() % 10_000_000_000),
                "instagram",
                Some(&page_id),
                &s("name").unwrap_or_else(|| username.clone()),
                json!({"username": username}),
                now,
            );
            db::insert_asset(db, &ig).await.map_err(|e| e.to_string())?;
            created.push(ig);
        }
        _ => return Err("kind must be one of whatsapp, page, instagram".into()),
    }
    Ok(created)
}

/// JSON view of an asset for the control API and the CLI.
pub fn describe(a: &Asset) -> Value {
    let mut v = json!({"id": a.id, "kind": a.kind, "name": a.name, "parent_id": a.parent_id});
    if let Value::Object(extra) = &a.data {
        for (k, val) in extra {
            if k != "pin" {
                v[k] = val.clone();
            }
        }
    }
    v
}
