package main

import (
	"bytes"
	"fmt"
)

// An assembler collects a command too large to wait for whole in the
// input buffer, as it arrives, the way Redis reads a large bulk argument
// into a buffer of its own: it parses the RESP array incrementally and
// copies each argument out of the input, a large one into an allocation
// of exactly its declared size, so that the input is consumed as it comes
// and nothing is allocated twice. What it holds is charged to the
// client's account in the budget before it is allocated.
//
// It is not safe for concurrent use: it belongs to a session.
type assembler struct {
	lim     *limits
	account func(held int64) bool // charges what it holds; false: refused

	active  bool
	line    []byte // a header line in progress, up to its '\n'
	argc    int    // arguments declared; -1 until the array header is read
	spans   []span // the arguments read, the last one possibly in progress
	small   []byte // storage of the small arguments
	left    int    // data bytes still to come of the last argument
	crlf    int    // bytes of its CRLF still to come; with left, 0 means a header is next
	total   int    // bytes of the command so far
	big     int64  // bytes of the big arguments, as declared
	charged int64  // bytes last charged
}

// A span is an argument: an allocation of its own if big is not nil,
// else small[off:off+n].
type span struct {
	big    []byte
	off, n int
}

// bigArg is the size from which an argument gets an allocation of its own.
const bigArg = 32 << 10

// start begins a command.
func (a *assembler) start() {
	a.active, a.argc, a.left, a.crlf, a.total, a.big, a.charged = true, -1, 0, 0, 0, 0, 0
	a.line, a.spans, a.small = a.line[:0], a.spans[:0], a.small[:0]
}

// feed takes input and returns how much of it it used, and whether the
// command is now whole, or an error (a protocol error, or
// errBudget when the budget refused the memory; either ends the
// connection).
func (a *assembler) feed(in []byte) (n int, done bool, err error) {
	for n < len(in) {
		switch {
		case a.left > 0:
			take := min(a.left, len(in)-n)
			s := &a.spans[len(a.spans)-1]
			if s.big != nil {
				s.big = append(s.big, in[n:n+take]...) // within its capacity
			} else {
				a.small = append(a.small, in[n:n+take]...)
				if !a.charge() {
					return n, false, errBudget
				}
			}
			a.left -= take
			n += take
		case a.crlf > 0:
			if in[n] != "\r\n"[2-a.crlf] {
				return n, false, protoErr("bulk string not followed by CRLF")
			}
			a.crlf--
			n++
			if a.crlf == 0 && len(a.spans) == a.argc {
				return n, true, nil
			}
		default:
			i := bytes.IndexByte(in[n:], '\n')
			end := len(in)
			if i >= 0 {
				end = n + i + 1
			}
			a.line = append(a.line, in[n:end]...)
			n = end
			if err := a.header(); err != nil {
				return n, false, err
			}
			if a.argc == 0 {
				return n, true, nil // "*0": no command
			}
		}
	}
	return n, false, nil
}

// header checks the header line in a.line, and acts on it once it is
// whole.
func (a *assembler) header() error {
	kind := byte('$')
	if a.argc < 0 {
		kind = '*'
	}
	v, next, err := parseHeader(a.line, 0, kind)
	if err != nil || next == 0 {
		return err // an error, or not whole yet
	}
	a.total += len(a.line)
	a.line = a.line[:0]
	if kind == '*' {
		if v > maxArgs {
			return protoErr("invalid multibulk length")
		}
		a.argc = int(v)
		return nil
	}
	if v < 0 || v > int64(a.lim.maxValue) {
		return protoErr("invalid bulk length")
	}
	size := int(v)
	a.total += size + 2
	if a.total > a.lim.maxRequest {
		return protoErr("request larger than %d bytes", a.lim.maxRequest)
	}
	s := span{off: len(a.small), n: size}
	if size >= bigArg {
		a.big += int64(size)
	}
	a.spans = append(a.spans, s)
	if !a.charge() {
		if size >= bigArg {
			a.big -= int64(size) // never allocated
		}
		return errBudget
	}
	if size >= bigArg {
		a.spans[len(a.spans)-1].big = make([]byte, 0, size)
	}
	a.left, a.crlf = size, 2
	return nil
}

// errBudget is a request the client memory budget could not take.
var errBudget = fmt.Errorf("ERR client memory budget exceeded: connection closed")

// holding is the memory the assembler holds: the big arguments (as
// declared), the small arguments' storage and the argument list.
func (a *assembler) holding() int64 {
	return a.big + int64(cap(a.small)) + int64(cap(a.spans))*40
}

// charge tells the budget what the assembler holds, if that changed, and
// reports whether the budget took it.
func (a *assembler) charge() bool {
	h := a.holding()
	if h == a.charged {
		return true
	}
	a.charged = h
	return a.account(h)
}

// args returns the whole command's arguments, and for each whether it is
// an allocation of its own, which a command may keep.
func (a *assembler) args(dst [][]byte, own []bool) ([][]byte, []bool) {
	dst, own = dst[:0], own[:0]
	for _, s := range a.spans {
		if s.big != nil {
			dst, own = append(dst, s.big), append(own, true)
		} else {
			dst, own = append(dst, a.small[s.off:s.off+s.n:s.off+s.n]), append(own, false)
		}
	}
	return dst, own
}

// reset ends the command, dropping what it held, and returns how many
// bytes that was.
func (a *assembler) reset() int64 {
	freed := a.holding()
	a.active, a.big, a.charged = false, 0, 0
	a.spans, a.small, a.line = nil, nil, a.line[:0]
	return freed
}
