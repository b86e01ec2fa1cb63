package socketserver

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// hasUnread reports whether input is waiting, unread, in the kernel's
// receive queue of a connection.
func hasUnread(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}
