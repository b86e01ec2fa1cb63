//go:build unix

package socketserver_test

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// Unix socket files: created with SocketMode, a stale one replaced, a live
// one or a non-socket refused, removed on close only if still ours.
func TestUnixSocketFiles(t *testing.T) {
	for _, network := range []string{"unix", "unixpacket", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			path := servetest.SockPath(t, "s")
			srv := &socketserver.Server{Network: network, Addr: path, Handler: echo, SocketMode: 0o600}
			servetest.Serve(t, srv)
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
				t.Fatalf("socket file mode = %v, want socket 0600", fi.Mode())
			}

			// A second server on a live socket: in use, file untouched.
			second := &socketserver.Server{Network: network, Addr: path, Handler: echo}
			if _, err := second.Listen(); !errors.Is(err, socketserver.ErrAddrInUse) {
				t.Fatalf("Listen on a live socket = %v, want ErrAddrInUse", err)
			}
			if fi2, err := os.Lstat(path); err != nil || !os.SameFile(fi, fi2) {
				t.Fatalf("a refused Listen touched the live socket file: %v", err)
			}

			// A socket file left behind by a crashed server is replaced.
			stale := servetest.SockPath(t, "stale")
			leaveStaleSocket(t, network, stale)
			third := &socketserver.Server{Network: network, Addr: stale, Handler: echo}
			if _, err := third.Listen(); err != nil {
				t.Fatalf("Listen over a stale socket = %v", err)
			}
			// If the path is replaced meanwhile, Close leaves the new file.
			os.Remove(stale)
			os.WriteFile(stale, []byte("someone else's"), 0o600)
			third.Close()
			if data, err := os.ReadFile(stale); err != nil || string(data) != "someone else's" {
				t.Fatalf("Close removed a file that was no longer its socket: %q, %v", data, err)
			}

			// A regular file is never removed.
			fourth := &socketserver.Server{Network: network, Addr: stale, Handler: echo}
			if _, err := fourth.Listen(); !errors.Is(err, socketserver.ErrNotSocket) {
				t.Fatalf("Listen on a regular file = %v, want ErrNotSocket", err)
			}
			if _, err := os.Stat(stale); err != nil {
				t.Fatalf("the regular file is gone: %v", err)
			}
		})
	}
}

// leaveStaleSocket binds a socket file at path and closes the socket
// without removing the file, as a crashed server would.
func leaveStaleSocket(t *testing.T, network, path string) {
	t.Helper()
	typ := map[string]int{"unix": syscall.SOCK_STREAM, "unixpacket": syscall.SOCK_SEQPACKET, "unixgram": syscall.SOCK_DGRAM}[network]
	fd, err := syscall.Socket(syscall.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
}

// TCP_NODELAY is set on accepted connections, as Go does, unless
// DisableNoDelay.
func TestNoDelay(t *testing.T) {
	for _, disable := range []bool{false, true} {
		got := make(chan int, 1)
		srv := &socketserver.Server{Addr: "127.0.0.1:0", DisableNoDelay: disable,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				rc, err := r.Conn.(*net.TCPConn).SyscallConn()
				if err != nil {
					return err
				}
				rc.Control(func(fd uintptr) {
					v, _ := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
					got <- v
				})
				return nil
			})}
		servetest.Dial(t, servetest.Serve(t, srv))
		if v := <-got; (v != 0) == disable {
			t.Errorf("DisableNoDelay %v: TCP_NODELAY = %d", disable, v)
		}
	}
}
