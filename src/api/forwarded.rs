//! Who is really calling, behind a load balancer. The socket's peer is the balancer; the
//! client's address, scheme and host arrive in `Forwarded` (RFC 7239) or `X-Forwarded-For`,
//! `-Proto` and `-Host`, which anyone can send. They are believed only when the peer is one of
//! `TRUSTED_PROXIES`, only from the one header `FORWARDED_HEADER` names (the one the proxy
//! writes: a caller may add the other, and a proxy passes it on untouched), and the client is
//! the nearest address in the chain that is not a trusted proxy itself. Login throttling, logs
//! and the FHIR bundle's `fullUrl` all use this.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HOST};
use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::config::{ForwardedHeader, Settings};

fn trusted(proxies: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    proxies.iter().any(|net| net.contains(&ip))
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The parameters of each element of a `Forwarded` header, in order: `(name, value)` pairs
/// with names lowercased and quotes removed.
fn forwarded_elements(headers: &HeaderMap) -> Vec<Vec<(String, String)>> {
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| {
                    (
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

/// A node of a forwarding chain as an address: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`
/// or `[2001:db8::1]:4711`; `None` for `unknown`, obfuscated names and garbage.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':')
        .and_then(|(host, _port)| host.parse::<std::net::Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

/// The forwarding chain, client first, from the one header the proxy writes: `Forwarded`'s
/// `for=` values, or `X-Forwarded-For`.
fn chain(headers: &HeaderMap, which: ForwardedHeader) -> Vec<Option<IpAddr>> {
    if which == ForwardedHeader::Forwarded {
        return forwarded_elements(headers)
            .iter()
            .filter_map(|element| element.iter().find(|(k, _)| k == "for"))
            .map(|(_, v)| node_ip(v))
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(node_ip)
        .collect()
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
/// address of the forwarding chain that is not a trusted proxy (an unreadable one ends the
/// walk at the last proxy that vouched for it).
pub fn resolve_client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    proxies: &[IpNet],
    which: ForwardedHeader,
) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted(proxies, client) {
        return client;
    }
    for node in chain(headers, which).into_iter().rev() {
        match node {
            Some(ip) => {
                client = canonical(ip);
                if !trusted(proxies, client) {
                    return client;
                }
            }
            None => return client,
        }
    }
    client
}

/// The scheme and host the client used: from a trusted proxy's `Forwarded` (`proto=`,
/// `host=` of its first element) or `X-Forwarded-Proto`/`-Host`, whichever `which` names; else
/// `http` and `Host`.
pub fn resolve_origin(
    peer: IpAddr,
    headers: &HeaderMap,
    proxies: &[IpNet],
    which: ForwardedHeader,
) -> (String, Option<String>) {
    let own_host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !trusted(proxies, peer) {
        return ("http".into(), own_host);
    }
    let first = match which {
        ForwardedHeader::Forwarded => forwarded_elements(headers)
            .into_iter()
            .next()
            .unwrap_or_default(),
        ForwardedHeader::XForwardedFor => vec![],
    };
    let param = |name: &str| {
        first
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let header = |name: &str| {
        (which == ForwardedHeader::XForwardedFor)
            .then(|| headers.get(name))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let scheme = param("proto")
        .or_else(|| header("x-forwarded-proto"))
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| "http".into());
    let host = param("host")
        .or_else(|| header("x-forwarded-host"))
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .or(own_host);
    (scheme, host)
}

fn peer(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip())
}

/// Whether the caller is on this machine and talks to the service directly: the socket's peer
/// is a loopback address that is not a trusted proxy (a proxy on this machine speaks for
/// callers anywhere).
pub fn is_direct_local(req: &HttpRequest, settings: &Settings) -> bool {
    let peer = canonical(peer(req));
    peer.is_loopback() && !trusted(&settings.trusted_proxies, peer)
}

/// The caller's address, as the throttles and logs see it.
pub fn client_ip(req: &HttpRequest, settings: &Settings) -> String {
    resolve_client_ip(
        peer(req),
        req.headers(),
        &settings.trusted_proxies,
        settings.forwarded_header,
    )
    .to_string()
}

/// `scheme://host` as the caller reached the API, e.g. `https://api.example.org`.
pub fn public_origin(req: &HttpRequest, settings: &Settings) -> String {
    let (scheme, host) = resolve_origin(
        peer(req),
        req.headers(),
        &settings.trusted_proxies,
        settings.forwarded_header,
    );
    format!("{scheme}://{}", host.unwrap_or_else(|| "localhost".into()))
}

/// Whether the caller reached the API over https (through a trusted proxy that says so).
pub fn is_https(req: &HttpRequest, settings: &Settings) -> bool {
    resolve_origin(
        peer(req),
        req.headers(),
        &settings.trusted_proxies,
        settings.forwarded_header,
    )
    .0 == "https"
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=198.51.100.1"),
        ]);
        assert_eq!(
            resolve_client_ip(ip("192.0.2.7"), &h, &[], XFF),
            ip("192.0.2.7")
        );
        assert_eq!(
            resolve_client_ip(ip("192.0.2.7"), &h, &nets(&["10.0.0.0/8"]), XFF),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let proxies = nets(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &h, &proxies, XFF),
            ip("203.0.113.9")
        );
        // A spoofed entry on the left is not believed: the nearest untrusted address wins.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &h, &proxies, XFF),
            ip("203.0.113.9")
        );
        let h = headers(&[(
            "forwarded",
            r#"for=198.51.100.4;proto=https, for="[2001:db8::1]:4711""#,
        )]);
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &h, &proxies, FWD),
            ip("2001:db8::1")
        );
        let h = headers(&[("forwarded", "for=198.51.100.4:5555")]);
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &h, &proxies, FWD),
            ip("198.51.100.4")
        );
        // Nothing forwarded, or nothing readable: the proxy itself.
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &headers(&[]), &proxies, XFF),
            ip("10.1.2.3")
        );
        let h = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(
            resolve_client_ip(ip("10.1.2.3"), &h, &proxies, XFF),
            ip("10.1.2.3")
        );
        // IPv4-mapped peers match IPv4 ranges.
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolve_client_ip(ip("::ffff:10.1.2.3"), &h, &proxies, XFF),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn scheme_and_host_come_only_from_trusted_proxies() {
        let proxies = nets(&["127.0.0.1/32"]);
        let h = headers(&[
            ("host", "10.0.0.2:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.org"),
        ]);
        assert_eq!(
            resolve_origin(ip("127.0.0.1"), &h, &proxies, XFF),
            ("https".to_string(), Some("api.example.org".to_string()))
        );
        assert_eq!(
            resolve_origin(ip("192.0.2.1"), &h, &proxies, XFF),
            ("http".to_string(), Some("10.0.0.2:8080".to_string()))
        );
        let h = headers(&[
            ("host", "a"),
            (
                "forwarded",
                "for=1.2.3.4;proto=https;host=\"api.example.org\"",
            ),
        ]);
        assert_eq!(
            resolve_origin(ip("127.0.0.1"), &h, &proxies, FWD),
            ("https".to_string(), Some("api.example.org".to_string()))
        );
        // A host with characters no host has is ignored.
        let h = headers(&[("host", "a"), ("x-forwarded-host", "evil.example/<script>")]);
        assert_eq!(
            resolve_origin(ip("127.0.0.1"), &h, &proxies, XFF).1,
            Some("a".to_string())
        );
    }

    /// Security review finding 3: behind a proxy that appends `X-Forwarded-For`, a caller's own
    /// `Forwarded: for=…` overrode it, dodging every per-address throttle and forging log
    /// addresses. Only the header the proxy writes is read.
    #[test]
    fn only_the_header_the_proxy_writes_is_read() {
        let proxies = nets(&["127.0.0.1/32"]);
        let h = headers(&[
            ("forwarded", "for=192.0.2.200;proto=https;host=evil.example"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), &h, &proxies, XFF),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve_origin(ip("127.0.0.1"), &h, &proxies, XFF),
            ("http".to_string(), None)
        );
        let h = headers(&[
            ("forwarded", "for=198.51.100.4"),
            ("x-forwarded-for", "192.0.2.200"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), &h, &proxies, FWD),
            ip("198.51.100.4")
        );
        assert_eq!(resolve_origin(ip("127.0.0.1"), &h, &proxies, FWD).0, "http");
    }
}
