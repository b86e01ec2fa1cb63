package socketserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// Twenty servers shut down right after they start all return (CPython's
// test_shutdown).
func TestShutdownRightAfterStart(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			var wg sync.WaitGroup
			for range 20 {
				srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: echo, Mode: mode, Logger: servetest.Logger(t)}
				wg.Go(func() {
					served := make(chan error, 1)
					go func() { served <- srv.ListenAndServe() }()
					if err := srv.Shutdown(context.Background()); err != nil {
						t.Errorf("Shutdown = %v", err)
					}
					if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
						t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
					}
				})
			}
			wg.Wait()
		})
	}
}

// A server never served can be closed, more than once, and closing it
// releases the socket Listen opened.
func TestCloseWithoutServing(t *testing.T) {
	srv := &socketserver.Server{Handler: echo}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close = %v", err)
	}
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("ListenAndServe after Close = %v, want ErrServerClosed", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close left its listener open: Accept = %v", err)
	}

	path := servetest.SockPath(t, "s")
	bound := &socketserver.Server{Network: "unix", Addr: path, Handler: echo}
	if _, err := bound.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := bound.Close(); err != nil {
		t.Fatalf("Close after Listen = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after Close: %v, want it removed", err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// 1024 failed binds in a row leak no descriptor (CPython bpo-22435).
func TestFailedBindLeaksNoDescriptor(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	path := servetest.SockPath(t, "busy")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	before := openFDs(t)
	for i := range 1024 {
		for _, srv := range []*socketserver.Server{
			{Network: "tcp", Addr: taken.Addr().String(), Handler: echo},
			{Network: "unix", Addr: path, Handler: echo},
		} {
			if err := srv.ListenAndServe(); err == nil || errors.Is(err, socketserver.ErrServerClosed) {
				t.Fatalf("bind %d of %s %s = %v, want a bind error", i, srv.Network, srv.Addr, err)
			}
		}
	}
	if after := openFDs(t); after > before {
		t.Fatalf("open descriptors grew from %d to %d over 2048 failed binds", before, after)
	}
}

// Shutdown waits for requests in flight, and a request accepted before it
// began is served whole.
func TestShutdownWaitsForRequests(t *testing.T) {
	for _, mode := range []socketserver.Mode{socketserver.Sync{}, socketserver.Goroutine{}, socketserver.Pool{Workers: 2}} {
		t.Run(mode.String(), func(t *testing.T) {
			started := make(chan struct{}, 4)
			release := make(chan struct{})
			var finished atomic.Int32
			srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: mode, Logger: servetest.Logger(t),
				Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
					started <- struct{}{}
					<-release
					_, err := io.WriteString(r.Writer, "done")
					finished.Add(1)
					return err
				})}
			addr := servetest.Serve(t, srv)
			c := servetest.Dial(t, addr)
			<-started

			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(context.Background()) }()
			// The listener closes as Shutdown begins (CPython bpo-35017):
			// wait until it refuses. A probe that connected before that,
			// and was taken by an accept under way, is served too.
			servetest.WaitUntil(t, "the listener is closed", func() bool {
				c2, err := net.Dial("tcp", addr.String())
				if err == nil {
					c2.Close()
				}
				return err != nil
			})
			close(release)
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown = %v, want nil", err)
			}
			if n, total := int64(finished.Load()), srv.Stats().TotalConns; n != total || n < 1 {
				t.Fatalf("Shutdown returned with %d of %d requests finished", n, total)
			}
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "done" {
				t.Fatalf("client read %q, %v; want \"done\"", got, err)
			}
		})
	}
}

// At its context's deadline Shutdown closes the connections still open,
// cancels their contexts and returns the context's error.
func TestShutdownForcesAtDeadline(t *testing.T) {
	for _, mode := range []socketserver.Mode{socketserver.Sync{}, socketserver.Goroutine{}, socketserver.Pool{Workers: 2}} {
		t.Run(mode.String(), func(t *testing.T) {
			started := make(chan struct{}, 1)
			ended := make(chan error, 1)
			srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: mode, Logger: servetest.Logger(t),
				Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
					ctx := r.Context()
					started <- struct{}{}
					// Half a line: a request under way, which Shutdown
					// waits for (an idle read would end with io.EOF).
					_, err := r.Reader.ReadBytes('\n')
					<-ctx.Done()
					ended <- err
					return nil
				})}
			addr := servetest.Serve(t, srv)
			c := servetest.Dial(t, addr)
			c.Write([]byte("half a line"))
			<-started
			servetest.WaitUntil(t, "the half line arrived", func() bool { return srv.Stats().BytesIn > 0 })
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
			}
			if err := <-ended; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("handler's read = %v, want net.ErrClosed", err)
			}
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("client read = %d, %v; want EOF", n, err)
			}
		})
	}
}

