//! `switchboard doctor`: what stands between this configuration and live
//! mode, one line per topic with the fix.
//!
//! The settings are judged as if `SWITCHBOARD_META_MODE=live` (the rules of
//! what live mode requires stay in [`app::config`]; this module only sorts
//! their findings by topic and adds the checks a configuration parser cannot
//! make: whether Meta can reach the webhook URL, whether mail leaves the
//! machine, whether the key is one the operator keeps).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use app::config::{BillingProviderKind, Config};

/// How bad a finding is. Only `Fail` makes the exit code non-zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub level: Level,
    pub topic: &'static str,
    pub what: String,
    /// What to do about it (empty when nothing).
    pub fix: String,
}

impl Finding {
    fn ok(topic: &'static str, what: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            topic,
            what: what.into(),
            fix: String::new(),
        }
    }
    fn warn(topic: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Warn,
            topic,
            what: what.into(),
            fix: fix.into(),
        }
    }
    fn fail(topic: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Fail,
            topic,
            what: what.into(),
            fix: fix.into(),
        }
    }
}

pub struct Options {
    /// Skip the DNS look-up and the request to `<base URL>/healthz`.
    pub offline: bool,
}

/// Topics and the settings whose configuration errors belong to them.
const TOPICS: [(&str, &[&str], &str); 6] = [
    (
        "Meta app",
        &[
            "SWITCHBOARD_META_APP_ID",
            "SWITCHBOARD_META_APP_SECRET",
            "SWITCHBOARD_META_VERIFY_TOKEN",
            "SWITCHBOARD_META_MODE",
            "SWITCHBOARD_META_API_VERSION",
            "SWITCHBOARD_META_GRAPH_URL",
            "SWITCHBOARD_META_INSTAGRAM_GRAPH_URL",
            "SWITCHBOARD_META_DIALOG_URL",
        ],
        "copy the App ID and App Secret from the Meta app's Settings → Basic, choose a verify token (any long random string, e.g. `openssl rand -hex 16`) and enter it with <base URL>/webhooks/meta as the callback URL under Webhooks",
    ),
    (
        "Meta login configurations",
        &[
            "SWITCHBOARD_META_CONFIG_ID_WHATSAPP",
            "SWITCHBOARD_META_CONFIG_ID_FACEBOOK",
            "SWITCHBOARD_META_CONFIG_ID_INSTAGRAM",
        ],
        "create a configuration under Facebook Login for Business → Configurations (WhatsApp Embedded Signup for WhatsApp) and set its numeric id",
    ),
    (
        "Webhook URL",
        &[
            "SWITCHBOARD_BASE_URL",
            "SWITCHBOARD_LISTEN",
            "SWITCHBOARD_TRUSTED_PROXIES",
        ],
        "set SWITCHBOARD_BASE_URL to the public https origin your reverse proxy serves (see docs/deploying.md)",
    ),
    (
        "Email",
        &["SWITCHBOARD_SMTP_URL", "SWITCHBOARD_MAIL_FROM"],
        "set SWITCHBOARD_SMTP_URL=smtps://user:password@smtp.example.com:465 and SWITCHBOARD_MAIL_FROM=\"Switchboard <no-reply@your-domain>\"",
    ),
    (
        "Secret key",
        &["SWITCHBOARD_SECRET_KEY"],
        "generate one with `openssl rand -base64 32`, set SWITCHBOARD_SECRET_KEY and keep a copy apart from the backups",
    ),
    (
        "Billing",
        &[
            "SWITCHBOARD_BILLING_PROVIDER",
            "SWITCHBOARD_STRIPE_SECRET_KEY",
            "SWITCHBOARD_STRIPE_WEBHOOK_SECRET",
            "SWITCHBOARD_STRIPE_PRICE_STARTER",
            "SWITCHBOARD_STRIPE_PRICE_PRO",
            "SWITCHBOARD_STRIPE_API_BASE",
        ],
        "set SWITCHBOARD_BILLING_PROVIDER=stripe with the Stripe keys and prices (or `sandbox` explicitly for a private installation)",
    ),
];

