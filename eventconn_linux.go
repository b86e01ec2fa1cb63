package socketserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/poller"
	"github.com/socketserver-go/socketserver/internal/timewheel"
)

// connImpl is an EventConn's state on Linux. Apart from what the methods
// of EventConn note, it belongs to the connection's loop.
type connImpl struct {
	loop *eventLoop
	bufs *connBufs // nil while nothing is kept: idle connections hold no buffers
	fd   int

	interest uint32 // what the poller watches the descriptor for
	state    connState
	paused   bool // reading stopped: output over the high-water mark
	inEOF    bool // the client ended its side of the stream
	dirty    bool // in the loop's dirty list
	opened   bool // OnOpen ran, so OnClose will
	reported bool // the close reason was already reported
	failed   bool // a callback passed a limit: close with closeErr after it
	heard    bool // input came (FirstByteTimeout no longer applies)
	preamble bool // waiting for Event.Preamble to be satisfied
	counted  bool // counted against MaxConnsPerIP
	rawEOF   bool // the socket reached EOF (inEOF follows once the layer's input is read)
	// awaitDrain: OnData left input unconsumed with output queued; it is
	// called again once the output drains to LowWater.
	awaitDrain bool

	// With Event.Layer: the raw connection under it, and the handshake
	// under way.
	pipe          *layerPipe
	handshaking   bool
	layerClosed   bool // CloseWrite was called
	stopHandshake context.CancelFunc

	closedByUser bool  // Close or AsyncClose: writes fail from now on
	closeErr     error // why the connection is closing

	// In Unix nanoseconds, from the loop's clock: the last input, the last
	// output progress, and the start of the closing or lingering state.
	lastIn, lastOut, since int64

	timer timewheel.Timer[*EventConn]
	req   *Request // for VerifyRequest and ConnState, if set

	// Datagram senders: the address to reply to (nil for an unnamed Unix
	// socket).
	packet bool
	peer   unix.Sockaddr
}

type connState uint8

const (
	stateOpen      connState = iota
	stateClosing             // sending the queued output, then closing
	stateLingering           // output sent and write side shut: discarding input until EOF
	stateClosed
)

// lingerTime bounds how long a closed connection with unread input is
// drained so that its reply is not destroyed by a reset, as in the other
// modes' closeConn; closeFlushTime bounds how long Close waits for queued
// output making no progress, when WriteTimeout is not set.
const (
	lingerTime     = 500 * time.Millisecond
	closeFlushTime = 30 * time.Second
)

// connBufs are a connection's buffers, lent by its loop while it has
// something to keep.
type connBufs struct {
	in   []byte // input OnData left unconsumed
	out  []byte // queued output; out[head:] is not yet sent
	head int
}

func (ci *connImpl) pending() int {
	if ci.bufs == nil {
		return 0
	}
	return len(ci.bufs.out) - ci.bufs.head
}

func (ci *connImpl) datagram() bool { return ci.packet }

// adopt starts serving an accepted connection on this loop.
func (l *eventLoop) adopt(fd int, sa unix.Sockaddr) {
	s := l.s
	e := l.e
	if e.network == "tcp" || e.network == "tcp4" || e.network == "tcp6" {
		if !s.DisableNoDelay {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		if s.KeepAlive > 0 {
			secs := int(max(s.KeepAlive/time.Second, 1))
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs)
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
		}
	}
	c := &EventConn{id: s.nextID.Add(1), srv: s, remote: sockaddrToAddr(e.network, sa), local: e.local}
	if e.anyIP {
		if lsa, err := unix.Getsockname(fd); err == nil {
			c.local = sockaddrToAddr(e.network, lsa)
		}
	}
	ci := &c.impl
	ci.loop, ci.fd = l, fd
	ci.lastIn, ci.lastOut, ci.since = l.nowNano, l.nowNano, l.nowNano
	ci.timer.Value = c
	for fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*EventConn, max(len(l.conns), 64))...)
	}
	l.conns[fd] = c
	l.nconns.Add(1)
	if err := l.p.Add(fd, poller.Readable); err != nil {
		l.closeNow(c, err)
		return
	}
	ci.interest = poller.Readable
	if e.cfg.Preamble != nil {
		ci.preamble = true // open once it is read
		l.schedule(c)
		return
	}
	if e.cfg.Layer != nil {
		l.startLayer(c, nil)
		return
	}
	l.open(c)
}

