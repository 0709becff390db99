//! The REST API's authentication, rate limit and error shape (SPEC §1, §10).

mod common;

use common::spawn_app;
use serde_json::Value;

async fn body(res: reqwest::Response) -> Value {
    res.json().await.expect("JSON body")
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["code"], code, "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 2, "only detail and code: {v}");
}

#[tokio::test]
async fn missing_and_invalid_keys_get_401() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_error(&body(res).await, "missing_api_key");

    for bad in [
        "sb_test_nope",
        &format!("sb_test_{}", "a".repeat(32)),
        "Bearer",
    ] {
        let res = app
            .http
            .get(app.url("/api/v1/account"))
            .header("x-api-key", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{bad}");
        assert_error(&body(res).await, "invalid_api_key");
    }
}

#[tokio::test]
async fn a_key_works_in_either_header_and_identifies_the_account() {
    let app = spawn_app().await;
    let (account_id, key) = app.account_with_key().await;
    assert!(key.starts_with("sb_test_") && key.len() == 40, "{key}");
    for req in [
        app.http
            .get(app.url("/api/v1/account"))
            .header("x-api-key", &key),
        app.http.get(app.url("/api/v1/account")).bearer_auth(&key),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ratelimit-limit"], "100");
        assert!(res.headers().contains_key("x-ratelimit-remaining"));
        assert!(res.headers().contains_key("x-ratelimit-reset"));
        let v = body(res).await;
        assert_eq!(v["account_id"], account_id.as_str());
        assert_eq!(v["name"], "Acme");
        assert_eq!(v["mode"], "sandbox");
        assert_eq!(v["key_name"], "test");
        assert!(v["trial_ends_at"].as_str().unwrap().ends_with('Z'));
    }
    // Revocation takes effect at once.
    let keys = app::store::keys::list(&app.state.db, &account_id)
        .await
        .unwrap();
    app::services::keys::revoke(&app.state, &account_id, &keys[0].id)
        .await
        .unwrap();
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_error(&body(res).await, "invalid_api_key");
}

#[tokio::test]
async fn the_101st_request_in_a_minute_is_rate_limited() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let (_, other) = app.account_with_key().await;
    for i in 0..100 {
        let res = app
            .http
            .get(app.url("/api/v1/account"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "request {i}");
    }
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    assert_error(&body(res).await, "rate_limited");
    // Another key of another account is not affected.
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A minute later the bucket is full again.
    app.clock.advance(60_000);
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let res = app
        .http
        .get(app.url("/api/v1/nope"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_error(&body(res).await, "not_found");

    let res = app
        .http
        .delete(app.url("/api/v1/account"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_error(&body(res).await, "method_not_allowed");
}

#[tokio::test]
async fn bad_bodies_get_their_own_codes() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let patch = || {
        app.http
            .patch(app.url("/api/v1/account"))
            .header("x-api-key", &key)
    };

    let res = patch()
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_error(&body(res).await, "invalid_json");

    let res = patch()
        .header("content-type", "application/json")
        .body("{\"name\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_error(&body(res).await, "validation_error");

    let res = patch()
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_error(&body(res).await, "unsupported_media_type");

    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let res = patch()
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_error(&body(res).await, "payload_too_large");

    let res = patch()
        .json(&serde_json::json!({"name": "   "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v = body(res).await;
    assert_error(&v, "validation_error");
    assert!(
        v["detail"].as_str().unwrap().starts_with("name"),
        "detail names the field: {v}"
    );

    let res = patch()
        .json(&serde_json::json!({"name": "Acme Ltd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await["name"], "Acme Ltd");
}

#[tokio::test]
async fn openapi_document_lists_the_handlers() {
    let app = spawn_app().await;
    let v = body(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    assert!(v["paths"]["/api/v1/account"]["get"].is_object());
    assert!(v["paths"]["/api/v1/account"]["patch"].is_object());
    assert!(v["components"]["schemas"]["ErrorBody"].is_object());
    let html = app
        .http
        .get(app.url("/api/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/api/v1/account") && html.contains("AccountResponse"));
}
