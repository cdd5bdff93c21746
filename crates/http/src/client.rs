//! The client's address, for per-address rate limits.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;

/// Parses `ACCOUNTD_TRUSTED_PROXIES`: comma-separated CIDRs (a bare address
/// is a /32 or /128). Empty text gives an empty list.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not a CIDR like 10.0.0.0/8"))
        })
        .collect()
}

/// The address a request comes from: the peer, or, when the peer is a
/// trusted proxy, the right-most address of `X-Forwarded-For` that is not a
/// trusted proxy itself (the left-most ones are the client's to forge).
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack `[::]`
/// listener reports IPv4 peers) are read as the IPv4 address they are.
pub(crate) fn client_addr(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return "unknown".to_owned();
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .unwrap_or(peer)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn trusted_proxies_parse_cidrs_and_bare_addresses() {
        let v = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1 ,::1").unwrap();
        assert_eq!(v.len(), 3);
        assert!(parse_trusted_proxies("").unwrap().is_empty());
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxies("nonsense").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let trusted = parse_trusted_proxies("10.0.0.0/8").unwrap();
        let via_proxy = TestRequest::default()
            .peer_addr("10.1.2.3:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.7"))
            .to_http_request();
        assert_eq!(client_addr(&via_proxy, &trusted), "203.0.113.9");
        let direct = TestRequest::default()
            .peer_addr("198.51.100.1:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6"))
            .to_http_request();
        assert_eq!(client_addr(&direct, &trusted), "198.51.100.1");
    }
}
