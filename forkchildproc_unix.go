//go:build unix

package socketserver

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// A child is one child process of a forkDispatcher.
type child struct {
	e    *forkDispatcher
	pid  int
	proc *os.Process
	ctl  *forkwire.Conn

	late     *time.Timer // kills it if it is not ready within StartTimeout
	timedOut atomic.Bool // it was killed for that
	counts   Stats       // its counters as last received; the watch goroutine's

	// Guarded by e.mu:
	cur    *Request // the request it serves
	served int      // requests given to it
	ready  bool     // its Server serves
	spare  bool     // started as a spare, not yet given a job
	dead   bool
}

// watch follows a child's messages until its control socket closes, then
// reaps it (that process only) and settles what it was doing.
func (c *child) watch() {
	defer c.e.children.Done()
	for {
		msg, err := c.ctl.Recv()
		if err != nil {
			break
		}
		c.handle(msg)
	}
	c.ctl.Close()
	st, _ := c.proc.Wait()
	c.exited(st)
}

// handle acts on one message from the child.
func (c *child) handle(msg []byte) {
	e, s := c.e, c.e.s
	switch msg[0] {
	case forkwire.MsgReady:
		c.late.Stop()
		e.mu.Lock()
		c.ready = true
		e.mu.Unlock()
		e.started(true)
		if c.spare {
			c.idle()
		}
	case forkwire.MsgDone, forkwire.MsgStats:
		st, err := decodeStats(msg)
		if err != nil {
			s.report(nil, &ChildError{PID: c.pid, Err: err})
			return
		}
		s.mergeChild(&c.counts, st)
		if msg[0] == forkwire.MsgDone {
			c.done()
		}
	case forkwire.MsgError, forkwire.MsgPanic:
		s.report(c.remote(), &ChildError{PID: c.pid, Err: decodeReport(msg)})
	case forkwire.MsgAdmit:
		c.admit(msg)
	}
}

// idle offers the child to the next request, if it may take one.
func (c *child) idle() {
	e := c.e
	e.mu.Lock()
	if e.stopping || c.served >= e.f.maxRequests() || c.dead {
		stopping := e.stopping && !c.dead
		e.mu.Unlock()
		if stopping {
			c.retire()
		}
		return
	}
	e.idle = append(e.idle, c)
	e.mu.Unlock()
	select {
	case e.idleReady <- struct{}{}:
	default:
	}
}

// done ends the request the child was serving.
func (c *child) done() {
	e := c.e
	e.mu.Lock()
	r := c.cur
	c.cur = nil
	e.mu.Unlock()
	if r != nil {
		e.s.endRequest(r)
	}
	c.idle()
}

// remote is the address of the client the child serves, if any.
func (c *child) remote() net.Addr {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	return c.cur.RemoteAddr
}

// admit answers the child's request for a client's MaxConnsPerIP slot:
// the server counts the slots of all its children, and frees one with the
// request it was taken for.
func (c *child) admit(msg []byte) {
	e, s := c.e, c.e.s
	ip, err := forkwire.DecodeAdmit(msg)
	if err != nil {
		s.report(nil, &ChildError{PID: c.pid, Err: err})
		c.ctl.Send(forkwire.Answer(false))
		return
	}
	e.mu.Lock()
	r := c.cur
	e.mu.Unlock()
	ok := r != nil && (r.countedIP.IsValid() || s.admitIP(ip))
	if ok && !r.countedIP.IsValid() {
		r.countedIP = ip // released by endRequest, on this goroutine
	}
	c.ctl.Send(forkwire.Answer(ok))
}

// retire closes the child's control socket: an idle child exits.
func (c *child) retire() { c.ctl.Close() }

// exited settles a child that was reaped: it frees its slot, reports a
// failure, and ends the request it was serving.
func (c *child) exited(st *os.ProcessState) {
	e, s := c.e, c.e.s
	c.late.Stop()
	e.mu.Lock()
	delete(e.live, c)
	c.dead = true
	if c.spare {
		e.spares--
	}
	r := c.cur
	c.cur = nil
	ready := c.ready
	e.mu.Unlock()
	s.trackPID(c.pid, false)
	<-e.slots
	var remote net.Addr
	if r != nil {
		remote = r.RemoteAddr
	}
	switch {
	case !ready:
		e.started(false)
		why := "exited before it was ready"
		if c.timedOut.Load() {
			why = fmt.Sprintf("not ready within %v", e.f.startTimeout())
		}
		s.report(remote, &ChildError{PID: c.pid, State: st, Err: fmt.Errorf("%w: %s (does main serve a Server with Network %q and Addr %q?)",
			ErrChildStart, why, s.network(), s.Addr)})
	case st != nil && !st.Success():
		s.report(remote, &ChildError{PID: c.pid, State: st})
	}
	if r != nil {
		s.endRequest(r)
	}
	e.kickKeeper()
}
