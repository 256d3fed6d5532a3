//! SSRF guard: which addresses a postback may not connect to.
//!
//! Postback URLs come from operators and advertisers; without this a template
//! could make the daemon call its own admin endpoints, the VPS metadata
//! service (169.254.169.254) or the LAN. The check runs on the addresses the
//! name resolved to, inside the HTTP client's resolver, so the address checked
//! is the address connected to (no DNS rebinding between check and connect).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is not a public unicast address, or None when it is.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified",
        (0, _, _) => "\"this network\" (0.0.0.0/8)",
        (127, _, _) => "loopback",
        (10, _, _) => "private",
        (172, 16..=31, _) => "private",
        (192, 168, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "carrier-grade NAT (100.64.0.0/10)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) => "documentation (192.0.2.0/24)",
        (198, 51, 100) => "documentation (198.51.100.0/24)",
        (203, 0, 113) => "documentation (203.0.113.0/24)",
        (192, 88, 99) => "6to4 relay anycast (192.88.99.0/24)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved or broadcast",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // An IPv4 address in IPv6 clothing: ::a.b.c.d (compatible, deprecated) and
    // 64:ff9b::a.b.c.d (well-known NAT64) get the IPv4 verdict. IPv4-mapped
    // (::ffff:0:0/96) and -translated (::ffff:0:0:0/96) addresses are refused
    // outright: a public name resolves to an A record, never to these, and a
    // socket would reach the IPv4 host through them, bypassing the IPv4 rules
    // on some stacks.
    let seg = ip.segments();
    let o = ip.octets();
    let embedded = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if seg[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return Some("IPv4-mapped (::ffff:0:0/96)");
    }
    if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some("IPv4-translated (::ffff:0:0:0/96)");
    }
    if seg[..3] == [0x64, 0xff9b, 1] {
        return Some("local-use NAT64 (64:ff9b:1::/48)");
    }
    if seg[0] == 0x2002 {
        return Some("6to4 (2002::/16)");
    }
    if seg[..2] == [0x2001, 0] {
        return Some("Teredo (2001::/32)");
    }
    if seg[..2] == [0x2001, 0xdb8] {
        return Some("documentation (2001:db8::/32)");
    }
    if seg[..6] == [0; 6] {
        return forbidden_v4(embedded).or(Some("IPv4-compatible"));
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded);
    }
    Some(match seg[0] {
        s if s & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        s if s & 0xffc0 == 0xfe80 => "link-local",
        s if s & 0xffc0 == 0xfec0 => "site-local",
        s if s & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_table() {
        let refused = [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            // Issue 11: documentation, 6to4, Teredo, local NAT64, mapped/translated.
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.200",
            "192.88.99.1",
            "2002:c000:201::1",
            "2002:0808:0808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b:1::808:808",
            "::ffff:8.8.8.8",
            "::ffff:0:808:808",
            "2001:db8::1",
        ];
        for s in refused {
            assert!(
                forbidden(s.parse().unwrap()).is_some(),
                "{s} must be refused"
            );
        }
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "192.0.3.1",
            "203.0.114.1",
            "64:ff9b::808:808",
        ];
        for s in allowed {
            assert_eq!(forbidden(s.parse().unwrap()), None, "{s} must be allowed");
        }
    }
}
