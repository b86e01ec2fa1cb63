package main

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

func TestRulesAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules rules
		ip    string
		want  bool
	}{
		{name: "public v4", ip: "8.8.8.8", want: true},
		{name: "public v6", ip: "2606:4700::1111", want: true},
		{name: "mapped public", ip: "::ffff:8.8.8.8", want: true},
		{name: "loopback", ip: "127.0.0.1", want: false},
		{name: "loopback, other", ip: "127.1.2.3", want: false},
		{name: "this host v4", ip: "0.0.0.0", want: false},
		{name: "this host v6", ip: "::", want: false},
		{name: "mapped this host", ip: "::ffff:0.0.0.0", want: false},
		{name: "mapped loopback", ip: "::ffff:127.0.0.1", want: false},
		{name: "v6 loopback", ip: "::1", want: false},
		{name: "private", ip: "10.1.2.3", want: false},
		{name: "mapped private", ip: "::ffff:192.168.1.1", want: false},
		{name: "metadata", ip: "169.254.169.254", want: false},
		{name: "link-local with zone", ip: "fe80::1%lo", want: false},
		{name: "unique local", ip: "fd00::1", want: false},
		{name: "broadcast", ip: "255.255.255.255", want: false},
		{name: "multicast", ip: "224.0.0.1", want: false},
		{name: "carrier-grade NAT", ip: "100.64.0.1", want: false},
		{name: "allowed loopback", rules: loopback, ip: "127.0.0.1", want: true},
		{name: "allowed: 0.0.0.0 is loopback", rules: loopback, ip: "0.0.0.0", want: true},
		{name: "allowed private", rules: rules{allow: mustPrefixes("10.0.0.0/8")}, ip: "10.9.9.9", want: true},
		{name: "allow by a mapped prefix", rules: rules{allow: []netip.Prefix{mustParse(t, "::ffff:10.0.0.0/104")}}, ip: "10.9.9.9", want: true},
		{name: "denied public", rules: rules{deny: mustPrefixes("8.8.8.0/24")}, ip: "8.8.8.8", want: false},
		{name: "deny everything", rules: rules{deny: mustPrefixes("0.0.0.0/0", "::/0")}, ip: "8.8.8.8", want: false},
		{name: "only one allowed", rules: rules{deny: mustPrefixes("0.0.0.0/0"), allow: mustPrefixes("8.8.8.8/32")}, ip: "8.8.8.8", want: true},
		{name: "only one allowed, other", rules: rules{deny: mustPrefixes("0.0.0.0/0"), allow: mustPrefixes("8.8.8.8/32")}, ip: "8.8.4.4", want: false},
		{name: "narrower deny wins", rules: rules{allow: mustPrefixes("127.0.0.0/8"), deny: mustPrefixes("127.0.0.2/32")}, ip: "127.0.0.2", want: false},
		{name: "narrower allow wins", rules: rules{deny: mustPrefixes("127.0.0.0/8"), allow: mustPrefixes("127.0.0.1/32")}, ip: "127.0.0.1", want: true},
		{name: "a tie goes to deny", rules: rules{deny: mustPrefixes("127.0.0.1/32"), allow: mustPrefixes("127.0.0.1/32")}, ip: "127.0.0.1", want: false},
		{name: "denied loopback reached as 0.0.0.0", rules: rules{deny: mustPrefixes("127.0.0.0/8")}, ip: "0.0.0.0", want: false},
		{name: "denied v6 loopback reached as ::", rules: rules{allow: mustPrefixes("::/0"), deny: mustPrefixes("::1/128")}, ip: "::", want: false},
	} {
		if got := tc.rules.allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s: allowed(%s) = %v, want %v", tc.name, tc.ip, got, tc.want)
		}
	}
}

func mustParse(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := parsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3/8":           "10.0.0.0/8",
		"127.0.0.1":            "127.0.0.1/32",
		"::1":                  "::1/128",
		"::ffff:127.0.0.0/104": "127.0.0.0/8",
		"::ffff:10.0.0.1":      "10.0.0.1/32",
	} {
		if got, err := parsePrefix(in); err != nil || got.String() != want {
			t.Errorf("parsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0.0/8/8"} {
		if _, err := parsePrefix(bad); err == nil {
			t.Errorf("parsePrefix(%q) succeeded", bad)
		}
	}
}

// countingListener accepts on addr and counts the connections it gets.
func countingListener(t *testing.T, network, addr string) (uint16, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port), &n
}