// open admits an adopted connection (MaxConnsPerIP, VerifyRequest) and
// calls OnOpen.
func (l *eventLoop) open(c *EventConn) {
	s, ci := l.s, &c.impl
	if s.MaxConnsPerIP > 0 {
		if ip, ok := addrIP(c.remote); ok {
			if !s.admitIP(ip) {
				l.closeNow(c, nil)
				return
			}
			ci.counted = true
		}
	}

	if s.ConnState != nil || s.VerifyRequest != nil {
		ci.req = &Request{ID: c.id, RemoteAddr: c.remote, LocalAddr: c.local, srv: s, event: c}
		ci.req.setState(StateNew)
		if !s.verify(ci.req) {
			s.stats.rejected.Add(1)
			l.closeNow(c, nil)
			return
		}
		ci.req.setState(StateActive)
	}
	ci.opened = true
	if !l.callOpen(c) {
		return
	}
	l.afterCallback(c)
	if l.drained && ci.state == stateOpen {
		l.drainConn(c)
	}
	l.schedule(c)
}

// read reads once from c and hands the bytes to OnData. It reports
// whether it read anything.
func (l *eventLoop) read(c *EventConn) bool {
	ci := &c.impl
	n, err := unix.Read(ci.fd, l.buf)
	switch {
	case n > 0:
		l.bytesIn += int64(n)
		if ci.state == stateLingering {
			return true // discarded
		}
		ci.lastIn, ci.heard = l.nowNano, true
		if ci.preamble {
			l.readPreamble(c, l.buf[:n])
			return true
		}
		if ci.pipe != nil {
			if ci.pipe.feed(l.buf[:n], false) > l.e.cfg.maxInput() {
				ci.reported = true
				l.s.report(c.remote, ErrInputLimit)
				l.closeNow(c, ErrInputLimit)
				return false
			}
			if !ci.handshaking {
				l.readLayer(c)
			}
			return true
		}
		l.deliver(c, l.buf[:n])
		return true
	case err == nil: // EOF
		if ci.state == stateLingering {
			l.closeNow(c, ci.closeErr)
			return false
		}
		ci.rawEOF = true
		if ci.preamble {
			l.closeNow(c, nil) // gone before its preamble was whole
			return false
		}
		if ci.pipe != nil {
			ci.pipe.feed(nil, true)
			l.setInterest(c)
			if !ci.handshaking {
				l.readLayer(c) // the layer reports the end in turn
			}
			return false
		}
		l.inputEnded(c)
	case err == unix.EAGAIN || err == unix.EINTR:
	case ci.state == stateLingering:
		l.closeNow(c, ci.closeErr)
	default:
		l.closeNow(c, os.NewSyscallError("read", err))
	}
	return false
}

// inputEnded tells c's handler that the client ended its input: OnData
// has the last, incomplete, input if any is left, and c is closed once its
// output is sent.
func (l *eventLoop) inputEnded(c *EventConn) {
	ci := &c.impl
	ci.inEOF = true
	if ci.bufs != nil && len(ci.bufs.in) > 0 {
		l.deliver(c, nil)
	}
	l.beginClose(c, nil)
}

// readPreamble passes the bytes received so far to Event.Preamble, and
// once it is satisfied opens the connection and delivers what followed.
func (l *eventLoop) readPreamble(c *EventConn, in []byte) {
	ci := &c.impl
	b := l.bufsFor(c)
	b.in = append(b.in, in...)
	n, remote, local, err := l.callPreamble(c, b.in)
	switch {
	case errors.Is(err, ErrPreambleIncomplete) && len(b.in) < maxPreamble:
		return
	case errors.Is(err, ErrPreambleIncomplete):
		err = fmt.Errorf("socketserver: no complete preamble in %d bytes", len(b.in))
		fallthrough
	case err != nil:
		ci.reported = true
		l.s.report(c.remote, err)
		l.closeNow(c, err)
		return
	}
	if remote != nil {
		c.remote = remote
	}
	if local != nil {
		c.local = local
	}
	ci.preamble = false
	n = min(max(n, 0), len(b.in))
	b.in = append(b.in[:0], b.in[n:]...) // keep what followed the preamble
	if l.e.cfg.Layer != nil {
		rest := b.in
		b.in = b.in[:0]
		l.startLayer(c, rest) // copies rest
		l.releaseBufs(c, false)
		return
	}
	l.open(c)
	if ci.state == stateOpen && len(b.in) > 0 {
		l.deliver(c, nil)
	}
}

