package main

import (
	"io"
	"slices"

	"github.com/socketserver-go/socketserver"
)

// limits are what a client may send, and what partial requests may hold.
type limits struct {
	maxValue   int     // bytes in one argument (Redis's proto-max-bulk-len)
	maxRequest int     // bytes in one command
	budget     *budget // memory of all partial requests together
}

// A sink takes a session's replies: the connection's output queue in
// Event mode, the connection itself in goroutine mode.
type sink interface {
	// write hands p on; the sink may not keep it after the call.
	write(p []byte) error
	// full reports whether the session should stop producing output for
	// now (the queue is above its high water mark, or a write failed).
	full() bool
	// chunk is how much of a large value to hand on at once.
	chunk() int
}

// A session runs a client's commands against the store and produces
// their replies, in order, as fast as the sink takes them: a reply too
// large to queue at once (a big value, an MGET of many) is produced in
// parts, and the next command waits for it. So a connection holds at most
// about one sink's worth of output, however deep its pipeline and however
// large the replies it asks for.
//
// It is not safe for concurrent use; each connection has its own while
// it is served.
type session struct {
	db     *store
	lim    *limits
	hold   *holder                 // the client's account in the budget, once it holds something
	conn   *socketserver.EventConn // the connection served, in Event mode
	closer io.Closer               // the connection served, in goroutine mode

	args  [][]byte // the command being run (reused)
	own   []bool   // for each argument, whether the command may keep it (nil: none)
	out   []byte   // small replies not yet handed to the sink
	reply pending  // a reply still to be sent
	asm   assembler

	// held is set while the last byte of the command whose reply is
	// being sent is kept unconsumed at the front of the input, so that
	// the connection calls the session again once its output drains.
	held bool
	kept int64 // input left unconsumed by the last call
}

// A pending reply is a list of bulk strings still to be sent.
type pending struct {
	vals []bulk
	i    int // the next value to send
	off  int // bytes of vals[i] sent; -1: not begun
}

// A bulk is a value to reply with, or null if !ok.
type bulk struct {
	v  []byte
	ok bool
}

// Output sizes: a value up to inlineMax is copied into the reply buffer
// at once; the reply buffer is handed to the sink when it reaches
// outFlush; an incomplete command whose bytes reach assembleAt is moved
// out of the input into the assembler.
const (
	inlineMax  = 16 << 10
	outFlush   = 16 << 10
	assembleAt = 16 << 10
)

func newSession(db *store, lim *limits) *session {
	s := &session{db: db, lim: lim}
	s.reply.off = -1
	s.asm.lim = lim
	s.asm.account = s.account
	return s
}

// serve runs the whole commands at the front of in, as far as the sink
// takes their replies, and returns the bytes used and whether the
// connection must close (QUIT, or an error whose reply has been sent).
// What it does not use, it expects again, with more, on the next call.
func (s *session) serve(in []byte, sk sink) (consumed int, closeConn bool) {
	defer func() {
		s.flushOut(sk)
		if !closeConn {
			s.kept = int64(len(in) - consumed)
			if !s.account(s.asm.holding()) {
				s.out = appendError(s.out[:0], errBudget.Error())
				s.flushOut(sk)
				closeConn = true
			}
		}
	}()
	if s.held {
		if !s.drain(sk) {
			return 0, false
		}
		s.held, consumed = false, 1
	}
	for consumed < len(in) {
		var end int
		if s.asm.active {
			n, done, err := s.asm.feed(in[consumed:])
			if err != nil {
				s.out = appendError(s.out, errorReply(err))
				return len(in), true
			}
			if !done {
				return len(in), false
			}
			end = consumed + n
			s.args, s.own = s.asm.args(s.args, s.own)
		} else {
			if sk.full() {
				break // output above high water: take no command now
			}
			args, n, err := parseCommand(in[consumed:], s.args, s.lim.maxValue)
			s.args, s.own = args, nil
			if err != nil {
				s.out = appendError(s.out, errorReply(err))
				return consumed, true
			}
			if n == 0 {
				if rest := in[consumed:]; len(rest) >= assembleAt && rest[0] == '*' {
					s.asm.start()
					continue // the assembler takes it from here
				}
				break // the rest of the command has not arrived
			}
			end = consumed + n
		}
		quit := len(s.args) > 0 && s.run()
		if s.asm.active {
			s.asm.reset() // what the command did not keep is garbage now
		}
		clear(s.args)
		switch {
		case quit:
			return end, true
		case !s.drain(sk):
			s.held = true
			return end - 1, false
		}
		consumed = end
	}
	return consumed, false
}

