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
	ex := s.mode().newExecutor(s, t.pc.LocalAddr())
	defer ex.wait()
	local := t.pc.LocalAddr()
	var pause time.Duration
	for {
		// A graceful Shutdown waits for the read in progress: a datagram
		// it returns is served (see admitReceived).
		if !s.holdReceive() {
			return ErrServerClosed
		}
		r, err := s.readRequest(t.pc, local, ex.daemon())
		if err != nil {
			s.unhold()
			if err := s.afterFailure("read", local, err, t.stopped.Load(), &pause); err != nil {
				return err
			}
			continue
		}
		pause = 0
		if r == nil {
			s.unhold()
			continue // dropped and reported
		}
		if !s.admitReceived(r) {
			s.pools.putPacket(r.pbuf)
			return ErrServerClosed
		}
		r.setState(StateNew)
		ex.run(r)
	}
}

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