/// Every finding for the settings in `vars` (the `SWITCHBOARD_*` variables).
pub async fn examine(vars: &HashMap<String, String>, options: &Options) -> Vec<Finding> {
    let get = |k: &str| {
        vars.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut findings = Vec::new();
    if get("SWITCHBOARD_META_MODE").as_deref() == Some("sandbox") {
        findings.push(Finding::warn(
            "Meta app",
            "SWITCHBOARD_META_MODE=sandbox: this installation talks to the built-in sandbox, not Meta",
            "set SWITCHBOARD_META_MODE=live (or leave it unset) once the settings below are right",
        ));
    }
    let mut live = vars.clone();
    live.insert("SWITCHBOARD_META_MODE".into(), "live".into());
    let (config, errors) = match Config::from_map(&live) {
        Ok(c) => (Some(c), Vec::new()),
        Err(e) => (None, e.into_iter().map(|e| e.0).collect::<Vec<_>>()),
    };
    let mut unsorted = errors.clone();
    for (topic, topic_vars, fix) in TOPICS {
        let mine: Vec<&String> = errors
            .iter()
            .filter(|e| topic_vars.iter().any(|v| e.starts_with(&format!("{v}:"))))
            .collect();
        unsorted.retain(|e| !mine.contains(&e));
        if mine.is_empty() {
            continue;
        }
        for e in mine {
            findings.push(Finding::fail(topic, e.clone(), fix));
        }
    }
    for e in unsorted {
        findings.push(Finding::fail(
            "Other settings",
            e,
            "correct the setting named at the start of the line",
        ));
    }
    let failed_topic = |f: &[Finding], t: &str| f.iter().any(|x| x.topic == t);

    // Meta app and configurations: the parser said what is missing.
    if !failed_topic(&findings, "Meta app") {
        findings.push(Finding::ok(
            "Meta app",
            "app id, app secret and verify token are set",
        ));
    }
    if !failed_topic(&findings, "Meta login configurations") {
        findings.push(Finding::ok(
            "Meta login configurations",
            "the WhatsApp Embedded Signup configuration is set",
        ));
        for (var, what) in [
            ("SWITCHBOARD_META_CONFIG_ID_FACEBOOK", "Facebook Pages"),
            ("SWITCHBOARD_META_CONFIG_ID_INSTAGRAM", "Instagram accounts"),
        ] {
            if get(var).is_none() {
                findings.push(Finding::warn(
                    "Meta login configurations",
                    format!("{var} is not set: {what} cannot be connected"),
                    "create a Facebook Login for Business configuration for it, or leave it unset if you do not need it",
                ));
            }
        }
    }

    findings.extend(webhook_url(&get, config.as_ref(), options).await);
    findings.extend(email(&get));
    findings.extend(secret_key(&get));
    if let Some(c) = &config {
        findings.extend(billing(c));
    }
    findings
}

/// Meta delivers webhooks to `<base URL>/webhooks/meta`: it must be https on
/// a name that resolves to a public address, and answer.
async fn webhook_url(
    get: &impl Fn(&str) -> Option<String>,
    config: Option<&Config>,
    options: &Options,
) -> Vec<Finding> {
    const T: &str = "Webhook URL";
    let Some(raw) = get("SWITCHBOARD_BASE_URL") else {
        return vec![Finding::fail(
            T,
            "SWITCHBOARD_BASE_URL is not set: links and the webhook URL point at the listen address, which Meta cannot reach",
            "set SWITCHBOARD_BASE_URL=https://switchboard.example.com, the origin your reverse proxy serves",
        )];
    };
    let Ok(url) = url::Url::parse(&raw) else {
        // The parser reported it already.
        return vec![];
    };
    let mut out = Vec::new();
    if url.scheme() != "https" {
        out.push(Finding::fail(
            T,
            format!("{raw} is not https: Meta delivers webhooks only to https URLs with a valid certificate"),
            "put a TLS-terminating reverse proxy in front (Caddy obtains certificates by itself; see docs/deploying.md) and use its https origin",
        ));
    }
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let local_name = host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host.ends_with(".lan")
        || !host.contains('.') && host.parse::<IpAddr>().is_err();
    let ip = host.parse::<IpAddr>().ok();
    if local_name || ip.is_some_and(app::services::webhook_target::is_forbidden) {
        out.push(Finding::fail(
            T,
            format!("{host} is a loopback, private or local address: Meta cannot reach it from the internet"),
            "use a public DNS name that points at this machine (or at its reverse proxy)",
        ));
        return out;
    }
    if let Some(c) = config
        && c.listen.ip().is_loopback()
        && c.trusted_proxies.is_empty()
    {
        out.push(Finding::warn(
            T,
            "SWITCHBOARD_TRUSTED_PROXIES is empty while the server listens on loopback behind a proxy: every client looks like the proxy to the rate limits",
            "set SWITCHBOARD_TRUSTED_PROXIES=127.0.0.1,::1 (the proxy's address) so X-Forwarded-For is believed from it",
        ));
    }
    if options.offline {
        out.push(Finding::warn(
            T,
            format!("{raw}: reachability not checked (--offline)"),
            "run `switchboard doctor` without --offline while the server runs",
        ));
        return out;
    }
    if ip.is_none() {
        match tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(443))).await {
            Ok(addrs) => {
                let addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                if !addrs.is_empty()
                    && addrs
                        .iter()
                        .all(|a| app::services::webhook_target::is_forbidden(*a))
                {
                    out.push(Finding::fail(
                        T,
                        format!("{host} resolves only to private or loopback addresses ({addrs:?}): Meta cannot reach it"),
                        "point the public DNS record at the machine's public address",
                    ));
                    return out;
                }
            }
            Err(e) => {
                out.push(Finding::fail(
                    T,
                    format!("{host} does not resolve: {e}"),
                    "create the DNS record for it",
                ));
                return out;
            }
        }
    }
    let healthz = format!("{}/healthz", raw.trim_end_matches('/'));
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
        .get(&healthz)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => out.push(Finding::ok(
            T,
            format!("{healthz} answers through the public URL"),
        )),
        Ok(r) => out.push(Finding::fail(
            T,
            format!("{healthz} answered {}", r.status()),
            "check that the reverse proxy forwards every path to the server",
        )),
        Err(e) => out.push(Finding::fail(
            T,
            format!("{healthz} did not answer: {e}"),
            "start the server, open port 443 in the firewall, and check the proxy and its certificate",
        )),
    }
    out
}

