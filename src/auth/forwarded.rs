//! Who the client is: the TCP peer, or — behind proxies the operator named with
//! `--trusted-proxies` — the address those proxies say they received the request from.
//!
//! `X-Forwarded-For` is a list each proxy appends its own peer to, so only its right end is
//! worth anything: whoever sent the request first can write any addresses they like at the
//! left. The rule is therefore the rightmost untrusted address: start at the TCP peer and,
//! while the current hop is a trusted proxy, step one entry left to the address that proxy
//! reported. The first address that is not a trusted proxy is the client. Without trusted
//! proxies the header is never read, so nobody can choose their own address.
//!
//! Entries are read one by one from the raw bytes, so a garbled entry sent by the client
//! (left of what the proxy appended) cannot spoil the entry the proxy added. If a trusted
//! proxy itself reports something unreadable, the client is taken to be that proxy.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// Most entries of a forwarded chain read: more trusted hops than this is a loop or a lie.
const MAX_HOPS: usize = 16;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client's address: `peer`, or the rightmost address in `forwarded_for` (the
    /// `X-Forwarded-For` values in the order received) reached through trusted proxies.
    pub fn client(&self, peer: Option<SocketAddr>, forwarded_for: &[&[u8]]) -> Option<IpAddr> {
        let mut client = peer?.ip().to_canonical();
        if self.0.is_empty() {
            return Some(client);
        }
        let mut entries = forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(|&byte| byte == b','));
        for _ in 0..MAX_HOPS {
            if !self.trusts(client) {
                break;
            }
            match entries.next().and_then(parse_entry) {
                Some(reported) => client = reported,
                None => break,
            }
        }
        Some(client)
    }
}

/// One entry of `X-Forwarded-For`: an address, perhaps with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:443`) as some proxies write it.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim();
    let address = text
        .parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|socket| socket.ip()))
        .or_else(|_| {
            text.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(text)
                .parse::<Ipv6Addr>()
                .map(IpAddr::V6)
        })
        .ok()?;
    Some(address.to_canonical())
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a single address (`192.0.2.1`), for the
/// command line.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|network| network.trunc())
        .map_err(|_| format!("{text:?} is neither an address nor a CIDR network"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| parse_network(n).unwrap()).collect())
    }

    fn peer(address: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(address.parse().unwrap(), 40_000))
    }

    fn ip(address: &str) -> Option<IpAddr> {
        Some(address.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_never_read() {
        let none = TrustedProxies::default();
        let chain: &[&[u8]] = &[b"203.0.113.7"];
        assert_eq!(none.client(peer("10.0.0.5"), chain), ip("10.0.0.5"));
        assert_eq!(none.client(None, chain), None);
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let chain: &[&[u8]] = &[b"203.0.113.7"];
        assert_eq!(trusted.client(peer("192.0.2.9"), chain), ip("192.0.2.9"));
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        // The client wrote "198.51.100.1" itself; the edge proxy 192.0.2.1 appended the
        // real peer, and the inner proxy 10.1.1.1 appended the edge proxy.
        let chain: &[&[u8]] = &[b"198.51.100.1, 203.0.113.7, 192.0.2.1"];
        assert_eq!(trusted.client(peer("10.1.1.1"), chain), ip("203.0.113.7"));
        // The same chain in separate header lines reads the same.
        let lines: &[&[u8]] = &[b"198.51.100.1", b"203.0.113.7", b"192.0.2.1"];
        assert_eq!(trusted.client(peer("10.1.1.1"), lines), ip("203.0.113.7"));
    }

    #[test]
    fn a_chain_of_only_trusted_hops_ends_at_its_leftmost() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let chain: &[&[u8]] = &[b"10.0.0.3, 10.0.0.2"];
        assert_eq!(trusted.client(peer("10.0.0.1"), chain), ip("10.0.0.3"));
        assert_eq!(trusted.client(peer("10.0.0.1"), &[]), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_left_of_the_proxys_entry_does_not_matter() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let chain: &[&[u8]] = &[b"\xff\xfe nonsense, 203.0.113.7"];
        assert_eq!(trusted.client(peer("10.0.0.1"), chain), ip("203.0.113.7"));
        // Unreadable where the proxy should have written: the proxy is the client.
        let chain: &[&[u8]] = &[b"203.0.113.7, unknown"];
        assert_eq!(trusted.client(peer("10.0.0.1"), chain), ip("10.0.0.1"));
    }

    #[test]
    fn entries_with_ports_brackets_and_mapped_addresses_are_read() {
        let trusted = proxies(&["10.0.0.0/8"]);
        for (entry, expected) in [
            (&b" 203.0.113.7:4711 "[..], "203.0.113.7"),
            (b"[2001:db8::1]:443", "2001:db8::1"),
            (b"[2001:db8::1]", "2001:db8::1"),
            (b"::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            assert_eq!(trusted.client(peer("10.0.0.1"), &[entry]), ip(expected));
        }
        // A peer on a dual-stack socket is matched as the IPv4 address it is.
        assert_eq!(
            trusted.client(peer("::ffff:10.0.0.1"), &[b"203.0.113.7"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn networks_parse_as_cidrs_or_single_addresses() {
        assert_eq!(
            parse_network("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network(" 192.0.2.1").unwrap().to_string(),
            "192.0.2.1/32"
        );
        assert_eq!(
            parse_network("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        for bad in ["", "10.0.0.0/33", "example.com", "10.0.0"] {
            assert!(parse_network(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_long_chain_of_trusted_hops_is_cut_short() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let chain = (0..100)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect::<Vec<_>>()
            .join(",");
        let client = trusted.client(peer("10.9.9.9"), &[chain.as_bytes()]);
        // Sixteen hops from the right: entries 99 down to 84.
        assert_eq!(client, ip("10.0.0.84"));
    }
}
