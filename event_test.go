package socketserver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

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
		srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), EventHandler: eventEcho{}, Mode: mode}
		addr := servetest.Serve(t, srv)
		if !strings.HasPrefix(tr.network, addr.Network()) {
			t.Errorf("bound address %v is on %q, want %q", addr, addr.Network(), tr.network)
		}
		const clients, messages = 6, 5
		var wg sync.WaitGroup
		for i := range clients {
			c := servetest.Dial(t, addr)
			wg.Go(func() {
				for j := range messages {
					msg := fmt.Sprintf("client %d message %d\n", i, j)
					if got := servetest.RoundTrip(t, c, msg); got != msg {
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
		// A loop adds the bytes it read to Stats once per turn, which may
		// end after the replies went out.
		servetest.WaitUntil(t, "every connection closed and counted", func() bool {
			st := srv.Stats()
			return st.ActiveConns == 0 && st.ActivePackets == 0 && st.BytesIn == want.BytesIn
		})
		if got := srv.Stats(); got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}

func TestEventUnixpacketUnsupported(t *testing.T) {
	srv := &socketserver.Server{Network: "unixpacket", Addr: servetest.SockPath(t, "s"), EventHandler: eventEcho{}, Mode: socketserver.Event{}}
	// Refused before binding: nothing is listening, no file is left.
	if _, err := srv.Listen(); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Fatalf("Listen on unixpacket = %v, want ErrUnsupported", err)
	}
	if _, err := os.Stat(srv.Addr); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after the refusal: %v", err)
	}
	// A listener of that kind handed to Serve is refused too.
	ln, err := net.Listen("unixpacket", servetest.SockPath(t, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Fatalf("Serve on unixpacket = %v, want ErrUnsupported", err)
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

func TestEventPartialInputIsKept(t *testing.T) {
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: &eventFuncs{data: upperLines},
		Mode:         socketserver.Event{Loops: 1, MaxInput: 1024},
		HandleError:  errs.handle,
	}
	addr := servetest.Serve(t, srv)
	c := servetest.Dial(t, addr)
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
	c2 := servetest.Dial(t, addr)
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
	c := servetest.Dial(t, servetest.Serve(t, srv)).(*net.TCPConn)
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
	c := servetest.Dial(t, servetest.Serve(t, srv))
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
	c := servetest.Dial(t, servetest.Serve(t, srv))
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
	client := servetest.Dial(t, servetest.Serve(t, srv))
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
	c := servetest.Dial(t, servetest.Serve(t, srv))
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

// TestEventShutdownFlushesOutput: Shutdown lets a client that reads slowly
// receive all the output queued for it, and waits for Go functions.
func TestEventShutdownFlushesOutput(t *testing.T) {
	const size = 4 << 20
	queued := make(chan struct{})
	release := make(chan struct{})
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			c.Write(bytes.Repeat([]byte("z"), size))
			c.Go(func() {
				<-release
				c.AsyncWrite([]byte("late reply\n"))
			})
			close(queued)
			return len(in)
		}},
		Mode: socketserver.Event{Loops: 1, MaxOutput: 2 * size},
	}
	addr, served := servetest.Background(t, srv)
	c := servetest.Dial(t, addr)
	c.Write([]byte("go\n"))
	<-queued

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a Go function was running", err)
	case <-time.After(50 * time.Millisecond): // a check, not synchronisation
	}
	close(release)
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := size + len("late reply\n"); len(got) != want || !bytes.HasSuffix(got, []byte("late reply\n")) {
		t.Fatalf("got %d bytes (ending %q), want %d ending with the late reply", len(got), got[max(0, len(got)-20):], want)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("ListenAndServe = %v", err)
	}
	if _, err := net.Dial("tcp", addr.String()); err == nil {
		t.Fatal("a connection was accepted after Shutdown")
	}
}

// TestEventShutdownAnswersWhatArrived: requests that reached the server
// before Shutdown are answered, on every loop.
func TestEventShutdownAnswersWhatArrived(t *testing.T) {
	const clients = 40
	arrived := make(chan struct{}, clients)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: &eventFuncs{open: func(*socketserver.EventConn) { arrived <- struct{}{} }, data: upperLines},
		Mode:         socketserver.Event{Loops: 3},
	}
	addr, served := servetest.Background(t, srv)
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = servetest.Dial(t, addr)
		<-arrived
		fmt.Fprintf(conns[i], "request %d\n", i)
	}
	// The requests are in the server's socket buffers, read or not.
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		got, err := io.ReadAll(c)
		if want := fmt.Sprintf("REQUEST %d\n", i); err != nil || string(got) != want {
			t.Errorf("client %d got %q, %v; want %q", i, got, err, want)
		}
	}
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("ListenAndServe = %v", err)
	}
}

