//! The caller's IP address, for throttles. Behind a reverse proxy the TCP peer
//! is the proxy and `X-Forwarded-For` names the client; but anybody can send
//! that header, so it counts only when the peer is one of
//! `SWITCHBOARD_TRUSTED_PROXIES`, and then only up to the rightmost hop that is
//! not itself a trusted proxy (everything left of it was written by the client).

use std::net::{IpAddr, SocketAddr};

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?
            .to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{s}`: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// `SWITCHBOARD_TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For`
/// is believed. Empty (the default): the header is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// A comma- or space-separated list of CIDR blocks or addresses.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer itself unless it is a trusted proxy;
    /// then the rightmost `X-Forwarded-For` hop that is not a trusted proxy.
    /// `forwarded_for` are the header's values in the order received.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that does not parse was not written by a proxy we trust;
            // the last trusted hop is then the best we know.
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }

    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            "(none: X-Forwarded-For ignored)".into()
        } else {
            self.0
                .iter()
                .map(Cidr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// `203.0.113.5`, `2001:db8::1`, `203.0.113.5:4711` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.9.9.9")), "v4-mapped v6 is v4");
        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains(ip("2001:db8::1")) && !c.contains(ip("2001:db9::1")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("10.0.0.0/8, 192.168.0.1 ::1").is_ok());
        assert!(TrustedProxies::parse("10.0.0.0/8,nope").is_err());
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_peers() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), ["1.2.3.4"]),
            ip("127.0.0.1")
        );
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // An untrusted peer's header is ignored.
        assert_eq!(t.client_ip(ip("8.8.8.8"), ["1.2.3.4"]), ip("8.8.8.8"));
        // The rightmost untrusted hop; what the client wrote on the left is ignored.
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["6.6.6.6, 203.0.113.5, 10.0.0.7"]),
            ip("203.0.113.5")
        );
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["6.6.6.6", "203.0.113.5:4711"]),
            ip("203.0.113.5")
        );
        // Garbage right of every real hop: the last trusted address.
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["evil"]), ip("127.0.0.1"));
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), ["1.1.1.1, junk, 10.0.0.7"]),
            ip("10.0.0.7")
        );
        // No header: the proxy itself.
        assert_eq!(t.client_ip(ip("127.0.0.1"), []), ip("127.0.0.1"));
    }
}
