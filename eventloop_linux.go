//go:build linux && !socketserver_portable

package socketserver

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/poller"
	"github.com/socketserver-go/socketserver/internal/rawio"
	"github.com/socketserver-go/socketserver/internal/sockerr"
	"github.com/socketserver-go/socketserver/internal/timewheel"
)

// An eventLoop is one goroutine that waits on its poller and runs the
// callbacks of the connections it owns. Fields below mu are the loop's
// alone.
type eventLoop struct {
	e      *eventEngine
	s      *Server
	idx    int
	p      *poller.Poller
	nconns atomic.Int32              // connections owned, for LeastConns
	cur    atomic.Pointer[EventConn] // whose callback runs now, if any

	mu       sync.Mutex
	mailbox  []mail
	mailDone bool // the loop has returned: post fails

	spare     []mail       // the other mailbox buffer, swapped in
	conns     []*EventConn // by descriptor
	dirty     []*EventConn // output to send, or a close to finish, at the end of the turn
	freeBufs  []*connBufs  // buffers to lend
	buf       []byte       // read buffer, shared by the loop's connections
	wheel     *timewheel.Wheel[*EventConn]
	now       time.Time
	nowNano   int64 // now, in Unix nanoseconds
	nowFresh  bool
	bytesIn   int64
	bytesOut  int64
	lfd, pfd  int                 // the listener or datagram socket this loop reads, or -1
	rsa       unix.RawSockaddrAny // where accept and recvfrom put the peer's address
	locals    []net.Addr          // local addresses of a wildcard listener's connections (see localAddr)
	pause     time.Duration       // accept back-off
	resumeAt  time.Time           // when accepting resumes after a back-off
	nextTick  time.Time
	drained   bool // this loop has started its shutdown
	onEventFn func(poller.Event)
}

// A mail is work for a loop from another goroutine.
type mail struct {
	kind   mailKind
	c      *EventConn
	fd     int      // mailAdopt
	remote net.Addr // mailAdopt
	data   []byte   // mailWrite, mailRawWrite
	err    error    // mailHandshake
}

type mailKind uint8

const (
	mailAdopt     mailKind = iota // serve the accepted connection fd
	mailWrite                     // queue data on c
	mailClose                     // close c once its output is sent
	mailWake                      // call OnData for c again
	mailJobDone                   // one of c's Go functions returned
	mailRawWrite                  // queue data from c's layer's handshake
	mailHandshake                 // c's layer's handshake ended, with err
	mailResume                    // c's handshake took the input it stalled on
)

// The wheel's tick and span: timeouts fire at most 10ms late, and
// deadlines further than about 10s ahead are parked and moved on.
const (
	wheelResolution = 10 * time.Millisecond
	wheelSlots      = 1024
)

func newEventLoop(e *eventEngine, idx int) (*eventLoop, error) {
	p, err := poller.New(256)
	if err != nil {
		if errors.Is(err, poller.ErrUnsupported) {
			return nil, errors.Join(ErrUnsupported, err)
		}
		return nil, err
	}
	bufSize := max(e.s.readBufferSize(), 64<<10)
	if e.pfd >= 0 {
		bufSize = e.s.maxPacketSize()
	}
	now := time.Now()
	l := &eventLoop{
		e: e, s: e.s, idx: idx, p: p,
		buf:   make([]byte, bufSize),
		wheel: timewheel.New[*EventConn](wheelResolution, wheelSlots, now),
		now:   now, nowNano: now.UnixNano(),
		lfd: -1, pfd: -1,
	}
	l.onEventFn = l.onEvent
	return l, nil
}

