package socketserver

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/socketserver-go/socketserver/internal/workpool"
)

// A Mode is how a Server runs its requests concurrently: Sync, Goroutine,
// Pool, Event, Fork or Prefork. Each call of Serve or ServePacket runs its
// requests in a mode of its own (a Pool's workers, for instance, belong to
// one socket).
//
// The set of modes is closed: the interface has unexported methods.
type Mode interface {
	fmt.Stringer
	// newEngine prepares what serves t for s, without starting it; it
	// refuses a configuration the mode cannot serve.
	newEngine(s *Server, t *socket) (engine, error)
}

// An engine serves one socket in its mode: every mode has one. The
// request-per-goroutine modes share the serving loop (loop.go) and differ
// in their dispatcher; Event mode runs event loops; Fork hands requests
// to processes; Prefork supervises worker processes.
type engine interface {
	// serve serves until the engine is stopped, and returns a non-nil
	// error: ErrServerClosed after shutdown or close.
	serve() error
	// shutdown stops taking requests, and finishes those taken.
	shutdown()
	// close stops at once.
	close()
}

// A dispatcher runs the requests of one serving loop.
type dispatcher interface {
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

func (Sync) newEngine(s *Server, t *socket) (engine, error) {
	return newLoop(s, t, syncDispatcher{s})
}

type syncDispatcher struct{ s *Server }

func (d syncDispatcher) run(r *Request) { d.s.serveRequest(r) }
func (syncDispatcher) wait()            {}
func (syncDispatcher) daemon() bool     { return false }

// Goroutine serves each request on a goroutine of its own, as Python's
// ThreadingMixIn does with threads. Only running requests are tracked, so
// memory does not grow with the number served.
type Goroutine struct {
	// Daemon, if true, means Serve and Shutdown do not wait for running
	// handlers (Python's daemon_threads; the default, false, is Python's
	// block_on_close).
	Daemon bool
}

// String returns "goroutine", or "goroutine(daemon)".
func (g Goroutine) String() string {
	if g.Daemon {
		return "goroutine(daemon)"
	}
	return "goroutine"
}

func (g Goroutine) newEngine(s *Server, t *socket) (engine, error) {
	return newLoop(s, t, &goroutineDispatcher{s: s, isDaemon: g.Daemon})
}

type goroutineDispatcher struct {
	s        *Server
	isDaemon bool
	wg       sync.WaitGroup
}

func (d *goroutineDispatcher) run(r *Request) {
	if d.isDaemon {
		go d.s.serveRequest(r)
		return
	}
	d.wg.Add(1)
	go d.serve(r)
}

// serve serves r on its own goroutine. One frame under the handler's, not
// WaitGroup.Go's two: an idle connection's goroutine blocked in a read
// stays within its first 2 KiB stack.
func (d *goroutineDispatcher) serve(r *Request) {
	defer d.wg.Done()
	d.s.serveRequest(r)
}

func (d *goroutineDispatcher) wait()        { d.wg.Wait() }
func (d *goroutineDispatcher) daemon() bool { return d.isDaemon }

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

func (p Pool) newEngine(s *Server, t *socket) (engine, error) {
	return newLoop(s, t, poolDispatcher{workpool.New(p.workers(), p.queue(), s.serveRequest, true)})
}

type poolDispatcher struct{ pool *workpool.Pool[*Request] }

func (d poolDispatcher) run(r *Request) { d.pool.Submit(r) }

// wait lets the workers drain the queue, then waits for them to exit.
func (d poolDispatcher) wait()      { d.pool.Stop() }
func (poolDispatcher) daemon() bool { return false }
