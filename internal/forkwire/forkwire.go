// Package forkwire is the wire protocol between a server and the child
// processes of its Fork and Prefork modes, and the descriptor passing it
// rides on. It knows nothing of socketserver.Server.
//
// The two talk over a socket pair of type SOCK_SEQPACKET, the control
// socket, at descriptor 3 in the child. Every message is one packet, so
// none needs framing. The server first sends Hello with a token the child
// also finds in its environment: a child trusts its role only if the two
// match. Then it sends jobs: a request for the child to serve, with its
// descriptor. The child sends messages whose first byte says what they
// are:
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
// Inherited, was inherited by a child started for this job.
package forkwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Message kinds, the first byte of each message.
const (
	MsgHello byte = 'H' // server → child: the token
	MsgReady byte = 'R'
	MsgDone  byte = 'D'
	MsgError byte = 'E'
	MsgPanic byte = 'P'
)

// Job kinds and flags.
const (
	JobStream byte = 's'
	JobPacket byte = 'p'
	Inherited byte = 1
)

// Descriptors in a child.
const (
	CtlFD       = 3 // the control socket
	InheritedFD = 4 // the job's or the worker's socket, if inherited
)

// MaxReportLen bounds the error text or stack a child forwards.
const MaxReportLen = 32 << 10

// A Job is a request handed to a child.
type Job struct {
	Kind   byte   // JobStream or JobPacket
	Remote string // datagram: the client's address; "" for an unnamed one
	Packet []byte // datagram: its bytes
	FD     int    // the connection, or the server's datagram socket
}

// Encode returns the job's message; inherited says the child got its
// descriptor at InheritedFD rather than with the message.
func (j *Job) Encode(inherited bool) []byte {
	var flags byte
	if inherited {
		flags = Inherited
	}
	b := make([]byte, 0, 4+len(j.Remote)+len(j.Packet))
	b = append(b, j.Kind, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(len(j.Remote)))
	b = append(b, j.Remote...)
	return append(b, j.Packet...)
}

// DecodeJob parses a job, taking its descriptor from fds (received with
// it) or InheritedFD. On error, the descriptors in fds are closed by
// closeFD.
func DecodeJob(b []byte, fds []int, closeFD func(int)) (*Job, error) {
	closeAll := func() {
		for _, fd := range fds {
			closeFD(fd)
		}
	}
	if len(b) < 4 || (b[0] != JobStream && b[0] != JobPacket) || b[1]&^Inherited != 0 {
		closeAll()
		return nil, fmt.Errorf("forkwire: malformed job from the server (%d bytes)", len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		closeAll()
		return nil, errors.New("forkwire: job shorter than its address")
	}
	j := &Job{Kind: b[0], Remote: string(b[4 : 4+n]), Packet: b[4+n:]}
	switch {
	case b[1]&Inherited != 0 && len(fds) == 0:
		j.FD = InheritedFD
	case b[1]&Inherited == 0 && len(fds) == 1:
		j.FD = fds[0]
	default:
		closeAll()
		return nil, fmt.Errorf("forkwire: job came with %d descriptors", len(fds))
	}
	return j, nil
}

// Hello is the server's first message to a child, with its token.
func Hello(token string) []byte { return append([]byte{MsgHello}, token...) }

// IsHello reports whether b is the Hello with token.
func IsHello(b []byte, token string) bool {
	return len(b) == 1+len(token) && b[0] == MsgHello && string(b[1:]) == token && token != ""
}

// ErrorReport is the message forwarding an error a child's handler
// reported; routine says it is the ordinary end of a conversation.
func ErrorReport(msg string, routine bool) []byte {
	r := byte(0)
	if routine {
		r = 1
	}
	return append([]byte{MsgError, r}, clip(msg)...)
}

// PanicReport is the message forwarding a child handler's panic.
func PanicReport(value string, stack []byte) []byte {
	b := append([]byte{MsgPanic}, strings.ReplaceAll(clip(value), "\x00", " ")...)
	b = append(b, 0)
	return append(b, clip(string(stack))...)
}

// A Report is a decoded ErrorReport or PanicReport.
type Report struct {
	Panic   bool
	Routine bool   // an error, routine
	Text    string // the error's text, or the panic's value
	Stack   []byte // the panic's stack
}

// DecodeReport parses an ErrorReport or PanicReport.
func DecodeReport(b []byte) (Report, error) {
	switch {
	case len(b) >= 2 && b[0] == MsgError:
		return Report{Routine: b[1] == 1, Text: string(b[2:])}, nil
	case len(b) >= 1 && b[0] == MsgPanic:
		value, stack, _ := strings.Cut(string(b[1:]), "\x00")
		return Report{Panic: true, Text: value, Stack: []byte(stack)}, nil
	}
	return Report{}, fmt.Errorf("forkwire: malformed report from a child (%d bytes)", len(b))
}

func clip(s string) string {
	if len(s) > MaxReportLen {
		return s[:MaxReportLen]
	}
	return s
}
