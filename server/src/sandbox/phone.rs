//! `/sandbox/phone`: chat as an end user with one of the sandbox's assets — the
//! quickest demo of the whole product. Server-rendered HTML; a few lines of
//! script send what the user writes as JSON (the sandbox takes no form posts,
//! see [`super::guard`]) and refresh the thread so the business's replies and
//! their statuses appear live.

use app::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sandbox;
use super::control;
use super::db::{self, Asset, Message};
use super::tenant;

/// Kinds of assets an end user can write to.
const CHAT_KINDS: [&str; 3] = ["phone", "page", "instagram"];

/// What the type menu offers per asset kind: (value, label).
fn menu(asset_kind: &str) -> &'static [(&'static str, &'static str)] {
    match asset_kind {
        "phone" => &[
            ("text", "Text"),
            ("image", "Photo"),
            ("audio", "Voice note"),
            ("video", "Video"),
            ("document", "Document"),
            ("sticker", "Sticker"),
            ("location", "Location"),
            ("contacts", "Contact card"),
            ("interactive", "Tap a reply button"),
            ("button", "Tap a template button"),
            ("flow_reply", "Complete the last Flow"),
            ("order", "Order"),
            ("unsupported", "Unsupported (poll)"),
            ("echo", "Business writes from its WhatsApp Business app"),
        ],
        "instagram" => &[
            ("text", "Text"),
            ("image", "Photo"),
            ("story_mention", "Story mention"),
            ("story_reply", "Story reply"),
            ("share", "Share a post"),
        ],
        _ => &[
            ("text", "Text"),
            ("image", "Photo"),
            ("file", "File"),
            ("postback", "Tap a button"),
        ],
    }
}

/// A default end user per asset kind, so the page works in one click.
fn default_user(asset_kind: &str) -> &'static str {
    match asset_kind {
        "phone" => "15550123456",
        "instagram" => "17841400000000777",
        _ => "7100000000000777",
    }
}

/// The control-API body for what the phone's user typed and picked.
pub fn inbound_body(asset: &Asset, user: &str, kind: &str, text: &str) -> Value {
    let text = text.trim();
    let caption = if text.is_empty() { None } else { Some(text) };
    let mut body = json!({"asset_id": asset.id, "from": user, "type": kind});
    if asset.kind == "phone" {
        body["from_name"] = json!("Sandbox User");
    }
    match kind {
        "text" => body["text"] = json!(if text.is_empty() { "Hello!" } else { text }),
        // Coexistence: the business typed in its own app; Meta echoes it.
        "echo" => {
            body["text"] = json!(if text.is_empty() {
                "Answered from the Business app"
            } else {
                text
            })
        }
        "image" | "audio" | "video" | "document" | "sticker" | "file" => {
            let mime = match kind {
                "image" | "sticker" => {
                    if kind == "sticker" {
                        "image/webp"
                    } else {
                        "image/jpeg"
                    }
                }
                "audio" => "audio/ogg",
                "video" => "video/mp4",
                _ => "application/pdf",
            };
            body["media"] = json!({"mime_type": mime});
            if let Some(c) = caption {
                body["media"]["caption"] = json!(c);
            }
            if matches!(kind, "document" | "file") {
                body["media"]["filename"] = json!("sandbox.pdf");
            }
        }
        "location" => {
            body["location"] = json!({"latitude": 52.5200, "longitude": 13.4050, "name": caption.unwrap_or("Sandbox Café"), "address": "Unter den Linden 1, Berlin"})
        }
        "interactive" => {
            body["interactive"] =
                json!({"kind": "button", "id": "yes", "title": caption.unwrap_or("Yes")})
        }
        "button" => {
            body["button"] = json!({"text": caption.unwrap_or("Confirm"), "payload": "CONFIRM"})
        }
        "postback" => {
            body["postback"] =
                json!({"title": caption.unwrap_or("Get started"), "payload": "GET_STARTED"})
        }
        "story_mention" | "story_reply" => {
            body["story"] = json!({"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=sandbox-story"});
            if kind == "story_reply" {
                body["text"] = json!(caption.unwrap_or("Nice story!"));
            }
        }
        "share" => body["share"] = json!({"url": "https://www.instagram.com/p/sandbox-post/"}),
        "unsupported" => body["unsupported_type"] = json!("poll"),
        // Answers the latest Flow the business sent (its token comes back).
        "flow_reply" => {
            body["flow_reply"] = json!({"response": {"answer": caption.unwrap_or("Done")}})
        }
        _ => {}
    }
    body
}

#[derive(Deserialize, Default)]
pub struct PhoneQuery {
    asset_id: Option<String>,
    user: Option<String>,
}