// Shutdown and Close called from inside a handler, or from a goroutine
// the handler waits for, return; the handler's reply still reaches its
// client, and Serve returns. Shutdown is given the request's context: that
// is how it knows not to wait for the handler calling it.
func TestLifecycleFromHandler(t *testing.T) {
	elsewhere := func(f func(*socketserver.Request) error) func(*socketserver.Request) error {
		return func(r *socketserver.Request) error {
			done := make(chan error)
			go func() { done <- f(r) }()
			return <-done
		}
	}
	shutdown := func(r *socketserver.Request) error { return r.Server().Shutdown(r.Context()) }
	closeIt := func(r *socketserver.Request) error { return r.Server().Close() }
	stops := map[string]func(*socketserver.Request) error{
		"Shutdown":           shutdown,
		"Close":              closeIt,
		"Shutdown-goroutine": elsewhere(shutdown),
		"Close-goroutine":    elsewhere(closeIt),
	}
	for name, stop := range stops {
		for _, tr := range []transport{{network: "tcp", stream: true}, {network: "udp"}} {
			for _, mode := range modes {
				t.Run(name+"/"+tr.network+"/"+mode.String(), func(t *testing.T) {
					srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Mode: mode, Logger: servetest.Logger(t),
						Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
							if err := stop(r); err != nil {
								return err
							}
							_, err := io.WriteString(r.Writer, "bye")
							return err
						})}
					addr, err := srv.Listen()
					if err != nil {
						t.Fatal(err)
					}
					served := make(chan error, 1)
					go func() { served <- srv.ListenAndServe() }()
					c := servetest.Dial(t, addr)
					c.Write([]byte("x"))
					// Close is immediate: it closes the connection or the
					// datagram socket under the handler. Shutdown lets the
					// reply through, unless it need not wait for the
					// handler (daemon) and closes the datagram socket.
					daemon := mode == socketserver.Goroutine{Daemon: true}
					if strings.HasPrefix(name, "Shutdown") && (tr.stream || !daemon) {
						buf := make([]byte, 3)
						if n, err := io.ReadFull(c, buf); err != nil || string(buf[:n]) != "bye" {
							t.Errorf("reply = %q, %v; want \"bye\"", buf[:n], err)
						}
					}
					if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
						t.Fatalf("ListenAndServe = %v, want ErrServerClosed", err)
					}
				})
			}
		}
	}
}

// Close returns at once; Serve returns once the handlers it started have
// (block_on_close), and, in daemon mode, does not wait for them.
func TestServeBlocksOnHandlersAfterClose(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		started := make(chan struct{})
		release := make(chan struct{})
		var finished atomic.Bool
		srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Goroutine{Daemon: daemon}, Logger: servetest.Logger(t),
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				close(started)
				<-release // ignores the closed connection, on purpose
				finished.Store(true)
				return nil
			})}
		addr, served := servetest.Background(t, srv)
		servetest.Dial(t, addr)
		<-started
		if err := srv.Close(); err != nil { // returns, though the handler does not
			t.Fatal(err)
		}
		if daemon {
			<-served
			if finished.Load() {
				t.Fatal("daemon handler finished before it was released")
			}
			close(release)
			continue
		}
		select {
		case err := <-served:
			t.Fatalf("Serve returned %v before its handler did", err)
		default:
		}
		close(release)
		<-served
		if !finished.Load() {
			t.Fatal("Serve returned before the handler did")
		}
	}
}

// Tracking does not grow with the number of requests served (CPython
// bpo-37193 kept every thread until close).
func TestTrackingDoesNotGrow(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: echo}
	addr := servetest.Serve(t, srv)
	goroutines := runtime.NumGoroutine()
	for i := range 1000 {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := servetest.RoundTrip(t, c, "ping"); got != "ping" {
			t.Fatalf("request %d: echo = %q", i, got)
		}
		c.Close()
	}
	servetest.WaitUntil(t, "all connections ended", func() bool { return srv.Stats().ActiveConns == 0 })
	if n := socketserver.TrackedConns(srv); n != 0 {
		t.Fatalf("server tracks %d connections after 1000 finished requests", n)
	}
	if g := runtime.NumGoroutine(); g > goroutines+2 {
		t.Fatalf("goroutines grew from %d to %d over 1000 requests", goroutines, g)
	}
	if st := srv.Stats(); st.TotalConns != 1000 {
		t.Fatalf("TotalConns = %d, want 1000", st.TotalConns)
	}
}

