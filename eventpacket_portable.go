//go:build !linux || socketserver_portable

package socketserver

import (
	"fmt"
	"net"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// readPackets reads the datagram socket, and hands each datagram to
// OnData with an EventConn standing for its sender, until the socket is
// stopped. A graceful Shutdown stops it once the datagrams the kernel had
// queued are served.
func (e *eventEngine) readPackets() error {
	s, pc := e.s, e.t.pc
	local := pc.LocalAddr()
	maxSize := s.maxPacketSize()
	buf := make([]byte, maxSize+1) // one more: a datagram that fills it is too large
	var pause time.Duration
	draining := false
	for {
		if draining {
			// Shutdown: serve what the kernel has queued, then stop. The
			// deadline is a safety net where the queue cannot be looked at,
			// or another process sharing the socket takes the datagram seen.
			if queued, known := sockopt.DatagramQueued(pc); known && !queued {
				return nil
			}
			pc.SetReadDeadline(time.Now().Add(drainPoll))
		}
		n, from, err := pc.ReadFrom(buf)
		switch {
		case err == nil:
			pause = 0
			s.stats.bytesIn.Add(int64(n))
			remote := peerAddr(local.Network(), from)
			if n > maxSize {
				s.stats.truncated.Add(1)
				s.report(remote, fmt.Errorf("%w: datagram larger than %d bytes", ErrTruncated, maxSize))
				continue
			}
			e.servePacket(buf[:n], remote, local)
		case e.draining.Load() && !e.closing.Load() && isTimeout(err):
			if draining {
				return nil // nothing came within drainPoll
			}
			draining = true // Shutdown's deadline woke the read
		default:
			if err := s.afterFailure("read", local, err, e.t.stopped.Load(), &pause); err != nil {
				if err == ErrServerClosed {
					return nil
				}
				return err
			}
		}
	}
}

// servePacket runs one datagram through the hooks and OnData.
func (e *eventEngine) servePacket(p []byte, remote, local net.Addr) {
	s := e.s
	c := &EventConn{id: s.nextID.Add(1), srv: s, remote: remote, local: local, impl: connImpl{e: e}}
	s.stats.totalPackets.Add(1)
	s.stats.activePackets.Add(1)
	defer s.stats.activePackets.Add(-1)
	if s.ConnState != nil || s.VerifyRequest != nil {
		r := &Request{ID: c.id, RemoteAddr: remote, LocalAddr: local, Packet: p, srv: s}
		r.setState(StateNew)
		defer r.setState(StateClosed)
		if !s.verify(r) {
			s.stats.rejected.Add(1)
			return
		}
		r.setState(StateActive)
	}
	e.callPacket(c, p)
}

func (e *eventEngine) callPacket(c *EventConn, p []byte) {
	defer e.recovered(c.remote)
	e.h.OnData(c, p)
}
