package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// queueSink is an output queue like an event loop's: full at high water.
type queueSink struct {
	queued []byte
	high   int
	peak   int // the most ever queued
}

func (k *queueSink) write(p []byte) error {
	k.queued = append(k.queued, p...)
	k.peak = max(k.peak, len(k.queued))
	return nil
}
func (k *queueSink) full() bool { return len(k.queued) >= k.high }
func (k *queueSink) chunk() int { return k.high }

// loop plays an event loop for a session: input arrives in the pieces
// given; input left unconsumed is kept and passed again with the next
// piece, or, while output is queued, again once the client has read it
// all. It returns everything sent, and the most ever queued.
func loop(t *testing.T, s *session, pieces [][]byte, high int) (sent []byte, peak int) {
	t.Helper()
	k := &queueSink{high: high}
	var kept []byte
	for i := 0; i < len(pieces) || len(kept) > 0; {
		in := kept
		if i < len(pieces) && len(k.queued) < high {
			in = append(kept, pieces[i]...)
			i++
		}
		n, closeConn := s.serve(in, k)
		if n < 0 || n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		kept = in[n:] // in is a fresh array each time: no piece is overwritten
		stalled := len(k.queued) == 0 && i == len(pieces)
		sent = append(sent, k.queued...) // the client reads it all
		k.queued = k.queued[:0]
		if closeConn || stalled {
			break
		}
	}
	return sent, k.peak
}

// TestSessionBoundedOutput: commands whose replies are far larger than
// the queue's high water mark (a pipeline of GETs of a big value, an MGET
// naming it many times, an ECHO) are answered whole and in order, with
// the queue never much above high water; input split anywhere gives the
// same replies.
func TestSessionBoundedOutput(t *testing.T) {
	const high = 64 << 10
	db := newStore()
	big, small := value(256<<10, 1), value(3000, 2)
	setup := newTestSession(db)
	serveAll(setup, append(encode("SET", "big", string(big)), encode("SET", "small", string(small))...))

	var in []byte
	mget := []string{"MGET"}
	for range 100 {
		in = append(in, encode("GET", "big")...)
		mget = append(mget, "big", "small", "nope")
	}
	in = append(in, encode(mget...)...)
	in = append(in, encode("ECHO", string(big[:200000]))...)
	in = append(in, encode("SET", "k", string(big[:250000]))...)
	in = append(in, encode("GET", "k")...)
	in = append(in, "PING\r\n"...)

	var wantReplies bytes.Buffer
	for range 100 {
		wantReplies.Write(appendBulk(nil, big))
	}
	wantReplies.Write(appendArray(nil, 300))
	for range 100 {
		wantReplies.Write(appendBulk(nil, big))
		wantReplies.Write(appendBulk(nil, small))
		wantReplies.Write(appendNull(nil))
	}
	wantReplies.Write(appendBulk(nil, big[:200000]))
	wantReplies.WriteString("+OK\r\n")
	wantReplies.Write(appendBulk(nil, big[:250000]))
	wantReplies.WriteString("+PONG\r\n")
	_, got, _ := serveAll(newTestSession(db), in)
	if !bytes.Equal(got, wantReplies.Bytes()) {
		t.Fatalf("replies: %d bytes, want %d", len(got), wantReplies.Len())
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for _, split := range []int{len(in), 1 << 20, 65536, 4096, 0} {
		t.Run(fmt.Sprint("pieces of ", split), func(t *testing.T) {
			var pieces [][]byte
			for rest := in; len(rest) > 0; {
				n := split
				if n == 0 {
					n = 1 + rng.IntN(100000)
				}
				n = min(n, len(rest))
				pieces, rest = append(pieces, rest[:n]), rest[n:]
			}
			s := newTestSession(db)
			sent, peak := loop(t, s, pieces, high)
			if !bytes.Equal(sent, wantReplies.Bytes()) {
				t.Fatalf("replies: %d bytes, want %d", len(sent), wantReplies.Len())
			}
			if peak > high+high+outFlush+64 {
				t.Errorf("%d bytes queued at most, high water %d", peak, high)
			}
			if !s.idle() {
				t.Errorf("the session is not idle after the last reply")
			}
		})
	}
}

// TestAssembler: a command too big to wait for in the input is assembled
// from pieces of any size, with its large arguments in allocations of
// their own; what it holds is charged to the budget and refused past it.
func TestAssembler(t *testing.T) {
	lim := &limits{maxValue: 1 << 20, maxRequest: 3 << 20}
	big := value(1<<20, 5)
	cmd := encode("MSET", "a", string(big), "b", "small", "c", "")
	for _, step := range []int{1, 7, 4096, len(cmd)} {
		var charged int64
		a := assembler{lim: lim, account: func(n int64) bool { charged = n; return true }}
		a.start()
		var done bool
		for rest := cmd; len(rest) > 0 && !done; {
			n, d, err := a.feed(rest[:min(step, len(rest))])
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			rest, done = rest[n:], d
			if done && len(rest) != 0 {
				t.Fatalf("step %d: done with %d bytes left", step, len(rest))
			}
		}
		args, own := a.args(nil, nil)
		if !done || len(args) != 7 || !bytes.Equal(args[2], big) || string(args[4]) != "small" || len(args[6]) != 0 {
			t.Fatalf("step %d: done %v, %d args", step, done, len(args))
		}
		if !own[2] || own[4] || cap(args[2]) != len(big) {
			t.Errorf("step %d: own %v, cap %d", step, own, cap(args[2]))
		}
		if charged < int64(len(big)) || charged > int64(len(big))+4096 {
			t.Errorf("step %d: charged %d", step, charged)
		}
		if freed := a.reset(); freed < int64(len(big)) {
			t.Errorf("step %d: reset freed %d", step, freed)
		}
	}

	for _, tc := range []struct {
		name, in, err string
		allow         int64 // what the budget takes
	}{
		{name: "bulk over -max-value", in: "*2\r\n$3\r\nSET\r\n$1048577\r\n", err: "Protocol error: invalid bulk length", allow: 1 << 40},
		{name: "request over -max-request", in: "*4\r\n$1\r\nx\r\n$1048576\r\n" + strings.Repeat("x", 1<<20) + "\r\n$1048576\r\n" + strings.Repeat("x", 1<<20) + "\r\n$1048576\r\n", err: "Protocol error: request larger than 3145728 bytes", allow: 1 << 40},
		{name: "no CRLF after the bulk", in: "*1\r\n$2\r\nabX", err: "Protocol error: bulk string not followed by CRLF", allow: 1 << 40},
		{name: "a long header", in: "*1\r\n$" + strings.Repeat("1", 40), err: "Protocol error: header line too long", allow: 1 << 40},
		{name: "refused by the budget", in: "*2\r\n$3\r\nSET\r\n$900000\r\n", err: errBudget.Error(), allow: 800000},
	} {
		a := assembler{lim: lim, account: func(n int64) bool { return n < tc.allow }}
		a.start()
		if _, _, err := a.feed([]byte(tc.in)); err == nil || err.Error() != tc.err {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.err)
		}
	}
}

