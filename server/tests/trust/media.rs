//! Inbound media are fetched only from Meta, and what anyone supplies comes
//! back inert (SPEC §14; docs/security.md). A signed Meta payload whose media
//! URL points inside (loopback, link-local metadata) is refused before any
//! connection; a redirect from an allowed host is not followed; an
//! environment proxy is not used; an endless body is cut at the type's cap;
//! uploads with crafted types are stored as their essence and served with
//! `Content-Security-Policy: sandbox` and `nosniff`, as are the sandbox's own
//! media and CDN routes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::meta::signature::{meta_json_bytes, sign};
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::common::{self, TestApp};
use super::connect_support::{PAGE_1, PHONE_1, WABA, allow_redirect, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- a loopback origin that records every request --------------------------------

/// A stand-in for a server the product must not reach, or for "Meta's CDN":
/// `/redirect` answers 302 to `redirect_to`, `/page.html` is a script page,
/// anything else a small JPEG-typed body.
#[derive(Clone)]
struct Origin {
    url: String,
    hits: Arc<Mutex<Vec<String>>>,
    redirect_to: Arc<Mutex<String>>,
}

impl Origin {
    fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

const PAGE: &str = "<html><script>fetch('/rpc/me').then(r=>r.text()).then(alert)</script></html>";

async fn answer(State(o): State<Origin>, uri: Uri) -> Response {
    o.hits.lock().unwrap().push(uri.to_string());
    match uri.path() {
        "/redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, o.redirect_to.lock().unwrap().clone())],
        )
            .into_response(),
        "/page.html" => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
        }
        _ => (
            [(header::CONTENT_TYPE, "image/jpeg")],
            vec![0xFFu8, 0xD8, 0xFF, 0xD9],
        )
            .into_response(),
    }
}

async fn spawn_origin() -> Origin {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let o = Origin {
        url: format!("http://{addr}"),
        hits: Arc::default(),
        redirect_to: Arc::default(),
    };
    let app = axum::Router::new().fallback(answer).with_state(o.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    o
}

/// A server that answers every request with an image that never ends
/// (chunked, no `Content-Length`); returns its URL and how many body bytes
/// it managed to hand over before the reader hung up.
async fn spawn_endless() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![0u8; 64 * 1024];
                let size = format!("{:x}\r\n", chunk.len());
                loop {
                    let ok = sock.write_all(size.as_bytes()).await.is_ok()
                        && sock.write_all(&chunk).await.is_ok()
                        && sock.write_all(b"\r\n").await.is_ok();
                    if !ok {
                        return;
                    }
                    counter.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (url, sent)
}

// ---- payloads ---------------------------------------------------------------------

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A WhatsApp image message whose media object has a `url` and no `id`.
fn whatsapp_image_url(wamid: &str, url: &str) -> Vec<u8> {
    meta_json_bytes(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
            "contacts": [{"profile": {"name": "Mallory"}, "wa_id": "15550166000"}],
            "messages": [{"from": "15550166000", "id": wamid, "timestamp": now_s().to_string(),
                "type": "image", "image": {"url": url, "mime_type": "image/png"}}]}}]}]}),
    )
}

/// A Messenger message with one attachment at `url`.
fn messenger_attachment(page: &str, mid: &str, kind: &str, url: &str) -> Vec<u8> {
    let ms = now_s() * 1000;
    meta_json_bytes(&json!({"object": "page", "entry": [{"id": page, "time": ms,
        "messaging": [{"sender": {"id": "24000000000777"}, "recipient": {"id": page},
            "timestamp": ms, "message": {"mid": mid,
                "attachments": [{"type": kind, "payload": {"url": url}}]}}]}]}))
}

