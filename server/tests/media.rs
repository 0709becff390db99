//! Media end to end (SPEC §4.4, §5.1): the sandbox plays Meta with real small
//! files, a local endpoint plays the customer. Inbound media of every type on
//! every channel reaches the customer as a signed link that serves the exact
//! bytes (ranges too) and stops working when expired or tampered with;
//! `base64` mode inlines; a failing download still delivers the event with
//! `media.error` and succeeds later in the background; uploads and media
//! sends reach the sandbox's outbox; limits and the tier are enforced;
//! files go with the retention purge.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use app::clock::{DAY_MS, HOUR_MS};
use base64::Engine;
use common::TestApp;
use connect_support::{IG, PAGE_1, PHONE_1, allow_redirect, call, connect};
use customer_support::{Customer, spawn_customer};
use sandbox_support::control;
use serde_json::{Value, json};

fn sha(bytes: &[u8]) -> String {
    app::services::media::sha256_hex(bytes)
}

struct Chan {
    id: String,
    key: String,
    account: String,
    asset: &'static str,
}

async fn channel(app: &TestApp, channel_type: &str, asset: &'static str, c: &Customer) -> Chan {
    let (account, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(
        app,
        &key,
        channel_type,
        &[asset],
        Some(asset),
        json!({"webhook_url": c.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["media_mode"], "link", "{v}");
    if channel_type == "whatsapp" {
        let path = format!("/api/v1/channels/{id}/register");
        let (s, v) = call(app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
        assert_eq!(s, 200, "{v}");
    }
    Chan {
        id,
        key,
        account,
        asset,
    }
}

/// Ids of the sandbox's stored files of `asset`.
async fn sandbox_files(app: &TestApp, asset: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM sandbox_media WHERE asset_id = $1")
        .bind(asset)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

/// The end user sends `kind` (with `media` options); returns Meta's message
/// id and the bytes the sandbox made for it.
async fn user_sends(
    app: &TestApp,
    asset: &str,
    from: &str,
    kind: &str,
    media: Value,
) -> (String, Vec<u8>) {
    let before = sandbox_files(app, asset).await;
    let (s, v) = control(
        app,
        "inbound",
        json!({"asset_id": asset, "from": from, "type": kind, "media": media}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let new: Vec<String> = sandbox_files(app, asset)
        .await
        .into_iter()
        .filter(|i| !before.contains(i))
        .collect();
    assert_eq!(new.len(), 1, "one file per media message");
    let file = server::sandbox::db::media_by_id(&app.state.db, &new[0])
        .await
        .unwrap()
        .unwrap();
    (
        v["meta_message_id"].as_str().unwrap().to_string(),
        file.content,
    )
}

async fn received(c: &Customer, meta_id: &str) -> Value {
    let id = meta_id.to_string();
    c.find(move |v| v["event"] == "message.received" && v["data"]["message_id"] == id.as_str())
        .await
        .json()
}

async fn get(app: &TestApp, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(url);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.unwrap()
}

/// Replaces the `sig` (or `exp`) query value of a link.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

fn code(v: &Value) -> Option<&str> {
    v["code"].as_str()
}

#[tokio::test]
async fn every_inbound_media_type_on_every_channel_downloads_its_exact_bytes() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer).await;
    let fb = channel(&app, "facebook", PAGE_1, &customer).await;
    let ig = channel(&app, "instagram", IG, &customer).await;
    let cases: Vec<(&Chan, &str, &str, Value)> = vec![
        (
            &wa,
            "15550123001",
            "image",
            json!({"mime_type": "image/jpeg", "caption": "Box"}),
        ),
        (
            &wa,
            "15550123001",
            "image",
            json!({"mime_type": "image/png"}),
        ),
        (
            &wa,
            "15550123001",
            "video",
            json!({"mime_type": "video/mp4", "caption": "Clip"}),
        ),
        (
            &wa,
            "15550123001",
            "audio",
            json!({"mime_type": "audio/ogg; codecs=opus", "voice": true}),
        ),
        (
            &wa,
            "15550123001",
            "document",
            json!({"mime_type": "application/pdf", "filename": "invoice.pdf"}),
        ),
        (&wa, "15550123001", "sticker", json!({})),
        (&fb, "24000000000101", "image", json!({})),
        (&fb, "24000000000101", "video", json!({})),
        (&fb, "24000000000101", "audio", json!({})),
        (&fb, "24000000000101", "document", json!({})),
        (&ig, "17841400000000901", "image", json!({})),
        (&ig, "17841400000000901", "video", json!({})),
        (&ig, "17841400000000901", "audio", json!({})),
    ];
    for (ch, from, kind, opts) in cases {
        let (mid, bytes) = user_sends(&app, ch.asset, from, kind, opts.clone()).await;
        let ev = received(&customer, &mid).await;
        assert_eq!(ev["channel_id"], ch.id.as_str());
        let m = &ev["data"]["media"];
        let what = format!("{kind} on {}: {ev}", ch.asset);
        assert!(m.get("source_url").is_none(), "{what}");
        assert!(m.get("base64").is_none(), "{what}");
        assert!(m.get("error").is_none(), "{what}");
        let id = m["id"].as_str().unwrap();
        assert!(id.len() == 36 && id.matches('-').count() == 4, "{what}");
        assert_eq!(m["size"], bytes.len(), "{what}");
        assert_eq!(m["sha256"], sha(&bytes).as_str(), "{what}");
        let url = m["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/media/{id}?", app.base)),
            "{what}"
        );
        let res = get(&app, url, None).await;
        assert_eq!(res.status(), 200, "{what}");
        let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ctype, m["mime_type"].as_str().unwrap(), "{what}");
        if let Some(want) = opts.get("mime_type") {
            // Only the essence is kept and served (`audio/ogg; codecs=opus` → `audio/ogg`).
            let want = app::domain::media::essence(want.as_str().unwrap()).unwrap();
            assert_eq!(ctype, want, "{what}");
        }
        assert_eq!(res.headers()["accept-ranges"], "bytes");
        assert_eq!(
            res.headers()["content-length"].to_str().unwrap(),
            bytes.len().to_string()
        );
        let got = res.bytes().await.unwrap();
        assert_eq!(sha(&got), sha(&bytes), "{what}");
        if let Some(c) = opts.get("caption") {
            assert_eq!(&m["caption"], c, "{what}");
        }
    }
    // The WhatsApp document keeps its name; the sticker is WebP.
    let bodies = customer.bodies();
    let doc = bodies
        .iter()
        .find(|v| v["data"]["type"] == "document" && v["channel_type"] == "whatsapp")
        .unwrap();
    assert_eq!(doc["data"]["media"]["filename"], "invoice.pdf");
    let sticker = bodies
        .iter()
        .find(|v| v["data"]["type"] == "sticker")
        .unwrap();
    assert_eq!(sticker["data"]["media"]["mime_type"], "image/webp");
    // The dashboard's figure counts the stored files.
    let usage = app::services::media::usage(&app.state, &wa.account)
        .await
        .unwrap();
    assert_eq!(usage.files, 6);
    assert!(usage.bytes > 0);
}

#[tokio::test]
async fn links_need_their_signature_expire_and_serve_ranges() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer).await;
    let (mid, bytes) = user_sends(&app, PHONE_1, "15550123002", "document", json!({})).await;
    let ev = received(&customer, &mid).await;
    let url = ev["data"]["media"]["url"].as_str().unwrap().to_string();
    let n = bytes.len();

    // Ranges.
    let r = get(&app, &url, Some("bytes=0-9")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes 0-9/{n}")
    );
    assert_eq!(r.headers()["content-length"], "10");
    assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..10]);
    let r = get(&app, &url, Some("bytes=-5")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &bytes[n - 5..]);
    let r = get(&app, &url, Some(&format!("bytes=10-{}", n + 100))).await;
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &bytes[10..]);
    let r = get(&app, &url, Some(&format!("bytes={n}-"))).await;
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes */{n}")
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("range_not_satisfiable"));

    // Signatures: changed, missing, or an exp it was not made for.
    let sig = common::query_param(&url, "sig");
    let mut flipped = sig.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    let exp: i64 = common::query_param(&url, "exp").parse().unwrap();
    for bad in [
        with_param(&url, "sig", &flipped),
        with_param(&url, "sig", ""),
        with_param(&url, "exp", &(exp + 3600).to_string()),
        url.split('?').next().unwrap().to_string(),
    ] {
        let r = get(&app, &bad, None).await;
        assert_eq!(r.status(), 403, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), Some("invalid_signature"), "{bad}");
    }
    // No API key is needed, and one does not help a bad link either.
    let r = app
        .http
        .get(with_param(&url, "sig", &flipped))
        .header("x-api-key", &wa.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // 24 hours later the link is dead; a freshly signed one still works.
    app.clock.advance(24 * HOUR_MS + 60_000);
    let r = get(&app, &url, None).await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("link_expired"));
    let id = ev["data"]["media"]["id"].as_str().unwrap();
    let fresh = app::services::media::signed_url(&app.state, id);
    let r = get(&app, &fresh, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sha(&r.bytes().await.unwrap()), sha(&bytes));
    // Unknown ids are 404 behind a valid signature.
    let other = app::services::media::signed_url(&app.state, &app::services::new_id());
    assert_eq!(get(&app, &other, None).await.status(), 404);

    // Retention: after SWITCHBOARD_EVENT_RETENTION_DAYS the file is gone.
    app.clock.advance(8 * DAY_MS);
    app::services::deliveries::purge_expired(&app.state)
        .await
        .unwrap();
    let fresh = app::services::media::signed_url(&app.state, id);
    let r = get(&app, &fresh, None).await;
    assert_eq!(r.status(), 404);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let dir = app.state.config.media_dir().join(&wa.account);
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "objects under {}", dir.display());
}

