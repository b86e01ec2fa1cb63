package tlsconn_test

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/testcert"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// tlsServers are the two ways to serve TLS, side by side: Wrap in
// Goroutine mode, Layer in Event mode.
func tlsServers(b *testing.B, ca *testcert.CA) map[string]*socketserver.Server {
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.Issue(b, "server", false)}}
	return map[string]*socketserver.Server{
		"goroutine": {Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			_, err := io.Copy(r.Writer, r.Reader)
			return err
		}), WrapConn: tlsconn.Wrap(cfg)},
		"event": {EventHandler: echoEvents{}, Mode: socketserver.Event{Layer: tlsconn.Layer(cfg)}},
	}
}

// BenchmarkTLSEcho: one client, 64-byte requests answered in turn; and,
// for the cost of TLS alone, Event mode without it.
func BenchmarkTLSEcho(b *testing.B) {
	ca := testcert.New(b)
	for _, mode := range []string{"goroutine", "event", "event-plaintext"} {
		b.Run(mode, func(b *testing.B) {
			var c net.Conn
			var err error
			if mode == "event-plaintext" {
				addr := start(b, &socketserver.Server{EventHandler: echoEvents{}, Mode: socketserver.Event{}})
				c, err = net.Dial("tcp", addr.String())
			} else {
				addr := start(b, tlsServers(b, ca)[mode])
				c, err = tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.Pool})
			}
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg, got := make([]byte, 64), make([]byte, 64)
			b.SetBytes(64)
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTLSIdleConns reports the memory, server and client together,
// that 2,000 idle TLS connections hold after one exchange each.
func BenchmarkTLSIdleConns(b *testing.B) {
	const conns = 2000
	ca := testcert.New(b)
	for _, mode := range []string{"goroutine", "event"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				srv := tlsServers(b, ca)[mode]
				addr := start(b, srv)
				before := inUse()
				clients := make([]net.Conn, 0, conns)
				for range conns {
					c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.Pool})
					if err != nil {
						b.Fatal(err)
					}
					clients = append(clients, c)
					c.Write([]byte("x"))
					io.ReadFull(c, make([]byte, 1))
				}
				b.ReportMetric(float64(inUse()-before)/conns, "B/conn")
				for _, c := range clients {
					c.Close()
				}
				srv.Close()
			}
		})
	}
}

func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
