//go:build linux && !socketserver_portable

package socketserver

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/poller"
	"github.com/socketserver-go/socketserver/internal/sockopt"
	"github.com/socketserver-go/socketserver/internal/workpool"
)

// An eventEngine serves one socket in Event mode: a listener, whose
// connections it spreads over its loops, or a datagram socket, read by
// one loop.
//
// It works on duplicates of the socket's descriptor, so the net.Listener
// or net.PacketConn it was given stays open (and keeps, for a Unix socket,
// the duty of removing the file) until Serve returns.
type eventEngine struct {
	s       *Server
	cfg     Event
	h       EventHandler
	ticker  EventTicker // h, if it wants ticks
	network string      // of the socket: "tcp", "unix", "udp", "unixgram"…
	local   net.Addr
	anyIP   bool // the listener is bound to a wildcard address
	// timed: a timeout needs the connections' times of input and output.
	timed bool
	// cfg's limits, computed once: they are compared on every read and
	// write.
	highWater, lowWater, maxOutput, maxInput int

	keepAlive sockopt.KeepAlive // of accepted TCP connections

	lfd int // listening descriptor, or -1
	// pfd is the datagram descriptor, or -1. It is closed only after the
	// loops and workers are done, under pmu, since AsyncWrite may use it
	// from any goroutine.
	pmu sync.RWMutex
	pfd int

	loops     []*eventLoop
	next      atomic.Uint32 // round-robin position
	inTransit atomic.Int32  // connections accepted, not yet adopted by a loop
	draining  atomic.Bool   // Shutdown: take no more, finish what was taken
	closing   atomic.Bool   // Close: stop at once
	loopsDone sync.WaitGroup
	jobs      sync.WaitGroup // functions passed to EventConn.Go
	pool      *workpool.Pool[func()]
	fatal     atomic.Pointer[error] // a loop's poller failed
}

// newEventEngine prepares an engine for t's socket: it duplicates the
// descriptor and makes the loops' pollers, but starts nothing.
func newEventEngine(s *Server, t *socket, cfg Event) (engine, error) {
	e := &eventEngine{s: s, cfg: cfg, h: s.EventHandler, lfd: -1, pfd: -1, local: t.addr(),
		timed:     s.ReadTimeout > 0 || s.WriteTimeout > 0 || s.IdleTimeout > 0 || s.FirstByteTimeout > 0,
		highWater: cfg.highWater(), lowWater: cfg.lowWater(), maxOutput: cfg.maxOutput(), maxInput: cfg.maxInput()}
	e.ticker, _ = e.h.(EventTicker)
	e.pool = workpool.New(cfg.workers(), cfg.workers(), func(f func()) { f() }, false)
	var sock any = t.pc
	if t.ln != nil {
		sock = t.ln
	}
	fd, err := sockopt.DupNonblock(sock)
	if err != nil {
		return nil, err
	}
	if t.ln != nil {
		e.lfd = fd
		e.keepAlive = s.keepAlive()
	} else {
		e.pfd = fd
	}
	e.network = e.local.Network()
	switch a := e.local.(type) {
	case *net.TCPAddr:
		e.anyIP = a.IP.IsUnspecified()
	case *net.UnixAddr:
		e.network = a.Net
	}
	nloops := cfg.loops()
	if t.pc != nil {
		nloops = 1 // one socket, one reader: more loops would only race for it
	}
	for i := range nloops {
		l, err := newEventLoop(e, i)
		if err != nil {
			e.release()
			return nil, err
		}
		e.loops = append(e.loops, l)
	}
	return e, nil
}

// serve runs the loops until they are done, then the workers, and
// releases everything. The engine is counted as work in flight all along,
// so that Shutdown waits for the loops to finish their connections.
func (e *eventEngine) serve() error {
	defer e.release()
	if !e.s.hold() {
		return ErrServerClosed
	}
	defer e.s.unhold()
	if e.lfd >= 0 {
		if err := e.loops[0].p.Add(e.lfd, poller.Readable); err != nil {
			return err
		}
		e.loops[0].lfd = e.lfd
	} else {
		if err := e.loops[0].p.Add(e.pfd, poller.Readable); err != nil {
			return err
		}
		e.loops[0].pfd = e.pfd
	}
	for _, l := range e.loops {
		e.loopsDone.Go(l.run)
	}
	e.loopsDone.Wait()
	e.jobs.Wait()
	e.pool.Stop()
	if err := e.fatal.Load(); err != nil {
		return *err
	}
	return ErrServerClosed
}

// shutdown asks the loops to stop taking connections and datagrams, to
// finish what they hold, and to return.
func (e *eventEngine) shutdown() {
	e.draining.Store(true)
	e.wakeAll()
}

// close asks the loops to close everything at once and return.
func (e *eventEngine) close() {
	e.draining.Store(true)
	e.closing.Store(true)
	e.wakeAll()
}

func (e *eventEngine) wakeAll() {
	for _, l := range e.loops {
		l.p.Wake()
	}
}

// fail ends serving after a loop's poller failed.
func (e *eventEngine) fail(err error) {
	err = fmt.Errorf("socketserver: event loop: %w", err)
	e.fatal.CompareAndSwap(nil, &err)
	e.close()
}

// release closes the descriptors and pollers. The loops are done.
func (e *eventEngine) release() {
	if e.lfd >= 0 {
		unix.Close(e.lfd)
		e.lfd = -1
	}
	e.pmu.Lock()
	if e.pfd >= 0 {
		unix.Close(e.pfd)
		e.pfd = -1
	}
	e.pmu.Unlock()
	for _, l := range e.loops {
		l.p.Close() // a late Wake, from Close or AsyncWrite, then does nothing
	}
}

// arrived ends what inTransit counted: a connection adopted by its loop,
// or closed on the way. The last one of a shutdown wakes the loops, one of
// which may be waiting for it alone before it returns.
func (e *eventEngine) arrived() {
	if e.inTransit.Add(-1) == 0 && e.draining.Load() {
		e.wakeAll()
	}
}

// pick chooses the loop for a new connection.
func (e *eventEngine) pick() *eventLoop {
	if len(e.loops) == 1 {
		return e.loops[0]
	}
	if e.cfg.Balance == LeastConns {
		best := e.loops[0]
		for _, l := range e.loops[1:] {
			if l.nconns.Load() < best.nconns.Load() {
				best = l
			}
		}
		return best
	}
	return e.loops[int(e.next.Add(1)-1)%len(e.loops)]
}

// goWork runs f for c on the worker pool.
func (e *eventEngine) goWork(c *EventConn, f func()) error {
	if c.gone.Load() || e.draining.Load() && c.impl.datagram() {
		return net.ErrClosed
	}
	c.jobs.Add(1)
	e.jobs.Add(1)
	if !e.pool.Submit(func() { e.runJob(c, f) }) {
		c.jobs.Add(-1)
		e.jobs.Done()
		return net.ErrClosed
	}
	return nil
}

// runJob runs one function passed to Go, and tells c's loop when c has no
// more running.
func (e *eventEngine) runJob(c *EventConn, f func()) {
	defer e.jobs.Done()
	defer func() {
		if v := recover(); v != nil {
			e.s.report(c.remote, panicError(v))
			c.asyncClose()
		}
		// A stream's count goes down on its loop, after the mail f sent
		// before it returned (AsyncWrite): a close waiting for the
		// functions then sends their output first.
		if c.impl.datagram() || c.impl.loop.post(mail{kind: mailJobDone, c: c}) != nil {
			c.jobs.Add(-1)
		}
	}()
	f()
}
