//go:build !linux

package socketserver

import (
	"fmt"
	"net"
)

// childInfo is never set where Fork and Prefork are not supported.
type childInfo struct{}

func currentChild() *childInfo                               { return nil }
func (s *Server) childRole() *childInfo                      { return nil }
func (*childInfo) send([]byte) error                         { return errForkUnsupported }
func encodeReport(error) []byte                              { return nil }
func (s *Server) listenAsChild(*childInfo) (net.Addr, error) { return nil, errForkUnsupported }
func (s *Server) serveAsChild(*childInfo, *trackedSocket) error {
	return errForkUnsupported
}

func forkSupported() error { return errForkUnsupported }

func newForkExecutor(*Server, Fork, net.Addr) executor { return unsupportedExecutor{} }

// An unsupportedExecutor refuses every request: Fork mode cannot start
// processes here. Serve never gets to use it, as the mode is checked first.
type unsupportedExecutor struct{}

func (unsupportedExecutor) run(r *Request) { r.srv.endRequest(r) }
func (unsupportedExecutor) wait()          {}
func (unsupportedExecutor) daemon() bool   { return false }

// A supervisor cannot be made on this platform.
type supervisor struct{}

func (s *Server) newSupervisor(*trackedSocket, Prefork) (*supervisor, error) {
	return nil, errForkUnsupported
}

func (*supervisor) serve() error { return errForkUnsupported }
func (*supervisor) shutdown()    {}
func (*supervisor) close()       {}

var errForkUnsupported = fmt.Errorf("%w: Fork and Prefork modes are implemented on Linux only", ErrUnsupported)
