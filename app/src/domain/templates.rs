//! WhatsApp message templates (SPEC §5.2, §5.3; reference §5.3, §7): the rules
//! of a new template, the variables (`{{1}}` or `{{name}}`) of its texts, and
//! the `components` of a template send. Pure functions, used by the services
//! and by the Portal's live preview in the browser.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

/// A broken rule: a stable `code` and a sentence naming the part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub code: &'static str,
    pub detail: String,
}

fn err(code: &'static str, detail: impl Into<String>) -> RuleError {
    RuleError {
        code,
        detail: detail.into(),
    }
}

pub const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];

// Meta's own limits (docs/decisions.md, "Template limits", names the sources).
// Every one is checked by measuring, before any text is parsed, so a request
// of any size costs one linear pass (SPEC §14).

/// A template's name: `^[a-z0-9_]{1,512}$`.
pub const NAME_MAX: usize = 512;
/// Meta's limit on a template's BODY text.
pub const BODY_MAX: usize = 1024;
/// Meta's limit on a TEXT header and a footer.
pub const HEADER_FOOTER_MAX: usize = 60;
/// The label of a QUICK_REPLY, URL or PHONE_NUMBER button.
pub const BUTTON_TEXT_MAX: usize = 25;
/// A URL button's address (and its full sample URL), variable included.
pub const BUTTON_URL_MAX: usize = 2000;
/// A PHONE_NUMBER button's number.
pub const PHONE_NUMBER_MAX: usize = 20;
/// A COPY_CODE button's example code.
pub const COPY_CODE_MAX: usize = 15;
pub const MAX_BUTTONS: usize = 10;
/// One each of HEADER, BODY, FOOTER and BUTTONS.
pub const MAX_COMPONENTS: usize = 4;
/// Variables (`{{…}}`) one text may hold (SPEC §14). The scanner stops at the
/// next one, so no text is read further than this many variables.
pub const MAX_PLACEHOLDERS: usize = 100;

/// How a template's variables are written: `{{1}}` or `{{first_name}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamFormat {
    Positional,
    Named,
}

impl ParamFormat {
    /// `positional`/`named` (any case; Meta says `POSITIONAL`/`NAMED`).
    pub fn parse(s: &str) -> Option<ParamFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "positional" => Some(ParamFormat::Positional),
            "named" => Some(ParamFormat::Named),
            _ => None,
        }
    }
    /// Switchboard's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamFormat::Positional => "positional",
            ParamFormat::Named => "named",
        }
    }
    /// Meta's spelling.
    pub fn meta(self) -> &'static str {
        match self {
            ParamFormat::Positional => "POSITIONAL",
            ParamFormat::Named => "NAMED",
        }
    }
}

