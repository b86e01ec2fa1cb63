package socketserver

import (
	"fmt"
	"net"
)

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
