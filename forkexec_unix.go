//go:build unix

package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/forkwire"
	"github.com/socketserver-go/socketserver/internal/procs"
	"github.com/socketserver-go/socketserver/internal/sockerr"
)

// A forkDispatcher serves each request in a child process (Fork mode).
type forkDispatcher struct {
	s       *Server
	f       Fork
	local   net.Addr
	spawn   *procs.Spawner
	devNull int           // the children's standard input
	slots   chan struct{} // one token per live child: at most MaxChildren

	mu       sync.Mutex
	live     map[*child]struct{}
	idle     []*child      // ready for a job
	spares   int           // spares started and not yet given a job
	stopping bool          // wait has begun: no new spares, idle ones retire
	pause    time.Duration // before the next start, after children failed to start

	forced    chan struct{} // the server's: closed when it closes requests
	idleReady chan struct{} // a child became idle (capacity 1)
	wantSpare chan struct{} // the spare keeper should look (capacity 1)
	stop      chan struct{} // closed by wait
	children  sync.WaitGroup
	done      chan struct{} // closed once every child is reaped
	held      bool          // Shutdown and Close wait for the children
}

func newForkDispatcher(s *Server, f Fork, local net.Addr) (dispatcher, error) {
	devNull, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("open", err)
	}
	s.mu.Lock()
	s.initLocked() // Serve may come before anything else
	forced := s.forced
	s.mu.Unlock()
	e := &forkDispatcher{
		s:         s,
		forced:    forced,
		f:         f,
		local:     local,
		spawn:     procs.NewSpawner(),
		devNull:   devNull,
		slots:     make(chan struct{}, f.maxChildren()),
		live:      make(map[*child]struct{}),
		idleReady: make(chan struct{}, 1),
		wantSpare: make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	e.held = !f.Daemon && s.hold()
	e.children.Add(1) // the keeper, so that done waits for it
	go e.keepSpares()
	go e.closeOnForce()
	e.kickKeeper()
	return e, nil
}

func (e *forkDispatcher) daemon() bool { return e.f.Daemon }

// run verifies r in the server and hands it to a child: an idle one, or
// one started for it. While MaxChildren children are alive, it waits for
// one to exit (or to become idle), holding up the serving loop.
func (e *forkDispatcher) run(r *Request) {
	s := e.s
	// With WrapConn (TLS, PROXY) the client is known only after the
	// handshake or the header, which the child reads: it verifies then,
	// and asks for the client's MaxConnsPerIP slot (see child.admit).
	if s.WrapConn == nil {
		if !s.admitAddr(r) {
			s.endRequest(r)
			return
		}
		if !s.verify(r) {
			s.stats.rejected.Add(1)
			s.endRequest(r)
			return
		}
	}
	r.setState(StateActive)
	for {
		c, err := e.assign(r)
		if err == nil {
			return
		}
		if c == nil {
			// No child could be started, or the server was closed first.
			if !errors.Is(err, ErrServerClosed) {
				s.reportRequest(r, err)
			}
			s.endRequest(r)
			return
		}
		// The idle child died before it took the job: try another.
		c.retire()
	}
}

// assign gives r to a child. It returns the child and a nil error on
// success; the child and an error if handing over to an idle child
// failed; nil and an error if no child could be had.
func (e *forkDispatcher) assign(r *Request) (*child, error) {
	j, src := jobOf(r)
	for {
		if c := e.takeIdle(r); c != nil {
			e.kickKeeper()
			if err := c.ctl.SendFD(j.Encode(false), src); err != nil {
				e.mu.Lock()
				mine := c.cur == r // else the child exited and ended r
				if mine {
					c.cur = nil
				}
				e.mu.Unlock()
				if !mine {
					return c, nil
				}
				return c, err
			}
			e.released(r)
			return c, nil
		}
		select {
		case <-e.idleReady:
		case e.slots <- struct{}{}:
			c, err := e.start(r, j, src, e.forced)
			if err != nil {
				<-e.slots
				return nil, err
			}
			e.released(r)
			return c, nil
		case <-e.forced:
			return nil, ErrServerClosed
		}
	}
}

// released closes the server's copy of r's connection, now that a child
// has its own.
func (e *forkDispatcher) released(r *Request) {
	if r.Conn != nil {
		r.Conn.Close()
	}
}

// jobOf describes r as a job, with the connection or socket to pass.
func jobOf(r *Request) (*forkwire.Job, syscall.Conn) {
	if r.Conn != nil {
		src, _ := r.Conn.(syscall.Conn)
		return &forkwire.Job{Kind: forkwire.JobStream}, src
	}
	j := &forkwire.Job{Kind: forkwire.JobPacket, Packet: r.Packet}
	if _, unnamed := r.RemoteAddr.(UnnamedAddr); !unnamed {
		j.Remote = r.RemoteAddr.String()
	}
	src, _ := r.PacketConn.(syscall.Conn)
	return j, src
}

