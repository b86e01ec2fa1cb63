// Command respserver is an in-memory key-value server that speaks the
// Redis protocol (RESP2), built on package socketserver: redis-cli and
// redis-benchmark talk to it.
//
//	respserver [-addr 127.0.0.1:6380] [-mode event|goroutine] [-loops N]
//
// Commands: PING, ECHO, SET (EX, PX, NX, XX), GET, DEL, EXISTS, INCR, MGET,
// MSET, EXPIRE, TTL, QUIT; pipelining; Redis's error replies for unknown
// commands and wrong arity. Keys live in a sharded map; expired keys are
// dropped when touched and by a sweep every 100ms. It prints "listening on
// ADDR" once ready; SIGINT or SIGTERM shuts it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

func main() {
	cfg := defaultConfig()
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	flag.StringVar(&cfg.mode, "mode", cfg.mode, "concurrency: event or goroutine")
	flag.IntVar(&cfg.loops, "loops", 0, "event loops in event mode (default GOMAXPROCS)")
	flag.IntVar(&cfg.maxValue, "max-value", cfg.maxValue, "largest argument, such as a value, in bytes (Redis's proto-max-bulk-len)")
	flag.IntVar(&cfg.maxRequest, "max-request", cfg.maxRequest, "largest command in bytes")
	flag.Int64Var(&cfg.clientMemory, "client-memory", cfg.clientMemory,
		"memory that the partial requests of all clients may hold together; past it, the clients holding the most are disconnected")
	flag.Parse()
	srv, err := newServer(newStore(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv.Addr = *addr
	bound, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Printf("listening on %s\n", bound)
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrServerClosed) {
		log.Fatal(err)
	}
}

// A config is how a server is set up.
type config struct {
	mode         string // "event" or "goroutine"
	loops        int    // event loops; 0: GOMAXPROCS
	maxValue     int    // bytes in one argument
	maxRequest   int    // bytes in one command
	clientMemory int64  // bytes all partial requests may hold together
}

func defaultConfig() config {
	return config{mode: "event", maxValue: 32 << 20, maxRequest: 128 << 20, clientMemory: 256 << 20}
}

// highWater is the output a connection may have queued before it takes
// no more commands (Event.HighWater).
const highWater = 64 << 10

// newServer returns a server for db, not yet listening.
func newServer(db *store, cfg config) (*socketserver.Server, error) {
	switch {
	case cfg.maxValue < 1:
		return nil, fmt.Errorf("-max-value %d: want at least 1", cfg.maxValue)
	case cfg.maxRequest < cfg.maxValue+64:
		return nil, fmt.Errorf("-max-request %d is too small for a value of -max-value %d", cfg.maxRequest, cfg.maxValue)
	case cfg.clientMemory < int64(cfg.maxRequest):
		return nil, fmt.Errorf("-client-memory %d is too small for a request of -max-request %d", cfg.clientMemory, cfg.maxRequest)
	}
	lim := &limits{maxValue: cfg.maxValue, maxRequest: cfg.maxRequest, budget: newBudget(cfg.clientMemory)}
	srv := &socketserver.Server{
		Network:         "tcp",
		ServiceActions:  func() { db.sweep(20) },
		ServiceInterval: 100 * time.Millisecond,
	}
	switch cfg.mode {
	case "event":
		// A connection keeps little input: a command that does not
		// arrive whole in a read or two goes to its session's
		// assembler. MaxInput bounds what is left when a client
		// pipelines faster than it reads its replies.
		srv.Mode = socketserver.Event{Loops: cfg.loops, HighWater: highWater, MaxInput: 1 << 20}
		srv.EventHandler = &events{db: db, lim: lim}
	case "goroutine":
		srv.Handler = handler{db: db, lim: lim}
	default:
		return nil, fmt.Errorf("unknown -mode %q (want event or goroutine)", cfg.mode)
	}
	return srv, nil
}

// events serves connections in Event mode. A connection's session stays
// with it while it holds something (input kept, a command being
// assembled, a reply being sent); idle connections keep none.
type events struct {
	socketserver.EventHandlerBase
	db       *store
	lim      *limits
	sessions sync.Pool // of *session
}

func (h *events) OnData(c *socketserver.EventConn, in []byte) int {
	s, _ := c.Value().(*session)
	if s == nil {
		if s, _ = h.sessions.Get().(*session); s == nil {
			s = newSession(h.db, h.lim)
		}
		s.conn = c
	}
	n, closeConn := s.serve(in, eventSink{c})
	if closeConn {
		c.Close()
		n = len(in)
	}
	if !closeConn && s.idle() {
		h.put(c, s)
	} else {
		c.SetValue(s)
	}
	return n
}

func (h *events) OnClose(c *socketserver.EventConn, _ error) {
	if s, ok := c.Value().(*session); ok {
		h.put(c, s)
	}
}

// put gives back what s holds and returns it to the pool.
func (h *events) put(c *socketserver.EventConn, s *session) {
	s.release()
	s.conn = nil
	c.SetValue(nil)
	h.sessions.Put(s)
}

// eventSink is a connection's output queue, full at highWater.
type eventSink struct{ c *socketserver.EventConn }

func (k eventSink) write(p []byte) error {
	_, err := k.c.Write(p)
	return err
}

func (k eventSink) full() bool { return k.c.Buffered() >= highWater }
func (k eventSink) chunk() int { return highWater }

// handler serves a connection on a goroutine of its own: read what came,
// run the whole commands, writing their replies, keep the rest.
type handler struct {
	db  *store
	lim *limits
}

func (h handler) Handle(r *socketserver.Request) error {
	s := newSession(h.db, h.lim)
	s.closer = r.Conn
	defer s.release()
	sk := &connSink{w: r.Writer}
	buf := make([]byte, 0, 16<<10)
	stopping := r.Server().ShuttingDown()
	for {
		if len(buf) == cap(buf) {
			// Only an inline command waits whole in buf, up to
			// maxInline; a larger one is a protocol error.
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := r.Reader.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		used, closeConn := s.serve(buf, sk)
		switch {
		case sk.err != nil:
			return sk.err
		case closeConn:
			return nil
		}
		buf = buf[:copy(buf, buf[used:])]
		if err == io.EOF {
			return nil
		}
		select {
		case <-stopping:
			if len(buf) == 0 && s.idle() {
				return nil // shutting down, between two commands
			}
		default:
		}
		if err != nil {
			return err
		}
	}
}

// connSink writes to the connection: it is never full, since a write
// waits for the client to take the data.
type connSink struct {
	w   io.Writer
	err error // the first write error: the sink takes nothing more
}

func (k *connSink) write(p []byte) error {
	if k.err == nil {
		_, k.err = k.w.Write(p)
	}
	return k.err
}

func (k *connSink) full() bool { return k.err != nil }
func (k *connSink) chunk() int { return 1 << 30 }
