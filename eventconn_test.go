package socketserver_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// These tests cover what the older Event mode tests leave out: Wake,
// output queued by AsyncWrite alone, reading while output waits below
// HighWater, ErrAbortHandler, a panicking OnTick, and Event.Preamble's
// failures. They hold for every engine: under the build tag
// socketserver_portable they test the portable one.

// A handler that waits for something other than input returns 0, and its
// Go function's Wake offers it the input again; Wake with no input calls
// OnData with none; Wake on a closed connection fails.
func TestEventWake(t *testing.T) {
	var approved atomic.Bool
	opened := make(chan *socketserver.EventConn, 1)
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Event{Loops: 1}}
	srv.EventHandler = &eventFuncs{
		open: func(c *socketserver.EventConn) { opened <- c },
		data: func(c *socketserver.EventConn, in []byte) int {
			switch {
			case len(in) == 0:
				c.Write([]byte("woken\n"))
				return 0
			case !approved.Load():
				c.Go(func() { // an approval from elsewhere, then the wake
					approved.Store(true)
					if err := c.Wake(); err != nil {
						t.Errorf("Wake: %v", err)
					}
				})
				return 0 // kept until then
			}
			return upperLines(c, in)
		},
	}
	addr := servetest.Serve(t, srv)
	client := servetest.Dial(t, addr)
	conn := <-opened
	r := bufio.NewReader(client)
	io.WriteString(client, "held back\n")
	if line, err := r.ReadString('\n'); err != nil || line != "HELD BACK\n" {
		t.Fatalf("after the wake: %q, %v", line, err)
	}
	if err := conn.Wake(); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "woken\n" {
		t.Fatalf("after a wake with no input: %q, %v", line, err)
	}
	client.Close()
	servetest.WaitUntil(t, "the connection closed", func() bool { return srv.Stats().ActiveConns == 0 })
	if err := conn.Wake(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Wake after the close = %v, want net.ErrClosed", err)
	}
}

// Output that a Go function queues for a client that reads nothing is cut
// off by WriteTimeout, though no callback runs meanwhile.
func TestEventAsyncWriteStallTimesOut(t *testing.T) {
	closed := make(chan error, 1)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		Mode:         socketserver.Event{Loops: 1, HighWater: 64 << 20, MaxOutput: 64 << 20},
		WriteTimeout: 200 * time.Millisecond,
		HandleError:  func(net.Addr, error) {},
		EventHandler: &eventFuncs{
			open: func(c *socketserver.EventConn) {
				c.Go(func() {
					chunk := bytes.Repeat([]byte("a"), 1<<20)
					for range 48 { // more than the kernel's buffers on the path
						if c.AsyncWrite(chunk) != nil {
							return
						}
					}
				})
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
	}
	servetest.Dial(t, servetest.Serve(t, srv)) // and never read
	select {
	case err := <-closed:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("OnClose got %v, want a write timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled connection is still open")
	}
}

// Below HighWater a connection is read while its output waits for a client
// that does not read it yet: each request is taken as it comes, and the
// replies, far more than the kernel buffers, all arrive once the client
// reads.
func TestEventReadsWhileOutputWaits(t *testing.T) {
	const requests, reply = 256, 64 << 10
	var served atomic.Int32
	var most atomic.Int64
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Mode: socketserver.Event{Loops: 1, HighWater: 64 << 20, MaxOutput: 64 << 20},
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			for _, b := range in {
				c.Write(bytes.Repeat([]byte{b}, reply))
				served.Add(1)
			}
			if q := int64(c.Buffered()); q > most.Load() {
				most.Store(q)
			}
			return len(in)
		}},
	}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	for i := range requests {
		c.Write([]byte{'a' + byte(i%26)})
		servetest.WaitUntil(t, fmt.Sprintf("request %d taken", i), func() bool { return served.Load() == int32(i+1) })
	}
	if m := most.Load(); m < requests*reply/2 {
		t.Errorf("at most %d bytes waited in the queue: the test did not back the output up", m)
	}
	buf := make([]byte, reply)
	for i := range requests {
		if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'a'+byte(i%26) || buf[reply-1] != buf[0] {
			t.Fatalf("reply %d: %q…, %v", i, buf[:8], err)
		}
	}
}

