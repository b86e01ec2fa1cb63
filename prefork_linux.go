package socketserver

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver/internal/forkwire"
	"github.com/socketserver-go/socketserver/internal/procs"
)

// A supervisor runs the worker processes of Prefork mode on one socket.
type supervisor struct {
	s     *Server
	pf    Prefork
	t     *socket
	src   syscall.Conn // the socket, to pass on
	spawn *procs.Spawner

	quit     chan struct{} // closed by shutdown
	kill     chan struct{} // closed by close
	quitOnce sync.Once
	killOnce sync.Once

	exits   chan *worker // workers reaped
	restart chan int     // slots whose pause is over
	watched sync.WaitGroup
}

// A worker is one worker process, in slot of the supervisor's.
type worker struct {
	ready   atomic.Bool // it serves, and acts on SIGTERM
	slot    int
	proc    *os.Process
	state   *os.ProcessState // once reaped
	ctl     *net.UnixConn
	started time.Time
}

// Pauses before restarting a worker: none if it ran for minUptime,
// otherwise growing from minRestartPause to maxRestartPause as starts keep
// failing early.
const (
	minUptime       = 5 * time.Second
	minRestartPause = 100 * time.Millisecond
	maxRestartPause = 10 * time.Second
)

func newSupervisor(s *Server, t *socket, pf Prefork) (engine, error) {
	var sock any = t.pc
	if t.ln != nil {
		sock = t.ln
	}
	src, ok := sock.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%w: cannot pass a %T to a worker process", ErrUnsupported, sock)
	}
	return &supervisor{
		s:       s,
		pf:      pf,
		t:       t,
		src:     src,
		spawn:   procs.NewSpawner(),
		quit:    make(chan struct{}),
		kill:    make(chan struct{}),
		exits:   make(chan *worker),
		restart: make(chan int, pf.workers()),
	}, nil
}

// shutdown asks the workers to shut down gracefully.
func (sv *supervisor) shutdown() { sv.quitOnce.Do(func() { close(sv.quit) }) }

// close asks the workers to close at once.
func (sv *supervisor) close() {
	sv.shutdown()
	sv.killOnce.Do(func() { close(sv.kill) })
}

// serve starts the workers and keeps them running until shutdown, then
// waits for them to exit.
func (sv *supervisor) serve() error {
	s := sv.s
	defer sv.spawn.Stop()
	if !s.hold() {
		return ErrServerClosed
	}
	defer s.unhold()

	live := make(map[*worker]struct{})
	pauses := make([]time.Duration, sv.pf.workers())
	timers := make([]*time.Timer, len(pauses))
	defer func() {
		for _, t := range timers {
			if t != nil {
				t.Stop()
			}
		}
	}()
	startOrRetry := func(slot int) {
		w, err := sv.start(slot)
		if err == nil {
			live[w] = struct{}{}
			return
		}
		s.logger().Error("socketserver: starting a worker failed", "err", err)
		pauses[slot] = min(max(2*pauses[slot], minRestartPause), maxRestartPause)
		timers[slot] = time.AfterFunc(pauses[slot], func() { sv.restart <- slot })
	}
	for slot := range pauses {
		startOrRetry(slot)
	}

	stopping := false
	var grace <-chan time.Time
	quit, kill := sv.quit, sv.kill
	for !stopping || len(live) > 0 {
		select {
		case w := <-sv.exits:
			delete(live, w)
			if !stopping || !w.state.Success() {
				s.report(nil, &ChildError{PID: w.proc.Pid, State: w.state})
			}
			if stopping {
				continue
			}
			if time.Since(w.started) >= minUptime {
				pauses[w.slot] = 0
				startOrRetry(w.slot)
				continue
			}
			pauses[w.slot] = min(max(2*pauses[w.slot], minRestartPause), maxRestartPause)
			s.logger().Warn("socketserver: worker exited early; restarting after a pause", "pid", w.proc.Pid, "pause", pauses[w.slot])
			timers[w.slot] = time.AfterFunc(pauses[w.slot], func() { sv.restart <- w.slot })
		case slot := <-sv.restart:
			if !stopping {
				startOrRetry(slot)
			}
		case <-quit:
			quit, stopping = nil, true
			sv.stopWorkers(live)
		case <-kill:
			kill, stopping = nil, true
			sv.signal(live, syscall.SIGINT)
			grace = time.After(sv.pf.grace())
		case <-grace:
			grace = nil
			sv.signal(live, syscall.SIGKILL)
		}
	}
	sv.watched.Wait()
	return ErrServerClosed
}

// stopWorkers asks every worker to shut down gracefully: SIGTERM to those
// serving; a worker still starting (which a signal would kill outright)
// sees its control socket close as it begins to serve, and shuts down.
func (sv *supervisor) stopWorkers(live map[*worker]struct{}) {
	for w := range live {
		if w.ready.Load() {
			w.proc.Signal(syscall.SIGTERM)
		} else {
			w.ctl.Close()
		}
	}
}

func (sv *supervisor) signal(live map[*worker]struct{}, sig syscall.Signal) {
	for w := range live {
		w.proc.Signal(sig)
	}
}

// start starts a worker in slot.
func (sv *supervisor) start(slot int) (*worker, error) {
	proc, ctl, err := sv.s.startChild(sv.spawn, "prefork", sv.t.addr(), nil, sv.src, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	w := &worker{slot: slot, proc: proc, ctl: ctl, started: time.Now()}
	sv.s.trackPID(proc.Pid, true)
	sv.watched.Add(1)
	go sv.watch(w)
	return w, nil
}

// watch waits for a worker's control socket to close, reaps the worker
// (that process only) and tells the supervisor.
func (sv *supervisor) watch(w *worker) {
	defer sv.watched.Done()
	buf := make([]byte, 64)
	for {
		n, err := w.ctl.Read(buf)
		if err != nil {
			break
		}
		if n > 0 && buf[0] == forkwire.MsgReady {
			w.ready.Store(true)
		}
	}
	w.ctl.Close()
	w.state, _ = w.proc.Wait()
	sv.s.trackPID(w.proc.Pid, false)
	sv.exits <- w
}