func TestEventShutdownForcesAtDeadline(t *testing.T) {
	release := make(chan struct{})
	closed := make(chan error, 1)
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{
			data: func(c *socketserver.EventConn, in []byte) int {
				c.Go(func() { <-release })
				return len(in)
			},
			close: func(_ *socketserver.EventConn, err error) { closed <- err },
		},
		Mode: socketserver.Event{Loops: 1},
	}
	addr, served := servetest.Background(t, srv)
	c := servetest.Dial(t, addr)
	c.Write([]byte("x"))
	servetest.WaitUntil(t, "the request arrived", func() bool { return srv.Stats().BytesIn == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-closed; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("OnClose got %v, want net.ErrClosed", err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client read: %v", err)
	}
	close(release) // Serve waits for the Go function, as Close does
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("ListenAndServe = %v", err)
	}
}

func TestEventTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		idle, read time.Duration
		wantErr    error
	}{
		{name: "idle", idle: 50 * time.Millisecond, wantErr: socketserver.ErrIdleTimeout},
		{name: "read", read: 50 * time.Millisecond, wantErr: os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan error, 1)
			srv := &socketserver.Server{
				Addr:        "127.0.0.1:0",
				Mode:        socketserver.Event{Loops: 1},
				IdleTimeout: tc.idle,
				ReadTimeout: tc.read,
				HandleError: func(net.Addr, error) {},
				EventHandler: &eventFuncs{
					data:  func(c *socketserver.EventConn, in []byte) int { c.Write(in); return len(in) },
					close: func(_ *socketserver.EventConn, err error) { closed <- err },
				},
			}
			c := servetest.Dial(t, servetest.Serve(t, srv))
			if got := servetest.RoundTrip(t, c, "ping"); got != "ping" {
				t.Fatalf("echo = %q", got)
			}
			start := time.Now()
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-closed; !errors.Is(err, tc.wantErr) {
				t.Fatalf("OnClose got %v, want %v", err, tc.wantErr)
			}
			if d := time.Since(start); d < 40*time.Millisecond {
				t.Fatalf("closed after %v, before the timeout", d)
			}
		})
	}
}

func TestEventPanicClosesOnlyItsConnection(t *testing.T) {
	errs := newErrorLog()
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			if string(in) == "boom" {
				panic("kaboom")
			}
			c.Write(in)
			return len(in)
		}},
		Mode:        socketserver.Event{Loops: 1},
		HandleError: errs.handle,
	}
	addr := servetest.Serve(t, srv)
	good, bad := servetest.Dial(t, addr), servetest.Dial(t, addr)
	servetest.RoundTrip(t, good, "hello")
	bad.Write([]byte("boom"))
	var pe *socketserver.PanicError
	if err := errs.next(t); !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Fatalf("reported %v, want the panic", err)
	}
	if _, err := io.ReadAll(bad); err != nil {
		t.Fatal(err)
	}
	if got := servetest.RoundTrip(t, good, "still here"); got != "still here" {
		t.Fatalf("echo after the panic = %q", got)
	}
}

