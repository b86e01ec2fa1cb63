//go:build linux

package socketserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A server and each of its child processes talk over a socket pair of
// type SOCK_SEQPACKET, the control socket, at descriptor 3 in the child.
// Every message is one packet, so none needs framing. The server sends a
// job: a request for the child to serve, with its descriptor. The child
// sends the first byte of:
//
//	R             ready for a job
//	D             done with the job
//	E r text      its handler reported an error; r is 1 if it is routine
//	P value 0 st  its handler panicked, with value and stack
//
// A job is
//
//	kind flags len(addr):2 addr packet
//
// where kind is 's' (a stream connection) or 'p' (a datagram, whose bytes
// follow the client's address, sent with the server's socket). The
// descriptor is passed with SCM_RIGHTS to a spare, or, when flags has
// jobInherited, was inherited at descriptor 4 by a child started for this
// job.
const (
	msgReady byte = 'R'
	msgDone  byte = 'D'
	msgError byte = 'E'
	msgPanic byte = 'P'

	jobStream    byte = 's'
	jobPacket    byte = 'p'
	jobInherited byte = 1

	ctlFD       = 3 // the control socket, in a child
	inheritedFD = 4 // the job's or the worker's socket, in a child

	maxReportLen = 32 << 10 // longest error text or stack forwarded
)

// Environment variables telling a process it is a child.
const (
	envRole   = "SOCKETSERVER_CHILD"  // "fork" or "prefork"
	envParent = "SOCKETSERVER_PARENT" // the server's PID
	envKey    = "SOCKETSERVER_KEY"    // the Server's childKey
	envAddr   = "SOCKETSERVER_ADDR"   // the server's bound address
	envProcs  = "SOCKETSERVER_PROCS"  // set: GOMAXPROCS=1 is the server's doing
)

// A job is a request handed to a child.
type job struct {
	kind   byte
	remote string // datagram: the client's address
	packet []byte // datagram: its bytes
	fd     int    // the connection, or the server's datagram socket
}

func (j *job) encode(inherited bool) []byte {
	var flags byte
	if inherited {
		flags = jobInherited
	}
	b := make([]byte, 0, 4+len(j.remote)+len(j.packet))
	b = append(b, j.kind, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(len(j.remote)))
	b = append(b, j.remote...)
	return append(b, j.packet...)
}

// decodeJob parses a job and takes its descriptor from the control
// message or the inherited one. On error, any descriptor received is
// closed.
func decodeJob(b, oob []byte) (*job, error) {
	fds, err := receivedFDs(oob)
	if err != nil {
		return nil, err
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if len(b) < 4 || (b[0] != jobStream && b[0] != jobPacket) {
		closeAll()
		return nil, fmt.Errorf("socketserver: malformed job from the server (%d bytes)", len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		closeAll()
		return nil, errors.New("socketserver: job shorter than its address")
	}
	j := &job{kind: b[0], remote: string(b[4 : 4+n]), packet: b[4+n:]}
	switch {
	case b[1]&jobInherited != 0 && len(fds) == 0:
		j.fd = inheritedFD
	case b[1]&jobInherited == 0 && len(fds) == 1:
		j.fd = fds[0]
	default:
		closeAll()
		return nil, fmt.Errorf("socketserver: job came with %d descriptors", len(fds))
	}
	unix.CloseOnExec(j.fd)
	return j, nil
}

func receivedFDs(oob []byte) ([]int, error) {
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
		fds = append(fds, got...)
	}
	return fds, nil
}

// sendFD sends b with the descriptor of c (a net.Conn or net.PacketConn)
// attached.
func sendFD(ctl *net.UnixConn, b []byte, c syscall.Conn) error {
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

// encodeReport is the message forwarding an error a child's handler
// reported.
func encodeReport(err error) []byte {
	var pe *PanicError
	if errors.As(err, &pe) {
		v := clip(fmt.Sprint(pe.Value))
		b := append([]byte{msgPanic}, strings.ReplaceAll(v, "\x00", " ")...)
		b = append(b, 0)
		return append(b, clip(string(pe.Stack))...)
	}
	routine := byte(0)
	if isRoutine(err) {
		routine = 1
	}
	return append([]byte{msgError, routine}, clip(err.Error())...)
}

// decodeReport turns a forwarded report back into an error.
func decodeReport(b []byte) error {
	switch {
	case len(b) >= 2 && b[0] == msgError:
		return &childFailure{msg: string(b[2:]), routine: b[1] == 1}
	case len(b) >= 1 && b[0] == msgPanic:
		value, stack, _ := strings.Cut(string(b[1:]), "\x00")
		return &PanicError{Value: value, Stack: []byte(stack)}
	}
	return fmt.Errorf("socketserver: malformed report from a child (%d bytes)", len(b))
}

func clip(s string) string {
	if len(s) > maxReportLen {
		return s[:maxReportLen]
	}
	return s
}

// socketPair makes a control socket pair: the server's end as a
// *net.UnixConn, and the descriptor of the child's end, which the caller
// closes once it is passed on.
func socketPair() (*net.UnixConn, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, -1, os.NewSyscallError("socketpair", err)
	}
	f := os.NewFile(uintptr(fds[0]), "socketserver-control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, -1, err
	}
	return c.(*net.UnixConn), fds[1], nil
}
