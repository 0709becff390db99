//! Where customer webhooks may go (SPEC §3.1). Checked when a URL is saved and
//! again by the relay right before each delivery, because a name that resolved
//! to a public address yesterday may resolve to 169.254.169.254 today (DNS
//! rebinding). One function for both moments: [`check`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::config::Config;
use crate::error::{AppError, AppResult};

/// Longest webhook URL accepted; longer ones are almost surely mistakes.
pub const MAX_URL_LEN: usize = 2048;

/// Host names that name cloud metadata services without resolving publicly.
const METADATA_NAMES: &[&str] = &["metadata.google.internal", "metadata", "instance-data"];

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::bad_request("invalid_webhook_url", detail)
}

fn forbidden(detail: impl Into<String>) -> AppError {
    AppError::bad_request("webhook_target_forbidden", detail)
}

/// Syntax and scheme only, no network: absolute http(s), no credentials, no
/// fragment; plain http only in sandbox mode or with `SWITCHBOARD_ALLOW_HTTP_WEBHOOKS`.
pub fn parse(config: &Config, raw: &str) -> AppResult<url::Url> {
    if raw.len() > MAX_URL_LEN {
        return Err(invalid(format!(
            "webhook_url is longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| {
        invalid("webhook_url must be an absolute URL such as https://example.com/webhooks")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if config.sandbox() || config.allow_http_webhooks => {}
        "http" => {
            return Err(invalid(
                "webhook_url must use https (plain http is allowed only in sandbox mode or with SWITCHBOARD_ALLOW_HTTP_WEBHOOKS=true)",
            ));
        }
        _ => return Err(invalid("webhook_url must be an https:// URL")),
    }
    if url.host().is_none() {
        return Err(invalid("webhook_url needs a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "webhook_url must not contain a user name or password; the signature authenticates us",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("webhook_url must not contain a #fragment"));
    }
    Ok(url)
}

/// The full check: [`parse`], then, unless private targets are allowed, every
/// address the host resolves to must be public.
pub async fn check(config: &Config, raw: &str) -> AppResult<()> {
    let url = parse(config, raw)?;
    if config.allow_private_webhook_targets {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(host @ url::Host::Domain(name)) => {
            if let Some(why) = literal_refusal(&host) {
                return Err(forbidden(format!("webhook_url host {why}")));
            }
            let lower = name.trim_end_matches('.').to_ascii_lowercase();
            resolve(&lower, port).await?
        }
        None => return Err(invalid("webhook_url needs a host")),
    };
    if let Some(bad) = addrs.iter().find(|ip| is_forbidden(**ip)) {
        return Err(forbidden(format!(
            "webhook_url resolves to {bad}, a private, loopback, link-local or metadata address; \
             webhooks go only to public addresses"
        )));
    }
    Ok(())
}

async fn resolve(host: &str, port: u16) -> AppResult<Vec<IpAddr>> {
    let lookup = tokio::net::lookup_host((host, port));
    match tokio::time::timeout(Duration::from_secs(5), lookup).await {
        Ok(Ok(addrs)) => {
            let list: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            if list.is_empty() {
                Err(invalid(format!("webhook_url host `{host}` has no address")))
            } else {
                Ok(list)
            }
        }
        Ok(Err(_)) => Err(invalid(format!(
            "webhook_url host `{host}` does not resolve"
        ))),
        Err(_) => Err(invalid(format!(
            "webhook_url host `{host}` did not resolve within 5 seconds"
        ))),
    }
}

/// The HTTP client for every fetch a payload, a tenant or a customer can
/// steer (webhook delivery, inbound media): redirects are never followed (a
/// 3xx is an answer, so a checked URL cannot hand the request on to an
/// unchecked one), no proxy is taken from the environment (`HTTP(S)_PROXY`
/// would connect to the proxy and resolve the name there, past
/// [`GuardedResolver`]), and, unless private targets are allowed, every name
/// resolves through [`GuardedResolver`]. IP literals never reach a resolver:
/// callers check them first ([`check`], [`literal_refusal`]).
pub fn guarded_client(allow_private: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    if allow_private {
        builder
    } else {
        builder.dns_resolver(std::sync::Arc::new(GuardedResolver))
    }
}

/// Why a host must not be contacted without a DNS look-up: a forbidden IP
/// literal, `localhost` and its subdomains, or a cloud metadata name.
/// `None` when only resolving can tell.
pub fn literal_refusal(host: &url::Host<&str>) -> Option<String> {
    match host {
        url::Host::Ipv4(ip) if forbidden_v4(*ip) => Some(format!(
            "{ip} is a private, loopback, link-local or metadata address"
        )),
        url::Host::Ipv6(ip) if forbidden_v6(*ip) => Some(format!(
            "{ip} is a private, loopback, link-local or metadata address"
        )),
        url::Host::Domain(name) => {
            let lower = name.trim_end_matches('.').to_ascii_lowercase();
            (METADATA_NAMES.contains(&lower.as_str())
                || lower == "localhost"
                || lower.ends_with(".localhost"))
            .then(|| format!("`{name}` is a local or metadata address"))
        }
        _ => None,
    }
}

/// DNS for the relay's HTTP client: resolves like the system but drops every
/// forbidden address, so a name that passed [`check`] and then re-resolves to
/// a private address (DNS rebinding) cannot be connected to.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> =
                found.filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback, link-local or metadata addresses"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// True for every address a webhook must never reach: loopback, private,
/// carrier-grade NAT, link-local (which holds the cloud metadata services),
/// unspecified, multicast, broadcast, documentation and reserved ranges, and
/// the IPv6 forms that embed such an IPv4 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 CGNAT (Alibaba metadata 100.100.100.200)
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || a >= 240 // 240/4 reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let seg = ip.segments();
    // 64:ff9b::/96 NAT64 carries an IPv4 address in its last 32 bits.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return forbidden_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (AWS metadata fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated) ::a.b.c.d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn guarded_resolver_refuses_names_of_private_addresses() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match GuardedResolver.resolve(name).await {
            Ok(_) => panic!("localhost must not resolve through the guard"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("private, loopback"), "{err}");
    }

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        crate::config::testing::from_pairs(pairs)
    }

    fn live() -> Config {
        crate::config::testing::live_with(&[])
    }

    #[test]
    fn forbidden_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn scheme_rules_depend_on_mode() {
        let sandbox = cfg(&[]);
        assert!(parse(&sandbox, "http://127.0.0.1:9/hook").is_ok());
        let l = live();
        let e = parse(&l, "http://example.com/hook").unwrap_err();
        assert_eq!(e.code(), "invalid_webhook_url");
        assert!(parse(&l, "https://example.com/hook").is_ok());
        assert!(parse(&l, "ftp://example.com/hook").is_err());
        assert!(parse(&l, "https://user:pw@example.com/hook").is_err());
        assert!(parse(&l, "example.com/hook").is_err());
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        let l = live();
        for url in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
            "https://metadata.google.internal/x",
            "https://10.0.0.5:8443/x",
        ] {
            let e = check(&l, url).await.unwrap_err();
            assert_eq!(e.code(), "webhook_target_forbidden", "{url}");
        }
        assert!(check(&l, "https://93.184.216.34/x").await.is_ok());
        assert!(check(&cfg(&[]), "http://127.0.0.1:9/x").await.is_ok());
    }
}
