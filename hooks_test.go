package socketserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// countingListener counts how often each accepted connection is closed.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	closes []*atomic.Int32
}

type countingConn struct {
	net.Conn
	closes *atomic.Int32
}

func (c *countingConn) Close() error {
	c.closes.Add(1)
	return c.Conn.Close()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := new(atomic.Int32)
	l.mu.Lock()
	l.closes = append(l.closes, n)
	l.mu.Unlock()
	return &countingConn{Conn: c, closes: n}, nil
}

// A rejected connection is closed at once, exactly once (CPython
// bpo-26309), and never reaches the handler.
func TestVerifyRejectsAndClosesOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := &countingListener{Listener: inner}
			var handled atomic.Int32
			srv := &socketserver.Server{Mode: mode, Logger: servetest.Logger(t),
				VerifyRequest: func(r *socketserver.Request) bool { return false },
				Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
					handled.Add(1)
					return nil
				})}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			const clients = 5
			for range clients {
				c := servetest.Dial(t, inner.Addr())
				if n, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("rejected client read %d, %v; want EOF", n, err)
				}
			}
			srv.Shutdown(context.Background())
			if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Fatalf("Serve = %v", err)
			}
			if handled.Load() != 0 {
				t.Errorf("handler ran %d times for rejected clients", handled.Load())
			}
			for i, n := range ln.closes {
				if n.Load() != 1 {
					t.Errorf("connection %d closed %d times, want 1", i, n.Load())
				}
			}
			if st := srv.Stats(); st.Rejected != clients {
				t.Errorf("Rejected = %d, want %d", st.Rejected, clients)
			}
		})
	}
}

// Rejected datagrams are dropped and counted; AllowNetworks admits by
// client address.
func TestVerifyDatagrams(t *testing.T) {
	srv := &socketserver.Server{Network: "udp", Addr: "127.0.0.1:0", Handler: echo, Mode: socketserver.Sync{},
		VerifyRequest: socketserver.AllowNetworks(netip.MustParsePrefix("127.0.0.2/32"))}
	addr := servetest.Serve(t, srv)
	refused := servetest.Dial(t, addr) // from 127.0.0.1
	refused.Write([]byte("dropped"))
	allowed, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, addr.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer allowed.Close()
	allowed.SetDeadline(time.Now().Add(10 * time.Second))
	// The Sync server takes datagrams in order: the refused one came first.
	if got := servetest.RoundTrip(t, allowed, "served"); got != "served" {
		t.Fatalf("echo = %q", got)
	}
	if st := srv.Stats(); st.Rejected != 1 || st.TotalPackets != 2 {
		t.Fatalf("Rejected = %d, TotalPackets = %d; want 1, 2", st.Rejected, st.TotalPackets)
	}
}

// Errors and panics in handlers are reported once each, with the
// client's address, and the server goes on serving.
func TestHandlerErrorsAndPanics(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tr := range []transport{{network: "tcp", stream: true}, {network: "unixgram"}} {
		for _, mode := range modes {
			t.Run(tr.network+"/"+mode.String(), func(t *testing.T) {
				type report struct {
					remote net.Addr
					err    error
				}
				reports := make(chan report, 10)
				// With a write buffer, ErrAbortHandler discards what the
				// handler wrote; unbuffered writes would already be sent.
				srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Mode: mode, WriteBufferSize: 64,
					HandleError: func(remote net.Addr, err error) { reports <- report{remote, err} },
					Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
						line, _ := r.Reader.ReadString('\n')
						switch strings.TrimSpace(line) {
						case "error":
							return errBoom
						case "panic":
							panic("kaboom")
						case "panic-error":
							panic(fmt.Errorf("wrapped: %w", errBoom))
						case "abort":
							io.WriteString(r.Writer, "never sent")
							return socketserver.ErrAbortHandler
						case "abort-panic":
							panic(socketserver.ErrAbortHandler)
						}
						_, err := io.WriteString(r.Writer, "ok\n")
						return err
					})}
				addr := servetest.Serve(t, srv)
				ask := func(line string) string {
					c := servetest.Dial(t, addr)
					c.Write([]byte(line + "\n"))
					if !tr.stream && line != "ok" {
						return "" // no reply datagram is sent
					}
					got, _ := io.ReadAll(io.LimitReader(c, 3))
					c.Close()
					return string(got)
				}
				for _, line := range []string{"error", "panic", "panic-error", "abort", "abort-panic"} {
					if got := ask(line); got != "" {
						t.Errorf("%s: client got %q, want nothing", line, got)
					}
					if got := ask("ok"); got != "ok\n" {
						t.Fatalf("after %s: server answered %q, want \"ok\\n\"", line, got)
					}
				}
				// Each report came before its client saw the connection
				// end; the race detector cannot see that through TCP, so
				// the reports are taken from the channel, never closed.
				var got []report
				for range 3 {
					got = append(got, <-reports)
				}
				srv.Shutdown(context.Background())
				if extra := len(reports); extra != 0 {
					t.Fatalf("HandleError called %d times more than the 3 failures (error, panic, panic-error)", extra)
				}
				// Datagram requests may run concurrently: the reports are
				// a set, in any order.
				var plain, panicked, wrapped int
				for _, r := range got {
					var pe *socketserver.PanicError
					switch {
					case !errors.As(r.err, &pe):
						if errors.Is(r.err, errBoom) {
							plain++
						}
					case pe.Value == "kaboom" && bytes.Contains(pe.Stack, []byte("hooks_test.go")):
						panicked++
					case errors.Is(r.err, errBoom):
						wrapped++
					}
				}
				if plain != 1 || panicked != 1 || wrapped != 1 {
					t.Errorf("reports = %v; want boom, a PanicError(kaboom) with its stack, and a panic that unwraps to boom", got)
				}
				for _, r := range got {
					if r.remote == nil || r.remote.Network() != tr.network {
						t.Errorf("report's client address = %v, want a %s address", r.remote, tr.network)
					}
				}
				if st := srv.Stats(); st.Errors != 3 {
					t.Errorf("Stats().Errors = %d, want 3", st.Errors)
				}
			})
		}
	}
}

