//! The REST API's authentication, rate limit and error shape (SPEC §1, §10).

mod common;
mod connect_support;

use common::spawn_app;
use connect_support::call;
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
    // The bucket refills at 100 per minute of real time, so on a slow machine
    // a request or two may pass before it runs dry; a 429 must come soon.
    let mut extra = 0;
    let res = loop {
        let res = app
            .http
            .get(app.url("/api/v1/account"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        if res.status() != 200 || extra == 20 {
            break res;
        }
        extra += 1;
    };
    assert_eq!(res.status(), 429, "no 429 after {} requests", 100 + extra);
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

/// Path segments and query strings that do not decode answer 400
/// `validation_error` in the error shape, not axum's plain-text rejection.
#[tokio::test]
async fn bad_path_ids_and_query_strings_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    for (path, names) in [
        ("/api/v1/channels/%FF", "id"),
        ("/api/v1/channels/ch/templates/%C3%28", "template_id"),
        ("/api/v1/deliveries/%FE%FF", "id"),
        ("/api/v1/channels/ch/health?refresh=maybe", "refresh"),
        ("/api/v1/channels/ch/templates?sync=nope", "sync"),
        ("/api/v1/onboarding-links?limit=ten", "limit"),
    ] {
        let (status, v) = call(&app, &key, "GET", path, None).await;
        assert_eq!(status, 400, "{path}");
        assert_error(&v, "validation_error");
        assert!(v["detail"].as_str().unwrap().contains(names), "{path}: {v}");
    }
    let (status, v) = call(
        &app,
        &key,
        "DELETE",
        "/api/v1/channels/ch/templates/t?all_languages=sometimes",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_error(&v, "validation_error");
    // A well-formed id that does not exist is still a 404.
    let (status, v) = call(&app, &key, "GET", "/api/v1/channels/%C3%A9t%C3%A9", None).await;
    assert_eq!(status, 404);
    assert_error(&v, "not_found");
}

/// Every `/api/v1` route answers a method it does not have with 405 in the
/// error shape (also the document and the media upload, which are routed
/// apart from the rest), and every unknown path under `/api/v1` with 404.
#[tokio::test]
async fn every_api_route_answers_unknown_methods_and_paths_in_the_error_shape() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    for (method, path) in [
        ("POST", "/api/v1/openapi.json"),
        ("GET", "/api/v1/media"),
        ("TRACE", "/api/v1/media"),
        ("PUT", "/api/v1/channels"),
        ("POST", "/api/v1/deliveries/d1"),
    ] {
        let res = app
            .http
            .request(method.parse().unwrap(), app.url(path))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert!(res.headers().contains_key("allow"), "{method} {path}");
        assert_error(&body(res).await, "method_not_allowed");
    }
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope/deeper",
        "/api/v1//account",
    ] {
        let (status, v) = call(&app, &key, "GET", path, None).await;
        assert_eq!(status, 404, "{path}");
        assert_error(&v, "not_found");
        assert!(
            v["detail"].as_str().unwrap().contains(path),
            "the detail names the full path: {v}"
        );
    }
}

/// JSON bodies on a POST route: the same codes as on PATCH /account.
#[tokio::test]
async fn bad_post_bodies_get_their_own_codes() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let post = || {
        app.http
            .post(app.url("/api/v1/event-endpoints"))
            .header("x-api-key", &key)
    };
    for (content_type, body_text, status, code) in [
        (Some("application/json"), "{\"url\": [", 400, "invalid_json"),
        (Some("application/json"), "", 400, "invalid_json"),
        (
            Some("application/json"),
            "{\"url\": 1, \"events\": []}",
            422,
            "validation_error",
        ),
        (
            Some("application/json"),
            "{\"url\": \"https://example.com\", \"events\": [], \"extra\": 1}",
            422,
            "validation_error",
        ),
        // A struct is not filled from an array by position, nor from a scalar.
        (
            Some("application/json"),
            "[\"https://example.com\", []]",
            422,
            "validation_error",
        ),
        (Some("application/json"), "null", 422, "validation_error"),
        (Some("application/json"), " \n 5", 422, "validation_error"),
        (Some("text/plain"), "{}", 415, "unsupported_media_type"),
        (None, "{}", 415, "unsupported_media_type"),
    ] {
        let mut req = post().body(body_text);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{content_type:?} {body_text}");
        assert_error(&body(res).await, code);
    }
}

/// The document says what the server does: query parameters are in the
/// query, and every operation lists the common error answers.
#[tokio::test]
async fn openapi_document_matches_the_extractors() {
    let app = spawn_app().await;
    let v = body(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let paths = v["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let label = format!("{method} {path}");
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let expected = if path.contains(&format!("{{{name}}}")) {
                    "path"
                } else if name == "Idempotency-Key" {
                    "header"
                } else {
                    "query"
                };
                assert_eq!(p["in"], expected, "{label} parameter {name}");
            }
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "429", "503"] {
                assert!(responses.contains_key(status), "{label} lacks {status}");
            }
            let json_body = op["requestBody"]["content"]["application/json"].is_object();
            if json_body || op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
                assert!(responses.contains_key("400"), "{label} lacks 400");
            }
            if json_body {
                for status in ["413", "415", "422"] {
                    assert!(responses.contains_key(status), "{label} lacks {status}");
                }
            }
        }
    }
    assert!(operations >= 36, "{operations}");
    let health = &paths["/api/v1/channels/{id}/health"]["get"]["parameters"];
    assert!(
        health
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "refresh" && p["in"] == "query"),
        "{health}"
    );
}

/// A key header that is not ASCII text is a key presented, and a wrong one.
#[tokio::test]
async fn a_key_header_that_is_not_text_is_an_invalid_key() {
    let app = spawn_app().await;
    for (name, value) in [
        ("x-api-key", &b"sb_test_\xe9\xe9"[..]),
        ("authorization", &b"Bearer \xff\xfe"[..]),
    ] {
        let res = app
            .http
            .get(app.url("/api/v1/account"))
            .header(
                name,
                reqwest::header::HeaderValue::from_bytes(value).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{name}");
        assert_error(&body(res).await, "invalid_api_key");
    }
}
