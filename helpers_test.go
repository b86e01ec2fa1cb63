package socketserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
)

func TestMain(m *testing.M) {
	if socketserver.IsChild() || os.Getenv(forkStandEnv) != "" {
		forkTestMain()
	}
	goleak.VerifyTestMain(m)
}

// A transport is a network the tests serve on, with the way to address it.
type transport struct {
	network string
	stream  bool
}

var transports = []transport{
	{network: "tcp", stream: true},
	{network: "tcp4", stream: true},
	{network: "tcp6", stream: true},
	{network: "unix", stream: true},
	{network: "unixpacket", stream: true},
	{network: "udp"},
	{network: "udp4"},
	{network: "udp6"},
	{network: "unixgram"},
}

var modes = []socketserver.Mode{
	socketserver.Sync{},
	socketserver.Goroutine{},
	socketserver.Goroutine{Daemon: true},
	socketserver.Pool{Workers: 3, Queue: 2},
}

// bindAddr returns an address to bind on tr: port 0 on loopback, or a
// fresh socket path.
func bindAddr(t *testing.T, tr transport) string {
	switch tr.network {
	case "tcp", "tcp4", "udp", "udp4":
		return "127.0.0.1:0"
	case "tcp6", "udp6":
		return "[::1]:0"
	}
	return sockPath(t, "s")
}

// sockPath returns a path for a Unix socket, short enough for sun_path
// (t.TempDir's long names are not).
func sockPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// forEach runs f for every transport × mode.
func forEach(t *testing.T, f func(t *testing.T, tr transport, mode socketserver.Mode)) {
	for _, tr := range transports {
		for _, mode := range modes {
			t.Run(tr.network+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				f(t, tr, mode)
			})
		}
	}
}

// testLogger routes a server's log to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start binds srv, serves it on a goroutine and returns its address. At
// the end of the test it closes srv and checks that serving ended with
// ErrServerClosed.
func start(t *testing.T, srv *socketserver.Server) net.Addr {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger = testLogger(t)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
			t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
		}
	})
	return addr
}

// dial connects to addr. A Unix datagram client binds a path of its own,
// so that it can be replied to.
func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if addr.Network() == "unixgram" {
		laddr := &net.UnixAddr{Net: "unixgram", Name: sockPath(t, "c")}
		c, err = net.DialUnix("unixgram", laddr, addr.(*net.UnixAddr))
	} else {
		c, err = net.DialTimeout(addr.Network(), addr.String(), 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// echo is the handler of most tests: it writes back what it reads.
var echo = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	_, err := io.Copy(r.Writer, r.Reader)
	return err
})

// roundTrip sends msg and reads len(msg) bytes back (one datagram, on a
// datagram transport).
func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg)+64)
	if _, ok := c.(net.PacketConn); ok || isPacketConn(c) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:n])
	}
	if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:len(msg)])
}

func isPacketConn(c net.Conn) bool {
	switch c.LocalAddr().Network() {
	case "udp", "udp4", "udp6", "unixgram":
		return true
	}
	return false
}

// waitUntil polls cond, a condition the test cannot be told of by an
// event, for up to 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}
