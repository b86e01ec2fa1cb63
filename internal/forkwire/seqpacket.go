//go:build linux && !socketserver_portable

package forkwire

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// On Linux the control socket is a SOCK_SEQPACKET pair: each message is
// one packet, and the end of a process closes its end, which the other
// reads as the end of the stream.
const socketType = unix.SOCK_SEQPACKET

func tuneSocket(int) error { return nil }

// frame is how msg travels: as it is.
func frame(msg []byte) []byte { return msg }

func (c *Conn) write(msg, rights []byte) error {
	if len(msg) == 0 {
		return errors.New("forkwire: empty message")
	}
	_, err := c.sendmsg(msg, rights)
	return err
}

// Recv receives the next message, valid until the next Recv. At the end
// of the stream (the other process closed its end, or exited) it returns
// io.EOF.
func (c *Conn) Recv() ([]byte, error) {
	if c.buf == nil {
		c.buf = make([]byte, c.max)
	}
	n, flags, err := c.recvmsg(c.buf)
	switch {
	case err != nil:
		return nil, err
	case n == 0:
		return nil, io.EOF // no message is empty
	case flags&unix.MSG_TRUNC != 0:
		return nil, errTooLong
	}
	return c.buf[:n], nil
}
