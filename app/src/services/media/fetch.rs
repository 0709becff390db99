//! Where inbound media may be fetched from, and the fetch itself (SPEC §4.4,
//! §14). A media URL arrives in a payload (WhatsApp `url` without `id`, a
//! Messenger or Instagram attachment's `payload.url`) or in Meta's answer to
//! `GET /{media-id}`; whoever can post a payload can steer it. So:
//!
//! - a URL is fetched only from Meta's media hosts ([`META_MEDIA_DOMAINS`],
//!   https), or, in sandbox mode, from the sandbox this installation talks to
//!   (its own origin and its Graph URLs' origins) — [`SourceRule::check`];
//! - through [`webhook_target::guarded_client`]: no redirects, no proxy from
//!   the environment, every resolved address checked unless
//!   `SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS` allows private ones;
//! - never more than the cap of the media's kind: a `Content-Length` above it
//!   is refused before the body is read, and the streamed count is checked
//!   chunk by chunk, so no more than the cap is ever buffered.

use std::time::Duration;

use crate::config::Config;
use crate::services::webhook_target;

/// Registrable domains that serve Meta's media: WhatsApp's
/// `lookaside.fbsbx.com/whatsapp_business/attachments/…`, Messenger's
/// `scontent*.fbcdn.net` and `cdn.fbsbx.com`, Instagram's
/// `lookaside.fbsbx.com/ig_messaging_cdn/…` and `*.cdninstagram.com`
/// (docs/decisions.md, "Inbound media hosts").
pub const META_MEDIA_DOMAINS: &[&str] = &["fbsbx.com", "fbcdn.net", "cdninstagram.com"];

/// How long a download may take end to end.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a download failed: a stable code, a sentence, and whether trying
/// again could help (a refused source or an oversized file never will).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub code: &'static str,
    pub detail: String,
    pub permanent: bool,
}

impl Failure {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            code,
            detail: detail.into(),
            permanent: false,
        }
    }

    pub fn permanent(code: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            ..Failure::new(code, detail)
        }
    }
}

/// Which client a checked URL goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A Meta media host: the guarded client.
    Meta,
    /// The installation's own sandbox (sandbox mode only): a client without
    /// the resolver guard, since the sandbox usually lives on loopback, but
    /// equally without redirects or proxy.
    OwnSandbox,
}

/// The rule of [`SourceRule::check`], built once from the configuration.
#[derive(Clone, Debug)]
pub struct SourceRule {
    /// Origins of the sandbox this installation talks to; empty in live mode.
    sandbox_origins: Vec<url::Origin>,
}

impl SourceRule {
    pub fn new(config: &Config) -> SourceRule {
        let sandbox_origins = if config.sandbox() {
            [
                config.base(),
                config.meta_graph_url.clone(),
                config.meta_instagram_graph_url.clone(),
            ]
            .iter()
            .filter_map(|u| url::Url::parse(u).ok())
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
            .collect()
        } else {
            Vec::new()
        };
        SourceRule { sandbox_origins }
    }

    /// Checks a media URL before anything connects: an absolute URL without
    /// credentials, on the own sandbox origin (sandbox mode), or https on a
    /// Meta media host (any mode). Addresses are checked when connecting.
    pub fn check(&self, raw: &str) -> Result<(url::Url, Route), Failure> {
        let refuse = |why: String| Failure::permanent("source_forbidden", why);
        let url = url::Url::parse(raw.trim())
            .map_err(|_| refuse("the media URL is not an absolute URL".into()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("the media URL carries credentials".into()));
        }
        if self.sandbox_origins.contains(&url.origin()) {
            return Ok((url, Route::OwnSandbox));
        }
        let host = url
            .host()
            .ok_or_else(|| refuse("the media URL has no host".into()))?;
        if let Some(why) = webhook_target::literal_refusal(&host) {
            return Err(refuse(format!("media URL host: {why}")));
        }
        let meta_host = match &host {
            url::Host::Domain(name) => is_meta_media_host(name),
            _ => false,
        };
        if !meta_host {
            return Err(refuse(format!(
                "`{host}` is not one of Meta's media hosts ({}); media are fetched only from Meta",
                META_MEDIA_DOMAINS.join(", ")
            )));
        }
        if url.scheme() != "https" {
            return Err(refuse(
                "Meta's media hosts are fetched over https only".into(),
            ));
        }
        Ok((url, Route::Meta))
    }
}

/// True for a host that is one of [`META_MEDIA_DOMAINS`] or under one.
pub fn is_meta_media_host(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    META_MEDIA_DOMAINS
        .iter()
        .any(|d| name == *d || name.ends_with(&format!(".{d}")))
}

/// The two clients of a media store: guarded (Meta hosts) and own sandbox.
#[derive(Clone)]
pub struct Fetcher {
    pub rule: SourceRule,
    guarded: reqwest::Client,
    own: reqwest::Client,
}