/// `POST /sandbox/phone/send`'s JSON body: what the page's composer holds.
#[derive(Deserialize)]
pub struct SendBody {
    asset_id: String,
    user: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn asset_label(a: &Asset) -> String {
    match a.kind.as_str() {
        "phone" => format!(
            "WhatsApp · {} ({})",
            a.str("display_phone_number"),
            a.str("verified_name")
        ),
        "page" => format!("Messenger · {}", a.name),
        _ => format!("Instagram · @{}", a.str("username")),
    }
}

/// What a message shows in a bubble.
fn summary(m: &Message) -> String {
    let b = &m.body;
    let s = |p: &str| b.pointer(p).and_then(Value::as_str).map(str::to_string);
    let t = match m.msg_type.as_str() {
        "text" | "echo" => s("/text").or_else(|| s("/text/body")),
        "template" => s("/template/name").map(|n| format!("Template “{n}”")),
        "reaction" => s("/reaction/emoji").map(|e| format!("Reacted {e}")),
        // A Flow shows its text and the button that opens it.
        "interactive" if s("/interactive/type").as_deref() == Some("flow") => {
            s("/interactive/body/text").map(|t| {
                let cta = s("/interactive/action/parameters/flow_cta").unwrap_or_default();
                format!("{t} [▤ {cta}]")
            })
        }
        "interactive" => s("/interactive/title")
            .or_else(|| s("/interactive/body/text"))
            .map(|t| format!("▣ {t}")),
        "flow_reply" => Some("▤ Flow completed".to_string()),
        "button" => s("/button/text").map(|t| format!("▣ {t}")),
        "postback" => s("/postback/title").map(|t| format!("▣ {t}")),
        "location" => s("/location/name").map(|n| format!("📍 {n}")),
        _ => None,
    };
    t.or_else(|| s("/media/caption").map(|c| format!("[{}] {c}", m.msg_type)))
        .unwrap_or_else(|| format!("[{}]", m.msg_type.replace('_', " ")))
}

/// The file a message carries, as a URL the browser can open, and whether it
/// is an image (shown inline): the user's file, an uploaded one (by id) or
/// the business's link.
fn media_of(m: &Message) -> Option<(String, bool)> {
    let b = &m.body;
    let s = |p: &str| b.pointer(p).and_then(Value::as_str).map(str::to_string);
    let url = s("/_media_id")
        .or_else(|| s("/media/id"))
        .map(|id| format!("/sandbox/phone/media/{id}"))
        .or_else(|| s("/media/link"))
        .or_else(|| s("/media/url"))?;
    if !(url.starts_with('/') || url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    let image = matches!(m.msg_type.as_str(), "image" | "sticker")
        || s("/media/mime_type").is_some_and(|t| t.starts_with("image/"));
    Some((url, image))
}

fn thread_json(msgs: &[Message]) -> Value {
    json!({"messages": msgs.iter().map(|m| {
        let media = media_of(m);
        json!({
            "id": m.id, "direction": m.direction, "type": m.msg_type, "summary": summary(m),
            "status": m.status, "at": app::clock::rfc3339(m.created_at),
            "media_url": media.as_ref().map(|x| x.0.clone()),
            "media_image": media.as_ref().is_some_and(|x| x.1),
        })
    }).collect::<Vec<_>>()})
}

fn media_html(m: &Message) -> String {
    let Some((url, image)) = media_of(m) else {
        return String::new();
    };
    let img = if image {
        format!(
            "<img src=\"{u}\" alt=\"\" class=\"msg-image mb-1 max-h-40 rounded-lg bg-white\">",
            u = esc(&url)
        )
    } else {
        String::new()
    };
    format!(
        "{img}<a class=\"msg-download block text-xs underline\" href=\"{u}\" download>Download</a>",
        u = esc(&url)
    )
}

/// `GET /sandbox/phone/media/{id}`: a sandbox file for the phone page.
pub async fn media(
    State(sb): State<Sandbox>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let m = db::media_by_id(&sb.db, &id)
        .await?
        .ok_or_else(|| AppError::not_found("sandbox media"))?;
    Ok(super::files::serve(&m.mime_type, m.content))
}

fn bubble(m: &Message) -> String {
    let mine = m.direction == "in";
    let (align, tone) = if mine {
        ("justify-end", "bg-brand-600 text-white")
    } else {
        (
            "justify-start",
            "bg-white text-slate-900 border border-slate-200",
        )
    };
    let status = if mine {
        String::new()
    } else {
        format!(
            "<span class=\"msg-status ml-2 text-xs text-slate-500\">{}</span>",
            esc(&m.status)
        )
    };
    format!(
        "<li class=\"flex {align}\" data-direction=\"{dir}\"><div class=\"max-w-[80%] rounded-2xl px-3 py-2 text-sm shadow-sm {tone}\">\
         {media}<span class=\"msg-text\">{}</span>{status}</div></li>",
        esc(&summary(m)),
        media = media_html(m),
        dir = esc(&m.direction),
    )
}

async fn chat_assets(sb: &Sandbox) -> Result<Vec<Asset>, AppError> {
    let mut out = Vec::new();
    for kind in CHAT_KINDS {
        out.extend(db::assets_of_kind(&sb.db, kind).await?);
    }
    Ok(out)
}

/// `GET /sandbox/phone`.
pub async fn page(
    State(sb): State<Sandbox>,
    Query(q): Query<PhoneQuery>,
) -> Result<Response, AppError> {
    let assets = chat_assets(&sb).await?;
    let selected = q
        .asset_id
        .as_deref()
        .and_then(|id| assets.iter().find(|a| a.id == id))
        .or_else(|| assets.first());
    let user = q
        .user
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| {
            selected
                .map(|a| default_user(&a.kind))
                .unwrap_or_default()
                .to_string()
        });
    let options: String = assets
        .iter()
        .map(|a| {
            let sel = if Some(&a.id) == selected.map(|s| &s.id) {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{sel}>{}</option>",
                esc(&a.id),
                esc(&asset_label(a))
            )
        })
        .collect();
    let (thread, composer) = match selected {
        None => ("<p class=\"text-sm text-slate-500\">No assets yet: run <code>switchboard sandbox seed</code>.</p>".to_string(), String::new()),
        Some(a) => {
            let msgs = db::thread(&sb.db, &a.id, &user).await?;
            let items: String = msgs.iter().map(bubble).collect();
            let empty = if msgs.is_empty() { "<li class=\"empty text-center text-sm text-slate-400\">No messages yet. Say hello below.</li>" } else { "" };
            let types: String = menu(&a.kind)
                .iter()
                .map(|(v, l)| format!("<option value=\"{v}\">{l}</option>"))
                .collect();
            (
                format!("<ul id=\"thread\" class=\"space-y-2\" data-asset=\"{}\" data-user=\"{}\">{empty}{items}</ul>", esc(&a.id), esc(&user)),
                format!(
                    "<form id=\"composer\" class=\"flex flex-col gap-2 border-t border-slate-200 bg-white p-3 sm:flex-row\">\
                     <input type=\"hidden\" name=\"asset_id\" value=\"{}\"><input type=\"hidden\" name=\"user\" value=\"{}\">\
                     <label class=\"sr-only\" for=\"phone-type\">Message type</label>\
                     <select id=\"phone-type\" name=\"type\" class=\"rounded-lg border border-slate-300 bg-white px-2 py-2 text-sm\">{types}</select>\
                     <label class=\"sr-only\" for=\"phone-text\">Message</label>\
                     <input id=\"phone-text\" name=\"text\" autocomplete=\"off\" placeholder=\"Type a message (or a caption)\" class=\"min-w-0 flex-1 rounded-lg border border-slate-300 px-3 py-2 text-sm focus:border-brand-500 focus:outline-none focus:ring-2 focus:ring-brand-500/30\">\
                     <button id=\"phone-send\" type=\"submit\" class=\"rounded-lg bg-brand-600 px-4 py-2 text-sm font-medium text-white hover:bg-brand-700 focus-visible:ring-2 focus-visible:ring-brand-500\">Send</button></form>\
                     <noscript><p class=\"px-3 pb-3 text-sm text-slate-600\">The phone sends messages with JavaScript; turn it on to write.</p></noscript>",
                    esc(&a.id),
                    esc(&user)
                ),
            )
        }
    };
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox phone · Switchboard</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/pkg/portal.css"></head>
<body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
<main class="mx-auto flex max-w-2xl flex-col gap-4 px-4 py-6">
<header class="flex flex-wrap items-center justify-between gap-3">
  <div><h1 class="text-2xl font-semibold">Sandbox phone</h1>
  <p class="text-sm text-slate-600">Write as an end user; replies sent through the API appear here with their status.</p>
  <p id="single-tenant" class="text-xs text-slate-500">Sandbox mode is single-tenant: everyone who can open this page can write to every sandbox asset and read its threads. Keep a sandbox installation to yourself.</p></div>
  <a href="/sandbox" class="text-sm font-medium text-brand-600 hover:underline">Back to the Portal</a>
</header>
<form method="get" action="/sandbox/phone" class="grid gap-3 rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-[1fr_1fr_auto] sm:items-end">
  <div class="space-y-1"><label for="phone-asset" class="block text-sm font-medium text-slate-700">Business</label>
  <select id="phone-asset" name="asset_id" class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm">{options}</select></div>
  <div class="space-y-1"><label for="phone-user" class="block text-sm font-medium text-slate-700">You are (user id)</label>
  <input id="phone-user" name="user" value="{user}" class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm"></div>
  <button type="submit" class="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50">Open chat</button>
</form>
<div id="phone-error" role="alert" hidden class="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900"></div>
<section class="overflow-hidden rounded-2xl border border-slate-200 bg-slate-100 shadow-sm">
  <div class="max-h-[60vh] min-h-[16rem] overflow-y-auto p-4">{thread}</div>
  {composer}
</section>
</main>
<script>
// Live refresh: poll the thread and redraw it when something changed.
(function () {{
  var t = document.getElementById("thread"); if (!t) return;
  var last = "";
  function esc(s) {{ var d = document.createElement("div"); d.textContent = s; return d.innerHTML.replace(/"/g, "&quot;"); }}
  function draw(msgs) {{
    if (!msgs.length) return;
    t.innerHTML = msgs.map(function (m) {{
      var mine = m.direction === "in";
      return '<li class="flex ' + (mine ? 'justify-end' : 'justify-start') + '" data-direction="' + m.direction + '"><div class="max-w-[80%] rounded-2xl px-3 py-2 text-sm shadow-sm ' +
        (mine ? 'bg-brand-600 text-white' : 'bg-white text-slate-900 border border-slate-200') + '">' +
        (m.media_url ? (m.media_image ? '<img src="' + esc(m.media_url) + '" alt="" class="msg-image mb-1 max-h-40 rounded-lg bg-white">' : '') +
          '<a class="msg-download block text-xs underline" href="' + esc(m.media_url) + '" download>Download</a>' : '') +
        '<span class="msg-text">' + esc(m.summary) + '</span>' +
        (mine ? '' : '<span class="msg-status ml-2 text-xs text-slate-500">' + esc(m.status) + '</span>') + '</div></li>';
    }}).join("");
  }}
  function tick() {{
    fetch("/sandbox/phone/thread?asset_id=" + encodeURIComponent(t.dataset.asset) + "&user=" + encodeURIComponent(t.dataset.user))
      .then(function (r) {{ return r.json(); }})
      .then(function (j) {{ var s = JSON.stringify(j.messages); if (s !== last) {{ last = s; draw(j.messages); }} }})
      .catch(function () {{}});
  }}
  setInterval(tick, 1500);
  // Send: JSON to the phone's endpoint, then redraw at once.
  var form = document.getElementById("composer"), box = document.getElementById("phone-error");
  function fail(msg) {{ box.textContent = msg; box.hidden = false; }}
  if (form) form.addEventListener("submit", function (e) {{
    e.preventDefault();
    var text = document.getElementById("phone-text");
    var body = {{ asset_id: t.dataset.asset, user: t.dataset.user, type: document.getElementById("phone-type").value, text: text.value }};
    fetch("/sandbox/phone/send", {{ method: "POST", headers: {{ "content-type": "application/json" }}, body: JSON.stringify(body) }})
      .then(function (r) {{ return r.json().then(function (j) {{ return {{ ok: r.ok, j: j }}; }}); }})
      .then(function (x) {{
        if (!x.ok) {{ fail(x.j.detail || "The sandbox refused the message."); return; }}
        box.hidden = true; text.value = ""; tick();
      }})
      .catch(function () {{ fail("The sandbox did not answer; is the server running?"); }});
  }});
}})();
</script>
</body></html>"#,
        user = esc(&user),
    );
    Ok(Html(html).into_response())
}

/// `GET /sandbox/phone/thread`: the conversation as JSON for the live
/// refresh; with an API key, only for the account's own assets.
pub async fn thread(
    State(sb): State<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<PhoneQuery>,
) -> Result<Response, AppError> {
    let viewer = tenant::viewer(&sb, &headers).await?;
    let (Some(asset_id), Some(user)) = (q.asset_id, q.user) else {
        return Err(AppError::validation("asset_id and user are required"));
    };
    let msgs = if tenant::sees(&viewer, &asset_id) {
        db::thread(&sb.db, &asset_id, &user).await?
    } else {
        Vec::new()
    };
    Ok(Json(thread_json(&msgs)).into_response())
}

/// `POST /sandbox/phone/send {"asset_id","user","type","text"?}`: what the
/// page's composer holds, turned into a control-API body and sent the same
/// way tests do; answers like `POST /sandbox/api/inbound`.
pub async fn send(State(sb): State<Sandbox>, body: Bytes) -> Result<Response, AppError> {
    let f: SendBody = serde_json::from_value(control::parse_body(&body)?).map_err(|e| {
        AppError::client(
            422,
            "validation_error",
            format!("the JSON does not fit: {e}"),
        )
    })?;
    let asset = db::asset_by_id(&sb.db, &f.asset_id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("sandbox asset {}", f.asset_id)))?;
    let body = inbound_body(&asset, f.user.trim(), &f.kind, &f.text);
    control::inbound(State(sb), Bytes::from(body.to_string())).await
}
