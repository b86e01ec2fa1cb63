//go:build !linux || socketserver_portable

package socketserver

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
	"github.com/socketserver-go/socketserver/internal/workpool"
)

// An eventEngine serves one socket in Event mode on the Go runtime's
// netpoller (kqueue, IOCP, epoll) rather than an event loop of its own:
// each stream connection has a goroutine (an eventStream) that blocks in
// Read and runs the connection's callbacks, and a second one only while
// output waits to be written; a datagram socket has one goroutine that
// reads it and calls OnData for each datagram. It is the engine wherever
// the epoll engine is not built: every system but Linux, and Linux with
// the build tag socketserver_portable.
//
// It serves the socket it is given, not a duplicate: Shutdown closes a
// listener (the acceptor ends) and interrupts a datagram socket's read
// (the reader drains what is queued), as in the other modes.
type eventEngine struct {
	s      *Server
	t      *socket
	cfg    Event
	h      EventHandler
	ticker EventTicker // h, if it wants ticks
	pool   *workpool.Pool[func()]
	bigBuf int       // the size of a read that follows a full small one
	bufs   sync.Pool // *[]byte of bigBuf bytes, lent for one delivery

	draining atomic.Bool    // Shutdown: take no more, finish what was taken
	closing  atomic.Bool    // Close: stop at once
	streams  sync.WaitGroup // connection goroutines and their writers
	jobs     sync.WaitGroup // functions passed to EventConn.Go

	mu    sync.Mutex
	conns map[*eventStream]struct{} // connections being served, for Shutdown and Close
}

// newEventEngine prepares an engine for t's socket; it starts nothing.
func newEventEngine(s *Server, t *socket, cfg Event) (engine, error) {
	e := &eventEngine{s: s, t: t, cfg: cfg, h: s.EventHandler, conns: make(map[*eventStream]struct{})}
	e.ticker, _ = e.h.(EventTicker)
	e.pool = workpool.New(cfg.workers(), cfg.workers(), func(f func()) { f() }, false)
	e.bigBuf = max(s.readBufferSize(), 64<<10)
	e.bufs.New = func() any {
		b := make([]byte, e.bigBuf)
		return &b
	}
	return e, nil
}

// serve accepts connections, or reads datagrams, until the socket is
// stopped, then waits for the connections, the ticks and the functions
// passed to Go. The engine is counted as work in flight all along, so that
// Shutdown waits for the connections to finish.
func (e *eventEngine) serve() error {
	if !e.s.hold() {
		return ErrServerClosed
	}
	defer e.s.unhold()
	stopTicks := e.startTicks()
	var err error
	if e.t.ln != nil {
		err = e.acceptLoop()
	} else {
		err = e.readPackets()
	}
	if err != nil {
		e.close() // the socket failed for good: what it served ends too
	}
	e.streams.Wait()
	stopTicks()
	e.jobs.Wait()
	e.pool.Stop()
	if err != nil {
		return err
	}
	return ErrServerClosed
}

// shutdown has each connection read and answer what it already received,
// and close once idle; the socket's own stop ends the acceptor or reader.
func (e *eventEngine) shutdown() {
	e.draining.Store(true)
	e.nudgeAll()
}

// close closes every connection at once.
func (e *eventEngine) close() {
	e.draining.Store(true)
	e.closing.Store(true)
	e.nudgeAll()
}

// nudgeAll has every connection's goroutine look at the engine's state.
func (e *eventEngine) nudgeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for st := range e.conns {
		if e.closing.Load() {
			st.conn.Close() // its reads and writes fail at once; the goroutine closes it
		}
		st.nudge()
	}
}

// acceptLoop accepts connections until the listener is closed, and starts
// a goroutine for each.
func (e *eventEngine) acceptLoop() error {
	s, ln := e.s, e.t.ln
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if err := s.afterFailure("accept", ln.Addr(), err, e.t.stopped.Load(), &pause); err != nil {
				if err == ErrServerClosed {
					return nil
				}
				return err
			}
			continue
		}
		pause = 0
		if e.draining.Load() || s.overLimit() {
			nc.Close() // accepted as Shutdown began, or over MaxConns
			continue
		}
		e.adopt(nc)
	}
}

// adopt starts serving an accepted connection.
func (e *eventEngine) adopt(nc net.Conn) {
	s := e.s
	if tc, isTCP := nc.(*net.TCPConn); isTCP {
		// Go sets TCP_NODELAY on every connection; keep-alive is the
		// server's.
		if s.DisableNoDelay {
			tc.SetNoDelay(false)
		}
		sockopt.SetKeepAliveConn(tc, s.keepAlive())
	}
	local := nc.LocalAddr()
	c := &EventConn{id: s.nextID.Add(1), srv: s, remote: peerAddr(local.Network(), nc.RemoteAddr()), local: local}
	st := newEventStream(e, c, nc)
	c.impl = connImpl{e: e, st: st}
	e.mu.Lock()
	if e.closing.Load() {
		e.mu.Unlock()
		nc.Close()
		return
	}
	e.conns[st] = struct{}{}
	e.mu.Unlock()
	s.stats.activeConns.Add(1)
	s.stats.totalConns.Add(1)
	e.streams.Go(st.run)
}

// forget removes a closed connection from the engine's set.
func (e *eventEngine) forget(st *eventStream) {
	e.mu.Lock()
	delete(e.conns, st)
	e.mu.Unlock()
}

// goWork runs f for c on the worker pool.
func (e *eventEngine) goWork(c *EventConn, f func()) error {
	if c.gone.Load() || c.impl.datagram() && e.draining.Load() {
		return net.ErrClosed
	}
	c.jobs.Add(1)
	e.jobs.Add(1)
	if e.pool.Submit(func() { e.runJob(c, f) }) {
		return nil
	}
	c.jobs.Add(-1)
	e.jobs.Done()
	return net.ErrClosed
}

// runJob runs one function passed to Go. A stream's count of running
// functions goes down on its goroutine, after the output f queued: a close
// waiting for the functions then sends that output first.
func (e *eventEngine) runJob(c *EventConn, f func()) {
	defer e.jobs.Done()
	defer func() {
		if v := recover(); v != nil {
			e.s.report(c.remote, panicError(v))
			c.asyncClose()
		}
		if st := c.impl.st; st == nil || st.post(func(m *streamMail) { m.jobsDone++ }) != nil {
			c.jobs.Add(-1)
		}
	}()
	f()
}

// startTicks calls OnTick, if the handler wants it, on a goroutine of its
// own: at once, then after the delay each call returns.
func (e *eventEngine) startTicks() (stop func()) {
	if e.ticker == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				t.Reset(max(e.callTick(), time.Millisecond))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func (e *eventEngine) callTick() (next time.Duration) {
	defer e.recovered(nil)
	return e.ticker.OnTick()
}

// recovered reports the panic of a callback that has no connection to
// close (OnTick, a datagram's OnData): as a *PanicError, or not at all for
// ErrAbortHandler.
func (e *eventEngine) recovered(remote net.Addr) {
	if v := recover(); v != nil {
		if err, isErr := v.(error); !isErr || !errors.Is(err, ErrAbortHandler) {
			e.s.report(remote, panicError(v))
		}
	}
}
