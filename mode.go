package socketserver

import (
	"fmt"
	"net"
	"runtime"
	"sync"
)

// A Mode is how a Server runs its requests concurrently: Sync, Goroutine,
// Pool, Event, Fork or Prefork. Each call of Serve or ServePacket runs its requests in a mode
// of its own (a Pool's workers, for instance, belong to one socket).
//
// The set of modes is closed: the interface has unexported methods.
type Mode interface {
	fmt.Stringer
	newExecutor(s *Server, local net.Addr) executor
}

// An executor runs the requests of one serving loop.
type executor interface {
	// run serves r or hands it on. It may block the loop while the mode
	// is at capacity.
	run(r *Request)
	// wait returns once the requests it was given and must wait for are
	// done.
	wait()
	// daemon reports whether its requests are not waited for.
	daemon() bool
}

// Sync serves one request at a time on the serving loop's own goroutine,
// as Python's TCPServer and UDPServer do: the server is deaf to new
// clients while a request runs.
type Sync struct{}

// String returns "sync".
func (Sync) String() string { return "sync" }

func (Sync) newExecutor(s *Server, _ net.Addr) executor { return syncExecutor{s} }

type syncExecutor struct{ s *Server }

func (e syncExecutor) run(r *Request) { e.s.serveRequest(r) }
func (syncExecutor) wait()            {}
func (syncExecutor) daemon() bool     { return false }

// Goroutine serves each request on a goroutine of its own, as Python's
// ThreadingMixIn does with threads. Only running requests are tracked, so
// memory does not grow with the number served.
type Goroutine struct {
	// Daemon, if true, means Serve, Shutdown and Close do not wait for
	// running handlers (Python's daemon_threads; the default, false, is
	// Python's block_on_close).
	Daemon bool
}

// String returns "goroutine", or "goroutine(daemon)".
func (g Goroutine) String() string {
	if g.Daemon {
		return "goroutine(daemon)"
	}
	return "goroutine"
}

func (g Goroutine) newExecutor(s *Server, _ net.Addr) executor {
	return &goroutineExecutor{s: s, isDaemon: g.Daemon}
}

type goroutineExecutor struct {
	s        *Server
	isDaemon bool
	wg       sync.WaitGroup
}

func (e *goroutineExecutor) run(r *Request) {
	if e.isDaemon {
		go e.s.serveRequest(r)
		return
	}
	e.wg.Add(1)
	go e.serve(r)
}

func (e *goroutineExecutor) serve(r *Request) {
	defer e.wg.Done()
	e.s.serveRequest(r)
}

func (e *goroutineExecutor) wait()        { e.wg.Wait() }
func (e *goroutineExecutor) daemon() bool { return e.isDaemon }

// Pool serves requests on a fixed number of worker goroutines fed by a
// bounded queue. When every worker is busy and the queue is full, the
// server stops accepting until a worker is free: the kernel's listen
// backlog holds further clients, and the number of goroutines never grows
// with a burst.
type Pool struct {
	// Workers is the number of worker goroutines. Zero means
	// 4 × GOMAXPROCS.
	Workers int
	// Queue is how many accepted requests may wait for a worker. Zero
	// means Workers; negative means none (hand-off only).
	Queue int
}

// String returns "pool(N)".
func (p Pool) String() string { return fmt.Sprintf("pool(%d)", p.workers()) }

func (p Pool) workers() int {
	if p.Workers <= 0 {
		return 4 * runtime.GOMAXPROCS(0)
	}
	return p.Workers
}

func (p Pool) queue() int {
	switch {
	case p.Queue < 0:
		return 0
	case p.Queue == 0:
		return p.workers()
	}
	return p.Queue
}

func (p Pool) newExecutor(s *Server, _ net.Addr) executor {
	e := &poolExecutor{queue: make(chan *Request, p.queue())}
	for range p.workers() {
		e.wg.Go(func() {
			for r := range e.queue {
				s.serveRequest(r)
			}
		})
	}
	return e
}

type poolExecutor struct {
	queue chan *Request
	wg    sync.WaitGroup
}

func (e *poolExecutor) run(r *Request) { e.queue <- r }

// wait lets the workers drain the queue, then waits for them to exit.
func (e *poolExecutor) wait() {
	close(e.queue)
	e.wg.Wait()
}

func (*poolExecutor) daemon() bool { return false }