// takeIdle returns an idle child, marked as serving r, or nil.
func (e *forkDispatcher) takeIdle(r *Request) *child {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.idle) > 0 {
		c := e.idle[0]
		e.idle = e.idle[1:]
		if c.dead {
			continue
		}
		c.cur = r
		c.served++
		if c.spare {
			c.spare = false
			e.spares--
		}
		return c
	}
	return nil
}

// start starts a child, with a slot already taken: a spare if r is nil,
// otherwise one that serves r first, inheriting its descriptor. After
// children failed to start, it first pauses, unless cancel is closed.
func (e *forkDispatcher) start(r *Request, j *forkwire.Job, src syscall.Conn, cancel <-chan struct{}) (*child, error) {
	e.mu.Lock()
	pause := e.pause
	e.mu.Unlock()
	if pause > 0 {
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-cancel:
			t.Stop()
			return nil, ErrServerClosed
		}
	}
	var first []byte
	if r != nil {
		if src == nil {
			return nil, fmt.Errorf("%w: cannot pass a %T to a child process", ErrUnsupported, r.Conn)
		}
		first = j.Encode(true) // waits in the socket until the child reads it
	}
	proc, ctl, err := e.s.startChild(e.spawn, "fork", e.local, first, src, syscall.SIGKILL, e.devNull)
	if err != nil {
		e.started(false)
		return nil, fmt.Errorf("%w: %w", ErrChildStart, err)
	}
	c := &child{e: e, pid: proc.Pid, proc: proc, ctl: ctl, cur: r, spare: r == nil}
	if r != nil {
		c.served = 1
	}
	c.late = time.AfterFunc(e.f.startTimeout(), func() {
		e.mu.Lock()
		late := !c.ready && !c.dead
		e.mu.Unlock()
		if late {
			c.timedOut.Store(true)
			proc.Kill()
		}
	})
	e.mu.Lock()
	e.live[c] = struct{}{}
	if c.spare {
		e.spares++
	}
	e.mu.Unlock()
	e.s.trackPID(c.pid, true)
	e.children.Add(1)
	go c.watch()
	return c, nil
}

// started notes whether a child started serving, or failed to: the
// pause before the next start grows from 5ms to 1s while they fail, so
// that a program that cannot serve is not started in a busy loop.
func (e *forkDispatcher) started(ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ok {
		e.pause = 0
		return
	}
	e.pause = sockerr.NextPause(e.pause)
}

// kickKeeper asks the spare keeper to top the spares up.
func (e *forkDispatcher) kickKeeper() {
	select {
	case e.wantSpare <- struct{}{}:
	default:
	}
}

// keepSpares starts spares while fewer than Spares are idle or starting
// and slots are free.
func (e *forkDispatcher) keepSpares() {
	defer e.children.Done()
	for {
		select {
		case <-e.stop:
			return
		case <-e.wantSpare:
		}
		for e.spareWanted() {
			select {
			case e.slots <- struct{}{}:
			case <-e.stop:
				return
			}
			if _, err := e.start(nil, nil, nil, e.stop); err != nil {
				<-e.slots
				if !errors.Is(err, ErrServerClosed) {
					e.s.report(nil, err)
				}
			}
		}
	}
}

func (e *forkDispatcher) spareWanted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.stopping && e.spares < e.f.Spares
}

// closeOnForce tells the children to close when the server is closed (or
// a Shutdown passes its deadline), and sends SIGKILL to those alive after
// Grace. They are never sent SIGTERM: main's own handling of it belongs
// to the server's process.
func (e *forkDispatcher) closeOnForce() {
	select {
	case <-e.forced:
	case <-e.done:
		return
	}
	for _, c := range e.liveChildren() {
		c.ctl.Send([]byte{forkwire.MsgClose})
	}
	t := time.NewTimer(e.f.grace())
	defer t.Stop()
	select {
	case <-t.C:
		for _, c := range e.liveChildren() {
			c.proc.Kill() // by its PID, not yet reaped: never another process
		}
	case <-e.done:
	}
}

func (e *forkDispatcher) liveChildren() []*child {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := make([]*child, 0, len(e.live))
	for c := range e.live {
		cs = append(cs, c)
	}
	return cs
}

// wait retires the idle children, tells the busy ones that the server
// shuts down and, unless the mode is a daemon one, waits until every
// child has exited and been reaped.
func (e *forkDispatcher) wait() {
	e.mu.Lock()
	e.stopping = true
	idle := e.idle
	e.idle = nil
	e.mu.Unlock()
	close(e.stop)
	retired := make(map[*child]bool, len(idle))
	for _, c := range idle {
		c.retire()
		retired[c] = true
	}
	// The busy ones learn that the server shuts down, as its own
	// handlers do: a handler waiting for its connection's next request
	// reads io.EOF, and the child exits once its request is done.
	for _, c := range e.liveChildren() {
		if !retired[c] {
			c.ctl.Send([]byte{forkwire.MsgQuit})
		}
	}
	finish := func() {
		e.children.Wait()
		e.spawn.Stop()
		unix.Close(e.devNull)
		close(e.done)
		if e.held {
			e.s.unhold()
		}
	}
	if e.f.Daemon {
		go finish()
		return
	}
	finish()
}