// A callback that panics with ErrAbortHandler closes its connection
// without a report; OnClose is told why.
func TestEventAbortHandler(t *testing.T) {
	closed := make(chan error, 1)
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Mode: socketserver.Event{Loops: 1},
		EventHandler: &eventFuncs{
			data: func(c *socketserver.EventConn, in []byte) int {
				c.Write([]byte("discarded\n"))
				panic(socketserver.ErrAbortHandler)
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
	}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	io.WriteString(c, "x")
	if err := <-closed; !errors.Is(err, socketserver.ErrAbortHandler) {
		t.Fatalf("OnClose got %v, want ErrAbortHandler", err)
	}
	if got, err := io.ReadAll(c); len(got) != 0 || err != nil && !isReset(err) {
		t.Fatalf("client read %q, %v", got, err)
	}
	if st := srv.Stats(); st.Errors != 0 {
		t.Fatalf("Errors = %d, want 0", st.Errors)
	}
}

// panickyTicker panics on its first tick.
type panickyTicker struct {
	socketserver.EventHandlerBase
	ticks atomic.Int32
}

func (h *panickyTicker) OnTick() time.Duration {
	if h.ticks.Add(1) == 1 {
		panic("first tick")
	}
	return time.Millisecond
}

// A panic in OnTick is reported, and the ticks go on.
func TestEventTickPanic(t *testing.T) {
	errs := newErrorLog()
	h := &panickyTicker{}
	servetest.Serve(t, &socketserver.Server{Addr: "127.0.0.1:0", EventHandler: h, Mode: socketserver.Event{}, HandleError: errs.handle})
	var pe *socketserver.PanicError
	if err := errs.next(t); !errors.As(err, &pe) || pe.Value != "first tick" {
		t.Fatalf("reported %v, want the tick's panic", err)
	}
	servetest.WaitUntil(t, "more ticks", func() bool { return h.ticks.Load() >= 3 })
}

// helloPreamble reads "HELLO name\n" before the data: the client's address
// becomes the Unix address "name". Anything else is refused.
func helloPreamble(in []byte, remote, local net.Addr) (int, net.Addr, net.Addr, error) {
	i := bytes.IndexByte(in, '\n')
	switch {
	case !bytes.HasPrefix(in, []byte("HELLO "[:min(len(in), 6)])):
		return 0, nil, nil, errors.New("no hello")
	case i < 0:
		return 0, nil, nil, socketserver.ErrPreambleIncomplete
	}
	return i + 1, &net.UnixAddr{Net: "unix", Name: string(in[6:i])}, nil, nil
}

// Event.Preamble: the bytes after it reach OnData, with the client's
// address it gave; a refused preamble, one too long, and one that does not
// come within HandshakeTimeout close the connection, reported.
func TestEventPreamble(t *testing.T) {
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr:             "127.0.0.1:0",
		Mode:             socketserver.Event{Loops: 1, Preamble: helloPreamble},
		HandshakeTimeout: 300 * time.Millisecond,
		HandleError:      errs.handle,
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			fmt.Fprintf(c, "%s: %s", c.RemoteAddr(), in)
			return len(in)
		}},
	}
	addr := servetest.Serve(t, srv)

	c := servetest.Dial(t, addr)
	io.WriteString(c, "HEL")
	servetest.WaitUntil(t, "the first part read", func() bool { return srv.Stats().BytesIn == 3 })
	io.WriteString(c, "LO alice\nhi\n") // the rest of the preamble, and data, in one segment
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "alice: hi\n" {
		t.Fatalf("got %q, %v", line, err)
	}

	for _, tc := range []struct {
		name, send string
		want       string
	}{
		{name: "refused", send: "GET / HTTP/1.0\r\n", want: "no hello"},
		{name: "too long", send: "HELLO " + strings.Repeat("x", 5000), want: "no complete preamble in"},
		{name: "late", send: "HELLO bob", want: "no complete preamble for"},
	} {
		c := servetest.Dial(t, addr)
		io.WriteString(c, tc.send)
		if err := errs.next(t); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: reported %v, want %q", tc.name, err, tc.want)
		}
		if got, err := io.ReadAll(c); len(got) != 0 || err != nil && !isReset(err) {
			t.Errorf("%s: client read %q, %v", tc.name, got, err)
		}
	}
}

// Output a Go function queues past MaxOutput closes the connection with
// ErrOutputLimit, reported once; later AsyncWrites fail.
func TestEventAsyncWriteOverLimit(t *testing.T) {
	closed := make(chan error, 1)
	opened := make(chan *socketserver.EventConn, 1)
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr:        "127.0.0.1:0",
		Mode:        socketserver.Event{Loops: 1, HighWater: 64 << 10, MaxOutput: 1 << 20},
		HandleError: errs.handle,
		EventHandler: &eventFuncs{
			open: func(c *socketserver.EventConn) {
				opened <- c
				c.Go(func() {
					chunk := make([]byte, 256<<10)
					for range 64 { // 16 MiB, for a client that reads nothing
						if c.AsyncWrite(chunk) != nil {
							return
						}
					}
				})
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
	}
	servetest.Dial(t, servetest.Serve(t, srv))
	c := <-opened
	if err := <-closed; !errors.Is(err, socketserver.ErrOutputLimit) {
		t.Fatalf("OnClose got %v, want ErrOutputLimit", err)
	}
	if err := errs.next(t); !errors.Is(err, socketserver.ErrOutputLimit) {
		t.Fatalf("reported %v, want ErrOutputLimit", err)
	}
	if err := c.AsyncWrite([]byte("more")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("AsyncWrite after the limit = %v, want net.ErrClosed", err)
	}
	if st := srv.Stats(); st.Errors != 1 {
		t.Fatalf("Errors = %d, want 1", st.Errors)
	}
}
