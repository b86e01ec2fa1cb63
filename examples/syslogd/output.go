package main

import (
	"io"
	"sync"
	"sync/atomic"
)

// A kind is what a record holds.
type kind int

const (
	parsed    kind = iota // a message, parsed
	malformed             // a message that could not be parsed: its raw bytes and the error
	partial               // a message cut short by the end of its connection
	numKinds
)

// recordWriter writes records as JSON lines to an output, buffered, and
// counts, by kind, the records the output took and those a failed write
// lost. Safe for concurrent use.
type recordWriter struct {
	taken atomic.Int64 // records encoded: written, buffered or lost

	mu      sync.Mutex // guards the fields below
	w       io.Writer
	buf     []byte       // records encoded and not yet written
	pending []pendingRec // the records in buf, in order
	written [numKinds]int64
	lost    int64       // records that a failed write lost
	failed  int64       // writes that failed
	err     error       // the first write error
	onError func(error) // told of the first write error, if not nil
}

// A pendingRec is a record in the buffer: where it ends, and its kind.
type pendingRec struct {
	end  int
	kind kind
}

// flushAt is the buffered size at which a record write flushes.
const flushAt = 64 << 10

func newRecordWriter(w io.Writer) *recordWriter {
	return &recordWriter{w: w}
}

// write encodes rec, and writes the buffer out once it holds flushAt
// bytes.
func (rw *recordWriter) write(rec *record, k kind) {
	rw.taken.Add(1)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = rec.appendJSON(rw.buf)
	rw.pending = append(rw.pending, pendingRec{end: len(rw.buf), kind: k})
	if len(rw.buf) >= flushAt {
		rw.flushLocked()
	}
}

// flush writes out what is buffered.
func (rw *recordWriter) flush() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.flushLocked()
}

// flushLocked writes the buffer once. The records a failed or short write
// did not take whole are counted as lost, not retried: the output keeps
// its order, and a record cut in the middle stays cut. rw.mu must be held.
func (rw *recordWriter) flushLocked() {
	if len(rw.pending) == 0 {
		return
	}
	n, err := rw.w.Write(rw.buf)
	if err == nil && n < len(rw.buf) {
		err = io.ErrShortWrite
	}
	for _, p := range rw.pending {
		if p.end <= n {
			rw.written[p.kind]++
		} else {
			rw.lost++
		}
	}
	if err != nil {
		rw.failed++
		if rw.err == nil {
			rw.err = err
			if rw.onError != nil {
				rw.onError(err)
			}
		}
	}
	rw.buf = rw.buf[:0]
	if cap(rw.buf) > 4*flushAt {
		rw.buf = nil // a record far larger than most: do not keep its room
	}
	rw.pending = rw.pending[:0]
}

// A tally is what a recordWriter has done.
type tally struct {
	written      [numKinds]int64 // records the output took, by kind
	lost, failed int64           // records lost to failed writes; writes that failed
	err          error           // the first write error
}

func (rw *recordWriter) tally() tally {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return tally{written: rw.written, lost: rw.lost, failed: rw.failed, err: rw.err}
}