// run is the loop: wait, handle what is ready, take the mail, fire the
// timers, send the output, until the engine stops and nothing is left.
func (l *eventLoop) run() {
	if l.idx == 0 && l.e.ticker != nil {
		l.nextTick = time.Now()
	}
	busy := false
	for {
		l.nowFresh = false
		// After a turn with work, poll without blocking: under load the
		// next event is usually there, and a blocking call costs the
		// scheduler a hand-off of this thread's P.
		timeout := 0
		if !busy {
			timeout = l.timeout()
		}
		n, woken, err := l.p.Wait(timeout, l.onEventFn)
		if busy && n == 0 {
			runtime.Gosched() // let other goroutines in before blocking
		}
		busy = n > 0
		if err != nil {
			l.e.fail(err)
		}
		if woken {
			l.takeMail()
		}
		if l.e.closing.Load() {
			l.closeAll()
			break
		}
		if l.e.draining.Load() && !l.drained {
			l.startDrain()
		}
		if l.wheel.Len() > 0 {
			l.wheel.Advance(l.clock(), l.expire)
		}
		l.serviceListener()
		l.flushDirty()
		l.flushStats()
		if l.drained && l.nconns.Load() == 0 && l.e.inTransit.Load() == 0 && l.pfd < 0 {
			break
		}
	}
	l.finish()
}

// clock returns the loop's idea of now: the time is read once per turn,
// when first asked for. A turn of a server without timeouts (no
// ReadTimeout, WriteTimeout, IdleTimeout, FirstByteTimeout) reads it only
// to accept, to close, or with timers scheduled: its connections' times of
// input and output are not kept while they are open (see timesIO).
func (l *eventLoop) clock() time.Time {
	if !l.nowFresh {
		l.now = time.Now()
		l.nowNano = l.now.UnixNano()
		l.nowFresh = true
	}
	return l.now
}

// nanos is clock in Unix nanoseconds.
func (l *eventLoop) nanos() int64 {
	l.clock()
	return l.nowNano
}

// timesIO reports whether c's times of input and output are kept: with
// timeouts that need them, and always once it is closing (its output's
// progress is timed then).
func (l *eventLoop) timesIO(ci *connImpl) bool {
	return l.e.timed || ci.state != stateOpen
}

