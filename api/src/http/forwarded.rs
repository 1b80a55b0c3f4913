//! Who a request really comes from behind a reverse proxy (nginx, Caddy): `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host` and RFC 7239 `Forwarded` count only when the peer is
//! one of the `--trusted-proxies`; from anyone else they are ignored, so a client cannot choose
//! its own address (for rate limits and the audit log) or the links the service writes.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// An address block: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `192.168.0.0/16`, `fd00::/8` or a single address.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
        let network: IpAddr = address.parse().map_err(|_| format!("{text:?} is not an address or address block"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            "" => most,
            p => {
                p.parse().ok().filter(|p| *p <= most).ok_or_else(|| format!("{text:?}: the prefix is not 0–{most}"))?
            }
        };
        Ok(Cidr { network, prefix })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(text: &str) -> Result<Vec<Cidr>, String> {
        text.split(',').filter(|p| !p.trim().is_empty()).map(Cidr::parse).collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if ip.is_ipv4() != self.network.is_ipv4() {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        bits(ip) & mask == bits(self.network) & mask
    }
}

/// Where a request comes from, as far as the service can trust it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Client {
    /// The client's address: the peer, or behind trusted proxies the first address they did
    /// not add themselves.
    pub ip: Option<IpAddr>,
    /// `https` or `http` as the client used it, when a trusted proxy says.
    pub proto: Option<String>,
    /// The host the client asked for, when a trusted proxy says.
    pub host: Option<String>,
}

/// The client of a request from `peer` with `headers`, trusting the forwarding headers only
/// from `trusted` peers.
pub fn client(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[Cidr]) -> Client {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let Some(peer) = peer.filter(|p| is_trusted(*p)) else {
        return Client { ip: peer, proto: None, host: None };
    };
    let text = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    };
    // RFC 7239 first: `Forwarded: for=192.0.2.60;proto=https;host=gw.example.org, for=…`.
    let forwarded: Vec<Vec<(String, String)>> = text("forwarded")
        .into_iter()
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
                .collect()
        })
        .collect();
    let field =
        |element: &[(String, String)], key: &str| element.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let hops: Vec<String> = if forwarded.is_empty() {
        text("x-forwarded-for")
    } else {
        forwarded.iter().filter_map(|e| field(e, "for")).collect()
    };
    // From the right: each trusted proxy appended the address it saw; the first one not trusted
    // is the client (anything left of it the client may have written itself).
    let hops: Vec<IpAddr> = hops.iter().filter_map(|h| address_of(h)).collect();
    let ip = hops.iter().rev().copied().find(|ip| !is_trusted(*ip)).or_else(|| hops.first().copied()).unwrap_or(peer);
    let first = forwarded.first();
    let proto = first
        .and_then(|e| field(e, "proto"))
        .or_else(|| text("x-forwarded-proto").into_iter().next())
        .map(|p| p.to_ascii_lowercase())
        .filter(|p| p == "https" || p == "http");
    let host = first.and_then(|e| field(e, "host")).or_else(|| text("x-forwarded-host").into_iter().next());
    Client { ip: Some(ip), proto, host }
}

/// An address as forwarding headers write it: `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::1]:4711`
/// or `2001:db8::1`.
fn address_of(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn blocks_contain_their_addresses() {
        let block = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(block.contains("10.1.2.3".parse().expect("ip")));
        assert!(!block.contains("11.0.0.1".parse().expect("ip")));
        assert!(block.contains("::ffff:10.0.0.9".parse().expect("mapped")), "IPv4 on a dual-stack socket");
        assert!(Cidr::parse("::1").expect("v6").contains("::1".parse().expect("ip")));
        assert!(Cidr::parse("0.0.0.0/0").expect("all").contains("8.8.8.8".parse().expect("ip")));
        assert!(Cidr::parse("10.0.0.0/33").is_err() && Cidr::parse("proxy").is_err());
        assert_eq!(Cidr::parse_list("127.0.0.1, 10.0.0.0/8").map(|l| l.len()), Ok(2));
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted = Cidr::parse_list("127.0.0.1,10.0.0.0/8").expect("list");
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let stranger: IpAddr = "203.0.113.9".parse().expect("ip");
        let forwarded = headers(&[
            ("x-forwarded-for", "1.2.3.4, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "gw.example.org"),
        ]);
        // Through the proxy: the rightmost address it did not add itself.
        let via_proxy = client(&forwarded, Some(proxy), &trusted);
        assert_eq!(via_proxy.ip, Some("198.51.100.7".parse().expect("ip")));
        assert_eq!((via_proxy.proto.as_deref(), via_proxy.host.as_deref()), (Some("https"), Some("gw.example.org")));
        // From anyone else the headers are the client's own words: ignored.
        assert_eq!(
            client(&forwarded, Some(stranger), &trusted),
            Client { ip: Some(stranger), proto: None, host: None }
        );
        // Two proxies in a row, and the RFC 7239 form with a port and IPv6.
        let chain = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.9")]);
        assert_eq!(client(&chain, Some(proxy), &trusted).ip, Some("198.51.100.7".parse().expect("ip")));
        let rfc = headers(&[("forwarded", "for=\"[2001:db8::17]:4711\";proto=https;host=gw.example.org")]);
        let seen = client(&rfc, Some(proxy), &trusted);
        assert_eq!(seen.ip, Some("2001:db8::17".parse().expect("ip")));
        assert_eq!(seen.proto.as_deref(), Some("https"));
        // A proto that is no scheme is dropped rather than written into links.
        let odd = headers(&[("x-forwarded-proto", "javascript")]);
        assert_eq!(client(&odd, Some(proxy), &trusted).proto, None);
        assert_eq!(client(&odd, Some(proxy), &trusted).ip, Some(proxy), "no forwarded address: the proxy itself");
    }
}
