//go:build unix

package socketserver

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// control returns the ListenConfig.Control function that applies the
// server's socket options before bind, or nil if there are none.
func (s *Server) control(network string) func(string, string, syscall.RawConn) error {
	tcp := network == "tcp" || network == "tcp4" || network == "tcp6"
	noReuseAddr := s.NoReuseAddr && tcp
	mode := uint32(0)
	if isUnixNetwork(network) {
		mode = uint32(s.SocketMode.Perm())
	}
	if !s.ReusePort && !noReuseAddr && mode == 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			if s.ReusePort {
				err = errors.Join(err, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
			}
			if noReuseAddr {
				err = errors.Join(err, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 0))
			}
			if mode != 0 {
				// The socket file is created with the socket inode's mode
				// less the umask: restricting it here leaves no moment in
				// which the file is more open than asked.
				err = errors.Join(err, unix.Fchmod(int(fd), mode))
			}
		})
		return errors.Join(cerr, err)
	}
}

// relisten sets the listen backlog of a listening socket: Linux and the
// BSDs take a second listen(2) as a change of backlog.
func relisten(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return errors.New("socketserver: Backlog: listener has no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	return lerr
}

// discardQueued reads and drops the datagrams queued in pc's socket, at
// most 65536 of them, without waiting, and returns how many there were.
func discardQueued(pc net.PacketConn) int {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for n < 1<<16 {
			_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				break
			}
			n++
		}
		return true // done: never wait
	})
	return n
}

// datagramQueued reports whether a datagram waits in pc's socket, and
// whether it could tell.
func datagramQueued(pc net.PacketConn) (queued, ok bool) {
	sc, isSC := pc.(syscall.Conn)
	if !isSC {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var perr error
	err = rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			_, _, perr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if perr != unix.EINTR {
				return
			}
		}
	})
	switch {
	case err != nil:
		return false, false
	case perr == nil:
		return true, true
	case perr == unix.EAGAIN:
		return false, true
	}
	return true, true // an error to report: let the read see it
}

// isRetryableErrno reports whether an accept or read error is transient:
// out of descriptors or memory, or a connection aborted before accept.
func isRetryableErrno(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) ||
		errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) ||
		errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EINTR) ||
		errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EPROTO) ||
		errors.Is(err, unix.ECONNREFUSED)
}
