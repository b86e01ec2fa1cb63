package socketserver

import (
	"net"
	"os"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// A child is one child process of a forkDispatcher.
type child struct {
	e    *forkDispatcher
	pid  int
	proc *os.Process
	ctl  *net.UnixConn

	// Guarded by e.mu.
	cur   *Request // the request it serves
	spare bool     // started as a spare, not yet given a job
	dead  bool
}

// watch follows a child's messages until its control socket closes, then
// reaps it (that process only) and settles what it was doing.
func (c *child) watch() {
	defer c.e.children.Done()
	buf := make([]byte, 2*forkwire.MaxReportLen+64)
	for {
		n, err := c.ctl.Read(buf)
		if err != nil || n == 0 {
			break
		}
		c.handle(buf[:n])
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
		e.mu.Lock()
		if c.cur != nil { // a child started for a job is ready for it
			e.mu.Unlock()
			return
		}
		if e.stopping {
			e.mu.Unlock()
			c.retire()
			return
		}
		e.idle = append(e.idle, c)
		e.mu.Unlock()
		select {
		case e.idleReady <- struct{}{}:
		default:
		}
	case forkwire.MsgDone:
		e.mu.Lock()
		r := c.cur
		c.cur = nil
		e.mu.Unlock()
		if r != nil {
			s.endRequest(r)
		}
	case forkwire.MsgError, forkwire.MsgPanic:
		e.mu.Lock()
		r := c.cur
		e.mu.Unlock()
		var remote net.Addr
		if r != nil {
			remote = r.RemoteAddr
		}
		s.report(remote, &ChildError{PID: c.pid, Err: decodeReport(msg)})
	}
}

// retire closes the child's control socket: an idle child exits.
func (c *child) retire() { c.ctl.Close() }

// exited settles a child that was reaped: it frees its slot, reports a
// failure, and ends the request it was serving.
func (c *child) exited(st *os.ProcessState) {
	e, s := c.e, c.e.s
	e.mu.Lock()
	delete(e.live, c)
	c.dead = true
	if c.spare {
		e.spares--
	}
	r := c.cur
	c.cur = nil
	e.mu.Unlock()
	s.trackPID(c.pid, false)
	<-e.slots
	if st != nil && !st.Success() {
		var remote net.Addr
		if r != nil {
			remote = r.RemoteAddr
		}
		s.report(remote, &ChildError{PID: c.pid, State: st})
	}
	if r != nil {
		s.endRequest(r)
	}
	e.kickKeeper()
}