/// `^[a-z0-9_]{1,512}$`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Meta's language codes: `en`, `en_US`, `pt_BR`, `fil`, `zh_HK` …
pub fn valid_language(code: &str) -> bool {
    let (lang, region) = match code.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (code, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// What one pass over a text found: its variables in order of first
/// appearance, each once, and whether it holds more than [`MAX_PLACEHOLDERS`].
struct Scan {
    names: Vec<String>,
    over_limit: bool,
}

/// One left-to-right pass: every search starts where the last one ended and
/// names are deduplicated through a set, so the cost is linear in the text;
/// it stops at the variable after the limit.
fn scan(text: &str) -> Scan {
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut found = 0;
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found += 1;
        if found > MAX_PLACEHOLDERS {
            return Scan {
                names,
                over_limit: true,
            };
        }
        let name = after[..end].trim();
        if seen.insert(name) {
            names.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    Scan {
        names,
        over_limit: false,
    }
}

/// The variables of a text in order of first appearance, each once:
/// `"Hi {{1}}, order {{2}}"` → `["1", "2"]`. Spaces inside braces are trimmed.
/// Reads at most [`MAX_PLACEHOLDERS`] variables (rules use [`variables_of`],
/// which refuses a text with more).
pub fn placeholders(text: &str) -> Vec<String> {
    scan(text).names
}

fn too_many_variables(part: &str) -> RuleError {
    err(
        "too_many_variables",
        format!(
            "{part}: more than {MAX_PLACEHOLDERS} variables; a template text holds at most {MAX_PLACEHOLDERS}"
        ),
    )
}

pub use super::shown;

fn is_named(v: &str) -> bool {
    let mut b = v.bytes();
    b.next()
        .is_some_and(|f| f.is_ascii_lowercase() || f == b'_')
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The variables of `text` checked against `format`: positional ones must be
/// `{{1}}` … `{{n}}` without gaps, named ones lowercase letters, digits and
/// underscores. `part` names the text in the error ("BODY", "HEADER").
pub fn variables_of(text: &str, format: ParamFormat, part: &str) -> Result<Vec<String>, RuleError> {
    let Scan {
        names: vars,
        over_limit,
    } = scan(text);
    if over_limit {
        return Err(too_many_variables(part));
    }
    match format {
        ParamFormat::Positional => {
            if let Some(bad) = vars.iter().find(|v| v.parse::<u32>().is_err()) {
                return Err(err(
                    "invalid_parameter_format",
                    format!(
                        "{part}: {{{{{bad}}}}} is a named variable but parameter_format is positional; use {{{{1}}}}, {{{{2}}}} … or set parameter_format to named"
                    ),
                ));
            }
            let mut nums: Vec<u32> = vars.iter().filter_map(|v| v.parse().ok()).collect();
            nums.sort_unstable();
            if nums.iter().enumerate().any(|(i, n)| *n != i as u32 + 1) {
                return Err(err(
                    "invalid_parameter_format",
                    format!(
                        "{part}: positional variables must be numbered {{{{1}}}} to {{{{{}}}}} without gaps (found {})",
                        nums.len(),
                        vars.iter()
                            .map(|v| format!("{{{{{v}}}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            // Sorted so `vars[i]` is the value index i of a send.
            Ok(nums.iter().map(u32::to_string).collect())
        }
        ParamFormat::Named => {
            if let Some(bad) = vars.iter().find(|v| !is_named(v)) {
                return Err(err(
                    "invalid_parameter_format",
                    format!(
                        "{part}: {{{{{bad}}}}} is not a valid named variable; named variables use lowercase letters, digits and underscores and start with a letter (parameter_format is named)"
                    ),
                ));
            }
            Ok(vars)
        }
    }
}

fn kind_of(c: &Value) -> String {
    c.get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase()
}

fn text_of(c: &Value) -> Option<&str> {
    c.get("text").and_then(Value::as_str)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .filter(|s| !s.trim().is_empty())
            .collect()
    })
}

/// Named examples `[{param_name, example}]` → the names that have a non-empty example.
fn named_examples(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| {
            p.get("example")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.trim().is_empty())
        })
        .filter_map(|p| {
            p.get("param_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

fn list(vars: &[String]) -> String {
    vars.iter()
        .map(|v| format!("{{{{{v}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks examples of a text with variables (Meta wants one example per variable).
fn check_examples(
    c: &Value,
    vars: &[String],
    format: ParamFormat,
    part: &str,
    positional_key: &str,
    named_key: &str,
    nested: bool,
) -> Result<(), RuleError> {
    if vars.is_empty() {
        return Ok(());
    }
    let example = c.get("example");
    match format {
        ParamFormat::Positional => {
            let raw = example.and_then(|e| e.get(positional_key));
            let given = if nested {
                strings(raw.and_then(|r| r.get(0)))
            } else {
                strings(raw)
            };
            let n = given.map(|g| g.len()).unwrap_or(0);
            if n != vars.len() {
                let shape = if nested {
                    format!("{{\"{positional_key}\": [[…]]}}")
                } else {
                    format!("{{\"{positional_key}\": […]}}")
                };
                return Err(err(
                    "template_examples_required",
                    format!(
                        "{part}: example {shape} needs {} non-empty value(s), one for each of {} (got {n})",
                        vars.len(),
                        list(vars)
                    ),
                ));
            }
        }
        ParamFormat::Named => {
            let have: HashSet<String> = named_examples(example.and_then(|e| e.get(named_key)))
                .into_iter()
                .collect();
            let missing: Vec<String> = vars
                .iter()
                .filter(|v| !have.contains(*v))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(err(
                    "template_examples_required",
                    format!(
                        "{part}: example {{\"{named_key}\": [{{\"param_name\", \"example\"}}]}} needs an example for {}",
                        list(&missing)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn too_long(what: &str, text: &str, max: usize) -> Result<(), RuleError> {
    let n = text.chars().count();
    if n > max {
        return Err(err(
            "invalid_template_components",
            format!("{what} is {n} characters; Meta allows {max}"),
        ));
    }
    Ok(())
}

/// Meta's size limits over a template's components: counts and lengths only,
/// measured without parsing anything, so an oversized request is refused in
/// one pass. [`check_components`] starts with it; an edit runs it before the
/// stored template is even looked up.
pub fn check_sizes(components: &[Value]) -> Result<(), RuleError> {
    if components.len() > MAX_COMPONENTS {
        return Err(err(
            "invalid_template_components",
            format!(
                "components: {} given; a template has at most {MAX_COMPONENTS} (one each of HEADER, BODY, FOOTER, BUTTONS)",
                components.len()
            ),
        ));
    }
    for (i, c) in components.iter().enumerate() {
        let kind = kind_of(c);
        let text_max = match kind.as_str() {
            "BODY" => Some(BODY_MAX),
            "HEADER" | "FOOTER" => Some(HEADER_FOOTER_MAX),
            _ => None,
        };
        if let (Some(max), Some(text)) = (text_max, text_of(c)) {
            too_long(&format!("components[{i}] {kind}: text"), text, max)?;
        }
        let Some(buttons) = c.get("buttons").and_then(Value::as_array) else {
            continue;
        };
        if buttons.len() > MAX_BUTTONS {
            return Err(err(
                "invalid_template_components",
                format!(
                    "components[{i}] BUTTONS: {} buttons; Meta allows {MAX_BUTTONS}",
                    buttons.len()
                ),
            ));
        }
        for (j, b) in buttons.iter().enumerate() {
            let fields = [
                ("text", BUTTON_TEXT_MAX),
                ("url", BUTTON_URL_MAX),
                ("phone_number", PHONE_NUMBER_MAX),
            ];
            for (field, max) in fields {
                if let Some(v) = b.get(field).and_then(Value::as_str) {
                    too_long(&format!("BUTTONS.buttons[{j}].{field}"), v, max)?;
                }
            }
            let example_max = match kind_of(b).as_str() {
                "URL" => BUTTON_URL_MAX,
                "COPY_CODE" => COPY_CODE_MAX,
                _ => continue,
            };
            let examples: Vec<&str> = match b.get("example") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if examples.len() > 1 {
                return Err(err(
                    "invalid_template_components",
                    format!("BUTTONS.buttons[{j}].example: one example value"),
                ));
            }
            for e in examples {
                too_long(&format!("BUTTONS.buttons[{j}].example"), e, example_max)?;
            }
        }
    }
    Ok(())
}

/// Checks the `components` of a new or edited template and returns them with
/// Meta's upper-case spellings (`type`, header `format`, button `type`).
pub fn check_components(
    components: &[Value],
    format: ParamFormat,
    category: &str,
) -> Result<Vec<Value>, RuleError> {
    check_sizes(components)?;
    let bad = |d: String| err("invalid_template_components", d);
    if components.is_empty() {
        return Err(bad(
            "components: at least a BODY component is required".into()
        ));
    }
    let mut out = Vec::with_capacity(components.len());
    let mut seen: Vec<String> = Vec::new();
    for (i, c) in components.iter().enumerate() {
        let Some(obj) = c.as_object() else {
            return Err(bad(format!(
                "components[{i}]: must be an object with a type"
            )));
        };
        let kind = kind_of(c);
        if !matches!(kind.as_str(), "HEADER" | "BODY" | "FOOTER" | "BUTTONS") {
            return Err(bad(format!(
                "components[{i}].type: `{}` is not one of HEADER, BODY, FOOTER, BUTTONS",
                shown(c.get("type").and_then(Value::as_str).unwrap_or(""))
            )));
        }
        if seen.contains(&kind) {
            return Err(bad(format!(
                "components[{i}]: a template has at most one {kind}"
            )));
        }
        seen.push(kind.clone());
        let mut c = Value::Object(obj.clone());
        c["type"] = json!(kind);
        match kind.as_str() {
            "BODY" => {
                let text = text_of(&c).unwrap_or_default();
                if text.trim().is_empty() && category != "AUTHENTICATION" {
                    return Err(bad(format!("components[{i}] BODY: text is required")));
                }
                let vars = variables_of(text, format, "BODY")?;
                check_examples(
                    &c,
                    &vars,
                    format,
                    "BODY",
                    "body_text",
                    "body_text_named_params",
                    true,
                )?;
            }
            "HEADER" => {
                let fmt = c
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or("TEXT")
                    .to_ascii_uppercase();
                c["format"] = json!(fmt);
                match fmt.as_str() {
                    "TEXT" => {
                        let text = text_of(&c).unwrap_or_default();
                        if text.trim().is_empty() {
                            return Err(bad(format!(
                                "components[{i}] HEADER: a TEXT header needs text"
                            )));
                        }
                        let vars = variables_of(text, format, "HEADER")?;
                        if vars.len() > 1 {
                            return Err(bad(format!(
                                "components[{i}] HEADER: a text header takes at most one variable (found {})",
                                list(&vars)
                            )));
                        }
                        check_examples(
                            &c,
                            &vars,
                            format,
                            "HEADER",
                            "header_text",
                            "header_text_named_params",
                            false,
                        )?;
                    }
                    "IMAGE" | "VIDEO" | "DOCUMENT" => {
                        let handles =
                            strings(c.pointer("/example/header_handle")).unwrap_or_default();
                        if handles.is_empty() {
                            return Err(err(
                                "template_examples_required",
                                format!(
                                    "HEADER: a {fmt} header needs example {{\"header_handle\": [\"<upload handle>\"]}} (a sample file uploaded with Meta's Resumable Upload API)"
                                ),
                            ));
                        }
                    }
                    "LOCATION" => {}
                    other => {
                        return Err(bad(format!(
                            "components[{i}] HEADER: format `{}` is not one of TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION",
                            shown(other)
                        )));
                    }
                }
            }
            "FOOTER" => {
                let text = text_of(&c).unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(bad(format!("components[{i}] FOOTER: text is required")));
                }
                if !placeholders(text).is_empty() {
                    return Err(bad(format!(
                        "components[{i}] FOOTER: a footer cannot have variables"
                    )));
                }
            }
            _ => {
                let buttons = c
                    .get("buttons")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
                    return Err(bad(format!(
                        "components[{i}] BUTTONS: buttons must hold 1 to {MAX_BUTTONS} buttons"
                    )));
                }
                let mut fixed = Vec::with_capacity(buttons.len());
                for (j, b) in buttons.iter().enumerate() {
                    fixed.push(check_button(b, j)?);
                }
                c["buttons"] = Value::Array(fixed);
            }
        }
        out.push(c);
    }
    if !seen.iter().any(|k| k == "BODY") {
        return Err(bad("components: a BODY component is required".into()));
    }
    Ok(out)
}

fn check_button(b: &Value, j: usize) -> Result<Value, RuleError> {
    let bad = |d: String| err("invalid_template_components", d);
    let Some(obj) = b.as_object() else {
        return Err(bad(format!(
            "BUTTONS.buttons[{j}]: must be an object with a type"
        )));
    };
    let kind = kind_of(b);
    const KINDS: [&str; 9] = [
        "QUICK_REPLY",
        "URL",
        "PHONE_NUMBER",
        "COPY_CODE",
        "OTP",
        "FLOW",
        "CATALOG",
        "MPM",
        "VOICE_CALL",
    ];
    if !KINDS.contains(&kind.as_str()) {
        return Err(bad(format!(
            "BUTTONS.buttons[{j}].type: `{}` is not one of {}",
            shown(b.get("type").and_then(Value::as_str).unwrap_or("")),
            KINDS.join(", ")
        )));
    }
    let mut b = Value::Object(obj.clone());
    b["type"] = json!(kind);
    if matches!(kind.as_str(), "QUICK_REPLY" | "URL" | "PHONE_NUMBER") {
        let text = text_of(&b).unwrap_or_default();
        if text.trim().is_empty() || text.chars().count() > BUTTON_TEXT_MAX {
            return Err(bad(format!(
                "BUTTONS.buttons[{j}].text: 1 to {BUTTON_TEXT_MAX} characters"
            )));
        }
    }
    match kind.as_str() {
        "URL" => {
            let url = b.get("url").and_then(Value::as_str).unwrap_or_default();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad(format!(
                    "BUTTONS.buttons[{j}].url: an http(s) URL is required"
                )));
            }
            let vars = placeholders(url);
            if vars.len() > 1 || (vars.len() == 1 && !url.trim_end().ends_with("}}")) {
                return Err(bad(format!(
                    "BUTTONS.buttons[{j}].url: at most one variable, at the end of the URL"
                )));
            }
            if vars.len() == 1 && strings(b.get("example")).is_none_or(|e| e.is_empty()) {
                return Err(err(
                    "template_examples_required",
                    format!(
                        "BUTTONS.buttons[{j}]: a URL with a variable needs example [\"<full sample URL>\"]"
                    ),
                ));
            }
        }
        "PHONE_NUMBER"
            if b.get("phone_number")
                .and_then(Value::as_str)
                .is_none_or(|p| p.trim().is_empty()) =>
        {
            return Err(bad(format!("BUTTONS.buttons[{j}].phone_number: required")));
        }
        "COPY_CODE" => {
            let ok = match b.get("example") {
                Some(Value::String(s)) => !s.trim().is_empty(),
                Some(v) => strings(Some(v)).is_some_and(|e| !e.is_empty()),
                None => false,
            };
            if !ok {
                return Err(err(
                    "template_examples_required",
                    format!("BUTTONS.buttons[{j}]: a COPY_CODE button needs an example code"),
                ));
            }
        }
        _ => {}
    }
    Ok(b)
}

// ---- sending ------------------------------------------------------------------

fn mismatch(detail: impl Into<String>) -> RuleError {
    err("template_mismatch", detail)
}

fn component<'a>(components: &'a [Value], kind: &str) -> Option<&'a Value> {
    components.iter().find(|c| kind_of(c) == kind)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The values for `vars` from a send's `body`/`header` variables: an array
/// (positional) or an object (named). `part` names it in errors.
fn values_for(
    vars: &[String],
    given: Option<&Value>,
    format: ParamFormat,
    part: &str,
) -> Result<Vec<(String, String)>, RuleError> {
    if vars.is_empty() {
        return match given {
            None => Ok(vec![]),
            Some(Value::Array(a)) if a.is_empty() => Ok(vec![]),
            Some(Value::Object(o)) if o.is_empty() => Ok(vec![]),
            Some(_) => Err(mismatch(format!(
                "variables.{part}: the template's {} has no variables; leave {part} out",
                part.to_uppercase()
            ))),
        };
    }
    let check = |name: &str, v: &Value| -> Result<String, RuleError> {
        let s = scalar(v)
            .ok_or_else(|| mismatch(format!("variables.{part}.{name}: must be a string")))?;
        if s.trim().is_empty() {
            return Err(mismatch(format!(
                "variables.{part}.{name}: must not be empty"
            )));
        }
        Ok(s)
    };
    match (format, given) {
        (_, None) => Err(mismatch(format!(
            "variables.{part}: the template's {} needs {} value(s) for {}",
            part.to_uppercase(),
            vars.len(),
            list(vars)
        ))),
        (ParamFormat::Positional, Some(Value::Array(a))) => {
            if a.len() != vars.len() {
                return Err(mismatch(format!(
                    "variables.{part}: {} value(s) given, the template's {} has {} ({})",
                    a.len(),
                    part.to_uppercase(),
                    vars.len(),
                    list(vars)
                )));
            }
            vars.iter()
                .zip(a)
                .map(|(name, v)| Ok((name.clone(), check(name, v)?)))
                .collect()
        }
        (ParamFormat::Named, Some(Value::Object(o))) => {
            let missing: Vec<String> = vars
                .iter()
                .filter(|v| !o.contains_key(*v))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(mismatch(format!(
                    "variables.{part}: missing {} (the template's {} has {})",
                    missing.join(", "),
                    part.to_uppercase(),
                    list(vars)
                )));
            }
            let known: HashSet<&str> = vars.iter().map(String::as_str).collect();
            if let Some(extra) = o.keys().find(|k| !known.contains(k.as_str())) {
                return Err(mismatch(format!(
                    "variables.{part}: the template has no variable `{}` (it has {})",
                    shown(extra),
                    list(vars)
                )));
            }
            vars.iter()
                .map(|name| Ok((name.clone(), check(name, &o[name.as_str()])?)))
                .collect()
        }
        (ParamFormat::Positional, Some(_)) => Err(mismatch(format!(
            "variables.{part}: the template uses positional variables ({}); pass an array of values in that order",
            list(vars)
        ))),
        (ParamFormat::Named, Some(_)) => Err(mismatch(format!(
            "variables.{part}: the template uses named variables ({}); pass an object {{\"name\": \"value\"}}",
            list(vars)
        ))),
    }
}

fn text_params(values: Vec<(String, String)>, format: ParamFormat) -> Vec<Value> {
    values
        .into_iter()
        .map(|(name, text)| match format {
            ParamFormat::Positional => json!({"type": "text", "text": text}),
            ParamFormat::Named => json!({"type": "text", "parameter_name": name, "text": text}),
        })
        .collect()
}

/// A button value of a send: zero-based `index` into the template's buttons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ButtonValue {
    pub index: usize,
    pub value: String,
}

/// Meta's `components` for sending the template whose stored `components`
/// and `format` are given, filled with the send's variables (reference §5.3).
/// Every misfit is a `template_mismatch` naming the part.
pub fn send_components(
    components: &[Value],
    format: ParamFormat,
    header: Option<&Value>,
    body: Option<&Value>,
    buttons: &[ButtonValue],
) -> Result<Vec<Value>, RuleError> {
    let mut out = Vec::new();
    // Header: a text variable, or the media of a media header.
    match component(components, "HEADER") {
        None => {
            if header.is_some() {
                return Err(mismatch(
                    "variables.header: the template has no HEADER; leave header out",
                ));
            }
        }
        Some(h) => {
            let fmt = h
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("TEXT")
                .to_ascii_uppercase();
            match fmt.as_str() {
                "TEXT" => {
                    let vars = placeholders(text_of(h).unwrap_or_default());
                    let vars = if format == ParamFormat::Positional {
                        variables_of(text_of(h).unwrap_or_default(), format, "HEADER")
                            .unwrap_or(vars)
                    } else {
                        vars
                    };
                    let values = values_for(&vars, header, format, "header")?;
                    if !values.is_empty() {
                        out.push(
                            json!({"type": "header", "parameters": text_params(values, format)}),
                        );
                    }
                }
                "IMAGE" | "VIDEO" | "DOCUMENT" => {
                    let want = fmt.to_ascii_lowercase();
                    let Some(Value::Object(m)) = header else {
                        return Err(mismatch(format!(
                            "variables.header: the template has a {fmt} header; pass {{\"type\": \"{want}\", \"link\": \"https://…\"}}"
                        )));
                    };
                    let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
                    if !kind.eq_ignore_ascii_case(&want) {
                        return Err(mismatch(format!(
                            "variables.header.type: the template's header is {fmt}, not `{kind}`"
                        )));
                    }
                    let link = m.get("link").and_then(Value::as_str).unwrap_or_default();
                    if !(link.starts_with("https://") || link.starts_with("http://")) {
                        return Err(mismatch(
                            "variables.header.link: an http(s) URL of the media is required",
                        ));
                    }
                    if let Some(k) = m
                        .keys()
                        .find(|k| !matches!(k.as_str(), "type" | "link" | "filename"))
                    {
                        return Err(mismatch(format!(
                            "variables.header.{k}: not used; give type and link"
                        )));
                    }
                    let mut media = json!({"link": link});
                    if want == "document"
                        && let Some(f) = m.get("filename").and_then(Value::as_str)
                    {
                        media["filename"] = json!(f);
                    }
                    let mut param = json!({"type": want});
                    param[want.as_str()] = media;
                    out.push(json!({"type": "header", "parameters": [param]}));
                }
                other => {
                    return Err(err(
                        "not_supported",
                        format!(
                            "the template's {other} header cannot be sent through send-template yet"
                        ),
                    ));
                }
            }
        }
    }
    // Body.
    let body_text = component(components, "BODY")
        .and_then(text_of)
        .unwrap_or_default();
    let vars = match format {
        ParamFormat::Positional => {
            variables_of(body_text, format, "BODY").unwrap_or_else(|_| placeholders(body_text))
        }
        ParamFormat::Named => placeholders(body_text),
    };
    let values = values_for(&vars, body, format, "body")?;
    let first_body_value = values.first().map(|(_, v)| v.clone());
    if !values.is_empty() {
        out.push(json!({"type": "body", "parameters": text_params(values, format)}));
    }
    // Buttons: by zero-based index.
    let defined: Vec<Value> = component(components, "BUTTONS")
        .and_then(|c| c.get("buttons"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut used: Vec<usize> = Vec::new();
    for (n, b) in buttons.iter().enumerate() {
        if used.contains(&b.index) {
            return Err(mismatch(format!(
                "variables.buttons[{n}]: index {} is given twice",
                b.index
            )));
        }
        used.push(b.index);
        let Some(def) = defined.get(b.index) else {
            return Err(mismatch(format!(
                "variables.buttons[{n}].index: {} but the template has {} button(s) (indexes start at 0)",
                b.index,
                defined.len()
            )));
        };
        if b.value.trim().is_empty() {
            return Err(mismatch(format!(
                "variables.buttons[{n}].value: must not be empty"
            )));
        }
        out.push(
            button_param(def, b.index, &b.value)
                .map_err(|d| mismatch(format!("variables.buttons[{n}]: {d}")))?,
        );
    }
    // Buttons that cannot go without a value.
    for (i, def) in defined.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let kind = kind_of(def);
        let url_var = kind == "URL"
            && !placeholders(def.get("url").and_then(Value::as_str).unwrap_or_default()).is_empty();
        if kind == "OTP" {
            // Authentication templates repeat the code in the button.
            if let Some(code) = &first_body_value {
                out.push(
                    json!({"type": "button", "sub_type": "url", "index": i.to_string(),
                    "parameters": [{"type": "text", "text": code}]}),
                );
                continue;
            }
        }
        if url_var || kind == "COPY_CODE" || kind == "OTP" {
            return Err(mismatch(format!(
                "variables.buttons: button {i} ({kind}) needs a value: {{\"index\": {i}, \"value\": \"…\"}}"
            )));
        }
    }
    Ok(out)
}

fn button_param(def: &Value, index: usize, value: &str) -> Result<Value, String> {
    let kind = kind_of(def);
    let idx = index.to_string();
    match kind.as_str() {
        "QUICK_REPLY" => Ok(
            json!({"type": "button", "sub_type": "quick_reply", "index": idx,
            "parameters": [{"type": "payload", "payload": value}]}),
        ),
        "URL" => {
            if placeholders(def.get("url").and_then(Value::as_str).unwrap_or_default()).is_empty() {
                return Err(format!(
                    "button {index} (URL) has a fixed URL and takes no value"
                ));
            }
            Ok(json!({"type": "button", "sub_type": "url", "index": idx,
                "parameters": [{"type": "text", "text": value}]}))
        }
        "COPY_CODE" => Ok(
            json!({"type": "button", "sub_type": "copy_code", "index": idx,
            "parameters": [{"type": "coupon_code", "coupon_code": value}]}),
        ),
        "OTP" => Ok(json!({"type": "button", "sub_type": "url", "index": idx,
            "parameters": [{"type": "text", "text": value}]})),
        other => Err(format!("button {index} ({other}) takes no value")),
    }
}

// ---- preview ----------------------------------------------------------------------

/// A piece of a previewed text: plain text or a variable with its example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Var {
        name: String,
        example: Option<String>,
    },
}

/// Splits `text` into plain text and variables; `examples` fill variables by
/// position of first appearance (the order the Portal's example field uses).
pub fn preview(text: &str, examples: &[String]) -> Vec<Piece> {
    let order: HashMap<String, usize> = placeholders(text)
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    let mut out = Vec::new();
    let mut rest = text;
    // Past the limit the rest stays text, as the rules refuse such a body.
    while out.len() < 2 * MAX_PLACEHOLDERS
        && let Some(start) = rest.find("{{")
    {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if start > 0 {
            out.push(Piece::Text(rest[..start].to_string()));
        }
        let name = after[..end].trim().to_string();
        let example = order
            .get(&name)
            .and_then(|i| examples.get(*i))
            .filter(|e| !e.trim().is_empty())
            .cloned();
        out.push(Piece::Var { name, example });
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str, example: Value) -> Value {
        json!({"type": "body", "text": text, "example": example})
    }

    #[test]
    fn names_and_languages() {
        assert!(valid_name("order_update_2"));
        assert!(
            !valid_name("Order")
                && !valid_name("")
                && !valid_name("a-b")
                && !valid_name(&"a".repeat(513))
        );
        assert!(
            valid_language("en_US")
                && valid_language("pt_BR")
                && valid_language("fil")
                && valid_language("en")
        );
        assert!(
            !valid_language("EN")
                && !valid_language("english")
                && !valid_language("en-US")
                && !valid_language("")
        );
    }

    #[test]
    fn variables_follow_the_format() {
        assert_eq!(placeholders("Hi {{1}}, {{ 2 }} and {{1}}"), vec!["1", "2"]);
        assert_eq!(
            variables_of("{{2}} {{1}}", ParamFormat::Positional, "BODY").unwrap(),
            vec!["1", "2"]
        );
        let e = variables_of("{{1}} {{3}}", ParamFormat::Positional, "BODY").unwrap_err();
        assert_eq!(e.code, "invalid_parameter_format");
        assert!(e.detail.contains("without gaps"), "{}", e.detail);
        assert!(variables_of("{{name}}", ParamFormat::Positional, "BODY").is_err());
        assert!(variables_of("{{1}}", ParamFormat::Named, "BODY").is_err());
        assert!(variables_of("{{First}}", ParamFormat::Named, "BODY").is_err());
        assert_eq!(
            variables_of("{{first_name}} {{order_id}}", ParamFormat::Named, "BODY").unwrap(),
            vec!["first_name", "order_id"]
        );
    }

    #[test]
    fn components_need_a_body_and_examples() {
        let p = ParamFormat::Positional;
        assert_eq!(
            check_components(&[], p, "UTILITY").unwrap_err().code,
            "invalid_template_components"
        );
        let footer_only = [json!({"type": "FOOTER", "text": "x"})];
        assert!(
            check_components(&footer_only, p, "UTILITY")
                .unwrap_err()
                .detail
                .contains("BODY")
        );
        let no_example = [json!({"type": "BODY", "text": "Hi {{1}}"})];
        assert_eq!(
            check_components(&no_example, p, "UTILITY")
                .unwrap_err()
                .code,
            "template_examples_required"
        );
        let short = [body("Hi {{1}} {{2}}", json!({"body_text": [["Ana"]]}))];
        assert_eq!(
            check_components(&short, p, "UTILITY").unwrap_err().code,
            "template_examples_required"
        );
        let ok = check_components(
            &[body("Hi {{1}}", json!({"body_text": [["Ana"]]}))],
            p,
            "UTILITY",
        )
        .unwrap();
        assert_eq!(ok[0]["type"], "BODY");
        let named = [body(
            "Hi {{first_name}}",
            json!({"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}),
        )];
        assert!(check_components(&named, ParamFormat::Named, "MARKETING").is_ok());
        let wrong = [body(
            "Hi {{first_name}}",
            json!({"body_text_named_params": [{"param_name": "x", "example": "Ana"}]}),
        )];
        assert!(
            check_components(&wrong, ParamFormat::Named, "MARKETING")
                .unwrap_err()
                .detail
                .contains("first_name")
        );
        let media = [
            json!({"type": "header", "format": "image"}),
            body("Hi", json!(null)),
        ];
        assert_eq!(
            check_components(&media, p, "UTILITY").unwrap_err().code,
            "template_examples_required"
        );
        let dup = [body("a", json!(null)), body("b", json!(null))];
        assert!(
            check_components(&dup, p, "UTILITY")
                .unwrap_err()
                .detail
                .contains("at most one")
        );
        let url = [
            body("a", json!(null)),
            json!({"type": "buttons", "buttons": [{"type": "url", "text": "Go", "url": "https://x.test/{{1}}"}]}),
        ];
        assert_eq!(
            check_components(&url, p, "UTILITY").unwrap_err().code,
            "template_examples_required"
        );
    }

    fn order_update() -> Vec<Value> {
        vec![
            json!({"type": "HEADER", "format": "IMAGE"}),
            json!({"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."}),
            json!({"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Track", "url": "https://example.com/track/{{1}}"}]}),
        ]
    }

    #[test]
    fn positional_sends_match_metas_format() {
        let header = json!({"type": "image", "link": "https://files.example.com/box.jpg"});
        let body = json!(["Ana", "#42"]);
        let buttons = [
            ButtonValue {
                index: 0,
                value: "STOP".into(),
            },
            ButtonValue {
                index: 1,
                value: "42".into(),
            },
        ];
        let c = send_components(
            &order_update(),
            ParamFormat::Positional,
            Some(&header),
            Some(&body),
            &buttons,
        )
        .unwrap();
        assert_eq!(
            Value::Array(c),
            json!([
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://files.example.com/box.jpg"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#42"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "STOP"}]},
                {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]}
            ])
        );
    }

    #[test]
    fn mismatches_name_the_part() {
        let t = order_update();
        let header = json!({"type": "image", "link": "https://x.test/a.jpg"});
        let url = [ButtonValue {
            index: 1,
            value: "42".into(),
        }];
        let m = |h: Option<&Value>, b: Option<&Value>, bt: &[ButtonValue]| {
            send_components(&t, ParamFormat::Positional, h, b, bt).unwrap_err()
        };
        let e = m(Some(&header), Some(&json!(["Ana"])), &url);
        assert_eq!(e.code, "template_mismatch");
        assert!(
            e.detail.contains("variables.body") && e.detail.contains("1 value"),
            "{}",
            e.detail
        );
        assert!(
            m(None, Some(&json!(["a", "b"])), &url)
                .detail
                .contains("variables.header")
        );
        let video = json!({"type": "video", "link": "https://x.test/a.mp4"});
        assert!(
            m(Some(&video), Some(&json!(["a", "b"])), &url)
                .detail
                .contains("header.type")
        );
        assert!(
            m(Some(&header), Some(&json!({"a": "b"})), &url)
                .detail
                .contains("positional")
        );
        assert!(
            m(Some(&header), Some(&json!(["a", "b"])), &[])
                .detail
                .contains("button 1")
        );
        let far = [ButtonValue {
            index: 5,
            value: "x".into(),
        }];
        assert!(
            m(Some(&header), Some(&json!(["a", "b"])), &far)
                .detail
                .contains("index")
        );
        assert!(
            m(Some(&header), Some(&json!(["a", ""])), &url)
                .detail
                .contains("empty")
        );
    }

    #[test]
    fn named_sends_carry_parameter_names() {
        let t = [json!({"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}}"})];
        let c = send_components(
            &t,
            ParamFormat::Named,
            None,
            Some(&json!({"order_id": "42", "first_name": "Ana"})),
            &[],
        )
        .unwrap();
        assert_eq!(
            c[0],
            json!({"type": "body", "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                {"type": "text", "parameter_name": "order_id", "text": "42"}]})
        );
        let e = send_components(
            &t,
            ParamFormat::Named,
            None,
            Some(&json!({"first_name": "Ana"})),
            &[],
        )
        .unwrap_err();
        assert!(e.detail.contains("order_id"));
        let e = send_components(
            &t,
            ParamFormat::Named,
            None,
            Some(&json!({"first_name": "A", "order_id": "1", "x": "y"})),
            &[],
        )
        .unwrap_err();
        assert!(e.detail.contains("`x`"));
        // No variables: components omitted; variables given anyway → mismatch.
        let plain = [json!({"type": "BODY", "text": "Hello"})];
        assert!(
            send_components(&plain, ParamFormat::Positional, None, None, &[])
                .unwrap()
                .is_empty()
        );
        assert!(
            send_components(
                &plain,
                ParamFormat::Positional,
                None,
                Some(&json!(["x"])),
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn scanning_stops_after_the_limit() {
        let flood: String = (0..50_000).map(|i| format!("{{{{v{i}}}}}")).collect();
        assert_eq!(placeholders(&flood).len(), MAX_PLACEHOLDERS);
        let e = variables_of(&flood, ParamFormat::Named, "BODY").unwrap_err();
        assert_eq!(e.code, "too_many_variables");
        assert!(e.detail.contains("100"), "{}", e.detail);
        let hundred: String = (1..=100).map(|i| format!("{{{{{i}}}}} ")).collect();
        assert_eq!(
            variables_of(&hundred, ParamFormat::Positional, "BODY")
                .unwrap()
                .len(),
            100
        );
        // Unclosed braces end the scan instead of restarting it.
        assert!(placeholders(&"{{".repeat(100_000)).is_empty());
        assert_eq!(preview(&flood, &[]).len(), 2 * MAX_PLACEHOLDERS + 1);
    }

    #[test]
    fn sizes_are_measured_before_anything_is_parsed() {
        let body = json!({"type": "BODY", "text": "Hi"});
        let limit_of = |c: Value| {
            let e = check_sizes(c.as_array().unwrap()).unwrap_err();
            assert_eq!(e.code, "invalid_template_components");
            e.detail
        };
        assert!(limit_of(json!([{"type": "body", "text": "x".repeat(1025)}])).contains("1024"));
        assert!(limit_of(json!([body, {"type": "FOOTER", "text": "é".repeat(61)}])).contains("60"));
        let url = format!("https://x.test/{}", "{{1}}".repeat(100_000));
        let d = limit_of(json!([body, {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Go", "url": url}]}]));
        assert!(d.contains("url") && d.contains("2000"), "{d}");
        assert!(
            limit_of(json!([body, {"type": "BUTTONS", "buttons": [
            {"type": "COPY_CODE", "example": "x".repeat(16)}]}]))
            .contains("15")
        );
        assert!(limit_of(json!([body, body, body, body, body])).contains("at most 4"));
        assert!(check_sizes(&[body, json!({"type": "FOOTER", "text": "é".repeat(60)})]).is_ok());
        assert_eq!(shown(&"y".repeat(1000)).chars().count(), 41);
    }

    #[test]
    fn previews_split_text_and_variables() {
        let p = preview("Hi {{1}}, order {{2}}!", &["Ana".into()]);
        assert_eq!(
            p,
            vec![
                Piece::Text("Hi ".into()),
                Piece::Var {
                    name: "1".into(),
                    example: Some("Ana".into())
                },
                Piece::Text(", order ".into()),
                Piece::Var {
                    name: "2".into(),
                    example: None
                },
                Piece::Text("!".into()),
            ]
        );
    }
}

// ---- views ------------------------------------------------------------------------

/// A template as the API and the Portal show it (SPEC §5.3).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateView {
    /// Meta's template id (each language of a name has its own).
    pub id: String,
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: Option<String>,
    /// Meta's status: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// `positional` (`{{1}}`) or `named` (`{{first_name}}`).
    pub parameter_format: String,
    /// Meta's components (HEADER, BODY, FOOTER, BUTTONS).
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Object>))]
    pub components: Vec<Value>,
    /// Meta's reason when `REJECTED`.
    pub rejected_reason: Option<String>,
    /// Meta's `quality_score` (`{score, date}`) when known.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub quality_score: Option<Value>,
    pub waba_id: String,
    /// When the copy was last read from Meta (RFC 3339), null if only created here.
    pub synced_at: Option<String>,
    pub updated_at: String,
}

impl TemplateView {
    /// The BODY text, for lists and previews.
    pub fn body_text(&self) -> String {
        component(&self.components, "BODY")
            .and_then(text_of)
            .unwrap_or_default()
            .to_string()
    }
}