// callPreamble runs Event.Preamble, turning a panic into an error.
func (l *eventLoop) callPreamble(c *EventConn, in []byte) (n int, remote, local net.Addr, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return l.e.cfg.Preamble(in, c.remote, c.local)
}

// deliver calls OnData with in, after what was left unconsumed, and keeps
// what it does not consume.
func (l *eventLoop) deliver(c *EventConn, in []byte) {
	ci := &c.impl
	data := in
	if b := ci.bufs; b != nil && len(b.in) > 0 {
		b.in = append(b.in, in...)
		data = b.in
	}
	n, ok := l.callData(c, data)
	if !ok {
		return
	}
	n = min(max(n, 0), len(data))
	rest := data[n:]
	switch {
	case len(rest) == 0:
		if ci.bufs != nil {
			ci.bufs.in = ci.bufs.in[:0]
		}
	case len(rest) > l.e.cfg.maxInput():
		ci.reported = true
		l.s.report(c.remote, ErrInputLimit)
		l.closeNow(c, ErrInputLimit)
		return
	default:
		b := l.bufsFor(c)
		b.in = append(b.in[:0], rest...) // copy: overlapping is fine
	}
	ci.awaitDrain = len(rest) > 0 && ci.pending() > 0
	l.afterCallback(c)
	if l.drained {
		l.closeIfIdle(c)
	}
}

// kept returns how much input c holds unconsumed.
func (ci *connImpl) kept() int {
	if ci.bufs == nil {
		return 0
	}
	return len(ci.bufs.in)
}

// closeIfIdle closes c gracefully, during a shutdown, once it holds no
// incomplete request: no input kept unconsumed, none waiting unread in the
// kernel. A connection that holds some goes on being read, to complete
// it, until Shutdown's deadline.
func (l *eventLoop) closeIfIdle(c *EventConn) {
	ci := &c.impl
	if ci.state != stateOpen || ci.handshaking || ci.preamble || ci.kept() > 0 ||
		(ci.paused && unreadBytes(ci.fd) > 0) {
		return
	}
	if !ci.heard && l.nowNano < ci.since+int64(newConnGrace) {
		l.schedule(c) // its first request may be on its way: see deadline
		return
	}
	if ci.pipe != nil && ci.pipe.buffered() {
		return // the layer has input to decrypt
	}
	l.beginClose(c, nil)
}

// afterCallback acts on what a callback did to c: a limit it passed, or
// output it queued.
func (l *eventLoop) afterCallback(c *EventConn) {
	ci := &c.impl
	if ci.failed && ci.state != stateClosed {
		ci.reported = true
		l.s.report(c.remote, ci.closeErr)
		l.closeNow(c, ci.closeErr)
		return
	}
	if ci.pending() > 0 || ci.state == stateClosing {
		l.markDirty(c)
		return
	}
	l.releaseBufs(c, false)
}

// queue sends p, from AsyncWrite, to c.
func (l *eventLoop) queue(c *EventConn, p []byte) {
	l.send(c, p)
	l.afterCallback(c)
}

// appendOut copies p to c's output buffer, reusing its sent part.
func (l *eventLoop) appendOut(c *EventConn, p []byte) {
	b := l.bufsFor(c)
	if b.head > 0 && b.head >= len(b.out)/2 {
		b.out = b.out[:copy(b.out, b.out[b.head:])]
		b.head = 0
	}
	b.out = append(b.out, p...)
}

// bufsFor returns c's buffers, lending it a set if it has none.
func (l *eventLoop) bufsFor(c *EventConn) *connBufs {
	if c.impl.bufs == nil {
		if n := len(l.freeBufs); n > 0 {
			c.impl.bufs = l.freeBufs[n-1]
			l.freeBufs[n-1] = nil
			l.freeBufs = l.freeBufs[:n-1]
		} else {
			c.impl.bufs = &connBufs{out: make([]byte, 0, 4096)}
		}
	}
	return c.impl.bufs
}

