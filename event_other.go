//go:build !linux

package socketserver

import "fmt"

// connImpl holds nothing where Event mode is not supported.
type connImpl struct{}

func (connImpl) datagram() bool { return false }

func newEventEngine(*Server, *socket, Event) (engine, error) {
	return nil, errEventUnsupported
}

var errEventUnsupported = fmt.Errorf("%w: Event mode needs epoll (Linux)", ErrUnsupported)

func (*EventConn) write([]byte) (int, error) { return 0, errEventUnsupported }
func (*EventConn) buffered() int             { return 0 }
func (*EventConn) inputClosed() bool         { return false }
func (*EventConn) close() error              { return errEventUnsupported }
func (*EventConn) asyncWrite([]byte) error   { return errEventUnsupported }
func (*EventConn) asyncClose() error         { return errEventUnsupported }
func (*EventConn) wake() error               { return errEventUnsupported }
func (*EventConn) goWork(func()) error       { return errEventUnsupported }
