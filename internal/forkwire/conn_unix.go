//go:build unix

package forkwire

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A Conn is one end of a control socket: it sends and receives whole
// messages, and the descriptors passed with them. It waits in the Go
// runtime's poller, never holding a thread. One goroutine may receive
// while others send.
type Conn struct {
	f   *os.File
	rc  syscall.RawConn
	max int // the largest message to receive

	wmu sync.Mutex // serializes sends

	// The receiver's, one goroutine's at a time:
	buf        []byte // seqpacket: the message; stream: bytes read, frames not yet returned
	start, end int    // stream: the unreturned bytes are buf[start:end]
	oob        []byte

	fdMu sync.Mutex
	fds  []int // descriptors received, not yet taken
}

// NewConn makes a Conn of the socket at fd, which it takes over and sets
// non-blocking, for messages of at most max bytes.
func NewConn(fd int, name string, max int) (*Conn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Conn{f: f, rc: rc, max: max, oob: make([]byte, unix.CmsgSpace(4*4))}, nil
}

// SocketPair makes a control socket pair: the server's end, and the
// descriptor of the child's end, close-on-exec, which the caller closes
// once it is passed on.
func SocketPair(max int) (*Conn, int, error) {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, socketType, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, -1, os.NewSyscallError("socketpair", err)
	}
	if err := tuneSocket(fds[0]); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, -1, err
	}
	c, err := NewConn(fds[0], "socketserver-control", max)
	if err != nil {
		unix.Close(fds[1])
		return nil, -1, err
	}
	return c, fds[1], nil
}

// Send sends msg.
func (c *Conn) Send(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(msg, nil)
}

// SendFD sends msg with the descriptor of s (a connection or a datagram
// socket) attached.
func (c *Conn) SendFD(msg []byte, s syscall.Conn) error {
	src, err := s.SyscallConn()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var werr error
	if err := src.Control(func(fd uintptr) { werr = c.write(msg, unix.UnixRights(int(fd))) }); err != nil {
		return err
	}
	return werr
}

// sendmsg sends what it can of b, with rights if not nil, through the
// poller: it returns how much it sent.
func (c *Conn) sendmsg(b, rights []byte) (int, error) {
	var n int
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		for {
			n, serr = unix.SendmsgN(int(fd), b, rights, nil, 0)
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, os.NewSyscallError("sendmsg", serr)
	}
	return n, nil
}

// recvmsg receives into b, waiting in the poller; the descriptors that
// come with it are kept for TakeFD.
func (c *Conn) recvmsg(b []byte) (n, flags int, err error) {
	var oobn int
	var rerr error
	err = c.rc.Read(func(fd uintptr) bool {
		for {
			// No process may be started between receiving descriptors and
			// marking them close-on-exec.
			syscall.ForkLock.RLock()
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), b, c.oob, 0)
			if rerr == nil && oobn > 0 {
				c.keepFDs(c.oob[:oobn])
			}
			syscall.ForkLock.RUnlock()
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, 0, err
	}
	if rerr != nil {
		return 0, 0, os.NewSyscallError("recvmsg", rerr)
	}
	return n, flags, nil
}

// keepFDs keeps the descriptors of a control message, close-on-exec.
func (c *Conn) keepFDs(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
		c.fds = append(c.fds, fds...)
	}
}

// TakeFD returns the first descriptor received and not yet taken, or -1.
// A descriptor comes no later than the message it was sent with.
func (c *Conn) TakeFD() int {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if len(c.fds) == 0 {
		return -1
	}
	fd := c.fds[0]
	c.fds = c.fds[1:]
	return fd
}

// Close closes the socket, and the descriptors received and not taken. A
// Recv under way returns an error.
func (c *Conn) Close() error {
	err := c.f.Close()
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	c.fds = nil
	return err
}

// ReadHello reads, without waiting, the first message of the control
// socket at fd and reports whether it is the Hello with token. The message
// is taken only if it is that Hello; a descriptor that is not a control
// socket is left alone.
func ReadHello(fd int, token string) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != socketType || token == "" {
		return false
	}
	want := frame(Hello(token))
	buf := make([]byte, len(want)+1)
	n, err := recvNow(fd, buf, unix.MSG_PEEK)
	if err != nil || n < len(want) || string(buf[:len(want)]) != string(want) || (socketType == unix.SOCK_SEQPACKET && n != len(want)) {
		return false
	}
	n, err = recvNow(fd, buf[:len(want)], 0)
	return err == nil && n == len(want)
}

// recvNow receives from fd without waiting.
func recvNow(fd int, b []byte, flags int) (int, error) {
	for {
		n, _, err := unix.Recvfrom(fd, b, flags|unix.MSG_DONTWAIT)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// WriteHello writes the Hello with token on a control socket that no
// process reads yet.
func (c *Conn) WriteHello(token string) error { return c.Send(Hello(token)) }

func (c *Conn) String() string { return fmt.Sprintf("control socket %s", c.f.Name()) }
