//go:build unix && (!linux || socketserver_portable)

package forkwire

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// Where SOCK_SEQPACKET is missing (macOS), and with the
// socketserver_portable build tag everywhere, the control socket is a
// SOCK_STREAM pair: each message is framed by its length (4 bytes, big
// endian), and a descriptor passed with a message arrives with its first
// byte, never after it. The end of a process closes its end, which the
// other reads as the end of the stream: the liveness signal the child
// watches for its server's death.
const socketType = unix.SOCK_STREAM

// tuneSocket makes room in a control socket for a whole job: BSD systems
// give Unix sockets small buffers.
func tuneSocket(fd int) error {
	for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
		if have, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt); err == nil && have < 256<<10 {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 256<<10) // best effort: a smaller buffer only means more writes
		}
	}
	return nil
}

// frame is how msg travels: after its length.
func frame(msg []byte) []byte { return Frame(msg) }

func (c *Conn) write(msg, rights []byte) error {
	if len(msg) == 0 {
		return errors.New("forkwire: empty message")
	}
	b := frame(msg)
	for len(b) > 0 {
		n, err := c.sendmsg(b, rights)
		if err != nil {
			return err
		}
		b, rights = b[n:], nil // the descriptor went with the first part
	}
	return nil
}

// Recv receives the next message, valid until the next Recv. At the end
// of the stream (the other process closed its end, or exited) it returns
// io.EOF, or io.ErrUnexpectedEOF within a message.
func (c *Conn) Recv() ([]byte, error) {
	for {
		if msg, ok, err := c.nextFrame(); ok || err != nil {
			return msg, err
		}
		if c.start > 0 {
			c.end = copy(c.buf, c.buf[c.start:c.end])
			c.start = 0
		}
		if c.end == len(c.buf) {
			grown := append(c.buf, make([]byte, max(len(c.buf), 4096))...)
			c.buf = grown[:cap(grown)]
		}
		n, _, err := c.recvmsg(c.buf[c.end:])
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if c.end > c.start {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		}
		c.end += n
	}
}

// nextFrame returns the first whole message buffered, if there is one.
func (c *Conn) nextFrame() ([]byte, bool, error) {
	msg, used, err := SplitFrame(c.buf[c.start:c.end], c.max)
	if used == 0 || err != nil {
		return nil, false, err
	}
	c.start += used
	return msg, true, nil
}