func TestEventHooksAndLimits(t *testing.T) {
	var mu sync.Mutex
	states := map[uint64][]socketserver.ConnState{}
	var reject atomic.Bool
	opened := make(chan *socketserver.EventConn, 10)
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		EventHandler: &eventFuncs{open: func(c *socketserver.EventConn) { opened <- c }},
		Mode:         socketserver.Event{Loops: 2},
		MaxConns:     2,
		VerifyRequest: func(r *socketserver.Request) bool {
			return !reject.Load()
		},
		ConnState: func(r *socketserver.Request, st socketserver.ConnState) {
			mu.Lock()
			states[r.ID] = append(states[r.ID], st)
			mu.Unlock()
		},
	}
	addr := servetest.Serve(t, srv)

	reject.Store(true)
	c := servetest.Dial(t, addr)
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	servetest.WaitUntil(t, "the rejected connection closed", func() bool { return srv.Stats().ActiveConns == 0 })
	reject.Store(false)

	a, b := servetest.Dial(t, addr), servetest.Dial(t, addr)
	ca, cb := <-opened, <-opened
	if ca.ID() == cb.ID() || ca.RemoteAddr() == nil || ca.LocalAddr().String() != addr.String() {
		t.Fatalf("conns %d %v %v, %d", ca.ID(), ca.RemoteAddr(), ca.LocalAddr(), cb.ID())
	}
	over := servetest.Dial(t, addr)
	if _, err := io.ReadAll(over); err != nil && !isReset(err) {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	servetest.WaitUntil(t, "all closed", func() bool { return srv.Stats().ActiveConns == 0 })
	st := srv.Stats()
	if st.Rejected != 1 || st.OverLimit != 1 || st.TotalConns != 3 {
		t.Fatalf("Stats = %+v, want 1 rejected, 1 over the limit, 3 taken", st)
	}
	mu.Lock()
	defer mu.Unlock()
	var full, short int
	for id, seq := range states {
		switch fmt.Sprint(seq) {
		case "[new active closed]":
			full++
		case "[new closed]":
			short++
		default:
			t.Errorf("connection %d went through %v", id, seq)
		}
	}
	if full != 2 || short != 1 {
		t.Fatalf("%d served and %d rejected state sequences, want 2 and 1", full, short)
	}
}

type ticker struct {
	socketserver.EventHandlerBase
	ticks atomic.Int32
}

func (h *ticker) OnTick() time.Duration {
	h.ticks.Add(1)
	return 5 * time.Millisecond
}

func TestEventTick(t *testing.T) {
	h := &ticker{}
	servetest.Serve(t, &socketserver.Server{Addr: "127.0.0.1:0", EventHandler: h, Mode: socketserver.Event{}})
	servetest.WaitUntil(t, "three ticks", func() bool { return h.ticks.Load() >= 3 })
}

// TestEventLifecycleFromCallback: Shutdown and Close called from a
// callback return at once instead of waiting for the loop that runs them.
func TestEventLifecycleFromCallback(t *testing.T) {
	for _, name := range []string{"Shutdown", "Close"} {
		t.Run(name, func(t *testing.T) {
			returned := make(chan error, 1)
			srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Event{Loops: 1}}
			srv.EventHandler = &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
				c.Write([]byte("bye\n"))
				if name == "Shutdown" {
					returned <- srv.Shutdown(c.Context())
				} else {
					returned <- srv.Close()
				}
				return len(in)
			}}
			addr, served := servetest.Background(t, srv)
			c := servetest.Dial(t, addr)
			c.Write([]byte("hi\n"))
			if err := <-returned; err != nil {
				t.Fatalf("%s = %v", name, err)
			}
			got, _ := io.ReadAll(c)
			if name == "Shutdown" && string(got) != "bye\n" {
				t.Fatalf("reply = %q, want it flushed by the graceful shutdown", got)
			}
			if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Fatalf("ListenAndServe = %v", err)
			}
		})
	}
}

func TestEventDatagramTruncationAndVerify(t *testing.T) {
	errs := newErrorLog()
	srv := &socketserver.Server{
		Network:       "udp",
		Addr:          "127.0.0.1:0",
		EventHandler:  eventEcho{},
		Mode:          socketserver.Event{},
		MaxPacketSize: 100,
		HandleError:   errs.handle,
		VerifyRequest: func(r *socketserver.Request) bool { return string(r.Packet) != "deny" },
	}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	c.Write(bytes.Repeat([]byte("x"), 101))
	if err := errs.next(t); !errors.Is(err, socketserver.ErrTruncated) {
		t.Fatalf("reported %v, want ErrTruncated", err)
	}
	c.Write([]byte("deny"))
	if got := servetest.RoundTrip(t, c, strings.Repeat("y", 100)); len(got) != 100 {
		t.Fatalf("echo of 100 bytes = %d bytes", len(got))
	}
	if st := srv.Stats(); st.Truncated != 1 || st.Rejected != 1 || st.TotalPackets != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestEventInputClosed: input left unconsumed when the client ends its
// side is offered once more, with InputClosed true.
func TestEventInputClosed(t *testing.T) {
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			if !c.InputClosed() {
				return 0 // wait for all of it
			}
			c.Write(bytes.ToUpper(in))
			return len(in)
		}},
		Mode: socketserver.Event{Loops: 1},
	}
	c := servetest.Dial(t, servetest.Serve(t, srv)).(*net.TCPConn)
	c.Write([]byte("no newline"))
	c.CloseWrite()
	if got, err := io.ReadAll(c); err != nil || string(got) != "NO NEWLINE" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestEventUnnamedUnixgramClient: a datagram from a Unix socket that never