// The default HandleError logs through the server's Logger: a panic with
// its stack, routine network errors at Debug level only.
func TestLogError(t *testing.T) {
	var buf bytes.Buffer
	srv := &socketserver.Server{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	srv.LogError(remote, &socketserver.PanicError{Value: "kaboom", Stack: []byte("goroutine 7 [running]")})
	srv.LogError(remote, io.EOF)
	srv.LogError(remote, errors.New("disk full"))
	out := buf.String()
	for _, want := range []string{`"panic":"kaboom"`, `"stack":"goroutine 7 [running]"`, `"remote":"127.0.0.1:4242"`, `"err":"disk full"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "EOF") {
		t.Errorf("a routine EOF was logged at Info level or above:\n%s", out)
	}
}

// stepHandler records its Setup, Handle and Finish calls.
type stepHandler struct {
	mu         sync.Mutex
	steps      []string
	failSetup  bool
	panicInRun bool
}

func (h *stepHandler) record(s string) {
	h.mu.Lock()
	h.steps = append(h.steps, s)
	h.mu.Unlock()
}

func (h *stepHandler) Setup(r *socketserver.Request) error {
	h.record("setup")
	if h.failSetup {
		return errors.New("setup failed")
	}
	return nil
}

func (h *stepHandler) Handle(r *socketserver.Request) error {
	h.record("handle")
	if h.panicInRun {
		panic("in handle")
	}
	return nil
}

func (h *stepHandler) Finish(r *socketserver.Request) error {
	h.record("finish")
	_, err := io.WriteString(r.Writer, "finished")
	return err
}

// Setup and Finish run around Handle as in Python: Finish even after a
// panic in Handle, neither Handle nor Finish after a failed Setup.
func TestSetupAndFinish(t *testing.T) {
	for _, tc := range []struct {
		name       string
		handler    *stepHandler
		wantSteps  string
		wantReply  string
		wantErrors int64
	}{
		{name: "ok", handler: &stepHandler{}, wantSteps: "setup handle finish", wantReply: "finished"},
		{name: "setup fails", handler: &stepHandler{failSetup: true}, wantSteps: "setup", wantErrors: 1},
		{name: "handle panics", handler: &stepHandler{panicInRun: true}, wantSteps: "setup handle finish", wantReply: "finished", wantErrors: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: tc.handler, Mode: socketserver.Sync{},
				HandleError: func(net.Addr, error) {}}
			c := servetest.Dial(t, servetest.Serve(t, srv))
			got, _ := io.ReadAll(c)
			srv.Shutdown(context.Background())
			if string(got) != tc.wantReply {
				t.Errorf("reply = %q, want %q", got, tc.wantReply)
			}
			if steps := strings.Join(tc.handler.steps, " "); steps != tc.wantSteps {
				t.Errorf("steps = %q, want %q", steps, tc.wantSteps)
			}
			if n := srv.Stats().Errors; n != tc.wantErrors {
				t.Errorf("errors = %d, want %d", n, tc.wantErrors)
			}
		})
	}
}

// ConnState sees every request go New → Active → Closed, and a rejected
// one New → Closed.
func TestConnState(t *testing.T) {
	for _, tr := range []transport{{network: "tcp", stream: true}, {network: "udp"}} {
		t.Run(tr.network, func(t *testing.T) {
			var mu sync.Mutex
			states := map[uint64][]string{}
			closed := make(chan struct{}, 2)
			srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Handler: echo,
				VerifyRequest: func(r *socketserver.Request) bool { return r.ID == 1 },
				ConnState: func(r *socketserver.Request, s socketserver.ConnState) {
					mu.Lock()
					states[r.ID] = append(states[r.ID], s.String())
					mu.Unlock()
					if s == socketserver.StateClosed {
						closed <- struct{}{}
					}
				}}
			addr := servetest.Serve(t, srv)
			for range 2 {
				c := servetest.Dial(t, addr)
				c.Write([]byte("x"))
				if tr.stream {
					c.(interface{ CloseWrite() error }).CloseWrite()
				}
				<-closed
			}
			mu.Lock()
			defer mu.Unlock()
			if got := fmt.Sprint(states); got != "map[1:[new active closed] 2:[new closed]]" {
				t.Fatalf("states = %s", got)
			}
		})
	}
}

// HandleRequest serves exactly one request, or calls HandleTimeout when
// none came within Timeout; it gives up when its context is done.
func TestHandleRequest(t *testing.T) {
	for _, tr := range []transport{{network: "tcp", stream: true}, {network: "unix", stream: true}, {network: "udp"}, {network: "unixgram"}} {
		t.Run(tr.network, func(t *testing.T) {
			var timeouts atomic.Int32
			srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Handler: echo, Logger: servetest.Logger(t),
				Timeout: 20 * time.Millisecond, HandleTimeout: func() { timeouts.Add(1) }}
			defer srv.Close()
			addr, err := srv.Listen()
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.HandleRequest(context.Background()); err != nil {
				t.Fatalf("HandleRequest with no client = %v", err)
			}
			if timeouts.Load() != 1 {
				t.Fatalf("HandleTimeout called %d times, want 1", timeouts.Load())
			}

			c := servetest.Dial(t, addr)
			c.Write([]byte("one"))
			if tr.stream {
				c.(interface{ CloseWrite() error }).CloseWrite()
			}
			if err := srv.HandleRequest(context.Background()); err != nil {
				t.Fatalf("HandleRequest = %v", err)
			}
			buf := make([]byte, 3)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "one" {
				t.Fatalf("reply %q, %v", buf, err)
			}
			if timeouts.Load() != 1 || srv.Stats().TotalConns+srv.Stats().TotalPackets != 1 {
				t.Fatalf("after one request: %d timeouts, %+v", timeouts.Load(), srv.Stats())
			}

			srv.Timeout = 0
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.HandleRequest(ctx) }()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("HandleRequest with a cancelled context = %v", err)
			}
			srv.Close()
			if err := srv.HandleRequest(context.Background()); !errors.Is(err, socketserver.ErrServerClosed) {
				t.Fatalf("HandleRequest after Close = %v", err)
			}
		})
	}
}

// ServiceActions runs periodically while the server serves, and stops
// with it.
func TestServiceActions(t *testing.T) {
	ticks := make(chan struct{}, 100)
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: echo, ServiceInterval: time.Millisecond,
		ServiceActions: func() { ticks <- struct{}{} }}
	servetest.Serve(t, srv)
	for range 3 {
		<-ticks
	}
	srv.Close()
	for len(ticks) > 0 {
		<-ticks
	}
	// Close has returned, and ListenAndServe (checked at cleanup) waits for
	// the actions goroutine, which goleak would otherwise report.
}

// A request's context is cancelled when the request ends and when the
// server is closed.
func TestRequestContext(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	srv := &socketserver.Server{Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			ctx := r.Context()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ctxs <- ctx
			if _, err := r.Reader.ReadByte(); err == nil {
				return nil // the first client: end the request
			}
			<-ctx.Done() // the second: wait for Close
			return nil
		})}
	addr := servetest.Serve(t, srv)
	c := servetest.Dial(t, addr)
	c.Write([]byte("x"))
	<-(<-ctxs).Done()

	servetest.Dial(t, addr)
	ctx := <-ctxs
	srv.Close()
	<-ctx.Done()
}

// A context asked for after its request ended is already cancelled.
func TestContextAfterRequestEnds(t *testing.T) {
	requests := make(chan *socketserver.Request, 1)
	ended := make(chan struct{})
	srv := &socketserver.Server{Network: "udp", Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			requests <- r
			return nil
		}),
		ConnState: func(r *socketserver.Request, s socketserver.ConnState) {
			if s == socketserver.StateClosed {
				close(ended)
			}
		}}
	servetest.Dial(t, servetest.Serve(t, srv)).Write([]byte("x"))
	r := <-requests
	<-ended
	select {
	case <-r.Context().Done():
	default:
		t.Fatal("the context of an ended request is not cancelled")
	}
}

// A panic in VerifyRequest rejects the request, is reported, and the
// server goes on.
func TestVerifyPanics(t *testing.T) {
	reported := make(chan error, 1)
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: echo,
		VerifyRequest: func(r *socketserver.Request) bool {
			if r.ID == 1 {
				panic("verify broke")
			}
			return true
		},
		HandleError: func(remote net.Addr, err error) { reported <- err }}
	addr := servetest.Serve(t, srv)
	first := servetest.Dial(t, addr)
	if _, err := first.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("first client read %v, want EOF", err)
	}
	var pe *socketserver.PanicError
	if err := <-reported; !errors.As(err, &pe) || pe.Value != "verify broke" {
		t.Fatalf("reported %v, want the verify panic", err)
	}
	if got := servetest.RoundTrip(t, servetest.Dial(t, addr), "still serving"); got != "still serving" {
		t.Fatalf("echo = %q", got)
	}
	if st := srv.Stats(); st.Rejected != 1 {
		t.Fatalf("Rejected = %d, want 1", st.Rejected)
	}
}
