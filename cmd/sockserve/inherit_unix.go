//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socketOf makes a listener or packet conn of a socket's file, by the
// socket's type.
func socketOf(f *os.File) (inheritedSocket, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return inheritedSocket{}, err
	}
	var typ int
	var serr error
	if err := rc.Control(func(fd uintptr) { typ, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE) }); err != nil {
		return inheritedSocket{}, err
	}
	if serr != nil {
		return inheritedSocket{}, fmt.Errorf("not a socket: %w", serr)
	}
	if typ == syscall.SOCK_DGRAM {
		pc, err := net.FilePacketConn(f)
		return inheritedSocket{pc: pc}, err
	}
	ln, err := net.FileListener(f)
	return inheritedSocket{ln: ln}, err
}
