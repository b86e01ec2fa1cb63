//go:build unix

package sockopt

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func apply(fd int, o Options) error {
	var err error
	if o.ReusePort {
		err = errors.Join(err, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
	}
	if o.NoReuseAddr {
		err = errors.Join(err, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 0))
	}
	if o.Mode != 0 {
		// The socket file is created with the socket inode's mode less
		// the umask: restricting it here leaves no moment in which the
		// file is more open than asked.
		err = errors.Join(err, unix.Fchmod(fd, uint32(o.Mode.Perm())))
	}
	return errors.Join(err, setBuffers(fd, o.Buffers))
}

func setBuffers(fd int, b Buffers) error {
	var err error
	if b.Receive > 0 {
		err = errors.Join(err, os.NewSyscallError("setsockopt SO_RCVBUF", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, b.Receive)))
	}
	if b.Send > 0 {
		err = errors.Join(err, os.NewSyscallError("setsockopt SO_SNDBUF", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, b.Send)))
	}
	return err
}

func granted(fd int) (Buffers, error) {
	r, err1 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	s, err2 := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	return Buffers{Receive: r / reportedFactor, Send: s / reportedFactor}, errors.Join(err1, err2)
}

func listen(fd, backlog int) error { return unix.Listen(fd, backlog) }

func peekDatagram(fd int) (queued, ok bool) {
	var b [1]byte
	for {
		_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false, true
		}
		return true, true
	}
}

func discard(fd, most int) int {
	var b [1]byte
	n := 0
	for n < most {
		_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			break
		}
		n++
	}
	return n
}

// DupNonblock returns a non-blocking, close-on-exec duplicate of the
// descriptor of a listener or packet conn, for an event loop: the original
// keeps its own mode.
func DupNonblock(sock any) (int, error) {
	rc, err := syscallConn(sock)
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	err = rc.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}

// SetKeepAliveFD sets the keep-alive of a TCP socket by its descriptor.
func SetKeepAliveFD(fd int, k KeepAlive) error {
	if !k.Enable {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0)
	}
	return errors.Join(unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1), setKeepTimers(fd, k))
}

// seconds rounds d up to whole seconds, at least one: the unit of the
// keep-alive options.
func seconds(d time.Duration) int { return int(max((d+time.Second-1)/time.Second, 1)) }

// canWriteNow: a socket's descriptor is non-blocking under Go's poller,
// so a write returns what the kernel took.
const canWriteNow = true

// writeNow writes p to the non-blocking descriptor fd once: a full socket
// is no error.
func writeNow(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError("write", err)
	}
}