/// Posts `body` to `/webhooks/meta` signed with the installation's app secret.
async fn post_signed(app: &TestApp, body: Vec<u8>) {
    let secret = app.state.config.meta_app_secret.clone().unwrap();
    let r = app
        .http
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

// ---- looking at what was stored ---------------------------------------------------

/// `(id, status, object_key, mime_type, job state)` of an inbound media row.
type MediaAndJob = (String, String, String, Option<String>, Option<String>);

struct Inbound {
    id: String,
    status: String,
    object_key: String,
    mime_type: Option<String>,
}

/// Inbound media rows of `account` once there are `n` and none waits for its
/// first attempts any more (one statement, so row and job agree).
async fn settled_media(app: &TestApp, account: &str, n: usize) -> Vec<Inbound> {
    let started = Instant::now();
    loop {
        let rows: Vec<MediaAndJob> = sqlx::query_as(
            "SELECT m.id, m.status, m.object_key, m.mime_type, j.state FROM media m \
                 LEFT JOIN media_jobs j ON j.media_id = m.id \
                 WHERE m.account_id = $1 AND m.direction = 'in' ORDER BY m.created_at",
        )
        .bind(account)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        let waiting = rows
            .iter()
            .any(|(_, status, .., job)| status == "pending" && job.as_deref() == Some("waiting"));
        if rows.len() >= n && !waiting {
            return rows
                .into_iter()
                .map(|(id, status, object_key, mime_type, _)| Inbound {
                    id,
                    status,
                    object_key,
                    mime_type,
                })
                .collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "media still pending: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `data.media` of the stored event that carries media `media_id`.
async fn event_media(app: &TestApp, media_id: &str) -> Value {
    let event_id: String =
        sqlx::query_scalar("SELECT event_id FROM media_jobs WHERE media_id = $1")
            .bind(media_id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let ct = app::store::media::event_payload(&mut conn, &event_id)
        .await
        .unwrap()
        .unwrap();
    let raw = app.state.cipher.decrypt(&ct).unwrap();
    let body: Value = serde_json::from_slice(&raw).unwrap();
    body["data"]["media"].clone()
}

fn object_exists(app: &TestApp, key: &str) -> bool {
    app.state.config.media_dir().join(key).exists()
}

/// The media was refused for good: failed, no bytes kept, the event says why.
async fn assert_refused(app: &TestApp, m: &Inbound, code: &str) {
    let job = app::store::media::job_state(&app.state.db, &m.id)
        .await
        .unwrap();
    assert_eq!(m.status, "failed", "media {}: {job:?}", m.id);
    assert!(!object_exists(app, &m.object_key), "bytes were stored");
    let ev = event_media(app, &m.id).await;
    assert_eq!(ev["error"]["code"], code, "{ev}");
    assert!(ev["url"].is_null(), "{ev}");
    let (state, ..) = app::store::media::job_state(&app.state.db, &m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, "failed", "a refusal is not retried");
}

/// A Messenger channel of a new account for `page`, written directly: the
/// installation talks to a stand-in Graph URL here, so the sandbox's connect
/// flow is not available.
async fn messenger_channel(app: &TestApp, page: &str) -> String {
    let (account, _) = app.account_with_key().await;
    let now = app.state.now();
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    app::store::channels::insert(
        &mut conn,
        &app::store::channels::Channel {
            page_id: Some(page.into()),
            ..app::store::channels::Channel::connected(app::store::channels::NewChannel {
                id: app::services::new_id(),
                account_id: account.clone(),
                channel_type: "facebook".into(),
                asset_id: page.into(),
                name: "Page".into(),
                access_token: app.state.cipher.encrypt(b"page-token"),
                connected_at: now,
            })
        },
    )
    .await
    .unwrap();
    account
}

// ---- item: inbound media are fetched only from Meta --------------------------------

#[tokio::test]
async fn a_media_url_in_a_payload_never_reaches_inside() {
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let inside = spawn_origin().await;
    let port = inside.url.rsplit(':').next().unwrap().to_string();
    let (wa_account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let (fb_account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(&app, &key, "facebook", &[PAGE_1], Some(PAGE_1), json!({})).await;

    let wa_targets = [
        format!("{}/wa.png", inside.url),
        format!("http://localhost:{port}/wa.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/wa.png"),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
        // A public-looking host that is not Meta's is refused as well.
        "https://files.example.com/wa.png".to_string(),
    ];
    for (i, url) in wa_targets.iter().enumerate() {
        post_signed(&app, whatsapp_image_url(&format!("wamid.inside.{i}"), url)).await;
    }
    post_signed(
        &app,
        messenger_attachment(
            PAGE_1,
            "m_inside_1",
            "image",
            &format!("{}/fb.jpg", inside.url),
        ),
    )
    .await;

    let wa = settled_media(&app, &wa_account, wa_targets.len()).await;
    assert_eq!(wa.len(), wa_targets.len());
    for m in &wa {
        assert_refused(&app, m, "source_forbidden").await;
    }
    let fb = settled_media(&app, &fb_account, 1).await;
    assert_eq!(fb.len(), 1);
    assert_refused(&app, &fb[0], "source_forbidden").await;
    assert_eq!(
        inside.count(),
        0,
        "the loopback server was contacted: {:?}",
        inside.hits()
    );

    // The sandbox's own media still arrive with private targets refused.
    let (s, v) = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .json(
            &json!({"asset_id": PHONE_1, "from": "15550166001", "type": "image",
                      "media": {"mime_type": "image/png"}}),
        )
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(s, 200, "{}", v.text().await.unwrap());
    let all = settled_media(&app, &wa_account, wa_targets.len() + 1).await;
    let ok = all
        .iter()
        .find(|m| wa.iter().all(|w| w.id != m.id))
        .unwrap();
    assert_eq!(ok.status, "stored", "the sandbox's file was not fetched");
    assert!(object_exists(&app, &ok.object_key));
}

#[tokio::test]
async fn a_redirect_from_an_allowed_host_is_not_followed() {
    // "Meta" is a stand-in on loopback (its origin is the one media may come
    // from); it redirects to a second server that must never be contacted.
    let meta = spawn_origin().await;
    let trap = spawn_origin().await;
    *meta.redirect_to.lock().unwrap() = format!("{}/stolen", trap.url);
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false"),
        ("SWITCHBOARD_META_GRAPH_URL", &meta.url),
    ])
    .await;
    let page = "24000000000991";
    let account = messenger_channel(&app, page).await;
    post_signed(
        &app,
        messenger_attachment(
            page,
            "m_redirect_1",
            "image",
            &format!("{}/redirect", meta.url),
        ),
    )
    .await;
    let m = settled_media(&app, &account, 1).await;
    assert_refused(&app, &m[0], "source_forbidden").await;
    assert_eq!(meta.hits(), vec!["/redirect".to_string()]);
    assert_eq!(trap.count(), 0, "the redirect was followed");
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap_of_its_type() {
    let (meta, streamed) = spawn_endless().await;
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false"),
        ("SWITCHBOARD_META_GRAPH_URL", &meta),
    ])
    .await;
    let page = "24000000000992";
    let account = messenger_channel(&app, page).await;
    let started = Instant::now();
    post_signed(
        &app,
        messenger_attachment(page, "m_endless_1", "image", &format!("{meta}/cdn/1")),
    )
    .await;
    let m = settled_media(&app, &account, 1).await;
    assert_refused(&app, &m[0], "too_large").await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the download was not cut"
    );
    // Messenger images are capped at 8 MB; the reader stopped there (plus
    // what sat in socket buffers), not at the 100 MB of old.
    let sent = streamed.load(Ordering::SeqCst);
    assert!(sent >= 8 * 1024 * 1024, "only {sent} bytes were offered");
    assert!(sent < 24 * 1024 * 1024, "{sent} bytes were pulled");
    let ev = event_media(&app, &m[0].id).await;
    assert!(
        ev["error"]["detail"].as_str().unwrap().contains("8.0 MB"),
        "{ev}"
    );
}

// ---- item: what anyone uploads comes back inert -------------------------------------

/// The headers every user-supplied body must carry.
fn assert_inert(res: &reqwest::Response, want_type: &str, what: &str) {
    let h = res.headers();
    assert_eq!(h["content-type"], want_type, "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.split(';').any(|d| d.trim() == "sandbox"),
        "{what}: CSP {csp}"
    );
}

/// A multipart upload written by hand, so the part's Content-Type is sent
/// byte for byte as an attacker would.
async fn raw_upload(app: &TestApp, key: &str, part_type: &str, body: &[u8]) -> (u16, Value) {
    let boundary = "sbtrustboundary7MA4YWxkTrZu0gW";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\
         Content-Type: {part_type}\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(body);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = app
        .http
        .post(app.url("/api/v1/media"))
        .header("x-api-key", key)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn out_media(app: &TestApp, account: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as("SELECT id, mime_type FROM media WHERE account_id = $1 AND direction = 'out'")
        .bind(account)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn uploads_with_crafted_types_come_back_inert() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;

    // Types that would run as a page are refused outright; nothing is kept.
    for t in [
        "text/html",
        "text/html; charset=utf-8",
        "TEXT/HTML;charset=\"utf-8\"",
        "image/svg+xml",
        "application/xhtml+xml",
        "image/png\"><script>",
    ] {
        let (s, v) = raw_upload(&app, &key, t, PAGE.as_bytes()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("unsupported_media_type")),
            "{t}: {v}"
        );
    }
    assert!(out_media(&app, &account).await.is_empty());

    // Accepted types keep only their essence, and come back inert.
    let png = server::sandbox::files::png(2, 2, [9, 9, 9]);
    for (t, body, essence, disposition) in [
        (
            "image/png; x=\"<script>alert(1)</script>\"",
            png.clone(),
            "image/png",
            "inline",
        ),
        (
            "image/png;charset=utf-8",
            png.clone(),
            "image/png",
            "inline",
        ),
        (
            "text/plain; charset=utf-8",
            PAGE.as_bytes().to_vec(),
            "text/plain",
            "attachment",
        ),
    ] {
        let (s, v) = raw_upload(&app, &key, t, &body).await;
        assert_eq!(s, 201, "{t}: {v}");
        assert_eq!(v["mime_type"], essence, "{t}: {v}");
        let id = v["id"].as_str().unwrap();
        let stored: Option<String> =
            sqlx::query_scalar("SELECT mime_type FROM media WHERE id = $1")
                .bind(id)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(stored.as_deref(), Some(essence), "{t}");
        let link = app::services::media::signed_url(&app.state, id);
        let res = app.http.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 200, "{t}");
        assert_inert(&res, essence, t);
        let cd = res.headers()["content-disposition"].to_str().unwrap();
        assert!(cd.starts_with(disposition), "{t}: {cd}");
        assert_eq!(res.bytes().await.unwrap().to_vec(), body, "{t}");
    }

    // A file Meta says is a page (an end user's document) is kept with its
    // essence and served as an inert download.
    let sb = server::sandbox::Sandbox::new(&app.state);
    let m = server::sandbox::db::Media {
        id: server::sandbox::seed::numeric_id(),
        asset_id: PHONE_1.into(),
        mime_type: "text/html;charset=utf-8".into(),
        sha256: app::services::media::sha256_hex(PAGE.as_bytes()),
        size: PAGE.len() as i64,
        content: PAGE.as_bytes().to_vec(),
    };
    server::sandbox::db::insert_media(&app.state.db, &m, sb.now())
        .await
        .unwrap();
    let doc = meta_json_bytes(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
            "contacts": [{"profile": {"name": "Mallory"}, "wa_id": "15550166000"}],
            "messages": [{"from": "15550166000", "id": "wamid.page.1", "timestamp": now_s().to_string(),
                "type": "document", "document": {"id": m.id, "mime_type": "text/html;charset=utf-8",
                "filename": "invoice.html"}}]}}]}]}),
    );
    post_signed(&app, doc).await;
    let got = settled_media(&app, &account, 1).await;
    assert_eq!(got[0].status, "stored");
    assert_eq!(got[0].mime_type.as_deref(), Some("text/html"));
    let link = app::services::media::signed_url(&app.state, &got[0].id);
    let res = app.http.get(&link).send().await.unwrap();
    assert_inert(&res, "text/html", "inbound page");
    let cd = res.headers()["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment"), "{cd}");
}

