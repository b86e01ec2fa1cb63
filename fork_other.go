//go:build !unix

package socketserver

import (
	"fmt"
	"net"
	"net/netip"
)

// childInfo is never set where Fork and Prefork are not supported.
type childInfo struct {
	key    string
	orphan bool
	addr   childAddr
}

func theChild() *childInfo            { return nil }
func childRole(string) *childInfo     { return nil }
func (*childInfo) claim(*Server) bool { return false }
func (*childInfo) report(error)       {}

func (*childInfo) admit(netip.Addr) bool { return false }

func (*childInfo) socket() (*socket, error) { return nil, errForkUnsupported }

func newForkChildEngine(*Server, *childInfo, *socket) (engine, error) {
	return nil, errForkUnsupported
}

func newWorkerEngine(*Server, *childInfo, *socket, Mode) (engine, error) {
	return nil, errForkUnsupported
}

func newForkDispatcher(*Server, Fork, net.Addr) (dispatcher, error) {
	return nil, errForkUnsupported
}

func newSupervisor(*Server, *socket, Prefork) (engine, error) {
	return nil, errForkUnsupported
}

var errForkUnsupported = fmt.Errorf("%w: Fork and Prefork modes need a Unix system", ErrUnsupported)
