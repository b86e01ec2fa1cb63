package main

import (
	"net"
	"net/netip"
	"strings"
	"time"
)

// spreadsSource reports whether connections to address can come from the
// many loopback addresses 127.0.0.2–127.0.0.201 rather than 127.0.0.1:
// TCP to an IPv4 loopback address, where the whole of 127/8 is local
// (Linux; elsewhere only 127.0.0.1 may be). Each source address has its
// own ephemeral ports, so neither many held connections (idle) nor the
// TIME_WAIT of many closed ones (churn) runs the client out of ports.
func spreadsSource(network, address string) bool {
	ap, err := netip.ParseAddrPort(address)
	return loopbackIs8 && err == nil && ap.Addr().Is4() && ap.Addr().IsLoopback() && strings.HasPrefix(network, "tcp")
}

// dialerFrom returns a dialer for the i'th connection: from source
// address 127.0.0.(2+i%200) if spread, with the port left to connect, which
// can then share it between destinations (bindNoPort).
func dialerFrom(spread bool, i int, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if spread {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%200))}
		d.Control = bindNoPort
	}
	return d
}
