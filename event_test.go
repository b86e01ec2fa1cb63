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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
)

// eventEcho writes back whatever arrives.
type eventEcho struct{ socketserver.EventHandlerBase }

func (eventEcho) OnData(c *socketserver.EventConn, in []byte) int {
	c.Write(in)
	return len(in)
}

var eventModes = []socketserver.Event{
	{Loops: 1},
	{Loops: 3, Balance: socketserver.LeastConns},
}

// forEachEvent runs f for every transport Event mode serves × a few
// Event configurations.
func forEachEvent(t *testing.T, f func(t *testing.T, tr transport, mode socketserver.Event)) {
	for _, tr := range transports {
		if tr.network == "unixpacket" {
			continue
		}
		for _, mode := range eventModes {
			t.Run(tr.network+"/"+mode.String()+"/"+mode.Balance.String(), func(t *testing.T) {
				t.Parallel()
				f(t, tr, mode)
			})
		}
	}
}

func TestEventEchoMatrix(t *testing.T) {
	forEachEvent(t, func(t *testing.T, tr transport, mode socketserver.Event) {
		srv := &socketserver.Server{Network: tr.network, Addr: bindAddr(t, tr), EventHandler: eventEcho{}, Mode: mode}
		addr := start(t, srv)
		if !strings.HasPrefix(tr.network, addr.Network()) {
			t.Errorf("bound address %v is on %q, want %q", addr, addr.Network(), tr.network)
		}
		const clients, messages = 6, 5
		var wg sync.WaitGroup
		for i := range clients {
			c := dial(t, addr)
			wg.Go(func() {
				for j := range messages {
					msg := fmt.Sprintf("client %d message %d\n", i, j)
					if got := roundTrip(t, c, msg); got != msg {
						t.Errorf("echo = %q, want %q", got, msg)
						return
					}
				}
				c.Close()
			})
		}
		wg.Wait()
		want := socketserver.Stats{TotalConns: clients}
		if !tr.stream {
			want = socketserver.Stats{TotalPackets: clients * messages}
		}
		want.BytesIn = clients * messages * int64(len("client 0 message 0\n"))
		want.BytesOut = want.BytesIn
		waitUntil(t, "every connection closed", func() bool {
			st := srv.Stats()
			return st.ActiveConns == 0 && st.ActivePackets == 0
		})
		if got := srv.Stats(); got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}

func TestEventUnixpacketUnsupported(t *testing.T) {
	srv := &socketserver.Server{Network: "unixpacket", Addr: sockPath(t, "s"), EventHandler: eventEcho{}, Mode: socketserver.Event{}}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Fatalf("ListenAndServe on unixpacket = %v, want ErrUnsupported", err)
	}
}

// eventFuncs is an EventHandler made of optional functions.
type eventFuncs struct {
	open  func(c *socketserver.EventConn)
	data  func(c *socketserver.EventConn, in []byte) int
	close func(c *socketserver.EventConn, err error)
}

func (h *eventFuncs) OnOpen(c *socketserver.EventConn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *eventFuncs) OnData(c *socketserver.EventConn, in []byte) int {
	if h.data != nil {
		return h.data(c, in)
	}
	return len(in)
}

func (h *eventFuncs) OnClose(c *socketserver.EventConn, err error) {
	if h.close != nil {
		h.close(c, err)
	}
}

// errorLog collects what a server reports to HandleError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
	ch   chan error
}

func newErrorLog() *errorLog { return &errorLog{ch: make(chan error, 100)} }

func (l *errorLog) handle(_ net.Addr, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
	select {
	case l.ch <- err:
	default:
	}
}

// next waits for the next reported error.
func (l *errorLog) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-l.ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no error reported")
		return nil
	}
}

// upperLines replies to each whole line with the line upper-cased, and
// keeps a partial line for later.
func upperLines(c *socketserver.EventConn, in []byte) int {
	consumed := 0
	for {
		i := bytes.IndexByte(in[consumed:], '\n')
		if i < 0 {
			return consumed
		}
		c.Write(bytes.ToUpper(in[consumed : consumed+i+1]))
		consumed += i + 1
	}
}

func TestEventPartialInputIsKept(t *testing.T) {
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: &eventFuncs{data: upperLines},
		Mode:         socketserver.Event{Loops: 1, MaxInput: 1024},
		HandleError:  errs.handle,
	}
	addr := start(t, srv)
	c := dial(t, addr)
	for _, part := range []string{"hel", "lo\nwor", "ld\n", "a\nb\nc", "\n"} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	want := "HELLO\nWORLD\nA\nB\nC\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}

	// A line longer than MaxInput closes the connection, reported.
	c2 := dial(t, addr)
	c2.Write(bytes.Repeat([]byte("x"), 4096))
	if err := errs.next(t); !errors.Is(err, socketserver.ErrInputLimit) {
		t.Fatalf("reported %v, want ErrInputLimit", err)
	}
	if _, err := io.ReadAll(c2); err != nil && !isReset(err) {
		t.Fatalf("read after the limit: %v", err)
	}
}

