//go:build linux && !socketserver_portable

package socketserver

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/rawio"
)

func (c *EventConn) write(p []byte) (int, error) {
	ci := &c.impl
	if ci.datagram() {
		return c.sendPacket(p)
	}
	if ci.loop.cur.Load() != c {
		return 0, errOutside("Write")
	}
	if len(p) == 0 {
		return 0, nil
	}
	if ci.state == stateClosed || ci.state == stateLingering || ci.closedByUser || ci.failed {
		return 0, net.ErrClosed
	}
	l := ci.loop
	if err := l.send(c, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *EventConn) buffered() int { return c.impl.pending() }

func (c *EventConn) inputClosed() bool { return c.impl.inEOF }

func (c *EventConn) close() error {
	ci := &c.impl
	if ci.datagram() {
		return nil
	}
	if ci.loop.cur.Load() != c {
		return errOutside("Close")
	}
	if ci.state != stateOpen {
		return nil
	}
	ci.closedByUser = true
	c.gone.Store(true)
	ci.loop.beginClose(c, nil)
	return nil
}

func (c *EventConn) asyncWrite(p []byte) error {
	if c.impl.datagram() {
		_, err := c.sendPacket(p)
		return err
	}
	if c.gone.Load() {
		return net.ErrClosed
	}
	return c.impl.loop.post(mail{kind: mailWrite, c: c, data: append([]byte(nil), p...)})
}

func (c *EventConn) asyncClose() error {
	if c.impl.datagram() || c.gone.Swap(true) {
		return nil
	}
	return c.impl.loop.post(mail{kind: mailClose, c: c})
}

func (c *EventConn) wake() error {
	if c.impl.datagram() {
		return nil
	}
	if c.gone.Load() {
		return net.ErrClosed
	}
	return c.impl.loop.post(mail{kind: mailWake, c: c})
}

func (c *EventConn) goWork(f func()) error { return c.impl.loop.e.goWork(c, f) }

// sendPacket sends p as one datagram to c's sender, from any goroutine.
func (c *EventConn) sendPacket(p []byte) (int, error) {
	var to unix.RawSockaddrAny
	size, ok := addrToRaw(c.remote, &to)
	if !ok {
		return 0, ErrUnnamedPeer
	}
	e := c.impl.loop.e
	e.pmu.RLock()
	defer e.pmu.RUnlock()
	if e.pfd < 0 {
		return 0, net.ErrClosed
	}
	for {
		err := rawio.SendTo(e.pfd, p, &to, size)
		switch err {
		case nil:
			c.srv.stats.bytesOut.Add(int64(len(p)))
			return len(p), nil
		case unix.EINTR:
			continue
		}
		return 0, os.NewSyscallError("sendto", err)
	}
}

// errOutside is the error of a callbacks-only method called from
// elsewhere.
func errOutside(method string) error {
	return fmt.Errorf("%w: %s (use Async%s)", ErrOutsideCallback, method, method)
}
