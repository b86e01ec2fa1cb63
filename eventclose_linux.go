//go:build linux && !socketserver_portable

package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
	"golang.org/x/sys/unix"
)

// lingerTime bounds how long a closed connection with unread input is
// drained so that its reply is not destroyed by a reset, as in the other
// modes' closeConn; closeFlushTime bounds how long Close waits for queued
// output making no progress, when WriteTimeout is not set.
const (
	lingerTime     = 500 * time.Millisecond
	closeFlushTime = 30 * time.Second
)

// closeIfIdle closes c gracefully, during a shutdown, once it holds no
// incomplete request: no input kept unconsumed, none waiting unread in the
// kernel. A connection that holds some goes on being read, to complete
// it, until Shutdown's deadline.
func (l *eventLoop) closeIfIdle(c *EventConn) {
	ci := &c.impl
	if ci.state != stateOpen || ci.handshaking() || ci.preamble || ci.kept() > 0 ||
		(ci.paused && sockopt.UnreadFD(ci.fdInt()) > 0) {
		return
	}
	if !ci.heard && l.nanos() < ci.since+int64(newConnGrace) {
		l.schedule(c) // its first request may be on its way: see deadline
		return
	}
	if p := ci.layer(); p != nil && p.buffered() {
		return // the layer has input to decrypt
	}
	l.beginClose(c, nil)
}

// beginClose stops reading c and closes it once its output is sent and
// its Go functions have returned.
func (l *eventLoop) beginClose(c *EventConn, err error) {
	ci := &c.impl
	if ci.state != stateOpen {
		return
	}
	ci.state = stateClosing
	ci.setCloseErr(err)
	ci.since = l.nanos()
	if !l.e.timed {
		ci.lastOut = ci.since // not kept while open: the stall is timed from here
	}
	l.markDirty(c)
}

// endClose closes c, whose output is all sent. If the client sent input
// the server has not read, closing now would answer it with a reset that
// can destroy the reply in flight: the write side is shut instead, and
// the input discarded until the client closes, for at most lingerTime.
func (l *eventLoop) endClose(c *EventConn) {
	ci := &c.impl
	if !ci.inEOF && sockopt.UnreadFD(ci.fdInt()) > 0 && unix.Shutdown(ci.fdInt(), unix.SHUT_WR) == nil {
		ci.state = stateLingering
		ci.since = l.nanos()
		l.setInterest(c)
		l.schedule(c)
		return
	}
	l.closeNow(c, ci.closeErr())
}

// closeNow closes c at once, discarding queued output, and reports err
// unless the connection was closed cleanly or the error already reported.
func (l *eventLoop) closeNow(c *EventConn, err error) {
	ci := &c.impl
	if ci.state == stateClosed {
		return
	}
	ci.state = stateClosed
	c.gone.Store(true)
	if p := ci.layer(); p != nil {
		p.Close()
		p.stopHandshake()
	}
	unix.Close(ci.fdInt())
	l.conns[ci.fd] = nil
	l.nconns.Add(-1)
	if r := ci.rare; r != nil && r.req != nil {
		r.req.observeEnd()
	}
	l.s.stats.activeConns.Add(-1)
	if ci.counted {
		ip, _ := addrIP(c.remote)
		l.s.releaseIP(ip)
	}
	l.wheel.Stop(&ci.timer)
	if ci.opened && !ci.inEOF && !ci.closedByUser && ci.kept() > 0 {
		// The last chance to handle an incomplete request, as at EOF.
		ci.inEOF = true
		l.callData(c, ci.bufs.in)
	}
	l.releaseBufs(c, true)
	if err != nil && !ci.reported && !errors.Is(err, ErrAbortHandler) && !errors.Is(err, net.ErrClosed) {
		l.s.report(c.remote, err)
	}
	if ci.opened {
		l.callClose(c, err)
	}
	if r := ci.rare; r != nil && r.req != nil {
		r.req.setState(StateClosed)
		r.req = nil
	}
}

// deadline returns when c times out now, and how to make the error it
// would close with; the zero time if it cannot.
func (l *eventLoop) deadline(c *EventConn) (time.Time, func() error) {
	s := l.s
	ci := &c.impl
	var at int64 // Unix nanoseconds; 0: none
	var why func() error
	consider := func(since int64, d time.Duration, err func() error) {
		if t := since + int64(d); at == 0 || t < at {
			at, why = t, err
		}
	}
	switch ci.state {
	case stateOpen:
		if l.drained && !ci.heard {
			consider(ci.since, newConnGrace, func() error { return errNothingCame })
		}
		if ci.preamble {
			d := l.e.cfg.preambleTimeout()
			consider(ci.since, d, func() error { return timeoutError("no complete preamble", d) })
		}
		if d := s.FirstByteTimeout; d > 0 && !ci.heard {
			consider(ci.since, d, func() error { return timeoutError("no first byte", d) })
		}
		if d := s.IdleTimeout; d > 0 {
			consider(max(ci.lastIn, ci.lastOut), d, func() error { return ErrIdleTimeout })
		}
		if d := s.ReadTimeout; d > 0 {
			consider(ci.lastIn, d, func() error { return timeoutError("no input", d) })
		}
		if d := s.WriteTimeout; d > 0 && ci.pending() > 0 {
			consider(ci.lastOut, d, func() error { return timeoutError("output stalled", d) })
		}
	case stateClosing:
		if ci.pending() > 0 {
			d := s.WriteTimeout
			if d <= 0 {
				d = closeFlushTime
			}
			consider(ci.lastOut, d, func() error { return timeoutError("output stalled", d) })
		}
	case stateLingering:
		consider(ci.since, lingerTime, ci.closeErr)
	}
	if at == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, at), why
}

// errNothingCame is the reason a connection that sent nothing is closed,
// gracefully, once Shutdown's grace for new connections is over.
var errNothingCame = errors.New("socketserver: no request before shutdown")

// timeoutError is a timeout of Event mode: a net.Error whose Timeout is
// true, matching os.ErrDeadlineExceeded.
func timeoutError(what string, d time.Duration) error {
	return fmt.Errorf("socketserver: %s for %v: %w", what, d, os.ErrDeadlineExceeded)
}

// schedule puts c's timer at its deadline, if it has one and the timer is
// not already due sooner. Activity only moves deadlines later, so it does
// not reschedule: expire looks again when the timer fires.
func (l *eventLoop) schedule(c *EventConn) {
	ci := &c.impl
	if ci.state == stateClosed {
		return
	}
	if ci.state == stateOpen && !l.e.timed && !ci.preamble && !l.drained && !ci.timer.Scheduled() {
		return // nothing times an open connection (see deadline)
	}
	at, _ := l.deadline(c)
	switch {
	case at.IsZero():
		if ci.state != stateOpen {
			l.wheel.Stop(&ci.timer) // a close waiting only for Go functions
		}
	case !ci.timer.Scheduled() || at.Before(l.wheel.Deadline(&ci.timer).Add(-wheelResolution)):
		if l.wheel.Len() == 0 {
			l.wheel.Advance(l.clock(), l.expire) // turned only while it holds timers
		}
		l.wheel.Schedule(&ci.timer, at)
	}
}