// FuzzAssemble: the assembler, fed a command in pieces of any size, reads
// what parseCommand reads whole: the same arguments from the same bytes,
// or an error where it finds one.
func FuzzAssemble(f *testing.F) {
	f.Add(encode("SET", "k", "v", "EX", "10"), uint8(3))
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"), uint8(1))
	f.Add([]byte("*-1\r\n"), uint8(2))
	f.Add([]byte("*1\r\n$3\r\nabcd\r\n"), uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		if len(b) == 0 || b[0] != '*' {
			return
		}
		args, n, err := parseCommand(b, nil, testMaxValue)
		a := assembler{lim: &limits{maxValue: testMaxValue, maxRequest: 1 << 30}, account: func(int64) bool { return true }}
		a.start()
		used, done := 0, false
		var aerr error
		for used < len(b) && !done && aerr == nil {
			var k int
			k, done, aerr = a.feed(b[used:min(len(b), used+int(step)+1)])
			if k < 0 || used+k > len(b) {
				t.Fatalf("fed %d bytes, used %d", len(b)-used, k)
			}
			used += k
		}
		switch {
		case err != nil:
			if aerr == nil {
				t.Fatalf("parseCommand: %v; the assembler: none (done %v)", err, done)
			}
		case n == 0:
			if aerr != nil || done {
				t.Fatalf("incomplete for parseCommand; the assembler: done %v, %v", done, aerr)
			}
		default:
			if aerr != nil || !done || used != n {
				t.Fatalf("parseCommand used %d; the assembler %d, done %v, %v", n, used, done, aerr)
			}
			got, _ := a.args(nil, nil)
			if len(got) != len(args) {
				t.Fatalf("%d arguments, parseCommand %d", len(got), len(args))
			}
			for i := range got {
				if !bytes.Equal(got[i], args[i]) {
					t.Fatalf("argument %d: %q, parseCommand %q", i, got[i], args[i])
				}
			}
		}
	})
}
