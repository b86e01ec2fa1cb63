//go:build linux && !socketserver_portable

package socketserver

import (
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/rawio"
)

// readPackets reads a bounded batch of datagrams and hands each to OnData
// with an EventConn standing for its sender.
func (l *eventLoop) readPackets() {
	s := l.s
	e := l.e
	maxSize := s.maxPacketSize()
	for range 64 {
		// MSG_TRUNC makes the kernel return a datagram's whole length even
		// when it did not fit, so truncation is seen, never passed on.
		n, err := rawio.RecvFrom(l.pfd, l.buf, unix.MSG_TRUNC, &l.rsa)
		if err != nil {
			switch err {
			case unix.EAGAIN:
				l.releaseDrained()
			case unix.EINTR:
				continue
			default:
				// ICMP errors from earlier replies (ECONNREFUSED) and the
				// like: the socket is still good.
				s.report(e.local, os.NewSyscallError("recvfrom", err))
			}
			return
		}
		remote := rawToAddr(e.network, &l.rsa)
		if n > maxSize {
			s.stats.truncated.Add(1)
			s.report(remote, ErrTruncated)
			continue
		}
		l.bytesIn += int64(n)
		l.servePacket(l.buf[:n], remote)
	}
	if l.drained && l.pfd >= 0 {
		// A full batch: if it took the last datagram queued, no event
		// will say so, and the socket would be held to the deadline.
		if _, err := rawio.RecvFrom(l.pfd, l.buf[:1], unix.MSG_PEEK, &l.rsa); err == unix.EAGAIN {
			l.releaseDrained()
		}
	}
}

// releaseDrained lets go of the datagram socket once Shutdown began and
// what was queued is served (Go functions may still reply on it).
func (l *eventLoop) releaseDrained() {
	if l.drained {
		l.p.Remove(l.pfd)
		l.pfd = -1
	}
}

// servePacket runs one datagram through the hooks and OnData.
func (l *eventLoop) servePacket(p []byte, remote net.Addr) {
	s := l.s
	c := &EventConn{id: s.nextID.Add(1), srv: s, remote: remote, local: l.e.local}
	c.impl.loop = l
	c.impl.packet = true
	s.stats.totalPackets.Add(1)
	s.stats.activePackets.Add(1)
	defer s.stats.activePackets.Add(-1)
	if s.ConnState != nil || s.VerifyRequest != nil {
		r := &Request{ID: c.id, RemoteAddr: remote, LocalAddr: c.local, Packet: p, srv: s}
		r.setState(StateNew)
		defer r.setState(StateClosed)
		if !s.verify(r) {
			s.stats.rejected.Add(1)
			return
		}
		r.setState(StateActive)
	}
	l.callData(c, p)
}
