//! WhatsApp templates (SPEC §5.2, §5.3) and profiles (§5.4) end to end: the
//! sandbox plays Meta (templates, review webhooks, outbox, users), a local
//! endpoint plays the customer's account event endpoint.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use common::TestApp;
use connect_support::{IG, PAGE_1, PHONE_1, WABA, allow_redirect, call, connect};
use customer_support::{Customer, spawn_customer};
use sandbox_support::control;
use serde_json::{Value, json};

struct Chan {
    id: String,
    key: String,
}

/// A fresh account with a registered WhatsApp number.
async fn whatsapp(app: &TestApp) -> Chan {
    let (_, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/channels/{id}/register");
    let (s, v) = call(app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
    assert_eq!(s, 200, "{v}");
    Chan { id, key }
}

async fn endpoint(app: &TestApp, key: &str, events: &[&str]) -> Customer {
    let c = spawn_customer().await;
    let (s, v) = call(
        app,
        key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": c.url, "events": events})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    c
}

fn order_update() -> Value {
    json!({
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBlZw==:ARfakeHandle"]}},
            {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way.",
             "example": {"body_text": [["Ana", "#42"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
                {"type": "URL", "text": "Track", "url": "https://example.com/track/{{1}}",
                 "example": ["https://example.com/track/42"]}]}
        ]
    })
}

fn welcome_named() -> Value {
    json!({
        "name": "welcome_named",
        "language": "en_US",
        "category": "MARKETING",
        "parameter_format": "named",
        "components": [
            {"type": "BODY", "text": "Hi {{first_name}}, thanks for order {{order_id}}!",
             "example": {"body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "order_id", "example": "42"}]}}
        ]
    })
}

fn templates_path(c: &Chan) -> String {
    format!("/api/v1/channels/{}/templates", c.id)
}

async fn create(app: &TestApp, c: &Chan, body: Value) -> Value {
    let (s, v) = call(app, &c.key, "POST", &templates_path(c), Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn review(app: &TestApp, template_id: &str, status: &str) {
    let (s, v) = control(
        app,
        &format!("templates/{template_id}/review"),
        json!({"status": status, "reason": "Bad wording"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

/// The local copy (no sync: a known id is answered locally) until it shows `status`.
async fn wait_status(app: &TestApp, c: &Chan, template_id: &str, status: &str) -> Value {
    let path = format!("{}/{template_id}", templates_path(c));
    for _ in 0..200 {
        let (s, v) = call(app, &c.key, "GET", &path, None).await;
        assert_eq!(s, 200, "{v}");
        if v["status"] == status {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("template {template_id} never became {status}");
}

async fn send_template(app: &TestApp, c: &Chan, body: Value) -> (u16, Value) {
    let mut body = body;
    body["channel_id"] = json!(c.id);
    call(
        app,
        &c.key,
        "POST",
        "/api/v1/messages/send-template",
        Some(body),
    )
    .await
}

async fn outbox(app: &TestApp, to: &str) -> Vec<Value> {
    let v: Value = app
        .http
        .get(app.url(&format!("/sandbox/api/outbox?asset_id={PHONE_1}&to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// A test makes more calls than the default 100 a minute.
async fn spawn() -> TestApp {
    common::spawn_app_with(&[("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "100000")]).await
}

fn code(v: &Value) -> Option<&str> {
    v["code"].as_str()
}

#[tokio::test]
async fn a_template_goes_from_pending_to_approved_and_is_sent_in_metas_format() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let events = endpoint(&app, &c.key, &["template.status_updated"]).await;

    let t = create(&app, &c, order_update()).await;
    assert_eq!(t["status"], "PENDING");
    assert_eq!(t["category"], "UTILITY");
    assert_eq!(t["parameter_format"], "positional");
    assert_eq!(t["waba_id"], WABA);
    let id = t["id"].as_str().unwrap().to_string();

    // Not approved yet: refused before Meta is asked.
    let send = json!({"template_name": "order_update", "language": "en_US", "recipient": "15550123001",
        "variables": {"header": {"type": "image", "link": "https://files.example.com/box.jpg"},
                      "body": ["Ana", "#42"],
                      "buttons": [{"index": 0, "value": "STOP_PROMOS"}, {"index": "1", "value": "42"}]}});
    let (s, v) = send_template(&app, &c, send.clone()).await;
    assert_eq!((s, code(&v)), (400, Some("template_not_approved")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("PENDING"));

    // Meta approves: its webhook updates the local copy and reaches the endpoint.
    review(&app, &id, "APPROVED").await;
    let hit = events
        .find(|v| v["event"] == "template.status_updated" && v["data"]["status"] == "APPROVED")
        .await
        .json();
    assert_eq!(hit["data"]["template_id"], id.as_str());
    assert_eq!(hit["data"]["template_name"], "order_update");
    let local = wait_status(&app, &c, &id, "APPROVED").await;
    assert_eq!(local["rejected_reason"], Value::Null);

    let (s, v) = send_template(&app, &c, send).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["status"], "sent");
    assert!(v["meta_message_id"].as_str().unwrap().starts_with("wamid."));
    assert_eq!(v["message_id"].as_str().unwrap().len(), 36);
    let out = outbox(&app, "15550123001").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["type"], "template");
    assert_eq!(
        out[0]["template"],
        json!({"name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://files.example.com/box.jpg"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#42"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]}
        ]})
    );

    // Named parameters carry parameter_name.
    let named = create(&app, &c, welcome_named()).await;
    assert_eq!(named["parameter_format"], "named");
    let nid = named["id"].as_str().unwrap().to_string();
    review(&app, &nid, "APPROVED").await;
    wait_status(&app, &c, &nid, "APPROVED").await;
    let named_send = json!({"template_name": "welcome_named", "language": "en_US", "recipient": "15550123002",
        "variables": {"body": {"order_id": "42", "first_name": "Ana"}}});
    let (s, v) = send_template(&app, &c, named_send.clone()).await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, "15550123002").await;
    assert_eq!(
        out[0]["template"]["components"],
        json!([{"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Ana"},
            {"type": "text", "parameter_name": "order_id", "text": "42"}]}])
    );

    // A template only Meta knows (the seeded hello_world) is found by one
    // sync; without variables the components are left out.
    let (s, v) = send_template(
        &app,
        &c,
        json!({"template_name": "hello_world", "language": "en_US", "recipient": "15550123003"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, "15550123003").await;
    assert_eq!(
        out[0]["template"],
        json!({"name": "hello_world", "language": {"code": "en_US"}})
    );

    // Rejection: status and reason in the local copy, and the event.
    let (_, list) = call(
        &app,
        &c.key,
        "GET",
        &format!("{}?sync=false", templates_path(&c)),
        None,
    )
    .await;
    assert_eq!(list["total"], 3, "{list}");
    review(&app, &nid, "REJECTED").await;
    let rejected = wait_status(&app, &c, &nid, "REJECTED").await;
    assert_eq!(rejected["rejected_reason"], "INVALID_FORMAT");
    events
        .find(|v| v["event"] == "template.status_updated" && v["data"]["status"] == "REJECTED")
        .await;
    let (s, v) = send_template(&app, &c, named_send).await;
    assert_eq!((s, code(&v)), (400, Some("template_not_approved")));
    assert!(
        v["detail"].as_str().unwrap().contains("INVALID_FORMAT"),
        "{v}"
    );
}

#[tokio::test]
async fn every_broken_rule_has_its_own_code() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let base = order_update();
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let body_only = |b: Value| with("components", json!([b]));
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with("name", json!("Order-Update")),
            400,
            "invalid_template_name",
            "name",
        ),
        (
            with("language", json!("english")),
            400,
            "invalid_template_language",
            "language",
        ),
        (
            with("category", json!("PROMO")),
            400,
            "invalid_template_category",
            "category",
        ),
        (
            with("parameter_format", json!("mixed")),
            400,
            "invalid_parameter_format",
            "parameter_format",
        ),
        (
            with("components", json!([{"type": "FOOTER", "text": "x"}])),
            400,
            "invalid_template_components",
            "BODY",
        ),
        (
            with("components", json!([{"type": "BANNER", "text": "x"}])),
            400,
            "invalid_template_components",
            "BANNER",
        ),
        (
            body_only(json!({"type": "BODY", "text": "Hi {{1}}"})),
            400,
            "template_examples_required",
            "body_text",
        ),
        (
            body_only(
                json!({"type": "BODY", "text": "Hi {{1}} {{2}}", "example": {"body_text": [["Ana"]]}}),
            ),
            400,
            "template_examples_required",
            "{{2}}",
        ),
        (
            body_only(
                json!({"type": "BODY", "text": "Hi {{name}}", "example": {"body_text": [["Ana"]]}}),
            ),
            400,
            "invalid_parameter_format",
            "positional",
        ),
        (
            with(
                "components",
                json!([{"type": "HEADER", "format": "VIDEO"}, {"type": "BODY", "text": "x"}]),
            ),
            400,
            "template_examples_required",
            "header_handle",
        ),
        (
            with("components", json!("BODY")),
            422,
            "validation_error",
            "",
        ),
    ];
    for (body, status, want, part) in cases {
        let (s, v) = call(
            &app,
            &c.key,
            "POST",
            &templates_path(&c),
            Some(body.clone()),
        )
        .await;
        assert_eq!((s, code(&v)), (status, Some(want)), "{body} → {v}");
        assert!(v["detail"].as_str().unwrap().contains(part), "{want}: {v}");
    }
    // A name and language that exist already (hello_world, after a sync).
    let (s, _) = call(&app, &c.key, "GET", &templates_path(&c), None).await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &app,
        &c.key,
        "POST",
        &templates_path(&c),
        Some(with("name", json!("hello_world"))),
    )
    .await;
    assert_eq!((s, code(&v)), (409, Some("template_exists")), "{v}");
    let (s, v) = call(
        &app,
        &c.key,
        "GET",
        &format!("{}?status=MAYBE", templates_path(&c)),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("validation_error")), "{v}");

    // Send-template: each misfit names the part.
    let t = create(&app, &c, order_update()).await;
    let id = t["id"].as_str().unwrap().to_string();
    review(&app, &id, "APPROVED").await;
    wait_status(&app, &c, &id, "APPROVED").await;
    let header = json!({"type": "image", "link": "https://files.example.com/box.jpg"});
    let url = json!([{"index": 1, "value": "42"}]);
    let video = json!({"type": "video", "link": "https://x.test/a.mp4"});
    let sends: Vec<(Value, &str)> = vec![
        (
            json!({"header": header, "body": ["Ana"], "buttons": url}),
            "variables.body",
        ),
        (
            json!({"header": header, "body": {"a": "b"}, "buttons": url}),
            "positional",
        ),
        (
            json!({"body": ["Ana", "#42"], "buttons": url}),
            "variables.header",
        ),
        (
            json!({"header": video, "body": ["Ana", "#42"], "buttons": url}),
            "header.type",
        ),
        (
            json!({"header": header, "body": ["Ana", "#42"]}),
            "button 1",
        ),
        (
            json!({"header": header, "body": ["Ana", "#42"], "buttons": [{"index": 7, "value": "x"}]}),
            "index",
        ),
    ];
    for (vars, part) in sends {
        let (s, v) = send_template(
            &app,
            &c,
            json!({"template_name": "order_update", "language": "en_US", "recipient": "15550123001", "variables": vars}),
        )
        .await;
        assert_eq!((s, code(&v)), (400, Some("template_mismatch")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains(part), "{part}: {v}");
    }
    let bad_sends: Vec<(Value, u16, &str)> = vec![
        (
            json!({"template_name": "no_such_template", "language": "en_US", "recipient": "15550123001"}),
            400,
            "template_not_found",
        ),
        (
            json!({"template_name": "order_update", "language": "pt_BR", "recipient": "15550123001"}),
            400,
            "template_not_found",
        ),
        (
            json!({"template_name": "hello_world", "language": "en_US", "recipient": "15550123001", "variables": {"body": ["x"]}}),
            400,
            "template_mismatch",
        ),
        (
            json!({"template_name": "hello_world", "language": "en_US", "recipient": "+1 555"}),
            400,
            "invalid_recipient",
        ),
        (
            json!({"template_name": "hello_world", "language": "en_US", "recipient": "1", "colour": "red"}),
            422,
            "validation_error",
        ),
    ];
    for (body, status, want) in bad_sends {
        let (s, v) = send_template(&app, &c, body).await;
        assert_eq!((s, code(&v)), (status, Some(want)), "{v}");
        if want == "template_not_found" && v["detail"].as_str().unwrap().contains("pt_BR") {
            assert!(v["detail"].as_str().unwrap().contains("en_US"), "{v}");
        }
    }
    assert!(outbox(&app, "15550123001").await.is_empty());

    // Edits: category only while REJECTED or PAUSED; nothing while PENDING.
    let tpath = format!("{}/{id}", templates_path(&c));
    let comps = order_update()["components"].clone();
    let edit = |b: Value| call(&app, &c.key, "PUT", &tpath, Some(b));
    let (s, v) = edit(json!({"components": comps, "category": "MARKETING"})).await;
    assert_eq!(
        (s, code(&v)),
        (400, Some("invalid_template_category")),
        "{v}"
    );
    let (s, v) = edit(json!({"components": [{"type": "FOOTER", "text": "x"}]})).await;
    assert_eq!(
        (s, code(&v)),
        (400, Some("invalid_template_components")),
        "{v}"
    );
    let new_body = json!([{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
        {"type": "BODY", "text": "Hello {{1}}, order {{2}} left the warehouse.", "example": {"body_text": [["Ana", "#42"]]}},
        comps[3].clone()]);
    let (s, v) = edit(json!({"components": new_body})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "PENDING");
    assert!(
        v["components"][1]["text"]
            .as_str()
            .unwrap()
            .starts_with("Hello")
    );
    let (s, v) = edit(json!({"components": new_body})).await;
    assert_eq!((s, code(&v)), (400, Some("template_not_editable")), "{v}");
    review(&app, &id, "REJECTED").await;
    wait_status(&app, &c, &id, "REJECTED").await;
    let (s, v) = edit(json!({"components": new_body, "category": "MARKETING"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["category"], "MARKETING");

    // Ids that do not exist, other channel types, other accounts.
    let (s, v) = call(
        &app,
        &c.key,
        "GET",
        &format!("{}/999999", templates_path(&c)),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (404, Some("template_not_found")), "{v}");
    let (s, v) = call(
        &app,
        &c.key,
        "GET",
        "/api/v1/channels/0123456789abcdef/templates",
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (404, Some("not_found")), "{v}");
    let fb = connect(&app, &c.key, "facebook", &[PAGE_1], Some(PAGE_1), json!({})).await;
    let fb_path = format!("/api/v1/channels/{}/templates", fb["id"].as_str().unwrap());
    let (s, v) = call(&app, &c.key, "GET", &fb_path, None).await;
    assert_eq!((s, code(&v)), (400, Some("not_supported")), "{v}");
    let (_, other) = app.account_with_key().await;
    let (s, _) = call(&app, &other, "GET", &templates_path(&c), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn sync_follows_every_page_and_forgets_what_meta_deleted() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let now = app.state.now();
    let mut ids = Vec::new();
    for i in 0..130 {
        let id = format!("77{i:013}");
        server::sandbox::db::insert_template(
            &app.state.db,
            &server::sandbox::db::Template {
                id: id.clone(),
                waba_id: WABA.into(),
                name: format!("bulk_{i:03}"),
                language: "en_US".into(),
                category: "UTILITY".into(),
                status: if i % 10 == 0 { "REJECTED" } else { "APPROVED" }.into(),
                parameter_format: "POSITIONAL".into(),
                components: json!([{"type": "BODY", "text": format!("Message {i}")}]),
                rejected_reason: None,
                created_at: now,
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // 131 with hello_world: two pages of Meta's largest page size.
    let (s, v) = call(&app, &c.key, "GET", &templates_path(&c), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 131);
    let list = v["templates"].as_array().unwrap();
    assert_eq!(list.len(), 131);
    assert!(list.iter().any(|t| t["name"] == "bulk_129"));
    let rejected = format!("{}?sync=false&status=rejected", templates_path(&c));
    let (_, v) = call(&app, &c.key, "GET", &rejected, None).await;
    assert_eq!(v["total"], 13, "{v}");
    assert!(v["templates"][0]["synced_at"].is_string());

    // Deleted at Meta → gone from the copy at the next sync.
    server::sandbox::db::delete_template(&app.state.db, &ids[5])
        .await
        .unwrap();
    let (_, v) = call(&app, &c.key, "GET", &templates_path(&c), None).await;
    assert_eq!(v["total"], 130);

    // Delete one language, then every language of a name.
    let mut es = welcome_named();
    es["language"] = json!("es");
    es["components"][0]["text"] = json!("Hola {{first_name}}, gracias por el pedido {{order_id}}");
    let en = create(&app, &c, welcome_named()).await;
    let es = create(&app, &c, es).await;
    let delete = |path: String| {
        app.http
            .delete(app.url(&path))
            .header("x-api-key", &c.key)
            .send()
    };
    let one = format!(
        "{}/{}?all_languages=false",
        templates_path(&c),
        en["id"].as_str().unwrap()
    );
    assert_eq!(delete(one).await.unwrap().status(), 204);
    let (_, v) = call(&app, &c.key, "GET", &templates_path(&c), None).await;
    let langs: Vec<&str> = v["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "welcome_named")
        .map(|t| t["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, vec!["es"]);
    let es_id = es["id"].as_str().unwrap();
    let all = format!("{}/{es_id}?all_languages=true", templates_path(&c));
    assert_eq!(delete(all).await.unwrap().status(), 204);
    let (s, v) = call(
        &app,
        &c.key,
        "GET",
        &format!("{}/{es_id}", templates_path(&c)),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (404, Some("template_not_found")));
    let (s, v) = call(
        &app,
        &c.key,
        "GET",
        &format!("{}?sync=perhaps", templates_path(&c)),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("validation_error")), "{v}");
}

#[tokio::test]
async fn templates_need_the_pro_tier() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let account: String = sqlx::query_scalar("SELECT account_id FROM channels WHERE id = $1")
        .bind(&c.id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    app::services::licenses::grant(
        &app.state,
        &account,
        app::domain::billing::Tier::Starter,
        app.state.now() + 30 * app::clock::DAY_MS,
        1,
    )
    .await
    .unwrap();
    let (s, v) = call(&app, &c.key, "GET", &templates_path(&c), None).await;
    assert_eq!((s, code(&v)), (402, Some("plan_required")), "{v}");
    let (s, v) = send_template(
        &app,
        &c,
        json!({"template_name": "hello_world", "language": "en_US", "recipient": "15550123001"}),
    )
    .await;
    assert_eq!((s, code(&v)), (402, Some("plan_required")), "{v}");
}

#[tokio::test]
async fn profiles_are_cached_for_five_minutes() {
    let app = spawn().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let id_of = |v: Value| v["id"].as_str().unwrap().to_string();
    let fb = id_of(connect(&app, &key, "facebook", &[PAGE_1], Some(PAGE_1), json!({})).await);
    let ig = id_of(connect(&app, &key, "instagram", &[IG], Some(IG), json!({})).await);
    let wa = id_of(connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await);
    for (asset, from) in [(PAGE_1, "7100000000000001"), (IG, "6400000000000001")] {
        let (s, v) = control(
            &app,
            "inbound",
            json!({"asset_id": asset, "from": from, "from_name": "Ana Customer", "type": "text", "text": "hi"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let path = format!("/api/v1/channels/{fb}/profile/7100000000000001");
    let (s, v) = call(&app, &key, "GET", &path, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["channel_id"], fb.as_str());
    assert_eq!(v["channel_type"], "facebook");
    assert_eq!(v["user_id"], "7100000000000001");
    assert_eq!(v["cached"], false);
    assert_eq!(v["profile"]["first_name"], "Ana");
    assert_eq!(v["profile"]["last_name"], "Customer");
    assert!(v["profile"]["profile_pic"].is_string());
    let (_, again) = call(&app, &key, "GET", &path, None).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["profile"], v["profile"]);
    // After 5 minutes Meta is asked again.
    app.clock.advance(5 * 60_000 + 1);
    let (_, later) = call(&app, &key, "GET", &path, None).await;
    assert_eq!(later["cached"], false);

    let ig_path = format!("/api/v1/channels/{ig}/profile/6400000000000001");
    let (s, v) = call(&app, &key, "GET", &ig_path, None).await;
    assert_eq!(s, 200, "{v}");
    let p = &v["profile"];
    assert_eq!(p["username"], "ana.customer");
    assert_eq!(p["name"], "Ana Customer");
    assert_eq!(p["follower_count"], 42);
    assert_eq!(p["is_verified_user"], false);
    assert!(p["profile_pic"].is_string());

    // Someone who never wrote: no profile, not an error.
    let (s, v) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{fb}/profile/7100000000000999"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["profile"], Value::Null);

    let (s, v) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{wa}/profile/15550100001"),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("not_supported")), "{v}");
    let (s, v) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{fb}/profile/me%2Faccounts"),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("validation_error")), "{v}");

    // Meta fails (twice: GETs are retried once) → 502 with Meta's code.
    let (s, _) = control(
        &app,
        "faults",
        json!({"kind": "graph_error", "path": "7100000000000002", "count": 2, "http_status": 500,
               "code": 2, "message": "(#2) Service temporarily unavailable"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{fb}/profile/7100000000000002"),
        None,
    )
    .await;
    assert_eq!((s, code(&v)), (502, Some("meta_error")), "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("Meta error 2"),
        "{v}"
    );

    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{fb}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(&app, &key, "GET", &path, None).await;
    assert_eq!((s, code(&v)), (400, Some("channel_inactive")), "{v}");
}
