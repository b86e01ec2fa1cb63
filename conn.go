package socketserver

import (
	"net"
	"net/netip"
	"time"
)

// openConn readies a stream connection on the goroutine serving it, before
// VerifyRequest: WrapConn (TLS, the PROXY protocol), which may change the
// client's address; then the limit of connections per client address. It
// reports whether the request goes on.
func (s *Server) openConn(r *Request) bool {
	if s.WrapConn != nil {
		// The wrappers read and write the connection (a PROXY header, a
		// TLS handshake) within HandshakeTimeout of its acceptance.
		if d := s.handshakeTimeout(); d > 0 {
			r.raw.SetDeadline(r.accepted.Add(d))
		}
		c, err := s.WrapConn(r.Conn)
		r.raw.SetDeadline(time.Time{})
		if err != nil {
			s.reportRequest(r, err)
			return false
		}
		r.Conn = c
		r.RemoteAddr = peerAddr(r.LocalAddr.Network(), c.RemoteAddr())
		r.LocalAddr = c.LocalAddr()
	}
	if !r.checked && !s.admitAddr(r) {
		return false
	}
	return true
}

// admitAddr counts r against MaxConnsPerIP. A connection over the limit is
// counted in Stats().OverIPLimit and refused.
func (s *Server) admitAddr(r *Request) bool {
	if s.MaxConnsPerIP <= 0 {
		return true
	}
	ip, ok := addrIP(r.RemoteAddr)
	if !ok {
		return true // a Unix client: no address to count
	}
	if s.child != nil {
		return s.child.admit(ip) // a Fork child: its server counts, and frees, the slot
	}
	if !s.admitIP(ip) {
		return false
	}
	r.countedIP = ip
	return true
}

// admitIP counts a connection from ip, if MaxConnsPerIP lets it in.
func (s *Server) admitIP(ip netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP == nil {
		s.perIP = make(map[netip.Addr]int)
	}
	if s.perIP[ip] >= s.MaxConnsPerIP {
		s.stats.overIPLimit.Add(1)
		return false
	}
	s.perIP[ip]++
	return true
}

// releaseAddr ends what admitAddr counted.
func (s *Server) releaseAddr(r *Request) {
	if r.countedIP.IsValid() {
		s.releaseIP(r.countedIP)
	}
}

// releaseIP ends what admitIP counted.
func (s *Server) releaseIP(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// WrapConns chains connection wrappers for Server.WrapConn, first to last:
// WrapConns(p.Wrap, tlsconn.Wrap(cfg)) reads a PROXY header, then runs the
// TLS handshake over what follows.
func WrapConns(wraps ...func(net.Conn) (net.Conn, error)) func(net.Conn) (net.Conn, error) {
	return func(c net.Conn) (net.Conn, error) {
		for _, w := range wraps {
			var err error
			if c, err = w(c); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
}
