//go:build !unix

package socketserver

import (
	"fmt"
	"net"
	"syscall"
)

// control supports no socket options on this platform.
func (s *Server) control(network string) func(string, string, syscall.RawConn) error {
	if s.ReusePort || s.NoReuseAddr || s.SocketMode != 0 {
		return func(string, string, syscall.RawConn) error {
			return fmt.Errorf("%w: ReusePort, NoReuseAddr and SocketMode on this platform", ErrUnsupported)
		}
	}
	return nil
}

func relisten(net.Listener, int) error {
	return fmt.Errorf("%w: Backlog on this platform", ErrUnsupported)
}

func isRetryableErrno(error) bool { return false }

func discardQueued(net.PacketConn) int { return 0 }

func datagramQueued(net.PacketConn) (queued, ok bool) { return false, false }
