//go:build linux && !socketserver_portable

package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/socketserver-go/socketserver/internal/poller"
	"github.com/socketserver-go/socketserver/internal/rawio"
	"github.com/socketserver-go/socketserver/internal/sockopt"
	"golang.org/x/sys/unix"
)

// adopt starts serving an accepted connection on this loop.
func (l *eventLoop) adopt(fd int, remote net.Addr) {
	s := l.s
	e := l.e
	if e.network == "tcp" || e.network == "tcp4" || e.network == "tcp6" {
		if !s.DisableNoDelay {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		// Not inherited from the listener: set on each connection.
		sockopt.SetKeepAliveFD(fd, e.keepAlive)
	}
	c := &EventConn{id: s.nextID.Add(1), srv: s, remote: remote, local: e.local}
	if e.anyIP {
		c.local = l.localAddr(fd)
	}
	ci := &c.impl
	ci.loop, ci.fd = l, int32(fd)
	now := l.nanos()
	ci.lastIn, ci.lastOut, ci.since = now, now, now
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

// localAddr returns the local address of a connection accepted by a
// listener bound to a wildcard address: the address the client reached.
// The few a server has are kept and shared, as e.local is otherwise.
func (l *eventLoop) localAddr(fd int) net.Addr {
	var rsa unix.RawSockaddrAny
	if rawio.Getsockname(fd, &rsa) != nil {
		return l.e.local
	}
	a := rawToAddr(l.e.network, &rsa)
	for _, known := range l.locals {
		if sameAddr(known, a) {
			return known
		}
	}
	if len(l.locals) < maxLocalAddrs {
		l.locals = append(l.locals, a)
	}
	return a
}

// maxLocalAddrs bounds the local addresses a loop keeps for sharing.
const maxLocalAddrs = 16

// sameAddr reports whether two addresses of rawToAddr are equal.
func sameAddr(a, b net.Addr) bool {
	x, ok1 := a.(*net.TCPAddr)
	y, ok2 := b.(*net.TCPAddr)
	if ok1 && ok2 {
		return x.Port == y.Port && x.Zone == y.Zone && string(x.IP) == string(y.IP)
	}
	return false
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
		req := &Request{ID: c.id, RemoteAddr: c.remote, LocalAddr: c.local, srv: s, event: c}
		ci.rareState().req = req
		req.setState(StateNew)
		if !s.verify(req) {
			s.stats.rejected.Add(1)
			l.closeNow(c, nil)
			return
		}
		req.setState(StateActive)
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
	n, err := rawio.Read(ci.fdInt(), l.buf)
	switch {
	case n > 0:
		l.bytesIn += int64(n)
		if ci.state == stateLingering {
			return true // discarded
		}
		ci.heard = true
		if l.e.timed {
			ci.lastIn = l.nanos()
		}
		if ci.preamble {
			l.readPreamble(c, l.buf[:n])
			return true
		}
		if p := ci.layer(); p != nil {
			if p.feed(l.buf[:n], false) > l.e.maxInput {
				ci.reported = true
				l.s.report(c.remote, ErrInputLimit)
				l.closeNow(c, ErrInputLimit)
				return false
			}
			if !p.handshaking {
				l.readLayer(c)
			} else if ci.interest&poller.Readable != 0 && p.stall() {
				l.setInterest(c)
			}
			return true
		}
		l.deliver(c, l.buf[:n])
		return true
	case err == nil: // EOF
		if ci.state == stateLingering {
			l.closeNow(c, ci.closeErr())
			return false
		}
		ci.rawEOF = true
		if ci.preamble {
			l.closeNow(c, nil) // gone before its preamble was whole
			return false
		}
		if p := ci.layer(); p != nil {
			p.feed(nil, true)
			l.setInterest(c)
			if !p.handshaking {
				l.readLayer(c) // the layer reports the end in turn
			}
			return false
		}
		l.inputEnded(c)
	case err == unix.EAGAIN || err == unix.EINTR:
	case ci.state == stateLingering:
		l.closeNow(c, ci.closeErr())
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
	if !ci.awaitDrain {
		l.beginClose(c, nil)
	}
	// else the handler stopped for its output: it is offered the rest as
	// the output drains, and the connection closes once it is done.
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
	case len(rest) > l.e.maxInput:
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
