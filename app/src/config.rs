//! The one typed configuration, read from `SWITCHBOARD_*` environment variables,
//! validated at start and printed with secrets masked.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaMode {
    Sandbox,
    Live,
}

impl MetaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MetaMode::Sandbox => "sandbox",
            MetaMode::Live => "live",
        }
    }
}

/// Who takes payments for licenses (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingProviderKind {
    /// Built-in checkout and customer-portal pages; nothing is charged.
    Sandbox,
    /// Stripe Checkout, Billing Portal and signed webhooks.
    Stripe,
}

impl BillingProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingProviderKind::Sandbox => "sandbox",
            BillingProviderKind::Stripe => "stripe",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Public URL of this installation: used for links in mails, cookies' `Secure` flag and CSRF.
    pub base_url: url::Url,
    pub database_url: String,
    pub meta_mode: MetaMode,
    /// 32-byte key for AES-256-GCM; `None` until resolved at start (sandbox may generate it).
    pub secret_key: Option<Vec<u8>>,
    pub data_dir: PathBuf,
    /// `SWITCHBOARD_SITE_ROOT`: read the Portal's site (wasm, JS, CSS, assets)
    /// from this directory instead of the copy built into the binary.
    pub site_root: Option<PathBuf>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub rate_limit_per_minute: u32,
    pub log_format: LogFormat,
    pub meta_app_id: Option<String>,
    pub meta_app_secret: Option<String>,
    pub meta_verify_token: Option<String>,
    pub meta_api_version: String,
    /// Graph API origin (no version): Meta's, or the built-in sandbox's.
    pub meta_graph_url: String,
    /// graph.instagram.com equivalent (Instagram token refresh).
    pub meta_instagram_graph_url: String,
    /// Full URL of the OAuth dialog (Facebook Login for Business / Embedded Signup).
    pub meta_dialog_url: String,
    pub meta_config_id_whatsapp: Option<String>,
    pub meta_config_id_facebook: Option<String>,
    pub meta_config_id_instagram: Option<String>,
    /// Where the sandbox posts its webhooks; `None` means this server's `/webhooks/meta`.
    pub sandbox_webhook_url: Option<String>,
    /// Delays of the sandbox's automatic `sent` and `delivered` statuses.
    pub sandbox_sent_delay_ms: u32,
    pub sandbox_delivered_delay_ms: u32,
    pub event_retention_days: u32,
    /// Plain `http://` webhook URLs outside sandbox mode (SPEC §3.1).
    pub allow_http_webhooks: bool,
    /// WhatsApp coexistence (SPEC §3.2): Embedded Signup also offers numbers
    /// already used in the WhatsApp Business app.
    pub whatsapp_coexistence: bool,
    /// Webhook targets on private, loopback, link-local or metadata addresses;
    /// default true only in sandbox mode.
    pub allow_private_webhook_targets: bool,
    pub billing_provider: BillingProviderKind,
    /// Stripe API origin; a local fake in tests.
    pub stripe_api_base: String,
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    /// Stripe price ids (per license, recurring) of the two tiers.
    pub stripe_price_starter: Option<String>,
    pub stripe_price_pro: Option<String>,
    /// Where media files live and how long their links last (SPEC §4.4).
    pub media: MediaSettings,
    /// `SWITCHBOARD_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For`
    /// names the client for throttles (SPEC §14).
    pub trusted_proxies: crate::web::client_ip::TrustedProxies,
}

/// Media storage: a local directory (default `<data dir>/media`) or an
/// S3-compatible bucket when `SWITCHBOARD_MEDIA_S3_BUCKET` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSettings {
    /// `SWITCHBOARD_MEDIA_DIR`; `None` = `<data dir>/media`.
    pub dir: Option<PathBuf>,
    pub s3: Option<MediaS3>,
    /// `SWITCHBOARD_MEDIA_URL_TTL_HOURS` (default 24): how long a signed
    /// `/media/{id}` link works.
    pub url_ttl_hours: u32,
}

