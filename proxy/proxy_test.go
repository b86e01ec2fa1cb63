package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/socketserver-go/socketserver"
)

// fakeConn is a connection from a given address carrying given bytes.
type fakeConn struct {
	net.Conn
	r      io.Reader
	remote net.Addr
}

func (c *fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fakeConn) RemoteAddr() net.Addr             { return c.remote }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999} }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

var (
	balancer = &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 40000}
	stranger = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}
	trusted  = &Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
)

func from(addr net.Addr, data []byte) *fakeConn {
	return &fakeConn{r: bytes.NewReader(data), remote: addr}
}

func header(t *testing.T, version byte, src, dst string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)), net.TCPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Both versions give the client's address; the bytes after the header are
// the client's, whole.
func TestWrapGivesTheClientsAddress(t *testing.T) {
	for _, v := range []byte{1, 2} {
		for _, client := range []string{"203.0.113.9:5555", "[2001:db8::1]:6666"} {
			dst := "198.51.100.1:443"
			if strings.HasPrefix(client, "[") {
				dst = "[2001:db8::2]:443"
			}
			c, err := trusted.Wrap(from(balancer, append(header(t, v, client, dst), "hello\nworld"...)))
			if err != nil {
				t.Fatalf("v%d %s: %v", v, client, err)
			}
			if got := c.RemoteAddr().String(); got != client {
				t.Errorf("v%d: RemoteAddr = %s, want %s", v, got, client)
			}
			if got := c.LocalAddr().String(); got != dst {
				t.Errorf("v%d: LocalAddr = %s, want %s", v, got, dst)
			}
			rest, _ := io.ReadAll(c)
			if string(rest) != "hello\nworld" {
				t.Errorf("v%d: after the header: %q", v, rest)
			}
		}
	}
}

func TestUntrustedUpstreams(t *testing.T) {
	data := append(header(t, 2, "203.0.113.9:5555", "198.51.100.1:443"), "x"...)
	if _, err := trusted.Wrap(from(stranger, data)); !errors.Is(err, ErrUntrusted) {
		t.Errorf("Reject: %v, want ErrUntrusted", err)
	}
	ignore := &Protocol{Trusted: trusted.Trusted, Untrusted: Ignore}
	c, err := ignore.Wrap(from(stranger, data))
	if err != nil || c.RemoteAddr() != stranger {
		t.Fatalf("Ignore: %v, %v", c, err)
	}
	if rest, _ := io.ReadAll(c); !bytes.Equal(rest, data) {
		t.Errorf("Ignore: the stranger's header was not left as its request")
	}
}

// A trusted upstream must send a header; garbage is refused with a clear
// error.
func TestBadHeaders(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"none", "GET / HTTP/1.0\r\n\r\n", "no PROXY protocol header"},
		{"empty", "", "no PROXY protocol header"},
		{"v1 garbage", "PROXY TCP4 1.2.3 nope\r\n", "malformed header"},
		{"v1 unterminated", "PROXY TCP4 203.0.113.9 198.51.100.1 5555 443", "malformed header"},
		{"v2 truncated", "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x01", "malformed header"},
	} {
		_, err := trusted.Wrap(from(balancer, []byte(tc.data)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// The LOCAL command (a balancer's health check) keeps the connection's
// own addresses.
func TestLocalCommand(t *testing.T) {
	h := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	c, err := trusted.Wrap(from(balancer, append(b, "ping"...)))
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAddr() != balancer {
		t.Errorf("RemoteAddr = %v, want the balancer's", c.RemoteAddr())
	}
}

// Whatever a trusted upstream sends, Wrap returns an error or a connection
// with an address and the rest of the bytes; it never panics.
func FuzzWrap(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.9 198.51.100.1 5555 443\r\nhello"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xcb\x00\x71\x09\xc6\x33\x64\x01\x15\xb3\x01\xbbrest"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, remote, _, perr := trusted.Preamble(data, balancer, nil)
		if perr == nil && (n <= 0 || n > len(data)) {
			t.Fatalf("Preamble took %d of %d bytes", n, len(data))
		}
		c, err := trusted.Wrap(from(balancer, data))
		if perr == nil && (err != nil || (remote != nil && c.RemoteAddr().String() != remote.String())) {
			t.Fatalf("Preamble gave %v, Wrap %v, %v", remote, c, err)
		}
		if err != nil {
			return
		}
		if c.RemoteAddr() == nil || c.LocalAddr() == nil {
			t.Fatalf("no address from %q", data)
		}
		rest, _ := io.ReadAll(c)
		if len(rest) > len(data) || !bytes.HasSuffix(data, rest) {
			t.Fatalf("bytes after the header %q are not the input's tail %q", rest, data)
		}
	})
}

// Preamble, Event mode's reader, agrees with Wrap, and asks for more while
// a header is cut short.
func TestPreamble(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999}
	for _, v := range []byte{1, 2} {
		h := header(t, v, "203.0.113.9:5555", "198.51.100.1:443")
		for cut := 1; cut < len(h); cut++ {
			if _, _, _, err := trusted.Preamble(h[:cut], balancer, local); !errors.Is(err, socketserver.ErrPreambleIncomplete) {
				t.Fatalf("v%d cut at %d of %d: %v, want ErrPreambleIncomplete", v, cut, len(h), err)
			}
		}
		n, remote, dst, err := trusted.Preamble(append(h, "data"...), balancer, local)
		if err != nil || n != len(h) || remote.String() != "203.0.113.9:5555" || dst.String() != "198.51.100.1:443" {
			t.Errorf("v%d: Preamble = %d, %v, %v, %v; want %d and the header's addresses", v, n, remote, dst, err, len(h))
		}
	}
	if _, _, _, err := trusted.Preamble([]byte("GET / HTTP/1.1\r\n"), balancer, local); !errors.Is(err, ErrNoHeader) {
		t.Errorf("no header: %v", err)
	}
	if _, _, _, err := trusted.Preamble([]byte("PROXY x"), stranger, local); !errors.Is(err, ErrUntrusted) {
		t.Errorf("untrusted: %v", err)
	}
	ignore := &Protocol{Trusted: trusted.Trusted, Untrusted: Ignore}
	if n, r, l, err := ignore.Preamble([]byte("hello"), stranger, local); n != 0 || r != nil || l != nil || err != nil {
		t.Errorf("ignored: %d, %v, %v, %v", n, r, l, err)
	}
}

// A version 2 header's addresses and TLVs reach the handler through the
// package's own Header type.
func TestHeaderTLVs(t *testing.T) {
	h := &proxyproto.Header{
		Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5555},
		DestinationAddr: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 443},
	}
	if err := h.SetTLVs([]proxyproto.TLV{{Type: 0xEA, Value: []byte("vpce-1")}}); err != nil {
		t.Fatal(err)
	}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	c, err := trusted.Wrap(from(balancer, b))
	if err != nil {
		t.Fatal(err)
	}
	got := c.(*Conn).Header
	if got.Version != 2 || got.Local || got.Source.String() != "203.0.113.9:5555" ||
		len(got.TLVs) != 1 || got.TLVs[0].Type != 0xEA || string(got.TLVs[0].Value) != "vpce-1" {
		t.Errorf("Header = %+v", got)
	}
}
