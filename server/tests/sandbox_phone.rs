//! The sandbox phone page: JSON in (what its script sends), the conversation out.

mod common;

use common::{TestApp, spawn_app};

/// The phone page as a browser first sees it.
async fn phone_page(app: &TestApp) -> String {
    app.http
        .get(app.url("/sandbox/phone"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The asset whose chat the page opened.
fn shown_asset(html: &str) -> String {
    html.split("data-asset=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_phone_sends_every_menu_type_and_shows_the_thread() {
    let app = spawn_app().await;
    let html = phone_page(&app).await;
    assert!(
        html.contains("Sandbox phone") && html.contains("WhatsApp · +1 555 0100 001"),
        "{html}"
    );
    let asset = shown_asset(&html);

    let types = [
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "order",
        "unsupported",
    ];
    for kind in types {
        let res = app
            .http
            .post(app.url("/sandbox/phone/send"))
            .header("origin", &app.base)
            .json(
                &serde_json::json!({"asset_id": asset, "user": "15550001111",
                "type": kind, "text": "hello from the phone"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{kind}");
        let sent: serde_json::Value = res.json().await.unwrap();
        assert!(sent["meta_message_id"].is_string(), "{kind}: {sent}");
    }
    let thread: serde_json::Value = app
        .http
        .get(app.url(&format!(
            "/sandbox/phone/thread?asset_id={asset}&user=15550001111"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msgs = thread["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), types.len());
    assert!(msgs.iter().all(|m| m["direction"] == "in"));
    assert_eq!(msgs[0]["summary"], "hello from the phone");
    let page = app
        .http
        .get(app.url(&format!("/sandbox/phone?asset_id={asset}&user=15550001111")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("hello from the phone"));
}

#[tokio::test]
async fn a_refused_message_comes_back_as_a_readable_error() {
    let app = spawn_app().await;
    let html = phone_page(&app).await;
    let asset = shown_asset(&html);
    let res = app
        .http
        .post(app.url("/sandbox/phone/send"))
        .json(
            &serde_json::json!({"asset_id": asset, "user": "15550001111",
            "type": "hologram", "text": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["code"], "validation_error");
    assert!(
        err["detail"].as_str().unwrap().contains("hologram"),
        "{err}"
    );
    // The page shows such a detail in its alert box.
    assert!(html.contains("id=\"phone-error\" role=\"alert\""), "{html}");

    let res = app
        .http
        .get(app.url("/sandbox/phone/thread"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