// bound a name is served; a reply to it fails with ErrUnnamedPeer.
func TestEventUnnamedUnixgramClient(t *testing.T) {
	got := make(chan error, 1)
	srv := &socketserver.Server{
		Network: "unixgram",
		Addr:    servetest.SockPath(t, "s"),
		Mode:    socketserver.Event{},
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			if _, ok := c.RemoteAddr().(socketserver.UnnamedAddr); !ok || !c.Datagram() || string(in) != "anonymous" {
				t.Errorf("datagram %q from %v (datagram %v)", in, c.RemoteAddr(), c.Datagram())
			}
			_, err := c.Write([]byte("reply"))
			got <- err
			return len(in)
		}},
	}
	addr := servetest.Serve(t, srv)
	c, err := net.DialUnix("unixgram", nil, addr.(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("anonymous"))
	if err := <-got; !errors.Is(err, socketserver.ErrUnnamedPeer) {
		t.Fatalf("reply to an unnamed client: %v, want ErrUnnamedPeer", err)
	}
}

// greeter says "ok" to each connection and keeps it open.
type greeter struct{ socketserver.EventHandlerBase }

func (greeter) OnOpen(c *socketserver.EventConn) { c.Write([]byte("ok\n")) }

func (greeter) OnData(_ *socketserver.EventConn, in []byte) int { return len(in) }

// MaxConnsPerIP and FirstByteTimeout work in Event mode as in the others.
func TestEventLimitsPerIPAndFirstByte(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Event{Loops: 2}, EventHandler: greeter{},
		MaxConnsPerIP: 2, HandleError: func(net.Addr, error) {}}
	addr := servetest.Serve(t, srv)
	greeted := func(c net.Conn) bool {
		l, _ := bufio.NewReader(c).ReadString('\n')
		return l == "ok\n"
	}
	a, b := servetest.Dial(t, addr), servetest.Dial(t, addr)
	if !greeted(a) || !greeted(b) {
		t.Fatal("connections within the limit were not served")
	}
	if greeted(servetest.Dial(t, addr)) {
		t.Error("a third connection from 127.0.0.1 was served")
	}
	if st := srv.Stats(); st.OverIPLimit != 1 {
		t.Errorf("OverIPLimit = %d, want 1", st.OverIPLimit)
	}
	a.Close()
	servetest.WaitUntil(t, "the closed connection released", func() bool { return srv.Stats().ActiveConns == 1 })
	if !greeted(servetest.Dial(t, addr)) {
		t.Error("after one closed, a new connection was refused")
	}

	errs := make(chan error, 4)
	quick := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Event{}, EventHandler: eventEcho{},
		FirstByteTimeout: 100 * time.Millisecond, HandleError: func(_ net.Addr, err error) { errs <- err }}
	qaddr := servetest.Serve(t, quick)
	checkFirstByteTimeout(t, qaddr, errs)
}

// WrapConn (which TLS uses) reads from a blocking connection, which
// Event mode does not have: Serve says so instead of ignoring it.
func TestEventRefusesWrapConn(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Event{}, EventHandler: eventEcho{},
		WrapConn: func(c net.Conn) (net.Conn, error) { return c, nil }}
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Errorf("WrapConn in Event mode: ListenAndServe = %v, want ErrUnsupported", err)
	}
}

// A handler that stops taking requests while its output is high is offered
// the rest as the output drains: a pipeline of any depth is answered, and
// the queued output stays bounded by the handler's own limit.
func TestEventPipelineResumesAsOutputDrains(t *testing.T) {
	for _, halfClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("half-close=%v", halfClose), func(t *testing.T) { testPipelineResumes(t, halfClose) })
	}
}

// testPipelineResumes: with halfClose, the client ends its side after the
// pipeline, and is answered all the same.
func testPipelineResumes(t *testing.T, halfClose bool) {
	const (
		requests = 2000 // 16 MiB of replies: more than the sockets' buffers hold
		reply    = 8 << 10
		limit    = 64 << 10
	)
	var most atomic.Int64
	big := bytes.Repeat([]byte("r"), reply-1)
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Mode: socketserver.Event{Loops: 1},
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			consumed := 0
			for consumed < len(in) && in[consumed] == 'g' && c.Buffered() < limit {
				c.Write(big)
				c.Write([]byte("\n"))
				consumed++
			}
			if b := int64(c.Buffered()); b > most.Load() {
				most.Store(b)
			}
			return consumed
		}},
	}
	addr := servetest.Serve(t, srv)
	c := servetest.Dial(t, addr)
	c.Write(bytes.Repeat([]byte("g"), requests)) // the whole pipeline at once
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	buf := make([]byte, reply)
	for i := range requests {
		if _, err := io.ReadFull(c, buf); err != nil || buf[reply-1] != '\n' {
			t.Fatalf("reply %d: %v", i, err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // a slow reader: the output backs up
		}
	}
	if m := most.Load(); m > limit+reply {
		t.Errorf("queued output reached %d bytes, past the handler's limit %d", m, limit+reply)
	}
}

