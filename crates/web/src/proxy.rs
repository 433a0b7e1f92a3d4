//! Who a request came from when the server sits behind a reverse proxy:
//! the connection's peer is then the proxy, and the client is named in
//! `X-Forwarded-For`. Only proxies the site trusts may name it, or any
//! client could pick the address the login throttle and the logs see.

use std::net::IpAddr;
use std::str::FromStr;

/// An address range, `ADDR/PREFIX` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or ADDRESS/PREFIX"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the range (an IPv4 address mapped into IPv6
    /// counts as the IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
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

/// The client of a request that reached us from `peer`: read from the
/// right (each proxy appends the address it was reached from), the first
/// hop that is not a trusted proxy, when `peer` is one; `peer` otherwise.
/// `forwarded_for` holds every `X-Forwarded-For` line in order (a proxy
/// may add a line of its own rather than append). A hop that does not
/// parse (`unknown`, garbage) ends the walk at the last good one, so a
/// client cannot choose an address by sending junk; ports are dropped.
pub fn client(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev().flat_map(|line| line.rsplit(',')) {
        let Some(hop) = hop_address(hop.trim()) else {
            break;
        };
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

/// `ADDR`, `ADDR:PORT` (IPv4) or `[ADDR]:PORT` / `[ADDR]` (IPv6).
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (addr, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Whether the request's peer is a trusted proxy, whose headers (the
/// client's address, the request id) are believed.
pub fn trusted(peer: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|c| c.contains(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn ranges_hold_what_their_prefix_says() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap_or(Cidr {
            addr: ip("0.0.0.0"),
            prefix: 32,
        });
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped IPv6");
        assert!("::1".parse::<Cidr>().is_ok_and(|c| c.contains(ip("::1"))));
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .is_ok_and(|c| c.contains(ip("8.8.8.8")))
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let trusted: Vec<Cidr> = ["127.0.0.1", "10.0.0.0/8"]
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        let local = ip("127.0.0.1");
        assert_eq!(client(local, &["203.0.113.7"], &trusted), ip("203.0.113.7"));
        // A client's own claim before our proxies is not believed.
        assert_eq!(
            client(local, &["1.2.3.4, 203.0.113.7, 10.0.0.5"], &trusted),
            ip("203.0.113.7")
        );
        // A proxy that adds its own line: the client's forged line first.
        assert_eq!(
            client(local, &["1.2.3.4", "203.0.113.7"], &trusted),
            ip("203.0.113.7")
        );
        // From an untrusted peer the header means nothing.
        assert_eq!(
            client(ip("198.51.100.1"), &["1.2.3.4"], &trusted),
            ip("198.51.100.1")
        );
        // Junk ends the walk at the last good hop; ports are dropped.
        assert_eq!(
            client(local, &["garbage, 1.2.3.4"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(client(local, &["1.2.3.4, unknown"], &trusted), local);
        assert_eq!(
            client(local, &["203.0.113.7:5678"], &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client(local, &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(client(local, &[], &trusted), local);
    }
}
