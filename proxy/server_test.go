package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
	"github.com/socketserver-go/socketserver/proxy"
)

// Served through WrapConn, the verify hook, the handler and the per-IP
// limit all see the address from the header.
func TestServerSeesTheClient(t *testing.T) {
	p := &proxy.Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	verified := make(chan string, 10)
	srv := &socketserver.Server{
		Addr:     "127.0.0.1:0",
		WrapConn: p.Wrap,
		VerifyRequest: func(r *socketserver.Request) bool {
			verified <- r.RemoteAddr.String()
			return true
		},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			line, _ := r.Reader.ReadString('\n')
			if _, err := fmt.Fprintf(r.Writer, "%s %s", r.RemoteAddr, line); err != nil {
				return err
			}
			_, err := io.Copy(io.Discard, r.Reader) // hold the connection until the client closes
			return err
		}),
		MaxConnsPerIP: 1,
		HandleError:   func(net.Addr, error) {},
	}
	addr := servetest.Serve(t, srv)
	send := func(client string) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		h := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(client)), addr)
		if _, err := h.WriteTo(c); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "hi\n")
		return c, bufio.NewReader(c)
	}
	c1, r1 := send("203.0.113.9:1111")
	defer c1.Close()
	if got, _ := r1.ReadString('\n'); got != "203.0.113.9:1111 hi\n" {
		t.Errorf("handler saw %q", got)
	}
	if got := <-verified; got != "203.0.113.9:1111" {
		t.Errorf("VerifyRequest saw %s", got)
	}
	// Another connection from the same client, while the first is open,
	// is over MaxConnsPerIP: the limit counts the real client, not the
	// balancer that all connections come from.
	c2, r2 := send("203.0.113.9:2222")
	defer c2.Close()
	if got, _ := r2.ReadString('\n'); got != "" {
		t.Errorf("a second connection of the same client got %q", got)
	}
	c3, r3 := send("198.51.100.7:3333")
	defer c3.Close()
	if got, _ := r3.ReadString('\n'); got != "198.51.100.7:3333 hi\n" {
		t.Errorf("another client got %q", got)
	}
	if st := srv.Stats(); st.OverIPLimit != 1 {
		t.Errorf("OverIPLimit = %d, want 1", st.OverIPLimit)
	}
}

// whoEvents answers each line with the client's address as Event mode
// sees it.
type whoEvents struct{ socketserver.EventHandlerBase }

func (whoEvents) OnData(c *socketserver.EventConn, in []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(in[n:], '\n')
		if i < 0 {
			return n
		}
		c.Write(fmt.Appendf(nil, "%s %s", c.RemoteAddr(), in[n:n+i+1]))
		n += i + 1
	}
}

// In Event mode the loop reads the header (Event.Preamble); OnData sees
// only the client's bytes, and RemoteAddr is the client's.
func TestEventModePreamble(t *testing.T) {
	p := &proxy.Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		Mode:         socketserver.Event{Loops: 1, Preamble: p.Preamble},
		EventHandler: whoEvents{},
		HandleError:  func(net.Addr, error) {},
	}
	addr := servetest.Serve(t, srv)
	for i, client := range []string{"203.0.113.9:1111", "[2001:db8::7]:2222"} {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		dst := addr
		if i == 1 {
			dst = &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443}
		}
		h := proxyproto.HeaderProxyFromAddrs(byte(1+i), net.TCPAddrFromAddrPort(netip.MustParseAddrPort(client)), dst)
		b, _ := h.Format()
		c.Write(append(b, "one\n"...))
		c.Write([]byte("two\n"))
		r := bufio.NewReader(c)
		for _, want := range []string{client + " one\n", client + " two\n"} {
			if got, err := r.ReadString('\n'); got != want {
				t.Errorf("got %q, %v; want %q", got, err, want)
			}
		}
	}
	// Garbage from a trusted upstream is refused.
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Errorf("a connection without a header got %q", got)
	}
}
