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
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	mode := flag.String("mode", "event", "concurrency: event or goroutine")
	loops := flag.Int("loops", 0, "event loops in event mode (default GOMAXPROCS)")
	flag.Parse()
	srv, err := newServer(newStore(), *mode, *loops)
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

// newServer returns a server for db in the given mode, not yet listening.
func newServer(db *store, mode string, loops int) (*socketserver.Server, error) {
	srv := &socketserver.Server{
		Network:         "tcp",
		ServiceActions:  func() { db.sweep(20) },
		ServiceInterval: 100 * time.Millisecond,
	}
	switch mode {
	case "event":
		srv.Mode = socketserver.Event{Loops: loops, MaxInput: maxBulk + 64<<10}
		srv.EventHandler = &events{db: db}
	case "goroutine":
		srv.Handler = handler{db: db}
	default:
		return nil, fmt.Errorf("unknown -mode %q (want event or goroutine)", mode)
	}
	return srv, nil
}

// events serves connections in Event mode: each OnData runs the whole
// commands that arrived and writes their replies in one go.
type events struct {
	socketserver.EventHandlerBase
	db       *store
	sessions sync.Pool // of *session: idle connections keep none
	outs     sync.Pool // of *[]byte reply buffers
}

func (h *events) OnData(c *socketserver.EventConn, in []byte) int {
	s, _ := h.sessions.Get().(*session)
	if s == nil {
		s = &session{db: h.db}
	}
	out, _ := h.outs.Get().(*[]byte)
	if out == nil {
		out = new([]byte)
	}
	n, replies, closeConn := s.serve(in, (*out)[:0])
	if len(replies) > 0 {
		c.Write(replies)
	}
	if closeConn {
		c.Close()
		n = len(in)
	}
	clear(s.args)
	h.sessions.Put(s)
	if cap(replies) <= 64<<10 {
		*out = replies
		h.outs.Put(out)
	}
	return n
}

// handler serves a connection on a goroutine of its own: read what came,
// run the whole commands, write the replies, keep the rest.
type handler struct{ db *store }

func (h handler) Handle(r *socketserver.Request) error {
	s := &session{db: h.db}
	buf := make([]byte, 0, 16<<10)
	var out []byte
	for {
		if len(buf) == cap(buf) {
			if len(buf) > maxBulk+64<<10 {
				return errors.New("respserver: request too large")
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := r.Reader.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		used, replies, closeConn := s.serve(buf, out[:0])
		out = replies
		if len(out) > 0 {
			if _, werr := r.Writer.Write(out); werr != nil {
				return werr
			}
		}
		if closeConn {
			return nil
		}
		buf = buf[:copy(buf, buf[used:])]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
