package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// rules decide which destinations the proxy connects to. They are checked
// on the address actually dialled, after name resolution, so a name that
// resolves (or re-resolves: DNS rebinding) to a refused address is refused
// too.
//
// The most specific prefix that contains the address decides: an address
// in an -allow prefix longer than every -deny prefix containing it is
// allowed, and the other way round; on a tie, deny wins. An address no rule
// names is allowed unless it is in one of the special ranges below (this
// host, private networks, link-local, multicast…): a proxy open to them by
// default would hand any client the services listening on this machine and
// its network.
type rules struct {
	allow, deny []netip.Prefix
}

// special are the ranges refused unless an -allow prefix names them.
var special = mustPrefixes(
	"0.0.0.0/8",      // "this network"; 0.0.0.0 is this host
	"10.0.0.0/8",     // private
	"100.64.0.0/10",  // shared address space (carrier-grade NAT)
	"127.0.0.0/8",    // loopback
	"169.254.0.0/16", // link-local, and cloud metadata services
	"172.16.0.0/12",  // private
	"192.0.0.0/24",   // IETF protocol assignments
	"192.168.0.0/16", // private
	"198.18.0.0/15",  // benchmarking
	"224.0.0.0/4",    // multicast
	"240.0.0.0/4",    // reserved, and the broadcast address
	"::/96",          // unspecified, loopback, IPv4-compatible
	"fc00::/7",       // unique local (private)
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
	"100::/64",       // discard-only
	"2001:db8::/32",  // documentation
)

func mustPrefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// parsePrefix parses a rule's CIDR prefix, or a single address. A prefix
// of IPv4-mapped IPv6 addresses is turned into the IPv4 prefix it stands
// for, since addresses are checked as IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil && !strings.Contains(s, "/") {
		var ip netip.Addr
		if ip, err = netip.ParseAddr(s); err == nil {
			pfx = netip.PrefixFrom(ip, ip.BitLen())
		}
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a CIDR prefix or an address: %q", s)
	}
	if ip := pfx.Addr(); ip.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(ip.Unmap(), pfx.Bits()-96)
	}
	return pfx.Masked(), nil
}

// canonical returns the address a connection to ip reaches: an
// IPv4-mapped address is the IPv4 address, and the unspecified address
// (0.0.0.0, ::) is this host, which the kernel reaches through loopback.
func canonical(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	switch {
	case ip == netip.IPv4Unspecified():
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip == netip.IPv6Unspecified():
		return netip.IPv6Loopback()
	}
	return ip
}

// allowed reports whether the rules let the proxy connect to ip.
func (rs rules) allowed(ip netip.Addr) bool {
	ip = canonical(ip)
	bits, ok := -1, true
	for _, p := range special {
		if p.Contains(ip) {
			ok = false
			break
		}
	}
	for _, p := range rs.allow {
		if p.Contains(ip) && p.Bits() > bits {
			bits, ok = p.Bits(), true
		}
	}
	for _, p := range rs.deny {
		if p.Contains(ip) && p.Bits() >= bits {
			bits, ok = p.Bits(), false
		}
	}
	return ok
}
