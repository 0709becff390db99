//! Redirect URI patterns (SPEC §3.2): where the hosted connect flow may send a
//! browser back to. A pattern is an https URL in which `*` may stand for exactly
//! one whole DNS label, leftmost in the host (`https://*.example.com/cb`).
//! Matching is exact on scheme, host, port and path; the request's query string
//! is ignored for matching (and kept on the redirect).

use url::{Host, Url};

/// Placeholder that stands in for `*` while the URL parser normalises the host.
const WILDCARD_LABEL: &str = "sb-wildcard-label";

/// Longest pattern and longest redirect URI, in bytes: every setup request
/// reparses the account's patterns and matches the candidate against each.
pub const MAX_URI_LEN: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectPattern {
    scheme: String,
    /// Lower-case ASCII (punycode) host, without the wildcard label.
    host: String,
    wildcard: bool,
    port: u16,
    path: String,
    original: String,
}

/// Loopback hosts, for which plain http is accepted in sandbox mode.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => *d == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl RedirectPattern {
    /// Parses and checks a pattern. `allow_http_loopback` admits `http://localhost…`
    /// (sandbox mode, local development). The error names what is wrong.
    pub fn parse(raw: &str, allow_http_loopback: bool) -> Result<RedirectPattern, String> {
        let raw = raw.trim();
        if raw.len() > MAX_URI_LEN {
            return Err(format!("uri_pattern: at most {MAX_URI_LEN} characters"));
        }
        let (scheme_part, rest) = raw.split_once("://").ok_or_else(|| {
            "uri_pattern must be an absolute URL such as https://app.example.com/callback"
                .to_string()
        })?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if tail.contains('*') {
            return Err("uri_pattern: `*` is only allowed as a whole label of the host".into());
        }
        let labels: Vec<&str> = authority
            .split(':')
            .next()
            .unwrap_or_default()
            .split('.')
            .collect();
        let wildcard = labels.first() == Some(&"*");
        if labels.iter().any(|l| l.contains('*') && *l != "*") {
            return Err(
                "uri_pattern: `*` must be a whole label of the host, as in https://*.example.com/cb"
                    .into(),
            );
        }
        if labels.iter().skip(1).any(|l| l.contains('*')) || (!wildcard && authority.contains('*'))
        {
            return Err("uri_pattern: `*` may only stand for one whole label, the leftmost of the host, as in https://*.example.com/cb".into());
        }
        if wildcard && labels.len() < 3 {
            return Err("uri_pattern: a wildcard needs a registrable domain after it, as in https://*.example.com/cb".into());
        }
        let parseable = if wildcard {
            format!("{scheme_part}://{WILDCARD_LABEL}{}", &authority[1..]) + tail
        } else {
            raw.to_string()
        };
        let url =
            Url::parse(&parseable).map_err(|e| format!("uri_pattern is not a valid URL: {e}"))?;
        let host = url
            .host()
            .ok_or_else(|| "uri_pattern needs a host".to_string())?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http_loopback && is_loopback(&host) && !wildcard => {}
            _ => return Err("uri_pattern must use https".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("uri_pattern must not contain a user name or password".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("uri_pattern must not contain a query string or fragment; the query of a redirect is kept as sent".into());
        }
        if wildcard && !matches!(host, Host::Domain(_)) {
            return Err("uri_pattern: a wildcard only works with a DNS name".into());
        }
        let mut host = host.to_string();
        if wildcard {
            host = host
                .strip_prefix(&format!("{WILDCARD_LABEL}."))
                .ok_or_else(|| "uri_pattern: the wildcard must be the leftmost label".to_string())?
                .to_string();
        }
        Ok(RedirectPattern {
            scheme: url.scheme().to_string(),
            host,
            wildcard,
            port: url.port_or_known_default().unwrap_or(443),
            path: url.path().to_string(),
            original: raw.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// True when `candidate` (a full redirect URI, query allowed) fits the pattern.
    pub fn matches(&self, candidate: &str) -> bool {
        candidate_url(candidate).is_some_and(|url| self.matches_url(&url))
    }

    fn matches_url(&self, url: &Url) -> bool {
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        if url.scheme() != self.scheme
            || url.port_or_known_default() != Some(self.port)
            || url.path() != self.path
        {
            return false;
        }
        let Some(host) = url.host() else { return false };
        let host = host.to_string();
        if self.wildcard {
            match host.split_once('.') {
                Some((first, rest)) => !first.is_empty() && rest == self.host,
                None => false,
            }
        } else {
            host == self.host
        }
    }
}

/// A redirect URI as sent, parsed once; none when longer than [`MAX_URI_LEN`].
fn candidate_url(candidate: &str) -> Option<Url> {
    let candidate = candidate.trim();
    if candidate.len() > MAX_URI_LEN {
        return None;
    }
    Url::parse(candidate).ok()
}

/// The first pattern `candidate` fits, if any.
pub fn find_match<'a>(
    patterns: &'a [RedirectPattern],
    candidate: &str,
) -> Option<&'a RedirectPattern> {
    let url = candidate_url(candidate)?;
    patterns.iter().find(|p| p.matches_url(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RedirectPattern {
        RedirectPattern::parse(s, false).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn exact_patterns_match_scheme_host_port_and_path() {
        let pat = p("https://app.example.com/cb");
        assert!(pat.matches("https://app.example.com/cb"));
        assert!(
            pat.matches("https://APP.Example.com/cb"),
            "hosts compare case-insensitively"
        );
        assert!(
            pat.matches("https://app.example.com:443/cb"),
            "default port is the same port"
        );
        assert!(
            pat.matches("https://app.example.com/cb?state=1&x=2"),
            "query is ignored"
        );
        assert!(
            !pat.matches("https://app.example.com/cb/"),
            "trailing slash is another path"
        );
        assert!(
            !pat.matches("https://app.example.com/CB"),
            "paths are case-sensitive"
        );
        assert!(
            !pat.matches("https://app.example.com:8443/cb"),
            "other port"
        );
        assert!(!pat.matches("http://app.example.com/cb"), "other scheme");
        let long = format!("https://app.example.com/cb?x={}", "a".repeat(MAX_URI_LEN));
        assert!(!pat.matches(&long), "longer than a redirect URI may be");
        let long_pattern = format!("https://app.example.com/{}", "a".repeat(MAX_URI_LEN));
        assert!(RedirectPattern::parse(&long_pattern, false).is_err());
        assert!(
            !pat.matches("https://app.example.com/cb#frag"),
            "fragments are refused"
        );
        assert!(
            !pat.matches("https://user@app.example.com/cb"),
            "userinfo is refused"
        );
        assert!(!pat.matches("https://app.example.com.evil.io/cb"));
        assert!(!pat.matches("not a url"));
    }

    #[test]
    fn explicit_ports_must_match() {
        let pat = p("https://app.example.com:8443/cb");
        assert!(pat.matches("https://app.example.com:8443/cb"));
        assert!(!pat.matches("https://app.example.com/cb"));
    }

    #[test]
    fn wildcard_is_exactly_one_label() {
        let pat = p("https://*.example.com/cb");
        assert!(pat.matches("https://shop.example.com/cb"));
        assert!(pat.matches("https://Shop-2.example.com/cb?x=1"));
        assert!(
            !pat.matches("https://example.com/cb"),
            "the label must exist"
        );
        assert!(!pat.matches("https://a.b.example.com/cb"), "only one label");
        assert!(!pat.matches("https://shop.example.org/cb"));
        assert!(!pat.matches("https://shopexample.com/cb"));
        assert!(!pat.matches("https://shop.example.com/other"));
    }

    #[test]
    fn idn_hosts_compare_in_punycode() {
        let pat = p("https://bücher.example/cb");
        assert!(pat.matches("https://xn--bcher-kva.example/cb"));
        assert!(pat.matches("https://BÜCHER.example/cb"));
        let wild = p("https://*.bücher.example/cb");
        assert!(wild.matches("https://shop.xn--bcher-kva.example/cb"));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for (bad, why) in [
            ("http://app.example.com/cb", "https"),
            ("app.example.com/cb", "absolute"),
            ("https://a*.example.com/cb", "whole label"),
            ("https://app.*.example.com/cb", "leftmost"),
            ("https://*.com/cb", "registrable"),
            ("https://app.example.com/*", "whole label"),
            ("https://app.example.com/cb?x=1", "query"),
            ("https://app.example.com/cb#f", "fragment"),
            ("https://u:p@app.example.com/cb", "user name"),
            ("https://*.127.0.0.1/cb", "valid URL"),
        ] {
            let err = RedirectPattern::parse(bad, false).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn http_loopback_only_when_allowed() {
        assert!(RedirectPattern::parse("http://localhost:5173/cb", false).is_err());
        let pat = RedirectPattern::parse("http://localhost:5173/cb", true).unwrap();
        assert!(pat.matches("http://localhost:5173/cb?code=x"));
        assert!(!pat.matches("http://localhost:5174/cb"));
        assert!(RedirectPattern::parse("http://example.com/cb", true).is_err());
        assert!(RedirectPattern::parse("http://127.0.0.1:9/cb", true).is_ok());
    }

    #[test]
    fn find_match_picks_the_first_fitting_pattern() {
        let pats = vec![p("https://a.example.com/cb"), p("https://*.example.com/cb")];
        assert_eq!(
            find_match(&pats, "https://b.example.com/cb")
                .unwrap()
                .as_str(),
            "https://*.example.com/cb"
        );
        assert!(find_match(&pats, "https://b.example.net/cb").is_none());
    }
}
