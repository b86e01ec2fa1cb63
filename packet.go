package socketserver

import (
	"fmt"
	"net"
	"time"
)

// ServePacket reads datagrams from pc and serves each as one request with
// the Handler, in the server's Mode, until the server is shut down or pc
// fails. ServePacket takes pc over and closes it when it returns, once the
// handlers it started are done (unless the Mode says not to wait), so that
// they can still reply.
//
// A datagram larger than MaxPacketSize is dropped and reported to
// HandleError as ErrTruncated.
//
// ServePacket always returns a non-nil error: ErrServerClosed after
// Shutdown or Close.
func (s *Server) ServePacket(pc net.PacketConn) error {
	return s.serve(&trackedSocket{pc: pc})
}

// readLoop is ServePacket's body: read, admit, dispatch.
func (s *Server) readLoop(t *trackedSocket) error {
	// The loop holds the server until its requests are done: a graceful
	// Shutdown waits while it serves what the socket had queued.
	if !s.hold() {
		return ErrServerClosed
	}
	defer s.unhold()
	ex := s.mode().newExecutor(s, t.pc.LocalAddr())
	defer ex.wait()
	local := t.pc.LocalAddr()
	var pause time.Duration
	draining := false
	for {
		if draining {
			// Shutdown: serve the datagrams the kernel has queued, until
			// none is. (The deadline is a safety net: another process
			// sharing the socket may take the one seen.)
			if queued, ok := datagramQueued(t.pc); ok && !queued {
				return ErrServerClosed
			}
			t.pc.SetReadDeadline(time.Now().Add(drainPoll))
		}
		r, err := s.readRequest(t.pc, local, ex.daemon())
		if err != nil {
			if t.stopped.Load() && isTimeout(err) && s.state.Load() == serverShutdown {
				if draining {
					return ErrServerClosed
				}
				draining = true
				continue
			}
			if err := s.afterFailure("read", local, err, t.stopped.Load(), &pause); err != nil {
				return err
			}
			continue
		}
		pause = 0
		if r == nil {
			continue // dropped and reported
		}
		if !s.admitReceived(r) {
			s.pools.putPacket(r.pbuf)
			s.stats.unserved.Add(1)
			return ErrServerClosed
		}
		r.setState(StateNew)
		ex.run(r)
	}
}

// drainPoll bounds each read of a datagram socket once Shutdown began:
// where the queue cannot be looked at, a socket that stays empty for that
// long counts as drained.
const drainPoll = 50 * time.Millisecond

// readRequest reads one datagram. It returns a nil request, and no error,
// for a datagram it dropped and reported.
func (s *Server) readRequest(pc net.PacketConn, local net.Addr, daemon bool) (*Request, error) {
	max := s.maxPacketSize()
	pbuf := s.pools.getPacket(max + 1)
	n, addr, err := pc.ReadFrom(*pbuf)
	if err != nil {
		s.pools.putPacket(pbuf)
		return nil, err
	}
	s.stats.bytesIn.Add(int64(n))
	addr = peerAddr(local.Network(), addr)
	if n > max {
		s.pools.putPacket(pbuf)
		s.stats.truncated.Add(1)
		s.report(addr, fmt.Errorf("%w: datagram larger than %d bytes", ErrTruncated, max))
		return nil, nil
	}
	return &Request{
		ID:         s.nextID.Add(1),
		RemoteAddr: addr,
		LocalAddr:  local,
		Packet:     (*pbuf)[:n:n],
		PacketConn: pc,
		srv:        s,
		daemon:     daemon,
		pbuf:       pbuf,
	}, nil
}