#[tokio::test]
async fn the_sandboxs_media_and_cdn_routes_answer_inert() {
    let app = common::spawn_app().await;
    let sb = server::sandbox::Sandbox::new(&app.state);
    let mut ids = Vec::new();
    for t in [
        "text/html;charset=utf-8",
        "image/svg+xml",
        "image/png; x=<script>",
    ] {
        let m = server::sandbox::db::Media {
            id: server::sandbox::seed::numeric_id(),
            asset_id: PHONE_1.into(),
            mime_type: t.into(),
            sha256: app::services::media::sha256_hex(PAGE.as_bytes()),
            size: PAGE.len() as i64,
            content: PAGE.as_bytes().to_vec(),
        };
        server::sandbox::db::insert_media(&app.state.db, &m, sb.now())
            .await
            .unwrap();
        ids.push((m.id, t));
    }
    for (id, t) in &ids {
        let essence = app::domain::media::essence(t).unwrap();
        for url in [
            app.url(&format!("/sandbox/phone/media/{id}")),
            server::sandbox::graph::cdn_url(&sb, id),
        ] {
            let res = app.http.get(&url).send().await.unwrap();
            assert_eq!(res.status(), 200, "{url}");
            assert_inert(&res, &essence, &url);
        }
    }
    // The Graph-style download with a token answers the same way.
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let v = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let ch = app::store::channels::get(&app.state.db, &account, v["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let token = app::services::channels::token(&app.state, &ch).unwrap();
    let info = app.state.meta.media_info(&ids[0].0, &token).await.unwrap();
    let res = app
        .http
        .get(&info.url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_inert(&res, "text/html", "sandbox download");
}

// ---- no proxy from the environment ----------------------------------------------------

const CHILD: &str = "SWITCHBOARD_TEST_PROXY_CHILD";

/// The product's outgoing clients ignore `HTTP(S)_PROXY`: a child process of
/// this test binary runs [`environment_proxy_child`] with every proxy variable
/// pointing at a loopback recorder (environment variables are process-wide,
/// so the parent's other tests are untouched). The child receives a Meta-host
/// media URL; with the proxy honoured, the connection would go to the
/// recorder (the resolver guard never sees the name). The recorder stays idle.
#[tokio::test]
async fn an_environment_proxy_is_not_used() {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = proxy.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = proxy.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    let exe = std::env::current_exe().unwrap();
    let proxy_url = format!("http://{addr}");
    // A blocking wait on its own thread: the parent's runtime keeps serving
    // the recorder meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["media::environment_proxy_child", "--exact", "--nocapture"])
            .env(CHILD, "1")
            .env("HTTP_PROXY", &proxy_url)
            .env("HTTPS_PROXY", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .env("http_proxy", &proxy_url)
            .env("https_proxy", &proxy_url)
            .env("all_proxy", &proxy_url)
            // The harness's own clients talk to the app on loopback directly.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a client went through the environment's proxy"
    );
}

/// The child half of [`an_environment_proxy_is_not_used`]: it does its work
/// only in the child process that test starts (with the proxy variables set).
#[tokio::test]
async fn environment_proxy_child() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(&app, &key, "facebook", &[PAGE_1], Some(PAGE_1), json!({})).await;
    post_signed(
        &app,
        messenger_attachment(
            PAGE_1,
            "m_proxy_1",
            "image",
            "https://scontent.xx.fbcdn.net/v/t1.15752-9/proxy-check.jpg",
        ),
    )
    .await;
    // Whatever the network says (no DNS here, or Meta refusing a made-up
    // link), the download ends without a file.
    let m = settled_media(&app, &account, 1).await;
    assert_ne!(m[0].status, "stored");
}
