package tlsconn_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/testcert"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// whoAmIEvents answers each connection, as it opens, with the client
// certificate's name and the protocol ALPN chose, then closes it.
type whoAmIEvents struct{ socketserver.EventHandlerBase }

func (whoAmIEvents) OnOpen(c *socketserver.EventConn) {
	st := tlsconn.EventState(c)
	name := "anonymous"
	if len(st.PeerCertificates) > 0 {
		name = st.PeerCertificates[0].Subject.CommonName
	}
	fmt.Fprintf(c, "%s %s\n", name, st.NegotiatedProtocol)
	c.Close()
}

// echoEvents sends back what it receives.
type echoEvents struct{ socketserver.EventHandlerBase }

func (echoEvents) OnData(c *socketserver.EventConn, in []byte) int {
	c.Write(in)
	return len(in)
}

func init() {
	tlsModes = append(tlsModes, tlsMode{"event", func(srv *socketserver.Server, cfg *tls.Config, handshake time.Duration) {
		srv.EventHandler = whoAmIEvents{}
		srv.Mode, srv.HandshakeTimeout = socketserver.Event{Loops: 1, Layer: tlsconn.Layer(cfg)}, handshake
	}})
}

// Many clients at once, each sending more than the loop buffers before it
// stops reading (HighWater), get every byte back in order: the layer's
// input waits while the connection is paused, and is read when it resumes.
func TestEventTLSEchoUnderBackpressure(t *testing.T) {
	ca := testcert.New(t)
	srv := &socketserver.Server{
		EventHandler: echoEvents{},
		Mode: socketserver.Event{Loops: 2, HighWater: 8 << 10,
			Layer: tlsconn.Layer(&tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "server", false)}})},
	}
	addr := start(t, srv)
	const clients, size = 8, 1 << 20
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.Pool})
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			msg := make([]byte, size+i*997) // not a multiple of a record
			rand.Read(msg)
			sent := make(chan error, 1)
			go func() {
				_, err := c.Write(msg)
				if err == nil {
					err = c.CloseWrite() // close_notify: the server ends too
				}
				sent <- err
			}()
			got, err := io.ReadAll(c)
			if err := <-sent; err != nil {
				t.Errorf("client %d: write: %v", i, err)
			}
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("client %d: %d of %d bytes back, equal %v, %v", i, len(got), len(msg), bytes.Equal(got, msg[:min(len(got), len(msg))]), err)
			}
		})
	}
	wg.Wait()
	servetest.WaitUntil(t, "the connections closed", func() bool { return srv.Stats().ActiveConns == 0 })
}

// Shutdown answers a request that arrived before it began, then ends each
// TLS connection with close_notify.
func TestEventTLSShutdownAnswersRequests(t *testing.T) {
	ca := testcert.New(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := &slowEvents{release: release, started: started}
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: h,
		Mode: socketserver.Event{Loops: 1,
			Layer: tlsconn.Layer(&tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "server", false)}})},
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "ping\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	servetest.WaitUntil(t, "the listener closed", func() bool {
		probe, err := net.Dial("tcp", addr.String())
		if err == nil {
			probe.Close()
		}
		return err != nil
	})
	close(release)
	if b, err := io.ReadAll(c); string(b) != "PING\n" || err != nil {
		t.Errorf("in flight across Shutdown: %q, %v", b, err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Errorf("ListenAndServe: %v", err)
	}
}

// slowEvents answers each line in upper case from a worker, once release
// is closed.
type slowEvents struct {
	socketserver.EventHandlerBase
	release <-chan struct{}
	started chan<- struct{}
}

func (h *slowEvents) OnData(c *socketserver.EventConn, in []byte) int {
	line := bytes.ToUpper(in)
	c.Go(func() {
		h.started <- struct{}{}
		<-h.release
		c.AsyncWrite(line)
	})
	return len(in)
}

// firstWrite is a client connection whose first Write sends prefix and
// the bytes in one segment: a preamble and the TLS ClientHello together.
type firstWrite struct {
	net.Conn
	prefix []byte
}

func (c *firstWrite) Write(p []byte) (int, error) {
	if c.prefix == nil {
		return c.Conn.Write(p)
	}
	_, err := c.Conn.Write(append(c.prefix, p...))
	c.prefix = nil
	return len(p), err
}

// nameEvents answers each line with the client's address, as the
// preamble set it, and the line upper-cased.
type nameEvents struct{ socketserver.EventHandlerBase }

func (nameEvents) OnData(c *socketserver.EventConn, in []byte) int {
	fmt.Fprintf(c, "%s: %s", c.RemoteAddr(), bytes.ToUpper(in))
	return len(in)
}

// A preamble comes before the TLS handshake: the bytes that follow it in
// the same segment begin the handshake, and the handler sees the address
// the preamble gave.
func TestEventTLSAfterPreamble(t *testing.T) {
	ca := testcert.New(t)
	srv := &socketserver.Server{
		EventHandler: nameEvents{},
		Mode: socketserver.Event{Loops: 1,
			Preamble: func(in []byte, _, _ net.Addr) (int, net.Addr, net.Addr, error) {
				i := bytes.IndexByte(in, '\n')
				if i < 0 {
					return 0, nil, nil, socketserver.ErrPreambleIncomplete
				}
				return i + 1, &net.UnixAddr{Net: "unix", Name: string(in[:i])}, nil, nil
			},
			Layer: tlsconn.Layer(&tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "server", false)}})},
	}
	raw := servetest.Dial(t, start(t, srv))
	c := tls.Client(&firstWrite{Conn: raw, prefix: []byte("carol\n")}, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	io.WriteString(c, "hi\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "carol: HI\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}