// isReset reports whether err is a connection reset, which a client may see
// when the server closes with its input unread.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestEventHalfClose(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0", EventHandler: eventEcho{}, Mode: socketserver.Event{Loops: 1}}
	c := dial(t, start(t, srv)).(*net.TCPConn)
	c.Write([]byte("one way\n"))
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "one way\n" {
		t.Fatalf("after half-close got %q, %v", got, err)
	}
}

// TestEventBackpressure has a client that sends and never reads: the
// server stops reading it once its queued output passes HighWater, never
// queues more than HighWater and one read, and closes it when the output
// has made no progress for WriteTimeout.
func TestEventBackpressure(t *testing.T) {
	const highWater, readSize = 64 << 10, 64 << 10
	var maxQueued atomic.Int64
	closed := make(chan error, 1)
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{
			data: func(c *socketserver.EventConn, in []byte) int {
				c.Write(in)
				if q := int64(c.Buffered()); q > maxQueued.Load() {
					maxQueued.Store(q)
				}
				return len(in)
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
		Mode:         socketserver.Event{Loops: 1, HighWater: highWater},
		WriteTimeout: 300 * time.Millisecond,
		HandleError:  errs.handle,
	}
	c := dial(t, start(t, srv))
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	var sent int64
	var werr error
	for sent < 256<<20 { // bounded: far more than every buffer on the path
		var n int
		n, werr = c.Write(chunk)
		sent += int64(n)
		if werr != nil {
			break
		}
	}
	if werr == nil || errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatalf("the client wrote %d bytes and got %v: the server did not cut it off", sent, werr)
	}
	if err := <-closed; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("OnClose got %v, want a write timeout", err)
	}
	if err := errs.next(t); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("reported %v, want a write timeout", err)
	}
	if q := maxQueued.Load(); q > highWater+readSize {
		t.Fatalf("queued output reached %d bytes, want at most %d", q, highWater+readSize)
	}
	if in := srv.Stats().BytesIn; in >= sent || in > 64<<20 {
		t.Fatalf("server read %d of the %d bytes sent: reading did not pause", in, sent)
	}
	t.Logf("client sent %d bytes before the cut; the server read %d and queued at most %d", sent, srv.Stats().BytesIn, maxQueued.Load())
}

func TestEventOutputLimit(t *testing.T) {
	closed := make(chan error, 1)
	var writeErr error
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{
			data: func(c *socketserver.EventConn, in []byte) int {
				big := make([]byte, 256<<10)
				for range 4 {
					if _, err := c.Write(big); err != nil {
						writeErr = err
						break
					}
				}
				return len(in)
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
		Mode:        socketserver.Event{Loops: 1, MaxOutput: 512 << 10},
		HandleError: func(net.Addr, error) {},
	}
	c := dial(t, start(t, srv))
	c.Write([]byte("go"))
	if err := <-closed; !errors.Is(err, socketserver.ErrOutputLimit) {
		t.Fatalf("OnClose got %v, want ErrOutputLimit", err)
	}
	if !errors.Is(writeErr, socketserver.ErrOutputLimit) {
		t.Fatalf("Write returned %v, want ErrOutputLimit", writeErr)
	}
	if st := srv.Stats(); st.Errors != 1 {
		t.Fatalf("Errors = %d, want 1", st.Errors)
	}
}

func TestEventAsyncWrites(t *testing.T) {
	const writers, each = 8, 200
	line := []byte("0123456789abcdef\n")
	opened := make(chan *socketserver.EventConn, 1)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: &eventFuncs{open: func(c *socketserver.EventConn) { opened <- c }},
		Mode:         socketserver.Event{Loops: 2},
	}
	client := dial(t, start(t, srv))
	conn := <-opened
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if err := conn.AsyncWrite(line); err != nil {
					t.Errorf("AsyncWrite: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := conn.AsyncClose(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if want := writers * each * len(line); len(got) != want || strings.Count(string(got), string(line)) != writers*each {
		t.Fatalf("got %d bytes, want %d whole lines", len(got), want)
	}
	if err := conn.AsyncWrite(line); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("AsyncWrite after close = %v, want net.ErrClosed", err)
	}
}

// TestEventGo hands each line to the worker pool, which replies later.
func TestEventGo(t *testing.T) {
	const lines = 200
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			consumed := 0
			for {
				i := bytes.IndexByte(in[consumed:], '\n')
				if i < 0 {
					return consumed
				}
				line := string(in[consumed : consumed+i])
				consumed += i + 1
				err := c.Go(func() {
					c.AsyncWrite([]byte(strings.ToUpper(line) + "\n"))
				})
				if err != nil {
					t.Errorf("Go: %v", err)
				}
			}
		}},
		Mode: socketserver.Event{Loops: 1, Workers: 4},
	}
	c := dial(t, start(t, srv))
	var req strings.Builder
	for i := range lines {
		fmt.Fprintf(&req, "line %d\n", i)
	}
	go c.Write([]byte(req.String()))
	sc := bufio.NewScanner(c)
	seen := map[string]bool{}
	for len(seen) < lines && sc.Scan() {
		seen[sc.Text()] = true
	}
	for i := range lines {
		if want := fmt.Sprintf("LINE %d", i); !seen[want] {
			t.Fatalf("no reply %q (got %d replies, scan error %v)", want, len(seen), sc.Err())
		}
	}
}
