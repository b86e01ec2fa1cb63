package socketserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// lineServer is a server that answers each line upper-cased, in any mode:
// a Handler reading lines until EOF, or an EventHandler.
func lineServer(network, addr string, mode socketserver.Mode) *socketserver.Server {
	return &socketserver.Server{
		Network: network, Addr: addr, Mode: mode,
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			if r.Datagram() {
				_, err := r.Writer.Write(bytes.ToUpper(r.Packet))
				return err
			}
			for {
				line, err := r.Reader.ReadBytes('\n')
				if len(line) > 0 {
					if _, werr := r.Writer.Write(bytes.ToUpper(line)); werr != nil {
						return werr
					}
				}
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
			}
		}),
		EventHandler: &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int {
			if c.Datagram() {
				c.Write(bytes.ToUpper(in))
				return len(in)
			}
			return upperLines(c, in)
		}},
	}
}

// shutdownModes are the modes in which a graceful Shutdown answers what
// it accepted; Sync serves one connection at a time, so it has only one
// connection accepted at a time.
var shutdownModes = []socketserver.Mode{
	socketserver.Goroutine{},
	socketserver.Pool{Workers: 64},
	socketserver.Event{Loops: 2},
}

// A request half received when Shutdown begins is completed and answered;
// then the connection, idle, closes, and Shutdown returns without waiting
// for its deadline. Before, Event mode closed such connections unanswered,
// and the other modes waited for the idle connections until the deadline.
func TestShutdownCompletesHalfReceivedRequests(t *testing.T) {
	for _, mode := range shutdownModes {
		t.Run(mode.String(), func(t *testing.T) {
			srv := lineServer("tcp", "127.0.0.1:0", mode)
			srv.Logger = servetest.Logger(t)
			addr, served := servetest.Background(t, srv)
			const clients = 50
			conns := make([]net.Conn, clients)
			for i := range conns {
				conns[i] = servetest.Dial(t, addr)
				fmt.Fprintf(conns[i], "client %d, first half", i)
			}
			servetest.WaitUntil(t, "every first half arrived", func() bool {
				return srv.Stats().BytesIn >= int64(clients*len("client 00, first half"))-10
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			shut := make(chan error, 1)
			go func() { shut <- srv.Shutdown(ctx) }()
			<-srv.ShuttingDown()
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Go(func() {
					io.WriteString(c, ", second half\n")
					got, err := io.ReadAll(c)
					if want := fmt.Sprintf("CLIENT %d, FIRST HALF, SECOND HALF\n", i); err != nil || string(got) != want {
						t.Errorf("client %d got %q, %v; want %q", i, got, err, want)
					}
				})
			}
			wg.Wait()
			if err := <-shut; err != nil {
				t.Errorf("Shutdown = %v, want nil", err)
			}
			if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Errorf("ListenAndServe = %v", err)
			}
		})
	}
}

// A connection whose requests were all answered, and one that has sent
// nothing, are idle: Shutdown closes them (the client reads EOF) rather
// than waiting for them until its deadline. (The second gets a grace of
// 2s from its acceptance, for a first request on its way.)
func TestShutdownClosesIdleConnections(t *testing.T) {
	for _, mode := range append([]socketserver.Mode{socketserver.Sync{}}, shutdownModes...) {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			srv := lineServer("tcp", "127.0.0.1:0", mode)
			srv.Logger = servetest.Logger(t)
			addr, served := servetest.Background(t, srv)
			answered := servetest.Dial(t, addr)
			if got := servetest.RoundTrip(t, answered, "one\n"); got != "ONE\n" {
				t.Fatalf("got %q", got)
			}
			var silent net.Conn
			if _, sync := mode.(socketserver.Sync); !sync {
				silent = servetest.Dial(t, addr)
				servetest.WaitUntil(t, "both connections accepted", func() bool { return srv.Stats().ActiveConns == 2 })
			}
			// A deadline far beyond the test's patience: only closing the
			// idle connections lets Shutdown return nil.
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
			for _, c := range []net.Conn{answered, silent} {
				if c == nil {
					continue
				}
				if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
					t.Errorf("idle client read %q, %v; want EOF", got, err)
				}
			}
			if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Errorf("ListenAndServe = %v", err)
			}
		})
	}
}

// Datagrams the kernel had queued when Shutdown began are served: they
// were sent before the server stopped, and each gets its reply. Before,
// only those already read were (the read loop stopped at once).
func TestShutdownServesQueuedDatagrams(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		for _, mode := range append([]socketserver.Mode{socketserver.Sync{}, socketserver.Pool{Workers: 1, Queue: -1}}, shutdownModes...) {
			t.Run(network+"/"+mode.String(), func(t *testing.T) {
				srv := lineServer(network, servetest.LocalAddr(t, network), mode)
				srv.Logger = servetest.Logger(t)
				srv.SocketReceiveBuffer = 1 << 20 // room for the queue: none dropped by the kernel
				gate := srv.ShuttingDown()
				h := srv.Handler
				srv.Handler = socketserver.HandlerFunc(func(r *socketserver.Request) error {
					<-gate // the datagrams queue in the socket meanwhile
					return h.Handle(r)
				})
				addr, served := servetest.Background(t, srv)
				c := servetest.Dial(t, addr)
				// A Unix datagram socket queues few datagrams
				// (net.unix.max_dgram_qlen, 10 by default); then senders
				// wait.
				n := 100
				if network == "unixgram" {
					n = 10
				}
				fmt.Fprintf(c, "datagram %d", 0)
				servetest.WaitUntil(t, "the server reads", func() bool { return srv.Stats().TotalPackets == 1 })
				for i := 1; i < n; i++ {
					fmt.Fprintf(c, "datagram %d", i)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown = %v", err)
				}
				got := make(map[string]bool)
				buf := make([]byte, 64)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for len(got) < n {
					m, err := c.Read(buf)
					if err != nil {
						break
					}
					got[string(buf[:m])] = true
				}
				if len(got) != n {
					t.Errorf("%d of %d datagrams answered; %+v", len(got), n, srv.Stats())
				}
				if st := srv.Stats(); st.Unserved != 0 {
					t.Errorf("Stats().Unserved = %d, want 0", st.Unserved)
				}
				if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
					t.Errorf("ServePacket = %v", err)
				}
			})
		}
	}
}

// A handler can learn that the server is shutting down, and Shutdown ends
// a handler's wait for a new request with io.EOF.
func TestShuttingDownIsAnnounced(t *testing.T) {
	readErr := make(chan error, 1)
	inside := make(chan bool, 1) // the handler checked ShuttingDown: false if it was closed
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Logger: servetest.Logger(t),
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			select {
			case <-r.Server().ShuttingDown():
				inside <- false
				return nil
			default:
				inside <- true
			}
			_, err := r.Reader.ReadByte()
			readErr <- err
			<-r.Server().ShuttingDown() // closed by now
			return nil
		})}
	addr, served := servetest.Background(t, srv)
	servetest.Dial(t, addr)
	// Counted as active is not yet in the handler: wait for the handler.
	if !<-inside {
		t.Fatal("ShuttingDown was closed before Shutdown")
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != io.EOF {
		t.Errorf("the handler's read = %v, want io.EOF", err)
	}
	if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Errorf("ListenAndServe = %v", err)
	}
}