// A destination as a CONNECT request carries it: ATYP and address.
type destination struct {
	name string
	atyp byte
	addr []byte
	v6   bool // reaches the IPv6 service
}

func ipDest(s string) destination {
	ip := netip.MustParseAddr(s)
	if ip.Is4() {
		a := ip.As4()
		return destination{name: s, atyp: atypIPv4, addr: a[:]}
	}
	a := ip.As16()
	return destination{name: "[" + s + "]", atyp: atypIPv6, addr: a[:], v6: ip.Unmap().Is6()}
}

func nameDest(s string, v6 bool) destination {
	return destination{name: "name " + s, atyp: atypDomain, addr: append([]byte{byte(len(s))}, s...), v6: v6}
}

// connectCode asks the proxy to CONNECT to dest:port and returns its
// reply code.
func connectCode(t *testing.T, proxyAddr string, dest destination, port uint16) byte {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := append([]byte{version5, 1, methodNoAuth, version5, cmdConnect, 0, dest.atyp}, dest.addr...)
	req = binary.BigEndian.AppendUint16(req, port)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 2+4)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("%s: %v", dest.name, err)
	}
	return reply[3]
}

// TestThisHostRefused: whether by address (0.0.0.0, ::, their mapped
// forms) or by a name that resolves to this host, a destination on this
// machine is refused when -deny names loopback, and by default; nothing
// reaches the services listening there. -allow opens them.
func TestThisHostRefused(t *testing.T) {
	port4, hits4 := countingListener(t, "tcp4", "127.0.0.1:0")
	port6, hits6 := countingListener(t, "tcp6", "[::1]:0")
	dests := []destination{
		ipDest("0.0.0.0"), ipDest("::"), ipDest("::ffff:0.0.0.0"), ipDest("127.0.0.1"), ipDest("::1"),
		ipDest("::ffff:127.0.0.1"), ipDest("127.0.0.2"),
		nameDest("0.0.0.0", false), nameDest("::", true), nameDest("::ffff:0.0.0.0", false),
		nameDest("localhost", false), nameDest("localhost", true), nameDest("127.0.0.1", false),
	}
	port := func(d destination) uint16 {
		if d.v6 {
			return port6
		}
		return port4
	}
	for _, pc := range []struct {
		name  string
		rules rules
	}{
		{name: "deny loopback", rules: rules{deny: mustPrefixes("127.0.0.0/8", "::1/128")}},
		{name: "default"},
	} {
		t.Run(pc.name, func(t *testing.T) {
			proxyAddr, _ := startProxy(t, &proxy{rules: pc.rules})
			for _, d := range dests {
				if code := connectCode(t, proxyAddr, d, port(d)); code != repNotAllowed {
					t.Errorf("CONNECT %s: reply %d, want %d (not allowed)", d.name, code, repNotAllowed)
				}
			}
			if n4, n6 := hits4.Load(), hits6.Load(); n4+n6 != 0 {
				t.Errorf("the services on this host were reached %d + %d times", n4, n6)
			}
		})
	}
	t.Run("allowed", func(t *testing.T) {
		proxyAddr, _ := startProxy(t, &proxy{rules: rules{deny: mustPrefixes("127.0.0.0/8"), allow: mustPrefixes("127.0.0.1/32")}})
		for _, tc := range []struct {
			dest destination
			want byte
		}{
			{dest: ipDest("0.0.0.0"), want: repSucceeded},
			{dest: ipDest("127.0.0.1"), want: repSucceeded},
			{dest: nameDest("localhost", false), want: repSucceeded}, // ::1 refused, 127.0.0.1 not
			{dest: ipDest("127.0.0.2"), want: repNotAllowed},
			{dest: ipDest("::"), want: repNotAllowed},
		} {
			if code := connectCode(t, proxyAddr, tc.dest, port(tc.dest)); code != tc.want {
				t.Errorf("CONNECT %s: reply %d, want %d", tc.dest.name, code, tc.want)
			}
		}
		servetest.WaitUntil(t, "the service counts three connections", func() bool { return hits4.Load() == 3 })
	})
}

// TestCheckDial: the rules are applied to the address being dialled, not
// to the name asked for.
func TestCheckDial(t *testing.T) {
	p := &proxy{}
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":         false,
		"[::ffff:10.0.0.1]:80": false,
		"8.8.8.8:53":           true,
		"localhost:80":         false, // not an address: never dialled as such
	} {
		if err := p.checkDial("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("checkDial(%s) = %v", addr, err)
		}
	}
}
