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
    pub site_root: PathBuf,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub rate_limit_per_minute: u32,
    pub log_format: LogFormat,
    pub meta_app_id: Option<String>,
    pub meta_app_secret: Option<String>,
    pub meta_verify_token: Option<String>,
    pub meta_api_version: String,
    pub event_retention_days: u32,
}

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
            site_root: PathBuf::from(
                get("SWITCHBOARD_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            ),
            smtp_url,
            mail_from,
            rate_limit_per_minute,
            log_format,
            meta_app_id,
            meta_app_secret,
            meta_verify_token,
            meta_api_version: get("SWITCHBOARD_META_API_VERSION").unwrap_or_else(|| "v26.0".into()),
            event_retention_days,
        })
    }

    pub fn sandbox(&self) -> bool {
        self.meta_mode == MetaMode::Sandbox
    }

    /// `https://host` without trailing slash, for building absolute links.
    pub fn base(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_string()
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
        ]
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
    fn base_url_must_be_an_origin() {
        assert!(Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "ftp://x")])).is_err());
        assert!(Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "https://x.io/app")])).is_err());
        let c =
            Config::from_map(&map(&[("SWITCHBOARD_BASE_URL", "https://sb.example.com")])).unwrap();
        assert!(c.secure_cookies());
    }
}
