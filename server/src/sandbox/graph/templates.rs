//! `message_templates`: list (paged, filtered), create, edit, delete. New and
//! edited templates wait in `PENDING` until reviewed through the control API.

use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::db::{self, Template, Token};
use super::super::seed::numeric_id;
use super::{
    GErr, GResult, Req, auth, grants, has_scope, missing_permission, paginate, visible_asset,
};

const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];

pub fn template_json(t: &Template) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "parameter_format": t.parameter_format,
        "components": t.components,
    });
    if let Some(r) = &t.rejected_reason {
        v["rejected_reason"] = json!(r);
    }
    if t.status == "APPROVED" {
        v["quality_score"] = json!({"score": "GREEN", "date": t.created_at / 1000});
    }
    v
}

pub async fn collection(sb: &Sandbox, req: &Req, waba_id: &str) -> GResult {
    let t = auth(sb, req).await?;
    let waba = visible_asset(sb, req, &t, waba_id, &["waba"]).await?;
    if !has_scope(&t, "whatsapp_business_management") {
        return Err(missing_permission("whatsapp_business_management"));
    }
    match req.method {
        axum::http::Method::GET => {
            let filter = |k: &str| req.str(k);
            let items: Vec<Value> = db::templates_of(&sb.db, &waba.id)
                .await?
                .iter()
                .filter(|tpl| filter("name").is_none_or(|n| n == tpl.name))
                .filter(|tpl| filter("status").is_none_or(|s| s.eq_ignore_ascii_case(&tpl.status)))
                .filter(|tpl| filter("language").is_none_or(|l| l == tpl.language))
                .map(template_json)
                .collect();
            Ok(paginate(sb, req, items))
        }
        axum::http::Method::POST => create(sb, req, &waba.id).await,
        axum::http::Method::DELETE => remove(sb, req, &waba.id).await,
        _ => Err(GErr::new(100, "Unsupported method")),
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 512
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_components(c: &Value) -> Result<(), GErr> {
    let Some(list) = c.as_array() else {
        return Err(GErr::new(100, "(#100) Param components must be an array"));
    };
    let has_body = list.iter().any(|comp| {
        comp.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("BODY"))
            && comp
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
    });
    if !has_body {
        return Err(GErr::sub(100, 2388042, "(#100) Invalid parameter")
            .details("The template needs a BODY component with text."));
    }
    // Meta's own text limits, checked before anything reads the texts.
    for comp in list {
        let kind = comp.get("type").and_then(Value::as_str).unwrap_or_default();
        let limit = match kind.to_ascii_uppercase().as_str() {
            "BODY" => 1024,
            "HEADER" | "FOOTER" => 60,
            _ => continue,
        };
        let len = comp
            .get("text")
            .and_then(Value::as_str)
            .map_or(0, |t| t.chars().count());
        if len > limit {
            return Err(GErr::new(100, "(#100) Invalid parameter").details(format!(
                "{kind} text is {len} characters; the maximum is {limit}."
            )));
        }
    }
    Ok(())
}

async fn create(sb: &Sandbox, req: &Req, waba_id: &str) -> GResult {
    let name = req.str("name").unwrap_or_default();
    if !valid_name(&name) {
        return Err(GErr::new(100, "(#100) Invalid parameter").details(
            "Template names may only contain lowercase letters, digits and underscores.",
        ));
    }
    let language = req.str("language").unwrap_or_default();
    if language.is_empty() {
        return Err(GErr::new(100, "(#100) The parameter language is required."));
    }
    let category = req.str("category").unwrap_or_default().to_uppercase();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(GErr::new(
            100,
            "(#100) Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}",
        ));
    }
    let components = req.obj("components").unwrap_or(Value::Null);
    check_components(&components)?;
    let exists = db::templates_of(&sb.db, waba_id)
        .await?
        .iter()
        .any(|t| t.name == name && t.language == language);
    if exists {
        return Err(
            GErr::sub(100, 2388024, "(#100) Invalid parameter").details(format!(
                "Content in this language already exists for template {name}."
            )),
        );
    }
    let tpl = Template {
        id: numeric_id(),
        waba_id: waba_id.to_string(),
        name,
        language,
        category: category.clone(),
        status: "PENDING".into(),
        parameter_format: req
            .str("parameter_format")
            .unwrap_or_else(|| "POSITIONAL".into())
            .to_uppercase(),
        components,
        rejected_reason: None,
        created_at: sb.now(),
    };
    db::insert_template(&sb.db, &tpl).await?;
    Ok(json!({"id": tpl.id, "status": tpl.status, "category": category}))
}

/// `DELETE {waba}/message_templates?name=…[&hsm_id=…]`.
async fn remove(sb: &Sandbox, req: &Req, waba_id: &str) -> GResult {
    let Some(name) = req.str("name") else {
        return Err(GErr::new(100, "(#100) The parameter name is required."));
    };
    let hsm = req.str("hsm_id");
    let doomed: Vec<Template> = db::templates_of(&sb.db, waba_id)
        .await?
        .into_iter()
        .filter(|t| t.name == name && hsm.as_ref().is_none_or(|h| *h == t.id))
        .collect();
    if doomed.is_empty() {
        return Err(GErr::sub(100, 2593002, "(#100) Invalid parameter")
            .details(format!("Message template \"{name}\" not found.")));
    }
    for t in doomed {
        db::delete_template(&sb.db, &t.id).await?;
    }
    Ok(json!({"success": true}))
}

/// `POST {template_id}`: new components (and category while not approved).
/// Only APPROVED, REJECTED and PAUSED templates can be edited; an edit goes
/// back to review.
pub async fn edit(sb: &Sandbox, req: &Req, t: &Token, id: &str) -> GResult {
    let Some(mut tpl) = db::template_by_id(&sb.db, id).await? else {
        return Err(GErr::no_object(id, &req.method));
    };
    match db::asset_by_id(&sb.db, &tpl.waba_id).await? {
        Some(w) if grants(t, &w) => {}
        _ => return Err(GErr::no_object(id, &req.method)),
    }
    if !has_scope(t, "whatsapp_business_management") {
        return Err(missing_permission("whatsapp_business_management"));
    }
    if !matches!(tpl.status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return Err(
            GErr::sub(100, 2388025, "(#100) Invalid parameter").details(format!(
                "Templates in status {} cannot be edited.",
                tpl.status
            )),
        );
    }
    if let Some(c) = req.obj("components") {
        check_components(&c)?;
        tpl.components = c;
    }
    if let Some(cat) = req.str("category") {
        let cat = cat.to_uppercase();
        if !CATEGORIES.contains(&cat.as_str()) {
            return Err(GErr::new(
                100,
                "(#100) Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}",
            ));
        }
        if tpl.status == "APPROVED" && cat != tpl.category {
            return Err(GErr::new(
                100,
                "(#100) The category of an approved template cannot be changed.",
            ));
        }
        tpl.category = cat;
    }
    tpl.status = "PENDING".into();
    tpl.rejected_reason = None;
    db::update_template(&sb.db, &tpl).await?;
    Ok(json!({"success": true}))
}

/// Placeholders in a BODY text: `{{1}}` style count or `{{name}}` names.
pub fn body_placeholders(tpl: &Template) -> Vec<String> {
    let body = tpl
        .components
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("BODY"))
        })
        .and_then(|c| c.get("text").and_then(Value::as_str))
        .unwrap_or_default();
    // The product's scanner: linear, and bounded like Meta's templates.
    app::domain::templates::placeholders(body)
}
