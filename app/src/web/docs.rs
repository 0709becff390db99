//! `/api/docs`: a self-contained reference page rendered from the OpenAPI document
//! (no CDN, so it works offline like the rest of the product).

use axum::response::Html;
use serde_json::Value;
use utoipa::OpenApi;

use crate::api::openapi::ApiDoc;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    v.get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_string()
}

pub fn render() -> String {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut body = String::new();
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let desc = doc
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or("");
    body.push_str(&format!(
        "<h1>{}</h1><p>{}</p><p>Authenticate with <code>X-API-Key: sb_…</code> or <code>Authorization: Bearer sb_…</code>. \
         Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>",
        esc(title),
        esc(desc)
    ));
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let summary = op
                    .get("summary")
                    .or_else(|| op.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                body.push_str(&format!(
                    "<section><h2><span class=\"m\">{}</span> <code>{}</code></h2><p>{}</p>",
                    esc(&method.to_uppercase()),
                    esc(path),
                    esc(summary)
                ));
                if let Some(rb) = op.pointer("/requestBody/content/application~1json/schema") {
                    body.push_str(&format!(
                        "<p>Request body: <code>{}</code></p>",
                        esc(&schema_name(rb))
                    ));
                }
                if let Some(resps) = op.get("responses").and_then(Value::as_object) {
                    body.push_str("<table><tr><th>Status</th><th>Body</th><th>Meaning</th></tr>");
                    for (status, r) in resps {
                        let schema = r
                            .pointer("/content/application~1json/schema")
                            .map(schema_name)
                            .unwrap_or_default();
                        let d = r.get("description").and_then(Value::as_str).unwrap_or("");
                        body.push_str(&format!(
                            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                            esc(status),
                            esc(&schema),
                            esc(d)
                        ));
                    }
                    body.push_str("</table>");
                }
                body.push_str("</section>");
            }
        }
    }
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        body.push_str("<h2>Schemas</h2>");
        for (name, s) in schemas {
            let pretty = serde_json::to_string_pretty(s).unwrap_or_default();
            body.push_str(&format!(
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                esc(name),
                esc(&pretty)
            ));
        }
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Switchboard API reference</title><link rel=\"icon\" href=\"data:,\"><style>\
         body{{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1.5rem;color:#0f172a;line-height:1.5}}\
         code,pre{{font-family:ui-monospace,monospace;background:#f1f5f9;border-radius:4px;padding:0 .25rem}}pre{{padding:.75rem;overflow:auto}}\
         section{{border:1px solid #e2e8f0;border-radius:8px;padding:0 1rem .5rem;margin:1rem 0}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #e2e8f0;text-align:left;padding:.25rem .5rem}}\
         .m{{background:#1f5ad6;color:#fff;border-radius:4px;padding:0 .4rem;font-size:.9rem}}</style></head><body>{body}</body></html>"
    )
}

pub async fn page() -> Html<String> {
    Html(render())
}
