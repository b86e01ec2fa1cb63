package socketserver

import (
	"fmt"
	"net"
	"net/netip"
)

// readRequest reads one datagram into a buffer from the pool. It returns a
// nil request, and no error, for a datagram it dropped and reported.
func (s *Server) readRequest(pc net.PacketConn, local net.Addr, daemon bool) (*Request, error) {
	return s.readRequestInto(pc, local, daemon, nil)
}

// readRequestInto is readRequest into own, a buffer of maxPacketSize+1
// bytes that the caller keeps and does not reuse before the request is
// done, or, if own is nil, into one from the pool.
func (s *Server) readRequestInto(pc net.PacketConn, local net.Addr, daemon bool, own []byte) (*Request, error) {
	max := s.maxPacketSize()
	var pbuf *[]byte
	buf := own
	if buf == nil {
		pbuf = s.pools.getPacket(max + 1)
		buf = *pbuf
	}
	var r *Request
	var n int
	var addr net.Addr
	var err error
	if uc, ok := pc.(*net.UDPConn); ok {
		// The request and its sender's address are one allocation: the
		// read allocates none.
		v := &struct {
			r  Request
			ua net.UDPAddr
			ip [16]byte
		}{}
		var ap netip.AddrPort
		n, ap, err = uc.ReadFromUDPAddrPort(buf)
		if err == nil {
			v.ua = net.UDPAddr{IP: v.ip[:ipInto(v.ip[:], ap.Addr())], Port: int(ap.Port()), Zone: ap.Addr().Zone()}
			addr = &v.ua
		}
		r = &v.r
	} else {
		r = &Request{}
		n, addr, err = pc.ReadFrom(buf)
	}
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
	// Field by field: the request is zero already, and large.
	r.ID = s.nextID.Add(1)
	r.RemoteAddr, r.LocalAddr = addr, local
	r.Packet, r.PacketConn = buf[:n:n], pc
	r.srv, r.daemon, r.pbuf = s, daemon, pbuf
	return r, nil
}

// ipInto writes ip into b as the net package's ReadFrom gives it (4 bytes
// for IPv4, 16 for IPv6, a v4-mapped address included), and returns its
// length.
func ipInto(b []byte, ip netip.Addr) int {
	if ip.Is4() {
		a := ip.As4()
		return copy(b, a[:])
	}
	a := ip.As16()
	return copy(b, a[:])
}
