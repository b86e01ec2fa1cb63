package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// loopbackIs8: every address of 127.0.0.0/8 is local.
const loopbackIs8 = true

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT: bind takes the source address
// only, and connect picks the port knowing the destination, so one port
// serves many destinations and bind does not search for a free one.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
