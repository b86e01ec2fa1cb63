//go:build linux

package socketserver_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// TestEventAddresses: Event mode reads the kernel's addresses itself
// (accept, recvfrom, getsockname) and replies to a datagram's sender from
// its RemoteAddr. A reply goes back in the family the datagram came in: an
// IPv4 client of a dual-stack socket has a v4-mapped address. A wildcard
// listener's connections have the address the client reached as
// LocalAddr.
func TestEventAddresses(t *testing.T) {
	for _, tc := range []struct{ network, listen, dial string }{
		{network: "udp", listen: "127.0.0.1:0", dial: "127.0.0.1"},
		{network: "udp", listen: "[::1]:0", dial: "::1"},
		{network: "udp", listen: ":0", dial: "127.0.0.1"}, // dual stack, v4-mapped sender
		{network: "tcp", listen: ":0", dial: "127.0.0.1"},
		{network: "tcp", listen: ":0", dial: "::1"},
	} {
		t.Run(tc.network+"-"+tc.listen+"-"+tc.dial, func(t *testing.T) {
			remotes := make(chan net.Addr, 1)
			locals := make(chan net.Addr, 1)
			srv := &socketserver.Server{Network: tc.network, Addr: tc.listen, Mode: socketserver.Event{Loops: 1},
				EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
					select {
					case remotes <- c.RemoteAddr():
						locals <- c.LocalAddr()
					default:
					}
					c.Write(in)
					return len(in)
				}}}
			addr := servetest.Serve(t, srv)
			_, port, _ := net.SplitHostPort(addr.String())
			c, err := net.DialTimeout(tc.network, net.JoinHostPort(tc.dial, port), time.Second)
			if err != nil {
				t.Skipf("no %s on this machine: %v", tc.dial, err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("reply %q, %v", buf[:n], err)
			}
			remote, local := <-remotes, <-locals
			mine := c.LocalAddr()
			if remote.Network() != tc.network || !sameHostPort(remote, mine) {
				t.Errorf("RemoteAddr %v (%s), want the client's %v", remote, remote.Network(), mine)
			}
			if tc.network == "tcp" && !sameHostPort(local, c.RemoteAddr()) {
				t.Errorf("LocalAddr %v, want the address reached, %v", local, c.RemoteAddr())
			}
		})
	}
}

// sameHostPort compares two IP addresses, a v4-mapped IPv6 one equal to
// its IPv4 form.
func sameHostPort(a, b net.Addr) bool {
	ap, err1 := netipAddrPort(a)
	bp, err2 := netipAddrPort(b)
	return err1 == nil && err2 == nil && ap.Port() == bp.Port() && ap.Addr().Unmap() == bp.Addr().Unmap()
}

func netipAddrPort(a net.Addr) (netip.AddrPort, error) { return netip.ParseAddrPort(a.String()) }