// errorReply is the message of an error reply for err.
func errorReply(err error) string {
	if err == errBudget {
		return err.Error()
	}
	return "ERR " + err.Error()
}

// run executes the command in s.args and reports whether it was QUIT.
func (s *session) run() (quit bool) {
	s.out, quit = s.exec(s.args, s.out)
	return quit
}

// flushOut hands the reply buffer to the sink.
func (s *session) flushOut(sk sink) {
	if len(s.out) > 0 {
		sk.write(s.out)
		s.out = s.out[:0]
	}
	if cap(s.out) > 4*outFlush {
		s.out = nil
	}
}

// drain sends the pending reply as far as the sink takes it, and reports
// whether it is all sent.
func (s *session) drain(sk sink) bool {
	r := &s.reply
	for r.i < len(r.vals) {
		if len(s.out) >= outFlush {
			s.flushOut(sk)
		}
		if sk.full() {
			return false
		}
		b := r.vals[r.i]
		switch {
		case !b.ok:
			s.out = appendNull(s.out)
		case r.off < 0 && len(b.v) <= inlineMax:
			s.out = appendBulk(s.out, b.v)
		default:
			if r.off < 0 {
				s.out = appendBulkHeader(s.out, len(b.v))
				r.off = 0
			}
			s.flushOut(sk)
			n := min(len(b.v)-r.off, sk.chunk())
			sk.write(b.v[r.off : r.off+n])
			if r.off += n; r.off < len(b.v) {
				continue
			}
			s.out = append(s.out, '\r', '\n')
		}
		r.i, r.off = r.i+1, -1
	}
	clear(r.vals)
	if cap(r.vals) > 1024 {
		r.vals = nil
	}
	r.vals, r.i = r.vals[:0], 0
	return true
}

// sendBulk makes v the pending reply. It must stay unchanged until sent:
// the store's values are never changed in place.
func (s *session) sendBulk(v []byte) {
	s.reply.vals = append(s.reply.vals[:0], bulk{v: v, ok: true})
}

// keep returns argument i for the store to keep: the argument itself if
// the command owns it, else a copy.
func (s *session) keep(i int) []byte {
	if s.own != nil && s.own[i] {
		return s.args[i]
	}
	return slices.Clone(s.args[i])
}

// account charges the budget with what the session holds: the input kept
// unconsumed and what the assembler holds. False means the budget
// refused it and the client is to be disconnected.
func (s *session) account(asmHeld int64) bool {
	n := s.kept + asmHeld
	if s.hold == nil {
		if n == 0 || s.lim.budget == nil {
			return true
		}
		s.hold = s.lim.budget.newHolder(s.evict())
	}
	return s.hold.set(n)
}

// evict returns how the budget disconnects the session's client.
func (s *session) evict() func() {
	if c := s.conn; c != nil {
		return func() { c.AsyncClose() }
	}
	if c := s.closer; c != nil {
		return func() { c.Close() }
	}
	return func() {}
}

// idle reports whether the session holds nothing between calls, so that
// it can serve another connection.
func (s *session) idle() bool {
	return !s.held && !s.asm.active && s.kept == 0 && len(s.reply.vals) == 0
}

// release ends the session's connection: what it held is given back.
func (s *session) release() {
	freed := s.asm.reset()
	if s.hold != nil {
		s.hold.release(freed)
		s.hold = nil
	}
	s.reply = pending{vals: s.reply.vals[:0], off: -1}
	s.held, s.kept = false, 0
}
