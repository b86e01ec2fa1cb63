package socketserver_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// Clients of Unix sockets that never bound a name get an UnnamedAddr; a
// stream one is served, a reply to a datagram one is reported.
func TestUnnamedUnixClients(t *testing.T) {
	remotes := make(chan net.Addr, 2)
	handler := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		remotes <- r.RemoteAddr
		_, err := io.Copy(r.Writer, r.Reader)
		return err
	})

	stream := &socketserver.Server{Network: "unix", Addr: servetest.SockPath(t, "s"), Handler: handler}
	c := servetest.Dial(t, servetest.Serve(t, stream)) // net.Dial leaves the client unnamed
	if got := servetest.RoundTrip(t, c, "hi"); got != "hi" {
		t.Fatalf("echo = %q", got)
	}
	if a := <-remotes; a != (socketserver.UnnamedAddr{Net: "unix"}) {
		t.Fatalf("stream RemoteAddr = %#v, want UnnamedAddr{unix}", a)
	}

	reported := make(chan error, 1)
	gram := &socketserver.Server{Network: "unixgram", Addr: servetest.SockPath(t, "g"), Handler: handler,
		HandleError: func(remote net.Addr, err error) { reported <- err }}
	addr := servetest.Serve(t, gram)
	u, err := net.DialUnix("unixgram", nil, addr.(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("hi"))
	if a := <-remotes; a != (socketserver.UnnamedAddr{Net: "unixgram"}) {
		t.Fatalf("datagram RemoteAddr = %#v, want UnnamedAddr{unixgram}", a)
	}
	if err := <-reported; !errors.Is(err, socketserver.ErrUnnamedPeer) {
		t.Fatalf("reply to an unnamed client reported %v, want ErrUnnamedPeer", err)
	}
}

// A datagram larger than MaxPacketSize is reported as truncated and
// dropped; the server goes on.
func TestDatagramTruncation(t *testing.T) {
	for _, tr := range []transport{{network: "udp"}, {network: "unixgram"}} {
		t.Run(tr.network, func(t *testing.T) {
			reported := make(chan error, 1)
			srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Handler: echo, MaxPacketSize: 100,
				HandleError: func(remote net.Addr, err error) { reported <- err }}
			c := servetest.Dial(t, servetest.Serve(t, srv))
			c.Write(make([]byte, 101))
			if err := <-reported; !errors.Is(err, socketserver.ErrTruncated) {
				t.Fatalf("reported %v, want ErrTruncated", err)
			}
			full := strings.Repeat("x", 100)
			if got := servetest.RoundTrip(t, c, full); got != full {
				t.Fatalf("a datagram of exactly MaxPacketSize came back as %d bytes", len(got))
			}
			if st := srv.Stats(); st.Truncated != 1 || st.TotalPackets != 1 {
				t.Fatalf("Truncated = %d, TotalPackets = %d; want 1, 1", st.Truncated, st.TotalPackets)
			}
		})
	}
}

// The default datagram size takes 64 KiB datagrams (Python cuts at 8192).
func TestLargeDatagram(t *testing.T) {
	srv := &socketserver.Server{Network: "unixgram", Addr: servetest.SockPath(t, "g"), Handler: echo}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	c.(*net.UnixConn).SetWriteBuffer(1 << 20)
	c.(*net.UnixConn).SetReadBuffer(1 << 20)
	big := strings.Repeat("y", 65536)
	if got := servetest.RoundTrip(t, c, big); got != big {
		t.Fatalf("64 KiB datagram came back as %d bytes", len(got))
	}
}

// IdleTimeout closes a silent connection; WriteTimeout frees a handler
// whose client never reads; ReadTimeout bounds each read.
func TestTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		ended := make(chan error, 1)
		srv := &socketserver.Server{Addr: "127.0.0.1:0", IdleTimeout: 30 * time.Millisecond,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				_, err := io.Copy(r.Writer, r.Reader)
				ended <- err
				return nil
			})}
		c := servetest.Dial(t, servetest.Serve(t, srv))
		if got := servetest.RoundTrip(t, c, "still here"); got != "still here" {
			t.Fatalf("echo = %q", got)
		}
		if err := <-ended; !errors.Is(err, socketserver.ErrIdleTimeout) {
			t.Fatalf("handler's copy ended with %v, want ErrIdleTimeout", err)
		}
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("client read = %v, want EOF", err)
		}
	})
	t.Run("write", func(t *testing.T) {
		ended := make(chan error, 1)
		srv := &socketserver.Server{Addr: "127.0.0.1:0", WriteTimeout: 30 * time.Millisecond,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				chunk := make([]byte, 64<<10)
				for {
					if _, err := r.Writer.Write(chunk); err != nil {
						ended <- err
						return nil
					}
				}
			})}
		servetest.Dial(t, servetest.Serve(t, srv)) // never reads
		if err := <-ended; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("handler's write ended with %v, want a deadline error", err)
		}
	})
	t.Run("read", func(t *testing.T) {
		ended := make(chan error, 1)
		srv := &socketserver.Server{Addr: "127.0.0.1:0", ReadTimeout: 30 * time.Millisecond,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				_, err := r.Reader.ReadByte()
				ended <- err
				return nil
			})}
		servetest.Dial(t, servetest.Serve(t, srv)) // never writes
		if err := <-ended; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("handler's read ended with %v, want a deadline error", err)
		}
	})
}

