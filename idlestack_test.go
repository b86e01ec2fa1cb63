package socketserver_test

import (
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// TestIdleStack: in Goroutine mode, the goroutine of a connection whose
// handler waits for the next request, after a first one was answered,
// stays within Go's first 2 KiB stack. A frame more in the read path
// doubles it (4 KiB per idle connection, as it once did).
func TestIdleStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector deepens stacks: run without -race")
	}
	const conns = 500
	srv := &socketserver.Server{Network: "tcp", Addr: "127.0.0.1:0", Mode: socketserver.Goroutine{}, Logger: servetest.Logger(t),
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			buf := make([]byte, 4096) // as cmd/sockserve's echo
			for {
				n, err := r.Reader.Read(buf)
				if n > 0 {
					if _, werr := r.Writer.Write(buf[:n]); werr != nil {
						return werr
					}
				}
				if err != nil {
					return nil
				}
			}
		})}
	addr, _ := servetest.Background(t, srv)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cs := make([]net.Conn, 0, conns)
	for range conns {
		c := servetest.Dial(t, addr)
		io.WriteString(c, "hello")
		if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	servetest.WaitUntil(t, "every handler waits", func() bool { return srv.Stats().BytesOut == 5*conns })
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := float64(after.StackInuse-before.StackInuse) / conns
	t.Logf("stack per idle connection: %.0f bytes", perConn)
	if perConn > 3<<10 {
		t.Errorf("an idle connection's goroutine holds %.0f bytes of stack, want 2 KiB", perConn)
	}
	for _, c := range cs {
		c.Close()
	}
}