impl Fetcher {
    pub fn new(config: &Config) -> Result<Fetcher, String> {
        let build = |allow_private: bool| {
            webhook_target::guarded_client(allow_private)
                .connect_timeout(Duration::from_secs(10))
                .timeout(DOWNLOAD_TIMEOUT)
                .user_agent(format!("Switchboard/{}", crate::VERSION))
                .build()
                .map_err(|e| e.to_string())
        };
        Ok(Fetcher {
            rule: SourceRule::new(config),
            guarded: build(config.allow_private_webhook_targets)?,
            own: build(true)?,
        })
    }

    /// GETs `raw` (with the bearer `token`, for WhatsApp's CDN) when the rule
    /// allows it, reading at most `cap` bytes. Returns the bytes and the
    /// answer's `Content-Type` as sent.
    pub async fn get(
        &self,
        raw: &str,
        token: Option<&str>,
        cap: u64,
    ) -> Result<(Vec<u8>, Option<String>), Failure> {
        let (url, route) = self.rule.check(raw)?;
        let client = match route {
            Route::Meta => &self.guarded,
            Route::OwnSandbox => &self.own,
        };
        let mut req = client.get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut res = req
            .send()
            .await
            .map_err(|e| Failure::new("download_failed", format!("fetching the file: {e}")))?;
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            return Err(Failure::permanent(
                "source_forbidden",
                format!(
                    "the media host answered a redirect (HTTP {status}); redirects are not followed"
                ),
            ));
        }
        if !(200..300).contains(&status) {
            return Err(Failure::new(
                "download_failed",
                format!("Meta's file server answered HTTP {status}"),
            ));
        }
        if let Some(n) = res.content_length()
            && n > cap
        {
            return Err(too_large(cap));
        }
        let ctype = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| Failure::new("download_failed", format!("reading the file: {e}")))?
        {
            if (bytes.len() + chunk.len()) as u64 > cap {
                return Err(too_large(cap));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, ctype))
    }
}

/// `too_large`, naming the cap; never retried.
pub fn too_large(cap: u64) -> Failure {
    Failure::permanent(
        "too_large",
        format!(
            "the file is larger than {} ({cap} bytes), the limit for its type",
            crate::domain::media::human_size(cap)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        crate::config::testing::from_pairs(pairs)
    }

    fn live() -> Config {
        crate::config::testing::live_with(&[("SWITCHBOARD_BASE_URL", "https://sb.example.com")])
    }

    #[test]
    fn live_mode_fetches_only_from_metas_media_hosts() {
        let rule = SourceRule::new(&live());
        for ok in [
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3",
            "https://scontent.xx.fbcdn.net/v/t1.15752-9/x.jpg?stp=1",
            "https://cdn.fbsbx.com/v/t59.2708-21/file.pdf",
            "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x",
            "https://scontent-iad3-1.cdninstagram.com/v/x.mp4",
            "https://LOOKASIDE.FBSBX.COM./x",
        ] {
            assert_eq!(rule.check(ok).unwrap().1, Route::Meta, "{ok}");
        }
        for bad in [
            "http://lookaside.fbsbx.com/x",
            "https://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:8080/x",
            "https://[::1]/x",
            "https://localhost/x",
            "https://metadata.google.internal/x",
            "https://fbsbx.com.evil.example/x",
            "https://evilfbcdn.net/x",
            "https://user:pw@lookaside.fbsbx.com/x",
            "https://sb.example.com/sandbox/cdn/1",
            "file:///etc/passwd",
            "lookaside.fbsbx.com/x",
        ] {
            let e = rule.check(bad).unwrap_err();
            assert_eq!(e.code, "source_forbidden", "{bad}");
            assert!(e.permanent, "{bad}");
        }
    }

    #[test]
    fn sandbox_mode_adds_only_its_own_sandbox() {
        let rule = SourceRule::new(&cfg(&[("SWITCHBOARD_BASE_URL", "http://127.0.0.1:4000")]));
        assert_eq!(
            rule.check("http://127.0.0.1:4000/sandbox/cdn/1?ext=1&hash=x")
                .unwrap()
                .1,
            Route::OwnSandbox
        );
        for bad in [
            "http://127.0.0.1:4001/x",
            "http://localhost:4000/x",
            "https://127.0.0.1:4000/x",
            "http://169.254.169.254/x",
        ] {
            assert_eq!(
                rule.check(bad).unwrap_err().code,
                "source_forbidden",
                "{bad}"
            );
        }
        assert_eq!(
            rule.check("https://lookaside.fbsbx.com/x").unwrap().1,
            Route::Meta
        );
    }

    #[test]
    fn meta_hosts() {
        assert!(is_meta_media_host("fbcdn.net"));
        assert!(is_meta_media_host("video.xx.fbcdn.net"));
        assert!(!is_meta_media_host("fbcdn.net.example"));
        assert!(!is_meta_media_host("notfbsbx.com"));
    }
}
