// Package forkwire is the wire protocol between a server and the child
// processes of its Fork and Prefork modes, and the control socket it rides
// on. It knows nothing of socketserver.Server.
//
// The two talk over a socket pair, the control socket, at descriptor 3 in
// the child (see Conn for how messages are delimited on each system). The
// server first sends Hello with a token the child also finds in its
// environment: a child trusts its role only if the two match. Every
// message then starts with a byte saying what it is.
//
// From the server to the child:
//
//	H token                  Hello
//	J kind flags len(addr):2 addr packet
//	                         a job: a request to serve, with its descriptor
//	A ok                     the answer to an Admit: 1 if the client may connect
//	Q                        shut down gracefully (Prefork's workers)
//	C                        close at once
//
// From the child to the server:
//
//	R                        ready: it serves, and takes jobs (or the one it was started with)
//	D stats                  done with a job; its counters, as in S
//	S stats                  counters (Prefork's workers, now and then)
//	E r text                 its handler reported an error; r is 1 if it is routine
//	P value 0 stack          its handler panicked, with value and stack
//	I ip                     may a client from ip connect (MaxConnsPerIP across the processes)?
//
// In a job, kind is 's' (a stream connection) or 'p' (a datagram, whose
// bytes follow the client's address, sent with the server's socket). The
// descriptor is passed with the message to a spare, or, when flags has
// Inherited, was inherited by a child started for this job. Counters are
// a count and that many signed varints, in an order the two sides agree
// on; a receiver ignores those it does not know and takes those missing
// as zero.
package forkwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Message kinds, the first byte of each message.
const (
	MsgHello  byte = 'H' // server → child: the token
	MsgJob    byte = 'J'
	MsgAnswer byte = 'A'
	MsgQuit   byte = 'Q'
	MsgClose  byte = 'C'

	MsgReady byte = 'R' // child → server
	MsgDone  byte = 'D'
	MsgStats byte = 'S'
	MsgError byte = 'E'
	MsgPanic byte = 'P'
	MsgAdmit byte = 'I'
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

// MaxStats bounds the counters of a stats message.
const MaxStats = 64

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
	b := make([]byte, 0, 5+len(j.Remote)+len(j.Packet))
	b = append(b, MsgJob, j.Kind, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(len(j.Remote)))
	b = append(b, j.Remote...)
	return append(b, j.Packet...)
}

// DecodeJob parses a job. fd is the descriptor that came with it, or -1;
// on error, it is closed by closeFD.
func DecodeJob(b []byte, fd int, closeFD func(int)) (*Job, error) {
	fail := func(err error) (*Job, error) {
		if fd >= 0 {
			closeFD(fd)
		}
		return nil, err
	}
	if len(b) < 5 || b[0] != MsgJob || (b[1] != JobStream && b[1] != JobPacket) || b[2]&^Inherited != 0 {
		return fail(fmt.Errorf("forkwire: malformed job from the server (%d bytes)", len(b)))
	}
	n := int(binary.BigEndian.Uint16(b[3:5]))
	if len(b) < 5+n {
		return fail(errors.New("forkwire: job shorter than its address"))
	}
	j := &Job{Kind: b[1], Remote: string(b[5 : 5+n]), Packet: b[5+n:]}
	switch inherited := b[2]&Inherited != 0; {
	case inherited && fd < 0:
		j.FD = InheritedFD
	case !inherited && fd >= 0:
		j.FD = fd
	case inherited:
		return fail(errors.New("forkwire: an inherited job came with a descriptor"))
	default:
		return fail(errors.New("forkwire: a job came without its descriptor"))
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
	case len(b) >= 2 && b[0] == MsgError && b[1] <= 1:
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

// Stats is a message of kind MsgStats or MsgDone with the counters vals.
func Stats(kind byte, vals []int64) []byte {
	b := make([]byte, 0, 2+len(vals)*3)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(vals)))
	for _, v := range vals {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// DecodeStats parses a message of kind MsgStats or MsgDone into vals: the
// counters it carries beyond len(vals) are ignored, those it lacks are
// zero.
func DecodeStats(b []byte, vals []int64) (kind byte, err error) {
	clear(vals)
	if len(b) < 2 || (b[0] != MsgStats && b[0] != MsgDone) {
		return 0, fmt.Errorf("forkwire: malformed counters from a child (%d bytes)", len(b))
	}
	kind, b = b[0], b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > MaxStats {
		return 0, errors.New("forkwire: malformed count of counters")
	}
	b = b[k:]
	for i := range int(n) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, errors.New("forkwire: counters cut short")
		}
		b = b[k:]
		if i < len(vals) {
			vals[i] = v
		}
	}
	if len(b) > 0 {
		return 0, errors.New("forkwire: bytes after the counters")
	}
	return kind, nil
}

// Admit asks the server whether a client from ip may connect.
func Admit(ip netip.Addr) []byte {
	b, _ := ip.MarshalBinary()
	return append([]byte{MsgAdmit}, b...)
}

// DecodeAdmit parses an Admit.
func DecodeAdmit(b []byte) (netip.Addr, error) {
	var ip netip.Addr
	if len(b) < 2 || b[0] != MsgAdmit || ip.UnmarshalBinary(b[1:]) != nil || !ip.IsValid() {
		return netip.Addr{}, fmt.Errorf("forkwire: malformed admission request (%d bytes)", len(b))
	}
	return ip, nil
}

// Answer is the server's answer to an Admit.
func Answer(ok bool) []byte {
	if ok {
		return []byte{MsgAnswer, 1}
	}
	return []byte{MsgAnswer, 0}
}

// DecodeAnswer parses an Answer.
func DecodeAnswer(b []byte) (ok bool, err error) {
	if len(b) != 2 || b[0] != MsgAnswer || b[1] > 1 {
		return false, fmt.Errorf("forkwire: malformed answer from the server (%d bytes)", len(b))
	}
	return b[1] == 1, nil
}
