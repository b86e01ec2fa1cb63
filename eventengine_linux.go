package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/poller"
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
	pool      workPool
	fatal     atomic.Pointer[error] // a loop's poller failed
}

// eventCallbackNames are the functions through which event callbacks and
// EventConn.Go's functions run, for calledFromHandler.
var eventCallbackNames = []string{
	funcName((*eventLoop).callOpen),
	funcName((*eventLoop).callData),
	funcName((*eventLoop).callClose),
	funcName((*eventLoop).callTick),
	funcName((*eventEngine).runJob),
}

// newEventEngine prepares an engine for t's socket: it duplicates the
// descriptor and makes the loops' pollers, but starts nothing.
func (s *Server) newEventEngine(t *trackedSocket, cfg Event) (*eventEngine, error) {
	e := &eventEngine{s: s, cfg: cfg, h: s.EventHandler, lfd: -1, pfd: -1, local: t.addr()}
	if e.local.Network() == "unixpacket" {
		// Output is coalesced, which would merge a seqpacket's records.
		return nil, fmt.Errorf("%w: Event mode serves tcp, udp, unix and unixgram, not unixpacket", ErrUnsupported)
	}
	e.ticker, _ = e.h.(EventTicker)
	e.pool.size = cfg.workers()
	var sock any = t.pc
	if t.ln != nil {
		sock = t.ln
	}
	fd, err := dupSocket(sock)
	if err != nil {
		return nil, err
	}
	if t.ln != nil {
		e.lfd = fd
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

// dupSocket returns a non-blocking duplicate of a listener's or packet
// conn's descriptor.
func dupSocket(sock any) (int, error) {
	sc, ok := sock.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%w: Event mode needs a socket with a descriptor, not %T", ErrUnsupported, sock)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	err = rc.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
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
	e.pool.stop()
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
	if !e.pool.submit(func() { e.runJob(c, f) }) {
		c.jobs.Add(-1)
		e.jobs.Done()
		return net.ErrClosed
	}
	return nil
}

// runJob runs one function passed to Go, and tells c's loop when c has no
// more running. calledFromHandler looks for it on the stack.
//
//go:noinline
func (e *eventEngine) runJob(c *EventConn, f func()) {
	defer e.jobs.Done()
	defer func() {
		if v := recover(); v != nil {
			e.s.report(c.remote, panicError(v))
			c.asyncClose()
		}
		if c.jobs.Add(-1) == 0 && !c.impl.datagram() {
			c.impl.loop.post(mail{kind: mailJobsDone, c: c})
		}
	}()
	f()
}

// A workPool runs functions on a fixed set of goroutines, started on first
// use, fed by a bounded queue.
type workPool struct {
	size    int
	mu      sync.RWMutex // held for reading while submitting, for writing to stop
	queue   chan func()
	stopped bool
	wg      sync.WaitGroup
}

// submit queues f, blocking while the queue is full. It fails once the
// pool is stopped.
func (p *workPool) submit(f func()) bool {
	p.mu.RLock()
	if p.queue == nil && !p.stopped {
		p.mu.RUnlock()
		p.start()
		p.mu.RLock()
	}
	defer p.mu.RUnlock()
	if p.stopped {
		return false
	}
	p.queue <- f
	return true
}

func (p *workPool) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queue != nil || p.stopped {
		return
	}
	p.queue = make(chan func(), p.size)
	for range p.size {
		p.wg.Go(func() {
			for f := range p.queue {
				f()
			}
		})
	}
}

// stop lets the workers finish the queue and waits for them.
func (p *workPool) stop() {
	p.mu.Lock()
	p.stopped = true
	if p.queue != nil {
		close(p.queue)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// acceptBackoff is true for accept errors that a pause may cure: out of
// descriptors or memory.
func acceptBackoff(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) ||
		errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM)
}
