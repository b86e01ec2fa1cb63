//go:build unix

package socketserver

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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

	mu      sync.Mutex
	live    map[*worker]struct{} // guarded by mu, for stats
	retired Stats                // guarded by mu: the last counters of the workers that exited
}

// A worker is one worker process, in slot of the supervisor's.
type worker struct {
	ready    atomic.Bool // it serves
	timedOut atomic.Bool // killed for not being ready within StartTimeout
	slot     int
	proc     *os.Process
	state    *os.ProcessState // once reaped
	ctl      *forkwire.Conn
	started  time.Time
	late     *time.Timer

	counts Stats // as last received; guarded by the supervisor's mu
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
		live:    make(map[*worker]struct{}),
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
	devNull, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("open", err)
	}
	defer unix.Close(devNull)
	s.countFrom(sv) // for good: the workers' counters stay the server's

	live := make(map[*worker]struct{})
	pauses := make([]time.Duration, sv.pf.workers())
	failures := make([]int, len(pauses))
	timers := make([]*time.Timer, len(pauses))
	defer func() {
		for _, t := range timers {
			if t != nil {
				t.Stop()
			}
		}
	}()
	retryLater := func(slot int) {
		pauses[slot] = min(max(2*pauses[slot], minRestartPause), maxRestartPause)
		failures[slot]++
		timers[slot] = time.AfterFunc(pauses[slot], func() { sv.restart <- slot })
	}
	startOrRetry := func(slot int) {
		w, err := sv.start(slot, devNull)
		if err == nil {
			live[w] = struct{}{}
			return
		}
		s.report(nil, fmt.Errorf("%w: %w", ErrChildStart, err))
		retryLater(slot)
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
			ready := w.ready.Load()
			switch {
			case !ready:
				why := "exited before it was ready"
				if w.timedOut.Load() {
					why = fmt.Sprintf("not ready within %v", sv.pf.startTimeout())
				}
				s.report(nil, &ChildError{PID: w.proc.Pid, State: w.state, Err: fmt.Errorf("%w: %s (does main serve a Server with Network %q and Addr %q?)",
					ErrChildStart, why, s.network(), s.Addr)})
			case !stopping || !w.state.Success():
				s.report(nil, &ChildError{PID: w.proc.Pid, State: w.state})
			}
			if stopping {
				continue
			}
			if ready && time.Since(w.started) >= minUptime {
				pauses[w.slot], failures[w.slot] = 0, 0
				startOrRetry(w.slot)
				continue
			}
			retryLater(w.slot)
			s.logger().Warn("socketserver: worker failed early; restarting after a pause", "pid", w.proc.Pid,
				"failures_in_a_row", failures[w.slot], "pause", pauses[w.slot])
		case slot := <-sv.restart:
			if !stopping {
				startOrRetry(slot)
			}
		case <-quit:
			quit, stopping = nil, true
			sv.tell(live, forkwire.MsgQuit)
		case <-kill:
			kill, stopping = nil, true
			sv.tell(live, forkwire.MsgClose)
			grace = time.After(sv.pf.grace())
		case <-grace:
			grace = nil
			for w := range live {
				w.proc.Kill() // by its PID, not yet reaped: never another process
			}
		}
	}
	sv.watched.Wait()
	return ErrServerClosed
}

// tell sends every worker an order: to shut down gracefully, or to close.
// A worker still starting reads it as it begins to serve. Workers are
// never sent SIGTERM or SIGINT: main's own handling of those belongs to
// the supervisor's process.
func (sv *supervisor) tell(live map[*worker]struct{}, order byte) {
	for w := range live {
		w.ctl.Send([]byte{order})
	}
}

// start starts a worker in slot.
func (sv *supervisor) start(slot, devNull int) (*worker, error) {
	proc, ctl, err := sv.s.startChild(sv.spawn, "prefork", sv.t.addr(), nil, sv.src, 0, devNull)
	if err != nil {
		return nil, err
	}
	w := &worker{slot: slot, proc: proc, ctl: ctl, started: time.Now()}
	w.late = time.AfterFunc(sv.pf.startTimeout(), func() {
		if !w.ready.Load() {
			w.timedOut.Store(true)
			proc.Kill()
		}
	})
	sv.mu.Lock()
	sv.live[w] = struct{}{}
	sv.mu.Unlock()
	sv.s.trackPID(proc.Pid, true)
	sv.watched.Add(1)
	go sv.watch(w)
	return w, nil
}

// watch follows a worker's messages until its control socket closes,
// reaps the worker (that process only), counts its last counters as the
// server's, and tells the supervisor.
func (sv *supervisor) watch(w *worker) {
	defer sv.watched.Done()
	for {
		msg, err := w.ctl.Recv()
		if err != nil {
			break
		}
		switch msg[0] {
		case forkwire.MsgReady:
			w.late.Stop()
			w.ready.Store(true)
		case forkwire.MsgStats:
			st, err := decodeStats(msg)
			if err != nil {
				sv.s.report(nil, &ChildError{PID: w.proc.Pid, Err: err})
				continue
			}
			sv.mu.Lock()
			w.counts = st
			sv.mu.Unlock()
		}
	}
	w.late.Stop()
	w.ctl.Close()
	w.state, _ = w.proc.Wait()
	sv.mu.Lock()
	delete(sv.live, w)
	w.counts.ActiveConns, w.counts.ActivePackets = 0, 0
	sv.retired.add(w.counts)
	sv.mu.Unlock()
	sv.s.trackPID(w.proc.Pid, false)
	sv.exits <- w
}

// stats adds up the counters of the workers: of those alive, as they
// last sent them.
func (sv *supervisor) stats() Stats {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	st := sv.retired
	for w := range sv.live {
		st.add(w.counts)
	}
	return st
}