// ReusePort lets two servers bind one port; it is refused on Unix sockets.
func TestReusePort(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		first := &socketserver.Server{Network: network, Addr: "127.0.0.1:0", Handler: echo, ReusePort: true}
		addr := servetest.Serve(t, first)
		second := &socketserver.Server{Network: network, Addr: addr.String(), Handler: echo, ReusePort: true}
		if _, err := second.Listen(); err != nil {
			t.Fatalf("%s: second bind with ReusePort = %v", network, err)
		}
		second.Close()
		third := &socketserver.Server{Network: network, Addr: addr.String(), Handler: echo}
		if _, err := third.Listen(); err == nil {
			third.Close()
			t.Fatalf("%s: a bind without ReusePort succeeded on a port in use", network)
		}
	}
	unix := &socketserver.Server{Network: "unix", Addr: servetest.SockPath(t, "s"), Handler: echo, ReusePort: true}
	if _, err := unix.Listen(); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Fatalf("ReusePort on a Unix socket = %v, want ErrUnsupported", err)
	}
}

// Backlog sets the listen queue length: with a backlog of 1 and nobody
// accepting, the kernel completes only a couple of handshakes.
func TestBacklog(t *testing.T) {
	srv := &socketserver.Server{Network: "unix", Addr: servetest.SockPath(t, "s"), Handler: echo, Backlog: 1}
	defer srv.Close()
	addr, err := srv.Listen() // bound, never served: nobody accepts
	if err != nil {
		t.Fatal(err)
	}
	var connected int
	for range 10 {
		c, err := net.DialTimeout("unix", addr.String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		defer c.Close()
		connected++
	}
	// Linux queues backlog+1 connections on a Unix socket.
	if connected > 2 {
		t.Fatalf("%d connections queued with Backlog 1", connected)
	}
}

// Misconfigurations fail with a clear error.
func TestConfigurationErrors(t *testing.T) {
	if err := (&socketserver.Server{}).ListenAndServe(); !errors.Is(err, socketserver.ErrNoHandler) {
		t.Errorf("ListenAndServe without a Handler = %v, want ErrNoHandler", err)
	}
	srv := &socketserver.Server{Network: "sctp", Handler: echo}
	if _, err := srv.Listen(); err == nil || !strings.Contains(err.Error(), `unknown network "sctp"`) {
		t.Errorf("Listen on sctp = %v", err)
	}
	long := &socketserver.Server{Network: "unix", Addr: filepath.Join(t.TempDir(), strings.Repeat("x", 200)), Handler: echo}
	if _, err := long.Listen(); err == nil {
		long.Close()
		t.Errorf("Listen on a 200-byte Unix path succeeded")
	}
}

// A handler that replies without reading all its client sent does not
// lose the reply to a TCP reset: the server half-closes and drains first.
func TestUnreadInputKeepsReply(t *testing.T) {
	for _, mode := range modes {
		srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: mode,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				line, err := r.Reader.ReadString('\n') // the first line only
				if err != nil {
					return err
				}
				_, err = io.WriteString(r.Writer, strings.ToUpper(line))
				return err
			})}
		addr := servetest.Serve(t, srv)
		for i := range 20 {
			c := servetest.Dial(t, addr)
			// More input than the handler reads, some of it beyond the
			// reader's buffer.
			io.WriteString(c, "first line\n"+strings.Repeat("unread\n", 2000))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "FIRST LINE\n" {
				t.Fatalf("%v, client %d: reply %q, %v", mode, i, got, err)
			}
			c.Close()
		}
	}
}

// A datagram handler that writes nothing sends nothing (Python's
// DatagramRequestHandler sends an empty datagram).
func TestNoEmptyReplyDatagram(t *testing.T) {
	srv := &socketserver.Server{Network: "udp", Addr: "127.0.0.1:0", Mode: socketserver.Sync{},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			if string(r.Packet) == "quiet" {
				return nil
			}
			_, err := r.Writer.Write([]byte("reply"))
			return err
		})}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	c.Write([]byte("quiet"))
	c.Write([]byte("loud"))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "reply" {
		t.Fatalf("first datagram back = %q, %v; want \"reply\" (and no empty one before it)", buf[:n], err)
	}
}
