//! The visitor's IP address.
//!
//! `X-Forwarded-For` is believed only when the TCP peer is a configured trusted
//! proxy; anyone else could write anything there. Each proxy appends the
//! address it received from, so the list is read right to left, skipping our
//! own proxies: the first hop that is not trusted is the client. If every hop
//! is trusted, the leftmost is the best we know. An unparsable hop ends the
//! walk at the last address we could trust.

use std::net::{IpAddr, SocketAddr};

use crate::config::IpNet;

/// The client address for a request from `peer` carrying these
/// `X-Forwarded-For` header values (in the order received).
pub fn client_ip<'h>(
    peer: Option<IpAddr>,
    trusted: &[IpNet],
    forwarded_for: impl DoubleEndedIterator<Item = &'h str>,
) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical())?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut best = peer;
    for header in forwarded_for.rev() {
        for hop in header.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                return Some(best);
            };
            if !is_trusted(ip) {
                return Some(ip);
            }
            best = ip;
        }
    }
    Some(best)
}

/// A hop is usually a bare address; some proxies add a port (`1.2.3.4:80`,
/// `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let trusted = [
            IpNet::parse("10.0.0.0/8").unwrap(),
            IpNet::parse("::1").unwrap(),
        ];
        // Untrusted peer: the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &trusted, ["1.1.1.1"].into_iter()),
            ip("203.0.113.9")
        );
        // Trusted peer: rightmost untrusted hop.
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                &trusted,
                ["6.6.6.6, 1.1.1.1, 10.0.0.2"].into_iter()
            ),
            ip("1.1.1.1")
        );
        // Several headers read as one list.
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                &trusted,
                ["6.6.6.6", "2.2.2.2:80"].into_iter()
            ),
            ip("2.2.2.2")
        );
        // All trusted: the leftmost.
        assert_eq!(
            client_ip(ip("::1"), &trusted, ["10.1.1.1, 10.2.2.2"].into_iter()),
            ip("10.1.1.1")
        );
        // Garbage stops the walk at the last trusted address.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &trusted, ["1.1.1.1, junk"].into_iter()),
            ip("10.0.0.1")
        );
        // No header.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &trusted, std::iter::empty()),
            ip("10.0.0.1")
        );
        // IPv4-mapped peers are stored as IPv4.
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), &trusted, std::iter::empty()),
            ip("192.0.2.1")
        );
        assert_eq!(
            client_ip(
                ip("::ffff:10.0.0.1"),
                &trusted,
                ["[2001:db8::1]:443"].into_iter()
            ),
            ip("2001:db8::1")
        );
    }
}
