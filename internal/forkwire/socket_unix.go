//go:build unix

package forkwire

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// SocketPair makes a control socket pair: the server's end as a
// *net.UnixConn, and the descriptor of the child's end, which the caller
// closes once it is passed on.
func SocketPair() (*net.UnixConn, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err != nil {
		return nil, -1, os.NewSyscallError("socketpair", err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	f := os.NewFile(uintptr(fds[0]), "socketserver-control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, -1, err
	}
	return c.(*net.UnixConn), fds[1], nil
}

// SendFD sends b with the descriptor of c (a net.Conn or net.PacketConn)
// attached.
func SendFD(ctl *net.UnixConn, b []byte, c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		_, _, serr = ctl.WriteMsgUnix(b, unix.UnixRights(int(fd)), nil)
	})
	if err != nil {
		return err
	}
	return serr
}

// OOBSpace is room for the control message of one passed descriptor, and
// some to spare.
var OOBSpace = unix.CmsgSpace(4 * 4)

// ReceivedFDs returns the descriptors passed in a control message, marked
// close-on-exec.
func ReceivedFDs(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range got {
			unix.CloseOnExec(fd)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// ReadHello reads, without waiting, the first message of the control
// socket at fd and reports whether it is the Hello with token. fd must be
// a SOCK_SEQPACKET socket; anything else is not a control socket.
func ReadHello(fd int, token string) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_SEQPACKET {
		return false
	}
	buf := make([]byte, 1+len(token)+1)
	for {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		return err == nil && IsHello(buf[:n], token)
	}
}
