//go:build !linux || socketserver_portable

package socketserver

import (
	"fmt"
	"net"
)

// connImpl is an EventConn's state in the portable engine: a stream
// connection's goroutine, or nothing more for a datagram's sender.
type connImpl struct {
	e  *eventEngine
	st *eventStream // nil for a datagram's sender
}

func (ci *connImpl) datagram() bool { return ci.st == nil }

func (c *EventConn) write(p []byte) (int, error) {
	st := c.impl.st
	switch {
	case st == nil:
		return c.sendPacket(p)
	case !st.inCall.Load():
		return 0, outsideCallback("Write")
	case len(p) == 0:
		return 0, nil
	case st.state == streamClosed || st.state == streamLingering || st.byUser:
		return 0, net.ErrClosed
	}
	if err := st.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *EventConn) buffered() int {
	st := c.impl.st
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.out) - st.head
}

func (c *EventConn) inputClosed() bool { return c.impl.st != nil && c.impl.st.inEOF }

func (c *EventConn) close() error {
	st := c.impl.st
	switch {
	case st == nil:
		return nil
	case !st.inCall.Load():
		return outsideCallback("Close")
	case st.state == streamOpen:
		st.byUser = true
		c.gone.Store(true)
		st.beginClose(nil)
	}
	return nil
}

func (c *EventConn) asyncWrite(p []byte) error {
	st := c.impl.st
	switch {
	case st == nil:
		_, err := c.sendPacket(p)
		return err
	case c.gone.Load():
		return net.ErrClosed
	case len(p) == 0:
		return nil
	}
	return st.asyncWrite(p)
}

func (c *EventConn) asyncClose() error {
	st := c.impl.st
	if st == nil || c.gone.Swap(true) {
		return nil
	}
	return st.post(func(m *streamMail) { m.close = true })
}

func (c *EventConn) wake() error {
	st := c.impl.st
	switch {
	case st == nil:
		return nil
	case c.gone.Load():
		return net.ErrClosed
	}
	return st.post(func(m *streamMail) { m.wakes++ })
}

func (c *EventConn) goWork(f func()) error { return c.impl.e.goWork(c, f) }

// sendPacket sends p as one datagram to c's sender, from any goroutine.
func (c *EventConn) sendPacket(p []byte) (int, error) {
	if _, unnamed := c.remote.(UnnamedAddr); unnamed {
		return 0, ErrUnnamedPeer
	}
	n, err := c.impl.e.t.pc.WriteTo(p, c.remote)
	if err != nil {
		return 0, err
	}
	c.srv.stats.bytesOut.Add(int64(n))
	return n, nil
}

// outsideCallback is the error of a callbacks-only method called from
// elsewhere.
func outsideCallback(method string) error {
	return fmt.Errorf("%w: %s (use Async%s)", ErrOutsideCallback, method, method)
}
