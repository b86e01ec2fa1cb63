package socketserver

import (
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// Go's keep-alive defaults, which the server's follow.
const (
	defaultKeepAliveIdle     = 15 * time.Second
	defaultKeepAliveInterval = 15 * time.Second
	defaultKeepAliveCount    = 9
)

func isTCP(network string) bool {
	return network == "tcp" || network == "tcp4" || network == "tcp6"
}

// keepAlive is the TCP keep-alive of accepted connections, from
// KeepAliveConfig and KeepAlive as net.ListenConfig reads them: on by
// default in every mode.
func (s *Server) keepAlive() sockopt.KeepAlive {
	c := s.KeepAliveConfig
	if !c.Enable {
		if s.KeepAlive < 0 {
			return sockopt.KeepAlive{}
		}
		d := s.KeepAlive
		if d == 0 {
			d = defaultKeepAliveIdle
		}
		return sockopt.KeepAlive{Enable: true, Idle: d, Interval: d, Count: defaultKeepAliveCount}
	}
	k := sockopt.KeepAlive{Enable: true, Idle: c.Idle, Interval: c.Interval, Count: c.Count}
	if k.Idle <= 0 {
		k.Idle = defaultKeepAliveIdle
	}
	if k.Interval <= 0 {
		k.Interval = defaultKeepAliveInterval
	}
	if k.Count <= 0 {
		k.Count = defaultKeepAliveCount
	}
	return k
}
