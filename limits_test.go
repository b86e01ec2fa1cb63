package socketserver_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// holdUntilEOF answers "ok" at once and holds the connection until the
// client closes it.
var holdUntilEOF = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	io.WriteString(r.Writer, "ok\n")
	io.Copy(io.Discard, r.Reader)
	return nil
})

// MaxConnsPerIP closes a client's connections over the limit at once and
// counts them; other addresses are not affected.
func TestMaxConnsPerIP(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: holdUntilEOF, MaxConnsPerIP: 2}
	addr := servetest.Serve(t, srv)
	greeted := func(c net.Conn) bool {
		l, _ := bufio.NewReader(c).ReadString('\n')
		return l == "ok\n"
	}
	var held []net.Conn
	for range 2 {
		c := servetest.Dial(t, addr)
		if !greeted(c) {
			t.Fatal("a connection within the limit was not served")
		}
		held = append(held, c)
	}
	if extra := servetest.Dial(t, addr); greeted(extra) {
		t.Error("a third connection from 127.0.0.1 was served")
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	other, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetDeadline(time.Now().Add(10 * time.Second))
	if !greeted(other) {
		t.Error("a connection from 127.0.0.2 was refused")
	}
	if st := srv.Stats(); st.OverIPLimit != 1 {
		t.Errorf("OverIPLimit = %d, want 1", st.OverIPLimit)
	}
	// Closing one frees its place.
	held[0].Close()
	servetest.WaitUntil(t, "the closed connection is released", func() bool { return srv.Stats().ActiveConns == 2 })
	if again := servetest.Dial(t, addr); !greeted(again) {
		t.Error("after one closed, a new connection from 127.0.0.1 was refused")
	}
}

// FirstByteTimeout cuts off a client that connects and says nothing; a
// client that speaks in time is served, however slowly it goes on.
func TestFirstByteTimeout(t *testing.T) {
	errs := make(chan error, 4)
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: echo, FirstByteTimeout: 100 * time.Millisecond,
		HandleError: func(_ net.Addr, err error) { errs <- err }}
	addr := servetest.Serve(t, srv)
	checkFirstByteTimeout(t, addr, errs)
}

// checkFirstByteTimeout checks a server with a FirstByteTimeout of 100ms
// whose errors come on errs: a mute client is cut off and the timeout
// reported; a client that speaks in time is served, however slowly it
// goes on.
func checkFirstByteTimeout(t *testing.T, addr net.Addr, errs <-chan error) {
	t.Helper()
	mute := servetest.Dial(t, addr)
	if n, err := mute.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("a mute client: read %d, %v; want the server to close", n, err)
	}
	if err := <-errs; !servetest.IsTimeout(err) {
		t.Errorf("reported %v, want a timeout", err)
	}
	talker := servetest.Dial(t, addr)
	if got := servetest.RoundTrip(t, talker, "a"); got != "a" {
		t.Fatal(got)
	}
	// Well past the first-byte timeout, the conversation goes on.
	select {
	case err := <-errs:
		t.Fatalf("reported %v", err)
	case <-time.After(250 * time.Millisecond):
	}
	if got := servetest.RoundTrip(t, talker, "b"); got != "b" {
		t.Errorf("later: %q", got)
	}
}

// A write that times out breaks the connection: a handler that ignores
// the error, and goes on reading and writing, fails at once and ends,
// though its client still holds the connection and never reads.
func TestWriteTimeoutBreaksTheConnection(t *testing.T) {
	ended := make(chan error, 1)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		WriteTimeout: 100 * time.Millisecond,
		HandleError:  func(net.Addr, error) {},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			chunk := make([]byte, 64<<10)
			var err error
			for {
				r.Writer.Write(chunk) // error ignored, as careless handlers do
				if _, err = r.Reader.ReadByte(); err != nil {
					break
				}
			}
			ended <- err
			return nil
		}),
	}
	addr := servetest.Serve(t, srv)
	c := servetest.Dial(t, addr)
	defer c.Close()
	go c.Write(make([]byte, 1<<20)) // plenty to read; nothing read back
	select {
	case err := <-ended:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("the handler's read failed with %v, want the write's timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still runs after its write timed out")
	}
}

// A connection whose write timed out is closed at once, not lingered on:
// no reply is on its way to protect, and the lingering close would hold
// the handler's goroutine (all of a Sync server) for up to 500ms more with
// a client that neither reads nor writes. The client here sends 64 KiB of
// requests, each asking for 64 KiB, and reads nothing until the server
// gave up; closed with most of them unread in the kernel, the connection
// is reset. A lingering close would have read them away first, and ended
// with the FIN the client then reads as EOF.
func TestBrokenConnectionClosesAtOnce(t *testing.T) {
	failed := make(chan error, 1)
	block := make([]byte, 64<<10)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		Mode:         socketserver.Sync{},
		WriteTimeout: 50 * time.Millisecond,
		HandleError:  func(_ net.Addr, err error) { failed <- err },
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			for {
				if _, err := r.Reader.ReadBytes('\n'); err != nil {
					return nil
				}
				if _, err := r.Writer.Write(block); err != nil {
					return err
				}
			}
		}),
	}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	defer c.Close()
	if _, err := c.Write([]byte(strings.Repeat("x\n", 32<<10))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler failed with %v, want its write's timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's write never timed out")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the client read to %v, want a reset: the connection was lingered on", err)
	}
}