// timeout is how long the next Wait may block, in milliseconds.
func (l *eventLoop) timeout() int {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if l.wheel.Len() > 0 {
		consider(l.now.Add(wheelResolution))
	}
	consider(l.nextTick)
	consider(l.resumeAt)
	if next.IsZero() {
		return -1
	}
	d := time.Until(next)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// onEvent handles one ready descriptor.
func (l *eventLoop) onEvent(ev poller.Event) {
	switch ev.Fd {
	case l.lfd:
		l.accept()
		return
	case l.pfd:
		l.readPackets()
		return
	}
	if ev.Fd >= len(l.conns) {
		return
	}
	c := l.conns[ev.Fd]
	if c == nil {
		return // closed earlier in this turn
	}
	ci := &c.impl
	if ev.Events&(poller.Writable|poller.Hangup) != 0 && ci.pending() > 0 {
		l.flush(c)
	}
	switch {
	case ci.state == stateClosed:
	case ci.interest&poller.Readable != 0:
		if ev.Events&(poller.Readable|poller.Hangup) != 0 {
			l.read(c)
		}
	case ev.Events&poller.Hangup != 0:
		// Not reading, yet the socket failed or was shut both ways: it
		// would be reported again and again.
		l.closeNow(c, socketError(ci.fdInt()))
	}
}

// socketError returns the error pending on a socket, or ECONNRESET if
// none is.
func socketError(fd int) error {
	errno, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || errno == 0 {
		return os.NewSyscallError("read", unix.ECONNRESET)
	}
	return os.NewSyscallError("read", unix.Errno(errno))
}

// post hands m to the loop from any goroutine. It fails once the loop has
// returned.
func (l *eventLoop) post(m mail) error {
	l.mu.Lock()
	if l.mailDone {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.mailbox = append(l.mailbox, m)
	first := len(l.mailbox) == 1
	l.mu.Unlock()
	if first {
		return l.p.Wake()
	}
	return nil
}

// takeMail handles the mail that arrived.
func (l *eventLoop) takeMail() {
	l.mu.Lock()
	box := l.mailbox
	l.mailbox = l.spare[:0]
	l.mu.Unlock()
	for i := range box {
		l.handleMail(box[i])
		box[i] = mail{}
	}
	l.spare = box[:0]
}

func (l *eventLoop) handleMail(m mail) {
	if m.kind == mailAdopt {
		l.adopt(m.fd, m.remote)
		l.e.arrived()
		return
	}
	c := m.c
	ci := &c.impl
	if m.kind == mailJobDone && c.jobs.Add(-1) == 0 {
		l.markDirty(c) // a close may have waited for the functions
	}
	if ci.state == stateClosed {
		return
	}
	switch m.kind {
	case mailWrite:
		l.queue(c, m.data)
	case mailClose:
		ci.closedByUser = true
		l.beginClose(c, nil)
	case mailWake:
		if ci.state == stateOpen {
			l.deliver(c, nil)
		}
	case mailRawWrite:
		l.queueRaw(c, m.data)
		l.afterCallback(c)
	case mailHandshake:
		l.handshakeDone(c, m.err)
	case mailResume:
		if ci.state == stateOpen {
			l.setInterest(c)
		}
	}
}

// startDrain begins a graceful shutdown of this loop: the listener is
// closed, the datagram socket no longer read, and each connection has
// what already arrived read and handled, then is closed once its output
// is sent and its Go functions have returned.
func (l *eventLoop) startDrain() {
	l.drained = true
	if l.lfd >= 0 {
		// Close the duplicate now, as Shutdown closed the listener: a
		// client that connects from now on is refused, rather than left
		// in the backlog until serving ends. (On a socket shared with
		// other processes, they go on accepting.)
		l.p.Remove(l.lfd)
		unix.Close(l.lfd)
		l.lfd, l.e.lfd = -1, -1
	}
	if l.pfd >= 0 {
		l.readPackets() // what the kernel queued is served; then the socket is let go
	}
	l.resumeAt = time.Time{}
	for _, c := range l.conns {
		if c != nil {
			l.drainConn(c)
		}
	}
}

// drainConn reads and handles what a connection's client has already sent,
// then closes it gracefully unless it holds an incomplete request.
func (l *eventLoop) drainConn(c *EventConn) {
	ci := &c.impl
	if ci.handshaking() || ci.preamble {
		return // drained once open
	}
	if ci.layer() != nil {
		l.readLayer(c) // what the handshake left
	}
	for range 16 {
		if ci.state != stateOpen || ci.paused || ci.inEOF || ci.rawEOF || !l.read(c) {
			break
		}
	}
	l.closeIfIdle(c)
}

// closeAll closes every connection at once, for Close.
func (l *eventLoop) closeAll() {
	for _, c := range l.conns {
		if c != nil {
			l.closeNow(c, net.ErrClosed)
		}
	}
	l.flushStats()
}

// finish ends the loop: later mail fails, and connections still in the
// mailbox, accepted for this loop, are closed unserved.
func (l *eventLoop) finish() {
	l.mu.Lock()
	l.mailDone = true
	box := l.mailbox
	l.mailbox = nil
	l.mu.Unlock()
	for _, m := range box {
		if m.kind == mailAdopt {
			unix.Close(m.fd)
			l.s.stats.activeConns.Add(-1)
			l.e.arrived()
		}
	}
}

// serviceListener resumes accepting after a back-off, and runs the
// ticker when due.
func (l *eventLoop) serviceListener() {
	if !l.resumeAt.IsZero() && !l.clock().Before(l.resumeAt) {
		l.resumeAt = time.Time{}
		if l.lfd >= 0 {
			l.p.Modify(l.lfd, poller.Readable)
		}
	}
	if !l.nextTick.IsZero() && !l.clock().Before(l.nextTick) {
		d := max(l.callTick(), time.Millisecond)
		l.nextTick = time.Now().Add(d)
	}
}

// flushStats adds the turn's byte counts to the server's.
func (l *eventLoop) flushStats() {
	if l.bytesIn != 0 {
		l.s.stats.bytesIn.Add(l.bytesIn)
		l.bytesIn = 0
	}
	if l.bytesOut != 0 {
		l.s.stats.bytesOut.Add(l.bytesOut)
		l.bytesOut = 0
	}
}

// accept takes the connections waiting on the listener, a bounded batch
// per turn so that the loop's own connections are not starved.
func (l *eventLoop) accept() {
	e := l.e
	for range 64 {
		fd, err := rawio.Accept(l.lfd, &l.rsa)
		if err != nil {
			switch {
			case err == unix.EAGAIN:
			case err == unix.EINTR || err == unix.ECONNABORTED:
				continue
			case sockerr.Exhausted(err):
				// Stop watching the listener (level triggered, it would
				// spin) until the pause is over.
				l.pause = sockerr.NextPause(l.pause)
				l.resumeAt = l.clock().Add(l.pause)
				l.p.Modify(l.lfd, 0)
				l.s.logger().Warn("socketserver: accept failed; retrying", "addr", e.local, "err", os.NewSyscallError("accept", err), "retry_in", l.pause)
			default:
				l.s.logger().Error("socketserver: accept failed", "addr", e.local, "err", os.NewSyscallError("accept", err))
			}
			return
		}
		l.pause = 0
		e.inTransit.Add(1)
		if e.draining.Load() || l.s.overLimit() {
			unix.Close(fd) // accepted by the kernel after Shutdown began, or over MaxConns
			e.arrived()
			continue
		}
		l.s.stats.activeConns.Add(1)
		l.s.stats.totalConns.Add(1)
		remote := rawToAddr(e.network, &l.rsa)
		target := e.pick()
		if target == l {
			l.adopt(fd, remote)
			e.arrived()
			continue
		}
		if target.post(mail{kind: mailAdopt, fd: fd, remote: remote}) != nil {
			unix.Close(fd)
			l.s.stats.activeConns.Add(-1)
			e.arrived()
		}
	}
}

// expire is the wheel's callback: it closes a connection whose deadline
// has passed, or schedules it again if activity moved the deadline on.
func (l *eventLoop) expire(t *timewheel.Timer[*EventConn]) {
	c := t.Value
	if c.impl.state == stateClosed {
		return
	}
	at, why := l.deadline(c)
	if at.IsZero() {
		return
	}
	if at.After(l.clock()) {
		l.wheel.Schedule(t, at)
		return
	}
	if err := why(); err != errNothingCame {
		l.closeNow(c, err)
		return
	}
	l.closeIfIdle(c)
}

// The callbacks run through these functions, which recover panics.

// While c's callback runs, l.cur is c: the callbacks-only methods of
// EventConn check it, one compare, to refuse a call from elsewhere. One
// deferred call ends each callback: it clears l.cur and recovers a panic.

func (l *eventLoop) callOpen(c *EventConn) (ok bool) {
	l.cur.Store(c)
	defer l.endCallback(c, &ok)
	l.e.h.OnOpen(c)
	return true
}

func (l *eventLoop) callData(c *EventConn, in []byte) (n int, ok bool) {
	l.cur.Store(c)
	defer l.endCallback(c, &ok)
	return l.e.h.OnData(c, in), true
}

func (l *eventLoop) callClose(c *EventConn, err error) {
	ok := false
	l.cur.Store(c)
	defer l.endCallback(nil, &ok)
	l.e.h.OnClose(c, err)
}

func (l *eventLoop) callTick() (next time.Duration) {
	ok := false
	defer l.endCallback(nil, &ok)
	return l.e.ticker.OnTick()
}

// endCallback ends a callback: no connection's callback runs any more. It
// reports a panic, and closes c (if not nil and a stream) with it. A panic
// with ErrAbortHandler closes c unreported.
func (l *eventLoop) endCallback(c *EventConn, ok *bool) {
	l.cur.Store(nil)
	v := recover()
	if v == nil {
		return
	}
	*ok = false
	var err error
	if e, isErr := v.(error); isErr && errors.Is(e, ErrAbortHandler) {
		err = ErrAbortHandler
	} else {
		err = panicError(v)
		remote := net.Addr(nil)
		if c != nil {
			remote = c.remote
		}
		l.s.report(remote, err)
	}
	if c != nil && !c.impl.datagram() && c.impl.state != stateClosed {
		c.impl.reported = true
		l.closeNow(c, err)
	}
}
