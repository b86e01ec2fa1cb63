package socketserver

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"
)

// openConn readies a stream connection on the goroutine serving it, before
// VerifyRequest: WrapConn (the PROXY protocol, say), which may change the
// client's address; the limit of connections per client address; the TLS
// handshake. It reports whether the request goes on.
func (s *Server) openConn(r *Request) bool {
	if s.WrapConn != nil {
		c, err := s.WrapConn(r.Conn)
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
	if s.TLSConfig != nil {
		tc := tls.Server(r.Conn, s.TLSConfig)
		tc.SetDeadline(time.Now().Add(s.tlsHandshakeTimeout()))
		if err := tc.HandshakeContext(r.Context()); err != nil {
			s.stats.tlsFailures.Add(1)
			s.reportRequest(r, fmt.Errorf("socketserver: TLS handshake: %w", err))
			return false
		}
		tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		r.TLS = &st
		r.Conn = tc
	}
	return true
}

func (s *Server) tlsHandshakeTimeout() time.Duration {
	if s.TLSHandshakeTimeout <= 0 {
		return 10 * time.Second
	}
	return s.TLSHandshakeTimeout
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

// checkStreamOptions rejects options a mode cannot honour.
func (s *Server) checkStreamOptions() error {
	if _, ok := s.mode().(Event); ok && (s.TLSConfig != nil || s.WrapConn != nil) {
		// Both need a connection that blocks, which a callback must not.
		return fmt.Errorf("%w: TLSConfig and WrapConn in Event mode (use Goroutine mode, or TLS and PROXY at a balancer)", ErrUnsupported)
	}
	return nil
}