#[derive(Clone, PartialEq, Eq)]
pub struct MediaS3 {
    pub bucket: String,
    /// Default `us-east-1`.
    pub region: String,
    /// For S3-compatible services (MinIO, R2, …); path-style requests.
    pub endpoint: Option<String>,
    /// With `secret_access_key`; without both, the usual `AWS_*` variables
    /// and instance credentials are used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl fmt::Debug for MediaS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaS3")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Sandbox Embedded Signup / Login configurations (fixed so links stay stable).
pub const SANDBOX_CONFIG_ID_WHATSAPP: &str = "800000000000001";
pub const SANDBOX_CONFIG_ID_FACEBOOK: &str = "800000000000002";
pub const SANDBOX_CONFIG_ID_INSTAGRAM: &str = "800000000000003";

/// A setting that could not be accepted; the message names the variable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn bad(var: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError(format!("{var}: {why}"))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, Vec<ConfigError>> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("SWITCHBOARD_"))
            .collect();
        Config::from_map(&vars)
    }

    /// Reads the given variables; every problem is reported, one line each.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Config, Vec<ConfigError>> {
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();

        let listen = match get("SWITCHBOARD_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(v) => v.parse().unwrap_or_else(|_| {
                errors.push(bad(
                    "SWITCHBOARD_LISTEN",
                    format!("`{v}` is not an address like 127.0.0.1:3000"),
                ));
                SocketAddr::from(([127, 0, 0, 1], 3000))
            }),
        };

        let default_base = format!("http://{listen}");
        let base_raw = get("SWITCHBOARD_BASE_URL").unwrap_or(default_base.clone());
        let base_url = match url::Url::parse(&base_raw) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none() =>
            {
                u
            }
            _ => {
                errors.push(bad(
                    "SWITCHBOARD_BASE_URL",
                    format!("`{base_raw}` must be an http(s) origin such as https://switchboard.example.com"),
                ));
                url::Url::parse(&default_base).expect("default base url parses")
            }
        };

        let database_url = get("SWITCHBOARD_DATABASE_URL")
            .unwrap_or_else(|| "sqlite://data/switchboard.db".to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            errors.push(bad(
                "SWITCHBOARD_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }

        let meta_app_id = get("SWITCHBOARD_META_APP_ID");
        let meta_app_secret = get("SWITCHBOARD_META_APP_SECRET");
        let meta_verify_token = get("SWITCHBOARD_META_VERIFY_TOKEN");
        let meta_mode = match get("SWITCHBOARD_META_MODE").as_deref() {
            Some("sandbox") => MetaMode::Sandbox,
            Some("live") => MetaMode::Live,
            None if meta_app_id.is_some() && meta_app_secret.is_some() => MetaMode::Live,
            None => MetaMode::Sandbox,
            Some(other) => {
                errors.push(bad(
                    "SWITCHBOARD_META_MODE",
                    format!("`{other}` is not one of sandbox, live"),
                ));
                MetaMode::Sandbox
            }
        };
        if meta_mode == MetaMode::Live {
            for (var, val) in [
                ("SWITCHBOARD_META_APP_ID", &meta_app_id),
                ("SWITCHBOARD_META_APP_SECRET", &meta_app_secret),
                ("SWITCHBOARD_META_VERIFY_TOKEN", &meta_verify_token),
            ] {
                if val.is_none() {
                    errors.push(bad(var, "is required when SWITCHBOARD_META_MODE=live"));
                }
            }
        }

        let secret_key = match get("SWITCHBOARD_SECRET_KEY") {
            None => {
                if meta_mode == MetaMode::Live {
                    errors.push(bad(
                        "SWITCHBOARD_SECRET_KEY",
                        "is required in live mode (32 bytes, base64; e.g. `openssl rand -base64 32`)",
                    ));
                }
                None
            }
            Some(v) => match crate::crypto::decode_key(&v) {
                Ok(k) => Some(k),
                Err(e) => {
                    errors.push(bad("SWITCHBOARD_SECRET_KEY", e));
                    None
                }
            },
        };

        let rate_limit_per_minute = parse_num(
            &get,
            "SWITCHBOARD_RATE_LIMIT_PER_MINUTE",
            100,
            1,
            1_000_000,
            &mut errors,
        );
        let event_retention_days = parse_num(
            &get,
            "SWITCHBOARD_EVENT_RETENTION_DAYS",
            7,
            1,
            3650,
            &mut errors,
        );

        let log_format = match get("SWITCHBOARD_LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                errors.push(bad(
                    "SWITCHBOARD_LOG_FORMAT",
                    format!("`{other}` is not one of json, pretty"),
                ));
                LogFormat::Json
            }
        };

        let smtp_url = get("SWITCHBOARD_SMTP_URL");
        if let Some(u) = &smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            errors.push(bad(
                "SWITCHBOARD_SMTP_URL",
                "must start with smtp:// or smtps://",
            ));
        }
        let mail_from = get("SWITCHBOARD_MAIL_FROM")
            .unwrap_or_else(|| "Switchboard <no-reply@switchboard.local>".to_string());
        if !mail_from.contains('@') {
            errors.push(bad(
                "SWITCHBOARD_MAIL_FROM",
                "must contain an email address",
            ));
        }

        let meta_api_version =
            get("SWITCHBOARD_META_API_VERSION").unwrap_or_else(|| "v26.0".into());
        if !valid_api_version(&meta_api_version) {
            errors.push(bad(
                "SWITCHBOARD_META_API_VERSION",
                format!(
                    "`{meta_api_version}` is not a Graph API version from v21.0 on, such as v26.0"
                ),
            ));
        }
        let sandbox = meta_mode == MetaMode::Sandbox;
        let base = base_url.as_str().trim_end_matches('/').to_string();
        let mut meta_url = |var: &str, sandbox_default: String, live_default: String| {
            let v = get(var).unwrap_or(if sandbox {
                sandbox_default
            } else {
                live_default
            });
            if !is_http_url(&v) {
                errors.push(bad(var, format!("`{v}` must be an absolute http(s) URL")));
            }
            v.trim_end_matches('/').to_string()
        };
        let meta_graph_url = meta_url(
            "SWITCHBOARD_META_GRAPH_URL",
            format!("{base}/sandbox/graph"),
            "https://graph.facebook.com".into(),
        );
        let meta_instagram_graph_url = meta_url(
            "SWITCHBOARD_META_INSTAGRAM_GRAPH_URL",
            format!("{base}/sandbox/graph"),
            "https://graph.instagram.com".into(),
        );
        let meta_dialog_url = meta_url(
            "SWITCHBOARD_META_DIALOG_URL",
            format!("{base}/sandbox/dialog/oauth"),
            format!("https://www.facebook.com/{meta_api_version}/dialog/oauth"),
        );
        let sandbox_webhook_url = get("SWITCHBOARD_SANDBOX_WEBHOOK_URL");
        if let Some(u) = &sandbox_webhook_url
            && !is_http_url(u)
        {
            errors.push(bad(
                "SWITCHBOARD_SANDBOX_WEBHOOK_URL",
                format!("`{u}` must be an absolute http(s) URL"),
            ));
        }
        let mut config_id = |var: &str, sandbox_default: &str| {
            let v = get(var).or_else(|| sandbox.then(|| sandbox_default.to_string()));
            if let Some(id) = &v
                && !id.chars().all(|c| c.is_ascii_digit())
            {
                errors.push(bad(
                    var,
                    format!("`{id}` is not a numeric Meta configuration id"),
                ));
            }
            v
        };
        let meta_config_id_whatsapp = config_id(
            "SWITCHBOARD_META_CONFIG_ID_WHATSAPP",
            SANDBOX_CONFIG_ID_WHATSAPP,
        );
        let meta_config_id_facebook = config_id(
            "SWITCHBOARD_META_CONFIG_ID_FACEBOOK",
            SANDBOX_CONFIG_ID_FACEBOOK,
        );
        let meta_config_id_instagram = config_id(
            "SWITCHBOARD_META_CONFIG_ID_INSTAGRAM",
            SANDBOX_CONFIG_ID_INSTAGRAM,
        );
        if !sandbox && meta_config_id_whatsapp.is_none() {
            errors.push(bad(
                "SWITCHBOARD_META_CONFIG_ID_WHATSAPP",
                "is required when SWITCHBOARD_META_MODE=live (the Embedded Signup configuration id)",
            ));
        }
        let sandbox_sent_delay_ms = parse_num(
            &get,
            "SWITCHBOARD_SANDBOX_SENT_DELAY_MS",
            300,
            0,
            600_000,
            &mut errors,
        );
        let sandbox_delivered_delay_ms = parse_num(
            &get,
            "SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS",
            1500,
            0,
            600_000,
            &mut errors,
        );

        let allow_http_webhooks =
            parse_bool(&get, "SWITCHBOARD_ALLOW_HTTP_WEBHOOKS", false, &mut errors);
        let whatsapp_coexistence =
            parse_bool(&get, "SWITCHBOARD_WHATSAPP_COEXISTENCE", false, &mut errors);
        let allow_private_webhook_targets = parse_bool(
            &get,
            "SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS",
            sandbox,
            &mut errors,
        );

        let billing_provider = match get("SWITCHBOARD_BILLING_PROVIDER").as_deref() {
            // The sandbox checkout grants licenses on a click: the default
            // only where Meta is the sandbox too. A live installation takes it
            // only when chosen by name (a private installation, say).
            None if !sandbox => {
                errors.push(bad(
                    "SWITCHBOARD_BILLING_PROVIDER",
                    "must be set in live mode: `stripe` to take payments, or `sandbox` explicitly to let anyone who signs up give themselves licenses on the built-in test checkout",
                ));
                BillingProviderKind::Sandbox
            }
            None | Some("sandbox") => BillingProviderKind::Sandbox,
            Some("stripe") => BillingProviderKind::Stripe,
            Some(other) => {
                errors.push(bad(
                    "SWITCHBOARD_BILLING_PROVIDER",
                    format!("`{other}` is not one of sandbox, stripe"),
                ));
                BillingProviderKind::Sandbox
            }
        };
        let stripe_api_base = get("SWITCHBOARD_STRIPE_API_BASE")
            .unwrap_or_else(|| "https://api.stripe.com".into())
            .trim_end_matches('/')
            .to_string();
        if !is_http_url(&stripe_api_base) {
            errors.push(bad(
                "SWITCHBOARD_STRIPE_API_BASE",
                format!("`{stripe_api_base}` must be an absolute http(s) URL"),
            ));
        }
        let stripe_secret_key = get("SWITCHBOARD_STRIPE_SECRET_KEY");
        let stripe_webhook_secret = get("SWITCHBOARD_STRIPE_WEBHOOK_SECRET");
        let stripe_price_starter = get("SWITCHBOARD_STRIPE_PRICE_STARTER");
        let stripe_price_pro = get("SWITCHBOARD_STRIPE_PRICE_PRO");
        if billing_provider == BillingProviderKind::Stripe {
            for (var, val, hint) in [
                (
                    "SWITCHBOARD_STRIPE_SECRET_KEY",
                    &stripe_secret_key,
                    "the secret API key, sk_live_… or sk_test_…",
                ),
                (
                    "SWITCHBOARD_STRIPE_WEBHOOK_SECRET",
                    &stripe_webhook_secret,
                    "the signing secret of the /webhooks/stripe endpoint, whsec_…",
                ),
                (
                    "SWITCHBOARD_STRIPE_PRICE_STARTER",
                    &stripe_price_starter,
                    "the recurring price id of one starter license, price_…",
                ),
                (
                    "SWITCHBOARD_STRIPE_PRICE_PRO",
                    &stripe_price_pro,
                    "the recurring price id of one pro license, price_…",
                ),
            ] {
                if val.is_none() {
                    errors.push(bad(
                        var,
                        format!("is required when SWITCHBOARD_BILLING_PROVIDER=stripe ({hint})"),
                    ));
                }
            }
        }

        let media = media_settings(&get, &mut errors);
        let trusted_proxies = crate::web::client_ip::TrustedProxies::parse(
            &get("SWITCHBOARD_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .unwrap_or_else(|e| {
            errors.push(bad("SWITCHBOARD_TRUSTED_PROXIES", e));
            Default::default()
        });

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            listen,
            base_url,
            database_url,
            meta_mode,
            secret_key,
            data_dir: PathBuf::from(get("SWITCHBOARD_DATA_DIR").unwrap_or_else(|| "data".into())),
            site_root: get("SWITCHBOARD_SITE_ROOT").map(PathBuf::from),
            smtp_url,
            mail_from,
            rate_limit_per_minute,
            log_format,
            meta_app_id,
            meta_app_secret,
            meta_verify_token,
            meta_api_version,
            meta_graph_url,
            meta_instagram_graph_url,
            meta_dialog_url,
            meta_config_id_whatsapp,
            meta_config_id_facebook,
            meta_config_id_instagram,
            sandbox_webhook_url,
            sandbox_sent_delay_ms,
            sandbox_delivered_delay_ms,
            event_retention_days,
            allow_http_webhooks,
            whatsapp_coexistence,
            allow_private_webhook_targets,
            billing_provider,
            stripe_api_base,
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_price_starter,
            stripe_price_pro,
            media,
            trusted_proxies,
        })
    }

    pub fn sandbox(&self) -> bool {
        self.meta_mode == MetaMode::Sandbox
    }

    /// `https://host` without trailing slash, for building absolute links.
    pub fn base(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_string()
    }

    /// Where the sandbox sends Meta webhooks.
    pub fn sandbox_webhook_target(&self) -> String {
        self.sandbox_webhook_url
            .clone()
            .unwrap_or_else(|| format!("{}/webhooks/meta", self.base()))
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// `(name, value)` pairs for the start-up banner; secrets are masked.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mask = |v: &Option<String>| match v {
            Some(_) => "******".to_string(),
            None => "(not set)".to_string(),
        };
        vec![
            ("listen", self.listen.to_string()),
            ("base_url", self.base()),
            ("database_url", mask_url_password(&self.database_url)),
            ("meta_mode", self.meta_mode.as_str().to_string()),
            ("meta_api_version", self.meta_api_version.clone()),
            (
                "meta_app_id",
                self.meta_app_id
                    .clone()
                    .unwrap_or_else(|| "(not set)".into()),
            ),
            ("meta_app_secret", mask(&self.meta_app_secret)),
            ("meta_verify_token", mask(&self.meta_verify_token)),
            ("meta_graph_url", self.meta_graph_url.clone()),
            ("meta_dialog_url", self.meta_dialog_url.clone()),
            (
                "meta_config_id_whatsapp",
                self.meta_config_id_whatsapp
                    .clone()
                    .unwrap_or_else(|| "(not set)".into()),
            ),
            (
                "secret_key",
                if self.secret_key.is_some() {
                    "******".into()
                } else {
                    "(generated in data dir)".into()
                },
            ),
            ("data_dir", self.data_dir.display().to_string()),
            (
                "smtp_url",
                self.smtp_url
                    .as_deref()
                    .map(mask_url_password)
                    .unwrap_or_else(|| "(outbox only)".into()),
            ),
            ("mail_from", self.mail_from.clone()),
            (
                "rate_limit_per_minute",
                self.rate_limit_per_minute.to_string(),
            ),
            (
                "event_retention_days",
                self.event_retention_days.to_string(),
            ),
            ("allow_http_webhooks", self.allow_http_webhooks.to_string()),
            (
                "whatsapp_coexistence",
                self.whatsapp_coexistence.to_string(),
            ),
            (
                "allow_private_webhook_targets",
                self.allow_private_webhook_targets.to_string(),
            ),
            (
                "billing_provider",
                self.billing_provider.as_str().to_string(),
            ),
            ("stripe_api_base", self.stripe_api_base.clone()),
            ("stripe_secret_key", mask(&self.stripe_secret_key)),
            ("stripe_webhook_secret", mask(&self.stripe_webhook_secret)),
            (
                "media_store",
                match &self.media.s3 {
                    Some(s3) => format!("s3://{} ({})", s3.bucket, s3.region),
                    None => self.media_dir().display().to_string(),
                },
            ),
            ("media_url_ttl_hours", self.media.url_ttl_hours.to_string()),
            ("trusted_proxies", self.trusted_proxies.describe()),
        ]
    }
}

