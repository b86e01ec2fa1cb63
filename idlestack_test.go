package socketserver_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// TestIdleStack: in Goroutine and Pool mode, the goroutine of a
// connection whose handler waits for the next request, after a first one
// was answered, stays within Go's first 2 KiB stack. A frame more in the
// read path, or under the handler, doubles it (4 KiB per idle connection,
// as it once did).
func TestIdleStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector deepens stacks: run without -race")
	}
	// The runtime sizes new goroutines' stacks by the average it saw so
	// far (adaptivestackstart), which depends on what ran before in this
	// process: the test runs again in a process of its own, with every
	// goroutine starting at 2 KiB.
	const debugSetting = "adaptivestackstart=0"
	if !strings.Contains(os.Getenv("GODEBUG"), debugSetting) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStack$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GODEBUG="+debugSetting)
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("TestIdleStack with GODEBUG=%s: %v", debugSetting, err)
		}
		return
	}
	const conns = 500
	for _, mode := range []socketserver.Mode{socketserver.Goroutine{}, socketserver.Pool{Workers: conns + 100}} {
		t.Run(fmt.Sprintf("%T", mode), func(t *testing.T) { idleStack(t, mode, conns) })
	}
}

func idleStack(t *testing.T, mode socketserver.Mode, conns int) {
	srv := &socketserver.Server{Network: "tcp", Addr: "127.0.0.1:0", Mode: mode, Logger: servetest.Logger(t),
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
	// No collection while the connections open: a handler that assists
	// the collector does so on its own stack, deeply, and some stacks
	// would grow for that reason alone.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
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
	servetest.WaitUntil(t, "every handler waits", func() bool { return srv.Stats().BytesOut == int64(5*conns) })
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := float64(after.StackInuse-before.StackInuse) / float64(conns)
	t.Logf("stack per idle connection: %.0f bytes", perConn)
	// A few goroutines may have grown for reasons of their own (Pool's
	// spare workers count here too): the bound is between 2 KiB for
	// every one and 4 KiB for every one.
	if perConn > 3584 {
		t.Errorf("an idle connection's goroutine holds %.0f bytes of stack, want 2 KiB", perConn)
	}
	for _, c := range cs {
		c.Close()
	}
}