// A write of several MiB arrives whole, with and without a write buffer.
func TestLargeWriteArrivesWhole(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
	for _, bufsize := range []int{0, 8192} {
		srv := &socketserver.Server{Addr: "127.0.0.1:0", WriteBufferSize: bufsize,
			Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
				_, err := r.Writer.Write(payload)
				return err
			})}
		c := servetest.Dial(t, servetest.Serve(t, srv))
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("WriteBufferSize %d: read %d bytes, %v; want %d bytes", bufsize, len(got), err, len(payload))
		}
	}
}

// A Pool does not grow goroutines under a burst: the accept loop stops
// while workers and queue are full.
func TestPoolBoundsGoroutines(t *testing.T) {
	const workers, queue, clients = 3, 2, 40
	release := make(chan struct{})
	var running atomic.Int32
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Mode: socketserver.Pool{Workers: workers, Queue: queue},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			running.Add(1)
			<-release
			_, err := io.WriteString(r.Writer, "ok")
			return err
		})}
	base := runtime.NumGoroutine()
	addr := servetest.Serve(t, srv)
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = servetest.Dial(t, addr)
	}
	servetest.WaitUntil(t, "the workers are busy and the queue full", func() bool {
		return running.Load() == workers && srv.Stats().TotalConns == workers+queue+1
	})
	// The serving goroutine and the workers, nothing per client.
	if g := runtime.NumGoroutine(); g > base+1+workers {
		t.Errorf("goroutines grew from %d to %d under a burst of %d clients", base, g, clients)
	}
	if n := srv.Stats().TotalConns; n != workers+queue+1 {
		t.Errorf("accepted %d connections, want %d (workers + queue + the one the loop holds)", n, workers+queue+1)
	}
	close(release)
	for i, c := range conns {
		if got, err := io.ReadAll(c); err != nil || string(got) != "ok" {
			t.Fatalf("client %d read %q, %v", i, got, err)
		}
	}
}

// Requests waiting in a Pool's queue when Shutdown begins are accepted
// requests: every one is answered.
func TestShutdownServesQueuedRequests(t *testing.T) {
	for _, tr := range []transport{{network: "tcp", stream: true}, {network: "udp"}} {
		t.Run(tr.network, func(t *testing.T) {
			const clients = 12 // 2 running, 10 queued
			release := make(chan struct{})
			srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Mode: socketserver.Pool{Workers: 2, Queue: 16},
				Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
					<-release
					_, err := io.Copy(r.Writer, r.Reader)
					return err
				})}
			addr := servetest.Serve(t, srv)
			conns := make([]net.Conn, clients)
			for i := range conns {
				conns[i] = servetest.Dial(t, addr)
				fmt.Fprintf(conns[i], "request %d", i)
				if tr.stream {
					conns[i].(*net.TCPConn).CloseWrite()
				}
			}
			servetest.WaitUntil(t, "every request is accepted", func() bool {
				st := srv.Stats()
				return st.TotalConns+st.TotalPackets == clients
			})
			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(context.Background()) }()
			if tr.stream {
				servetest.WaitUntil(t, "the listener is closed", func() bool {
					c, err := net.Dial("tcp", addr.String())
					if err == nil {
						c.Close()
					}
					return err != nil
				})
			}
			close(release)
			for i, c := range conns {
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if want := fmt.Sprintf("request %d", i); err != nil || string(buf[:n]) != want {
					t.Errorf("client %d got %q, %v; want %q", i, buf[:n], err, want)
				}
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
		})
	}
}

// A handler that ends its goroutine with runtime.Goexit still has its
// request ended: the connection closed and Shutdown not kept waiting.
func TestHandlerGoexit(t *testing.T) {
	srv := &socketserver.Server{Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			runtime.Goexit()
			return nil
		})}
	c := servetest.Dial(t, servetest.Serve(t, srv))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read %v, want EOF", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
}

// flakyListener fails its first accepts with EMFILE, as a process out of
// descriptors does.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A temporary accept failure (out of descriptors) pauses the accept loop
// and is logged; it does not end Serve.
func TestAcceptBacksOffOnEMFILE(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner}
	ln.failures.Store(2)
	var logged servetest.Buffer
	srv := &socketserver.Server{Handler: echo, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if got := servetest.RoundTrip(t, servetest.Dial(t, inner.Addr()), "after EMFILE"); got != "after EMFILE" {
		t.Fatalf("echo = %q", got)
	}
	srv.Close()
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	out := logged.String()
	if n := strings.Count(out, "accept failed; retrying"); n != 2 || !strings.Contains(out, "retry_in=5ms") || !strings.Contains(out, "retry_in=10ms") {
		t.Fatalf("log of the failures:\n%s", out)
	}
}