// A connection that ends with input left unconsumed (a reset, or
// Shutdown's deadline) gives its handler that input once more, with
// InputClosed, before OnClose: the last chance to handle it.
func TestEventLastInputOnAbnormalEnd(t *testing.T) {
	type last struct {
		in     string
		closed bool
	}
	for _, how := range []string{"reset", "deadline"} {
		t.Run(how, func(t *testing.T) {
			lastData := make(chan last, 4)
			closed := make(chan struct{})
			srv := &socketserver.Server{
				Addr: "127.0.0.1:0",
				Mode: socketserver.Event{Loops: 1},
				EventHandler: &eventFuncs{
					data: func(c *socketserver.EventConn, in []byte) int {
						if c.InputClosed() {
							lastData <- last{in: string(in), closed: true}
						}
						return upperLines(c, in)
					},
					close: func(*socketserver.EventConn, error) { close(closed) },
				},
			}
			addr, served := servetest.Background(t, srv)
			c := servetest.Dial(t, addr)
			c.Write([]byte("done\nhalf a li"))
			got := make([]byte, len("DONE\n"))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "DONE\n" {
				t.Fatalf("got %q, %v", got, err)
			}
			servetest.WaitUntil(t, "the input arrived", func() bool { return srv.Stats().BytesIn == int64(len("done\nhalf a li")) })
			switch how {
			case "reset":
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			case "deadline":
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Shutdown = %v, want DeadlineExceeded: the half line holds the connection", err)
				}
			}
			<-closed
			select {
			case l := <-lastData:
				if l.in != "half a li" {
					t.Errorf("last OnData had %q, want %q", l.in, "half a li")
				}
			default:
				t.Error("no last OnData with InputClosed before OnClose")
			}
			srv.Close()
			<-served
		})
	}
}

// Write and Close belong to a connection's own callbacks: called from
// another connection's callback, or from another goroutine, they fail
// with ErrOutsideCallback (and do not race), and AsyncWrite is the way.
func TestEventMisuseIsRefused(t *testing.T) {
	var (
		mu     sync.Mutex
		conns  []*socketserver.EventConn
		talker *socketserver.EventConn
	)
	refused := make(chan error, 4)
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Mode: socketserver.Event{Loops: 1},
		EventHandler: &eventFuncs{
			open: func(c *socketserver.EventConn) {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			},
			data: func(c *socketserver.EventConn, in []byte) int {
				mu.Lock()
				others := slices.Clone(conns)
				mu.Unlock()
				for _, o := range others {
					if o == c {
						continue
					}
					_, err := o.Write([]byte("from another callback\n")) // a chat server's mistake
					refused <- err
					refused <- o.Close()
					o.AsyncWrite(in) // the right way
				}
				mu.Lock()
				talker = c
				mu.Unlock()
				return len(in)
			},
		},
	}
	addr := servetest.Serve(t, srv)
	a := servetest.Dial(t, addr)
	b := servetest.Dial(t, addr)
	servetest.WaitUntil(t, "both connections open", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) == 2
	})
	b.Write([]byte("hello a\n"))
	got := make([]byte, len("hello a\n"))
	if _, err := io.ReadFull(a, got); err != nil || string(got) != "hello a\n" {
		t.Errorf("a got %q, %v through AsyncWrite", got, err)
	}
	// The callback has returned: the test's own goroutine is elsewhere.
	// (A call from another goroutine while the connection's own callback
	// runs is not caught: the check is one compare, not an identity.)
	mu.Lock()
	c := talker
	mu.Unlock()
	_, err := c.Write([]byte("from a goroutine\n"))
	refused <- err
	for range 3 {
		if err := <-refused; !errors.Is(err, socketserver.ErrOutsideCallback) {
			t.Errorf("misuse returned %v, want ErrOutsideCallback", err)
		}
	}
}
