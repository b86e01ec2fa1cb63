// Package servetest is the one family of test helpers of the module:
// serving a socketserver.Server until the test ends, dialling it, a round
// trip, waiting for a condition no event announces, and the real programs
// (haproxy, redis-cli, openssl…) a test drives.
//
// Every package's tests use these, in the manner of miekg/dns's
// RunLocal*Server helpers, rather than copies of their own.
package servetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
)

// Serve binds srv, serves it on a goroutine until the test ends, then
// closes it and checks that serving ended with ErrServerClosed. It
// returns the bound address. A server without a Logger logs to the
// test's output.
func Serve(t testing.TB, srv *socketserver.Server) net.Addr {
	t.Helper()
	addr, result := start(t, srv)
	t.Cleanup(func() {
		srv.Close()
		if err := <-result; !errors.Is(err, socketserver.ErrServerClosed) {
			t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
		}
	})
	return addr
}

// Background binds srv and serves it on a goroutine, for a test that ends
// the serving itself (by Shutdown, for instance): the channel receives what
// ListenAndServe returned. If the test ends first, the server is closed
// then, and its serving waited for.
func Background(t testing.TB, srv *socketserver.Server) (net.Addr, <-chan error) {
	t.Helper()
	addr, result := start(t, srv)
	served := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		err := <-result
		served <- err
		done <- err
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return addr, served
}

// start binds srv and runs ListenAndServe on a goroutine, whose result
// the channel receives.
func start(t testing.TB, srv *socketserver.Server) (net.Addr, <-chan error) {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger = Logger(t)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	result := make(chan error, 1)
	go func() { result <- srv.ListenAndServe() }()
	return addr, result
}

// Logger returns a logger that writes to the test's output, at every
// level.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// RunLocal serves a Server on network at a fresh local address (port 0 on
// loopback, or a socket path in a temporary directory) until the test
// ends, after applying opts to it. It returns the server and its address.
func RunLocal(t testing.TB, network string, opts ...func(*socketserver.Server)) (*socketserver.Server, net.Addr) {
	t.Helper()
	srv := &socketserver.Server{Network: network, Addr: LocalAddr(t, network)}
	for _, o := range opts {
		o(srv)
	}
	return srv, Serve(t, srv)
}

// LocalAddr returns an address to bind on network: port 0 on loopback, or
// a fresh socket path.
func LocalAddr(t testing.TB, network string) string {
	switch network {
	case "", "tcp", "tcp4", "udp", "udp4":
		return "127.0.0.1:0"
	case "tcp6", "udp6":
		return "[::1]:0"
	}
	return SockPath(t, "s")
}

// SockPath returns a path for a Unix socket, short enough for sun_path
// (t.TempDir's long names are not), removed when the test ends.
func SockPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// Dial connects to addr, with a 10s deadline on the connection, closed
// when the test ends. A Unix datagram client binds a path of its own, so
// that it can be replied to.
func Dial(t testing.TB, addr net.Addr) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if addr.Network() == "unixgram" {
		laddr := &net.UnixAddr{Net: "unixgram", Name: SockPath(t, "c")}
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

// RoundTrip sends msg on c and reads the reply: len(msg) bytes on a
// stream, one datagram on a datagram socket.
func RoundTrip(t testing.TB, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	if IsDatagram(c.LocalAddr().Network()) {
		buf := make([]byte, len(msg)+64<<10)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:n])
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf)
}

// IsDatagram reports whether network is a datagram network.
func IsDatagram(network string) bool {
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
		return true
	}
	return false
}

// IsTimeout reports whether err is a timeout.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// WaitUntil waits, for up to 10s, until cond is true: for a condition
// that no event announces (another process's state, a counter). It checks
// every millisecond, on a ticker.
func WaitUntil(t testing.TB, what string, cond func() bool) {
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

// Need returns the path of the program a test drives. If it is missing,
// the test is skipped, naming the Debian package to install; under CI
// (CI=true, which .ci/run sets, and which installs every such program)
// it fails instead.
func Need(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is needed (Debian's %s; .ci/run installs it): %v", program, debianPackage, err)
	}
	t.Skipf("%s is not installed: apt-get install %s to run this test", program, debianPackage)
	return ""
}

// A Buffer collects what concurrent writers write, such as a server's
// log or another process's output, for a test to read. Its zero value is
// ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