// releaseBufs takes c's buffers back once they hold nothing (or at once,
// if force), keeping a bounded number, of bounded size, for reuse.
func (l *eventLoop) releaseBufs(c *EventConn, force bool) {
	b := c.impl.bufs
	if b == nil || !force && (len(b.out) > b.head || len(b.in) > 0) {
		return
	}
	c.impl.bufs = nil
	if len(l.freeBufs) >= 256 || cap(b.out) > 64<<10 || cap(b.in) > 64<<10 {
		return
	}
	b.out, b.in, b.head = b.out[:0], b.in[:0], 0
	l.freeBufs = append(l.freeBufs, b)
}

func (l *eventLoop) markDirty(c *EventConn) {
	if !c.impl.dirty {
		c.impl.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flushDirty sends the output queued in this turn and finishes closes. A
// connection may be marked dirty again while this runs (a layer's input
// read once its output drained): it is served in the same pass.
func (l *eventLoop) flushDirty() {
	for i := 0; i < len(l.dirty); i++ {
		c := l.dirty[i]
		l.dirty[i] = nil
		c.impl.dirty = false
		if c.impl.state != stateClosed {
			l.flush(c)
		}
	}
	l.dirty = l.dirty[:0]
}

// flush writes c's queued output until done or the socket is full, and
// moves c on: reading paused or resumed, the close finished.
func (l *eventLoop) flush(c *EventConn) {
	ci := &c.impl
	wrote := false
	for ci.pending() > 0 {
		b := ci.bufs
		n, err := unix.Write(ci.fd, b.out[b.head:])
		if n > 0 {
			wrote = true
			b.head += n
			l.bytesOut += int64(n)
			ci.lastOut = l.nowNano
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			l.closeNow(c, os.NewSyscallError("write", err))
			return
		}
	}
	if b := ci.bufs; b != nil && ci.pending() == 0 {
		b.out, b.head = b.out[:0], 0
		l.releaseBufs(c, false)
	}
	switch p := ci.pending(); {
	case p >= l.e.cfg.highWater():
		ci.paused = true
	case p <= l.e.cfg.lowWater() && ci.paused:
		ci.paused = false
		if ci.pipe != nil && !ci.handshaking && ci.pipe.buffered() {
			l.readLayer(c) // input that arrived while paused
			if ci.state == stateClosed {
				return
			}
		}
	}
	if ci.awaitDrain && wrote && ci.pending() <= l.e.cfg.lowWater() && ci.state == stateOpen {
		// OnData stopped taking input while output was queued: the
		// output has drained, so offer it the rest again. (Only after
		// progress: a handler waiting for more input is not spun.)
		ci.awaitDrain = false
		l.deliver(c, nil)
		if ci.state == stateClosed {
			return
		}
	}
	if ci.state == stateClosing && ci.pending() == 0 && c.jobs.Load() == 0 {
		if ci.pipe != nil && !ci.layerClosed && !ci.handshaking && ci.closeErr == nil {
			ci.layerClosed = true
			c.layer.CloseWrite() // its last words (TLS: close_notify) go first
			l.flush(c)
			return
		}
		l.endClose(c)
		return
	}
	l.setInterest(c)
	l.schedule(c)
}

// setInterest tells the poller what c waits for now.
func (l *eventLoop) setInterest(c *EventConn) {
	ci := &c.impl
	var want uint32
	if ci.state == stateLingering || ci.state == stateOpen && !ci.paused && !ci.inEOF && !ci.rawEOF {
		want |= poller.Readable
	}
	if ci.pending() > 0 {
		want |= poller.Writable
	}
	if want != ci.interest {
		if err := l.p.Modify(ci.fd, want); err != nil {
			l.closeNow(c, err)
			return
		}
		ci.interest = want
	}
}

// beginClose stops reading c and closes it once its output is sent and
// its Go functions have returned.
func (l *eventLoop) beginClose(c *EventConn, err error) {
	ci := &c.impl
	if ci.state != stateOpen {
		return
	}
	ci.state = stateClosing
	ci.closeErr = err
	ci.since = l.nowNano
	l.markDirty(c)
}

// endClose closes c, whose output is all sent. If the client sent input
// the server has not read, closing now would answer it with a reset that
// can destroy the reply in flight: the write side is shut instead, and
// the input discarded until the client closes, for at most lingerTime.
func (l *eventLoop) endClose(c *EventConn) {
	ci := &c.impl
	if !ci.inEOF && unreadBytes(ci.fd) > 0 && unix.Shutdown(ci.fd, unix.SHUT_WR) == nil {
		ci.state = stateLingering
		ci.since = l.nowNano
		l.setInterest(c)
		l.schedule(c)
		return
	}
	l.closeNow(c, ci.closeErr)
}

// unreadBytes returns how many bytes wait in fd's receive queue.
func unreadBytes(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		return 0
	}
	return n
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
	if ci.pipe != nil {
		ci.pipe.Close()
		ci.stopHandshake()
	}
	unix.Close(ci.fd)
	l.conns[ci.fd] = nil
	l.nconns.Add(-1)
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
	if ci.req != nil {
		ci.req.setState(StateClosed)
		ci.req = nil
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
		consider(ci.since, lingerTime, func() error { return ci.closeErr })
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
	at, _ := l.deadline(c)
	switch {
	case at.IsZero():
		if ci.state != stateOpen {
			l.wheel.Stop(&ci.timer) // a close waiting only for Go functions
		}
	case !ci.timer.Scheduled() || at.Before(l.wheel.Deadline(&ci.timer).Add(-wheelResolution)):
		l.wheel.Schedule(&ci.timer, at)
	}
}

// sockaddrToAddr converts an address from the kernel to the net package's
// type for the network.
func sockaddrToAddr(network string, sa unix.Sockaddr) net.Addr {
	isUDP := network == "udp" || network == "udp4" || network == "udp6"
	var ip []byte
	var port int
	var zone string
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip, port = a.Addr[:], a.Port
	case *unix.SockaddrInet6:
		ip, port = a.Addr[:], a.Port
		if a.ZoneId != 0 {
			zone = strconv.Itoa(int(a.ZoneId))
		}
	case *unix.SockaddrUnix:
		return peerAddr(network, &net.UnixAddr{Name: a.Name, Net: network})
	default:
		return peerAddr(network, nil)
	}
	// The address and its IP in one allocation, which lets the kernel's
	// Sockaddr go: an idle connection keeps only what it needs.
	if isUDP {
		v := &struct {
			addr net.UDPAddr
			ip   [16]byte
		}{}
		v.addr = net.UDPAddr{IP: v.ip[:copy(v.ip[:], ip)], Port: port, Zone: zone}
		return &v.addr
	}
	v := &struct {
		addr net.TCPAddr
		ip   [16]byte
	}{}
	v.addr = net.TCPAddr{IP: v.ip[:copy(v.ip[:], ip)], Port: port, Zone: zone}
	return &v.addr
}

// The EventConn methods' Linux side.

func (c *EventConn) write(p []byte) (int, error) {
	ci := &c.impl
	if ci.datagram() {
		return c.sendPacket(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if ci.state == stateClosed || ci.state == stateLingering || ci.closedByUser || ci.failed {
		return 0, net.ErrClosed
	}
	l := ci.loop
	if err := l.send(c, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *EventConn) buffered() int { return c.impl.pending() }

func (c *EventConn) inputClosed() bool { return c.impl.inEOF }

func (c *EventConn) close() error {
	ci := &c.impl
	if ci.datagram() || ci.state != stateOpen {
		return nil
	}
	ci.closedByUser = true
	c.gone.Store(true)
	ci.loop.beginClose(c, nil)
	return nil
}

func (c *EventConn) asyncWrite(p []byte) error {
	if c.impl.datagram() {
		_, err := c.sendPacket(p)
		return err
	}
	if c.gone.Load() {
		return net.ErrClosed
	}
	return c.impl.loop.post(mail{kind: mailWrite, c: c, data: append([]byte(nil), p...)})
}

func (c *EventConn) asyncClose() error {
	if c.impl.datagram() || c.gone.Swap(true) {
		return nil
	}
	return c.impl.loop.post(mail{kind: mailClose, c: c})
}

func (c *EventConn) wake() error {
	if c.impl.datagram() {
		return nil
	}
	if c.gone.Load() {
		return net.ErrClosed
	}
	return c.impl.loop.post(mail{kind: mailWake, c: c})
}

func (c *EventConn) goWork(f func()) error { return c.impl.loop.e.goWork(c, f) }
