package main

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerCredentials returns the process, user and group IDs of the peer of
// a Unix socket, as it connected (SO_PEERCRED).
func peerCredentials(c net.Conn) (pid, uid, gid int, ok bool) {
	sc, isSock := c.(syscall.Conn)
	if !isSock {
		return 0, 0, 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, 0, false
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if err != nil || cred == nil {
		return 0, 0, 0, false
	}
	return int(cred.Pid), int(cred.Uid), int(cred.Gid), true
}
