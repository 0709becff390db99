//! Content at rest (SPEC §14): an end user's message is stored only
//! encrypted, in the raw payload as in its event and delivery, so a database
//! reader without the secret key learns nothing from it.

use serde_json::json;

use super::common;
use super::connect_support::{PHONE_1, allow_redirect, connect};
use super::relay_support::{Answer, spawn_endpoint};

#[tokio::test]
async fn an_end_users_message_is_stored_only_encrypted() {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let secret = "my card number is 4000-1234-5678-9010";
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .json(&json!({"asset_id": PHONE_1, "from": "15550188001", "type": "text", "text": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The customer gets the text…
    let hits = endpoint.wait_for(1).await;
    assert_eq!(hits[0].json()["data"]["text"], secret);
    // …and the product's tables hold it only as ciphertext.
    for (table, column) in [
        ("inbound_payloads", "body"),
        ("events", "payload"),
        ("deliveries", "payload"),
    ] {
        let values: Vec<Option<String>> =
            sqlx::query_scalar(&format!("SELECT {column} FROM {table}"))
                .fetch_all(&app.state.db.pool)
                .await
                .unwrap();
        assert!(!values.is_empty(), "{table} is empty");
        for v in values.into_iter().flatten() {
            assert!(
                !v.contains("4000-1234"),
                "{table}.{column} holds the text: {v}"
            );
        }
    }
    let raw: String = sqlx::query_scalar("SELECT body FROM inbound_payloads")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let plain = app.state.cipher.decrypt(&raw).unwrap();
    assert!(String::from_utf8(plain).unwrap().contains(secret));
}