fn email(get: &impl Fn(&str) -> Option<String>) -> Vec<Finding> {
    const T: &str = "Email";
    if get("SWITCHBOARD_SMTP_URL").is_none() {
        return vec![Finding::fail(
            T,
            "SWITCHBOARD_SMTP_URL is not set: sign-up confirmations, password resets and alerts stay in the outbox table",
            "set SWITCHBOARD_SMTP_URL=smtps://user:password@smtp.example.com:465",
        )];
    }
    let from = get("SWITCHBOARD_MAIL_FROM").unwrap_or_default();
    if from.is_empty() || from.contains(".local>") || from.ends_with(".local") {
        return vec![Finding::warn(
            T,
            "SWITCHBOARD_MAIL_FROM is the default no-reply@switchboard.local: receiving servers reject or bin such mail",
            "set SWITCHBOARD_MAIL_FROM=\"Switchboard <no-reply@your-domain>\" on a domain your SMTP server may send for",
        )];
    }
    vec![Finding::ok(T, "SMTP server and sender are set")]
}

fn secret_key(get: &impl Fn(&str) -> Option<String>) -> Vec<Finding> {
    const T: &str = "Secret key";
    if get("SWITCHBOARD_SECRET_KEY").is_some() {
        // Its format was checked by the parser.
        return vec![Finding::ok(T, "SWITCHBOARD_SECRET_KEY is set")];
    }
    let key_file = std::path::Path::new(&get("SWITCHBOARD_DATA_DIR").unwrap_or("data".into()))
        .join("secret.key");
    if key_file.exists() {
        // The parser already failed the missing variable; say which key to use.
        return vec![Finding::fail(
            T,
            format!(
                "the sandbox generated {}: the data stored so far is encrypted with it",
                key_file.display()
            ),
            format!(
                "set SWITCHBOARD_SECRET_KEY to the contents of {} (the same key keeps stored secrets readable), then keep it in your secret store",
                key_file.display()
            ),
        )];
    }
    vec![]
}

fn billing(config: &Config) -> Vec<Finding> {
    const T: &str = "Billing";
    match config.billing_provider {
        BillingProviderKind::Stripe => vec![Finding::ok(T, "Stripe is configured")],
        BillingProviderKind::Sandbox => vec![Finding::warn(
            T,
            "SWITCHBOARD_BILLING_PROVIDER=sandbox: anyone who signs up can give themselves licenses on the built-in test checkout",
            "fine for a private installation; set SWITCHBOARD_BILLING_PROVIDER=stripe for a public one",
        )],
    }
}

/// Prints the findings; returns true when none failed.
pub fn print(findings: &[Finding]) -> bool {
    for f in findings {
        let mark = match f.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        println!("[{mark}] {}: {}", f.topic, f.what);
        if !f.fix.is_empty() && f.level != Level::Ok {
            println!("       fix: {}", f.fix);
        }
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    if failed == 0 {
        println!("\nReady for live mode.");
    } else {
        println!("\n{failed} problem(s) to fix before live mode.");
    }
    failed == 0
}