impl Config {
    /// The local media directory (used when no bucket is configured).
    pub fn media_dir(&self) -> PathBuf {
        self.media
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }
}

/// `SWITCHBOARD_MEDIA_*` (SPEC §4.4).
fn media_settings(
    get: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> MediaSettings {
    let url_ttl_hours = parse_num(get, "SWITCHBOARD_MEDIA_URL_TTL_HOURS", 24, 1, 720, errors);
    let s3 = get("SWITCHBOARD_MEDIA_S3_BUCKET").map(|bucket| {
        let endpoint = get("SWITCHBOARD_MEDIA_S3_ENDPOINT");
        if let Some(e) = &endpoint
            && !is_http_url(e)
        {
            errors.push(bad(
                "SWITCHBOARD_MEDIA_S3_ENDPOINT",
                format!("`{e}` must be an absolute http(s) URL"),
            ));
        }
        let access_key_id = get("SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID");
        let secret_access_key = get("SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY");
        if access_key_id.is_some() != secret_access_key.is_some() {
            errors.push(bad(
                "SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID",
                "set it together with SWITCHBOARD_MEDIA_S3_SECRET_ACCESS_KEY (or neither, to use AWS_* credentials)",
            ));
        }
        MediaS3 {
            bucket,
            region: get("SWITCHBOARD_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            endpoint,
            access_key_id,
            secret_access_key,
        }
    });
    for var in [
        "SWITCHBOARD_MEDIA_S3_REGION",
        "SWITCHBOARD_MEDIA_S3_ENDPOINT",
        "SWITCHBOARD_MEDIA_S3_ACCESS_KEY_ID",
    ] {
        if s3.is_none() && get(var).is_some() {
            errors.push(bad(var, "needs SWITCHBOARD_MEDIA_S3_BUCKET"));
        }
    }
    MediaSettings {
        dir: get("SWITCHBOARD_MEDIA_DIR").map(PathBuf::from),
        s3,
        url_ttl_hours,
    }
}

fn parse_num(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: u32,
    min: u32,
    max: u32,
    errors: &mut Vec<ConfigError>,
) -> u32 {
    match get(var) {
        None => default,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                errors.push(bad(
                    var,
                    format!("`{v}` is not a whole number from {min} to {max}"),
                ));
                default
            }
        },
    }
}