#[tokio::test]
async fn base64_mode_inlines_and_both_keeps_the_link() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ig = channel(&app, "instagram", IG, &customer).await;
    let path = format!("/api/v1/channels/{}", ig.id);
    let (s, v) = call(
        &app,
        &ig.key,
        "PATCH",
        &path,
        Some(json!({"media_mode": "inline"})),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("invalid_media_mode")), "{v}");
    let (s, v) = call(
        &app,
        &ig.key,
        "PATCH",
        &path,
        Some(json!({"media_mode": "base64"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["media_mode"], "base64");
    let (_, v) = call(&app, &ig.key, "GET", &path, None).await;
    assert_eq!(v["media_mode"], "base64");

    let (mid, bytes) = user_sends(&app, IG, "17841400000000902", "image", json!({})).await;
    let m = received(&customer, &mid).await["data"]["media"].clone();
    let inline = base64::engine::general_purpose::STANDARD
        .decode(m["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(inline, bytes);
    assert_eq!(m["url"], Value::Null);

    let (s, _) = call(
        &app,
        &ig.key,
        "PATCH",
        &path,
        Some(json!({"media_mode": "both"})),
    )
    .await;
    assert_eq!(s, 200);
    let (mid, bytes) = user_sends(&app, IG, "17841400000000902", "video", json!({})).await;
    let m = received(&customer, &mid).await["data"]["media"].clone();
    let inline = base64::engine::general_purpose::STANDARD
        .decode(m["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(inline, bytes);
    let got = get(&app, m["url"].as_str().unwrap(), None).await;
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn a_failing_download_delivers_the_event_with_an_error_and_retries_later() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer).await;
    let fb = channel(&app, "facebook", PAGE_1, &customer).await;
    // Meta's file servers answer 500 for the next downloads of any file.
    for path in ["media/", "cdn/"] {
        let (s, v) = control(
            &app,
            "faults",
            json!({"kind": "graph_error", "path": path, "count": 50, "http_status": 500,
                   "code": 2, "message": "Service temporarily unavailable"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let (wa_mid, wa_bytes) = user_sends(&app, PHONE_1, "15550123003", "image", json!({})).await;
    let (fb_mid, _) = user_sends(&app, PAGE_1, "24000000000102", "document", json!({})).await;
    for (mid, ch) in [(&wa_mid, &wa), (&fb_mid, &fb)] {
        let ev = received(&customer, mid).await;
        let m = &ev["data"]["media"];
        assert_eq!(m["url"], Value::Null, "{ev}");
        assert_eq!(m["error"]["code"], "download_failed", "{ev}");
        assert!(
            m["error"]["detail"].as_str().unwrap().contains("500"),
            "{ev}"
        );
        assert_eq!(ev["channel_id"], ch.id.as_str());
    }
    let wa_ev = received(&customer, &wa_mid).await;
    let media_id = wa_ev["data"]["media"]["id"].as_str().unwrap().to_string();
    let (state, attempts, _) = app::store::media::job_state(&app.state.db, &media_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("retrying", 3));

    // Meta recovers; the background attempt (a minute later) stores the file
    // and the stored event (what a replay sends) gets the link.
    let (s, _) = app
        .http
        .delete(app.url("/sandbox/api/faults"))
        .header("content-type", "application/json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 200);
    app.clock.advance(61_000);
    let mut done = false;
    for _ in 0..100 {
        let (st, _, _) = app::store::media::job_state(&app.state.db, &media_id)
            .await
            .unwrap()
            .unwrap();
        if st == "done" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "the background download did not finish");
    let ct: String = sqlx::query_scalar(
        "SELECT e.payload FROM events e JOIN media_jobs j ON j.event_id = e.id WHERE j.media_id = $1",
    )
    .bind(&media_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let stored: Value = serde_json::from_slice(&app.state.cipher.decrypt(&ct).unwrap()).unwrap();
    let m = &stored["data"]["media"];
    assert!(m.get("error").is_none(), "{stored}");
    let r = get(&app, m["url"].as_str().unwrap(), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sha(&r.bytes().await.unwrap()), sha(&wa_bytes));
    // The customer was not sent the event a second time.
    let n = customer
        .bodies()
        .iter()
        .filter(|v| v["data"]["message_id"] == wa_mid.as_str())
        .count();
    assert_eq!(n, 1);
}

async fn upload(app: &TestApp, key: &str, bytes: Vec<u8>, mime: &str, name: &str) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app
        .http
        .post(app.url("/api/v1/media"))
        .header("x-api-key", key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn send(app: &TestApp, c: &Chan, body: Value) -> (u16, Value) {
    let mut body = body;
    body["channel_id"] = json!(c.id);
    call(app, &c.key, "POST", "/api/v1/messages/send", Some(body)).await
}

async fn outbox(app: &TestApp, asset: &str, to: &str) -> Vec<Value> {
    let v: Value = app
        .http
        .get(app.url(&format!("/sandbox/api/outbox?asset_id={asset}&to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

async fn user_writes(app: &TestApp, asset: &str, from: &str) {
    let (s, v) = control(
        app,
        "inbound",
        json!({"asset_id": asset, "from": from, "type": "text", "text": "hello"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn images_go_out_by_link_and_by_upload_on_every_channel() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer).await;
    let fb = channel(&app, "facebook", PAGE_1, &customer).await;
    let ig = channel(&app, "instagram", IG, &customer).await;
    let (wa_to, fb_to, ig_to) = ("15550123004", "24000000000104", "17841400000000904");
    user_writes(&app, PHONE_1, wa_to).await;
    user_writes(&app, PAGE_1, fb_to).await;
    user_writes(&app, IG, ig_to).await;

    let png = server::sandbox::files::png(16, 16, [10, 20, 30]);
    let (s, up) = upload(&app, &wa.key, png.clone(), "image/png", "box.png").await;
    assert_eq!(s, 201, "{up}");
    assert_eq!(up["mime_type"], "image/png");
    assert_eq!(up["size"], png.len());
    assert_eq!(up["sha256"], sha(&png).as_str());
    let media_id = up["id"].as_str().unwrap().to_string();

    // WhatsApp by upload: the file goes to Meta once and is reused.
    for caption in ["Your box", "Again"] {
        let (s, v) = send(
            &app,
            &wa,
            json!({"recipient": wa_to, "type": "image",
                   "media": {"media_id": media_id, "caption": caption}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "sent");
    }
    // ... and by link.
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": wa_to, "type": "document",
               "media": {"link": "https://files.example.com/invoice.pdf", "filename": "invoice.pdf"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, PHONE_1, wa_to).await;
    let images: Vec<&Value> = out.iter().filter(|m| m["type"] == "image").collect();
    assert_eq!(images.len(), 2, "{out:?}");
    for m in &images {
        assert_eq!(m["media"]["sha256"], sha(&png).as_str(), "{m}");
        assert_eq!(m["media"]["mime_type"], "image/png");
    }
    assert_eq!(images[0]["media"]["id"], images[1]["media"]["id"]);
    let captions: Vec<&str> = images
        .iter()
        .map(|m| m["media"]["caption"].as_str().unwrap())
        .collect();
    assert!(captions.contains(&"Your box") && captions.contains(&"Again"));
    let doc = out.iter().find(|m| m["type"] == "document").unwrap();
    assert_eq!(
        doc["media"]["link"],
        "https://files.example.com/invoice.pdf"
    );
    assert_eq!(doc["media"]["filename"], "invoice.pdf");

    // Messenger by upload: Meta fetches our signed link.
    let (s, up) = upload(&app, &fb.key, png.clone(), "image/png", "box.png").await;
    assert_eq!(s, 201, "{up}");
    let (s, v) = send(
        &app,
        &fb,
        json!({"recipient": fb_to, "type": "image", "media": {"media_id": up["id"]}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, PAGE_1, fb_to).await;
    let att = out.iter().find(|m| m["type"] == "image").expect("image");
    let link = att["media"]["url"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/media/", app.base)), "{att}");
    let r = get(&app, link, None).await;
    assert_eq!(sha(&r.bytes().await.unwrap()), sha(&png));
    // Another account's upload is not this account's.
    let (s, v) = send(
        &app,
        &ig,
        json!({"recipient": ig_to, "type": "image", "media": {"media_id": up["id"]}}),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("validation_error")), "{v}");

    // Instagram by link.
    let (s, v) = send(
        &app,
        &ig,
        json!({"recipient": ig_to, "type": "image",
               "media": {"link": "https://files.example.com/box.jpg"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, IG, ig_to).await;
    let att = out.iter().find(|m| m["type"] == "image").expect("image");
    assert_eq!(att["media"]["url"], "https://files.example.com/box.jpg");
}

#[tokio::test]
async fn uploads_and_media_sends_are_checked() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer).await;
    let fb = channel(&app, "facebook", PAGE_1, &customer).await;
    user_writes(&app, PHONE_1, "15550123005").await;

    // Too large for an image (5 MB), named in the detail.
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    let (s, v) = upload(&app, &wa.key, big, "image/png", "big.png").await;
    assert_eq!((s, code(&v)), (400, Some("media_too_large")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("5.0 MB"), "{v}");
    let (s, v) = upload(&app, &wa.key, vec![0u8; 600 * 1024], "image/webp", "s.webp").await;
    assert_eq!((s, code(&v)), (400, Some("media_too_large")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("500.0 KB"), "{v}");
    let (s, v) = upload(&app, &wa.key, b"GIF89a".to_vec(), "image/gif", "a.gif").await;
    assert_eq!((s, code(&v)), (400, Some("unsupported_media_type")), "{v}");
    // No file part; not multipart at all.
    let form = reqwest::multipart::Form::new().text("type", "image");
    let r = app
        .http
        .post(app.url("/api/v1/media"))
        .header("x-api-key", &wa.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("validation_error"));
    let r = app
        .http
        .post(app.url("/api/v1/media"))
        .header("x-api-key", &wa.key)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("invalid_multipart"));
    // Without a key.
    let r = app
        .http
        .post(app.url("/api/v1/media"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Sends.
    for (body, want) in [
        (json!({"type": "image"}), "validation_error"),
        (json!({"type": "image", "media": {}}), "validation_error"),
        (
            json!({"type": "image", "media": {"link": "https://x/y.png", "media_id": "1"}}),
            "validation_error",
        ),
        (
            json!({"type": "image", "media": {"link": "ftp://x/y.png"}}),
            "validation_error",
        ),
        (
            json!({"type": "image", "media": {"link": "https://x/y.png", "colour": "red"}}),
            "validation_error",
        ),
        (
            json!({"type": "audio", "media": {"link": "https://x/a.ogg", "caption": "hi"}}),
            "validation_error",
        ),
        (
            json!({"type": "image", "media": {"link": "https://x/y.png", "filename": "y.png"}}),
            "validation_error",
        ),
        (
            json!({"type": "image", "text": "hi", "media": {"link": "https://x/y.png"}}),
            "validation_error",
        ),
        (
            json!({"type": "image", "media": {"media_id": app::services::new_id()}}),
            "validation_error",
        ),
    ] {
        let mut body = body.clone();
        body["recipient"] = json!("15550123005");
        let (s, v) = send(&app, &wa, body.clone()).await;
        assert_eq!((s, code(&v)), (400, Some(want)), "{body}: {v}");
    }
    // A PNG uploaded as an image cannot go out as a sticker.
    let png = server::sandbox::files::png(4, 4, [1, 2, 3]);
    let (_, up) = upload(&app, &wa.key, png, "image/png", "p.png").await;
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": "15550123005", "type": "sticker", "media": {"media_id": up["id"]}}),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("unsupported_media_type")), "{v}");
    let (s, v) = send(
        &app,
        &fb,
        json!({"recipient": "24000000000105", "type": "image",
               "media": {"link": "https://x/y.png", "caption": "hi"}}),
    )
    .await;
    assert_eq!((s, code(&v)), (400, Some("validation_error")), "{v}");

    // The starter tier has no media: 402 plan_required for both doors.
    app::services::licenses::grant(
        &app.state,
        &wa.account,
        app::domain::billing::Tier::Starter,
        app.state.now() + 30 * DAY_MS,
        1,
    )
    .await
    .unwrap();
    let (s, v) = upload(
        &app,
        &wa.key,
        b"%PDF-1.4".to_vec(),
        "application/pdf",
        "a.pdf",
    )
    .await;
    assert_eq!((s, code(&v)), (402, Some("plan_required")), "{v}");
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": "15550123005", "type": "image", "media": {"link": "https://x/y.png"}}),
    )
    .await;
    assert_eq!((s, code(&v)), (402, Some("plan_required")), "{v}");
    // Text still goes.
    let (s, v) = send(&app, &wa, json!({"recipient": "15550123005", "text": "hi"})).await;
    assert_eq!(s, 200, "{v}");
}