/// `true|false|1|0|yes|no|on|off`, case-insensitive.
fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: bool,
    errors: &mut Vec<ConfigError>,
) -> bool {
    match get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => default,
        Some("true" | "1" | "yes" | "on") => true,
        Some("false" | "0" | "no" | "off") => false,
        Some(other) => {
            errors.push(bad(var, format!("`{other}` is not true or false")));
            default
        }
    }
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false)
}

/// `vNN.0` from v21.0 on: older versions are past Meta's deprecation date.
fn valid_api_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    matches!(major.parse::<u32>(), Ok(m) if m >= 21)
        && !minor.is_empty()
        && minor.chars().all(|c| c.is_ascii_digit())
}

/// Replaces the password of `scheme://user:password@host` with `******`.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("******"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

/// Settings for unit tests elsewhere in the crate: one place that knows what
/// a valid live-mode configuration needs.
#[cfg(test)]
pub(crate) mod testing {
    use super::Config;
    use std::collections::HashMap;

    /// A configuration from `pairs` alone (sandbox mode unless they say otherwise).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Config {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map(&m).unwrap()
    }

    /// A valid live-mode configuration, plus `extra`.
    pub fn live_with(extra: &[(&str, &str)]) -> Config {
        let mut pairs = vec![
            ("SWITCHBOARD_META_MODE", "live"),
            ("SWITCHBOARD_META_APP_ID", "900000000000001"),
            ("SWITCHBOARD_META_APP_SECRET", "s"),
            ("SWITCHBOARD_META_VERIFY_TOKEN", "v"),
            ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "1"),
            ("SWITCHBOARD_BILLING_PROVIDER", "sandbox"),
            (
                "SWITCHBOARD_SECRET_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ];
        pairs.extend_from_slice(extra);
        from_pairs(&pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_sandbox_sqlite() {
        let c = Config::from_map(&map(&[])).unwrap();
        assert_eq!(c.meta_mode, MetaMode::Sandbox);
        assert_eq!(c.database_url, "sqlite://data/switchboard.db");
        assert_eq!(c.base(), "http://127.0.0.1:3000");
        assert_eq!(c.rate_limit_per_minute, 100);
        assert!(!c.secure_cookies());
    }

    #[test]
    fn every_bad_setting_is_named() {
        let errs = Config::from_map(&map(&[
            ("SWITCHBOARD_LISTEN", "nowhere"),
            ("SWITCHBOARD_DATABASE_URL", "mysql://x"),
            ("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "0"),
            ("SWITCHBOARD_META_MODE", "prod"),
        ]))
        .err()
        .unwrap();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        for var in [
            "SWITCHBOARD_LISTEN",
            "SWITCHBOARD_DATABASE_URL",
            "SWITCHBOARD_RATE_LIMIT_PER_MINUTE",
            "SWITCHBOARD_META_MODE",
        ] {
            assert!(
                text.iter().any(|t| t.starts_with(var)),
                "{var} not named in {text:?}"
            );
        }
    }

    #[test]
    fn live_mode_needs_credentials_and_key() {
        let errs = Config::from_map(&map(&[("SWITCHBOARD_META_MODE", "live")]))
            .err()
            .unwrap();
        let text = errs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("SWITCHBOARD_META_APP_SECRET"));
        assert!(text.contains("SWITCHBOARD_SECRET_KEY"));
    }

    #[test]
    fn secrets_are_masked_in_the_banner() {
        let c = Config::from_map(&map(&[
            (
                "SWITCHBOARD_DATABASE_URL",
                "postgres://sb:hunter2@localhost/sb",
            ),
            ("SWITCHBOARD_META_APP_SECRET", "topsecret"),
        ]))
        .unwrap();
        let banner = format!("{:?}", c.describe());
        assert!(!banner.contains("hunter2"));
        assert!(!banner.contains("topsecret"));
        assert!(banner.contains("postgres://sb:******@localhost/sb"));
    }

    #[test]
    fn sandbox_points_meta_at_itself() {
        let c =
            Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "http://127.0.0.1:4000")])).unwrap();
        assert_eq!(c.meta_graph_url, "http://127.0.0.1:4000/sandbox/graph");
        assert_eq!(
            c.meta_dialog_url,
            "http://127.0.0.1:4000/sandbox/dialog/oauth"
        );
        assert_eq!(
            c.meta_config_id_whatsapp.as_deref(),
            Some(SANDBOX_CONFIG_ID_WHATSAPP)
        );
        assert_eq!(
            c.sandbox_webhook_target(),
            "http://127.0.0.1:4000/webhooks/meta"
        );
        assert_eq!(c.meta_api_version, "v26.0");
    }

    #[test]
    fn live_mode_uses_meta_hosts_and_needs_a_config_id() {
        let live = [
            ("SWITCHBOARD_META_MODE", "live"),
            ("SWITCHBOARD_META_APP_ID", "900000000000001"),
            ("SWITCHBOARD_META_APP_SECRET", "s"),
            ("SWITCHBOARD_META_VERIFY_TOKEN", "v"),
            (
                "SWITCHBOARD_SECRET_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ];
        let errs = Config::from_map(&map(&live)).err().unwrap();
        assert!(
            errs.iter()
                .any(|e| e.0.starts_with("SWITCHBOARD_META_CONFIG_ID_WHATSAPP"))
        );
        let mut with_id = live.to_vec();
        with_id.push(("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "123456"));
        with_id.push(("SWITCHBOARD_BILLING_PROVIDER", "sandbox"));
        with_id.push(("SWITCHBOARD_META_API_VERSION", "v25.0"));
        let c = Config::from_map(&map(&with_id)).unwrap();
        assert_eq!(c.meta_graph_url, "https://graph.facebook.com");
        assert_eq!(
            c.meta_dialog_url,
            "https://www.facebook.com/v25.0/dialog/oauth"
        );
        assert_eq!(c.meta_config_id_facebook, None);
    }

    #[test]
    fn meta_settings_are_validated() {
        let errs = Config::from_map(&map(&[
            ("SWITCHBOARD_META_GRAPH_URL", "graph.facebook.com"),
            ("SWITCHBOARD_META_DIALOG_URL", "ftp://x/y"),
            ("SWITCHBOARD_META_CONFIG_ID_INSTAGRAM", "abc"),
            ("SWITCHBOARD_META_API_VERSION", "v12.0"),
            ("SWITCHBOARD_SANDBOX_WEBHOOK_URL", "nowhere"),
            ("SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS", "-1"),
        ]))
        .err()
        .unwrap();
        for var in [
            "SWITCHBOARD_META_GRAPH_URL",
            "SWITCHBOARD_META_DIALOG_URL",
            "SWITCHBOARD_META_CONFIG_ID_INSTAGRAM",
            "SWITCHBOARD_META_API_VERSION",
            "SWITCHBOARD_SANDBOX_WEBHOOK_URL",
            "SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS",
        ] {
            assert!(
                errs.iter().any(|e| e.0.starts_with(var)),
                "{var} not named in {errs:?}"
            );
        }
        assert!(
            valid_api_version("v21.0") && !valid_api_version("26.0") && !valid_api_version("v26")
        );
    }

    #[test]
    fn webhook_target_flags_default_by_mode() {
        let c = Config::from_map(&map(&[])).unwrap();
        assert!(!c.allow_http_webhooks);
        assert!(
            c.allow_private_webhook_targets,
            "sandbox allows local sinks"
        );
        let c = Config::from_map(&map(&[
            ("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false"),
            ("SWITCHBOARD_ALLOW_HTTP_WEBHOOKS", "YES"),
        ]))
        .unwrap();
        assert!(!c.allow_private_webhook_targets);
        assert!(c.allow_http_webhooks);
        let live = testing::live_with(&[]);
        assert!(!live.allow_private_webhook_targets);
        let errs = Config::from_map(&map(&[("SWITCHBOARD_ALLOW_HTTP_WEBHOOKS", "maybe")]))
            .err()
            .unwrap();
        assert!(errs[0].0.starts_with("SWITCHBOARD_ALLOW_HTTP_WEBHOOKS"));
        let banner = format!("{:?}", c.describe());
        assert!(banner.contains("allow_private_webhook_targets"));
    }

    #[test]
    fn stripe_billing_needs_its_keys() {
        let c = Config::from_map(&map(&[])).unwrap();
        assert_eq!(c.billing_provider, BillingProviderKind::Sandbox);
        assert_eq!(c.stripe_api_base, "https://api.stripe.com");
        let errs = Config::from_map(&map(&[("SWITCHBOARD_BILLING_PROVIDER", "stripe")]))
            .err()
            .unwrap();
        for var in [
            "SWITCHBOARD_STRIPE_SECRET_KEY",
            "SWITCHBOARD_STRIPE_WEBHOOK_SECRET",
            "SWITCHBOARD_STRIPE_PRICE_STARTER",
            "SWITCHBOARD_STRIPE_PRICE_PRO",
        ] {
            assert!(errs.iter().any(|e| e.0.starts_with(var)), "{var} not named");
        }
        let errs = Config::from_map(&map(&[("SWITCHBOARD_BILLING_PROVIDER", "paypal")]))
            .err()
            .unwrap();
        assert!(errs[0].0.starts_with("SWITCHBOARD_BILLING_PROVIDER"));
        let c = Config::from_map(&map(&[
            ("SWITCHBOARD_BILLING_PROVIDER", "stripe"),
            ("SWITCHBOARD_STRIPE_SECRET_KEY", "sk_test_abc"),
            ("SWITCHBOARD_STRIPE_WEBHOOK_SECRET", "whsec_abc"),
            ("SWITCHBOARD_STRIPE_PRICE_STARTER", "price_s"),
            ("SWITCHBOARD_STRIPE_PRICE_PRO", "price_p"),
            ("SWITCHBOARD_STRIPE_API_BASE", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!(c.stripe_api_base, "http://127.0.0.1:9");
        let banner = format!("{:?}", c.describe());
        assert!(!banner.contains("sk_test_abc") && !banner.contains("whsec_abc"));
    }

    #[test]
    fn live_mode_takes_the_sandbox_billing_provider_only_by_name() {
        let live = [
            ("SWITCHBOARD_META_MODE", "live"),
            ("SWITCHBOARD_META_APP_ID", "900000000000001"),
            ("SWITCHBOARD_META_APP_SECRET", "s"),
            ("SWITCHBOARD_META_VERIFY_TOKEN", "v"),
            ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "1"),
            (
                "SWITCHBOARD_SECRET_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ];
        let errs = Config::from_map(&map(&live)).err().unwrap();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].0.starts_with("SWITCHBOARD_BILLING_PROVIDER"));
        let mut chosen = live.to_vec();
        chosen.push(("SWITCHBOARD_BILLING_PROVIDER", "sandbox"));
        let c = Config::from_map(&map(&chosen)).unwrap();
        assert_eq!(c.billing_provider, BillingProviderKind::Sandbox);
    }

    #[test]
    fn base_url_must_be_an_origin() {
        assert!(Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "ftp://x")])).is_err());
        assert!(Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "https://x.io/app")])).is_err());
        let c =
            Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "https://sb.example.com")])).unwrap();
        assert!(c.secure_cookies());
    }
}
