package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
)

// A source gives a worker its requests in turn, each with the reply it
// expects (nil: not checked): the pairs in order, round and round, so
// that a file's SET comes before its GET. A persistent connection starts
// from the first (which may set it up: AUTH, SELECT); in churn mode each
// connection takes the next pair.
type source struct {
	cfg   *config
	pairs []pair
	seq   int
	p     *payloads // random payloads, when there are no pairs
}

func newSource(cfg *config, worker int) *source {
	s := &source{cfg: cfg, pairs: cfg.pairs}
	if s.pairs == nil {
		s.p = newPayloads(worker, cfg.size)
	}
	return s
}

// restart goes back to the first pair.
func (s *source) restart() { s.seq = 0 }

func (s *source) next() (request, want []byte) {
	if s.p != nil {
		request = s.p.next()
		return request, s.cfg.expected(pair{request: request})
	}
	p := s.pairs[s.seq%len(s.pairs)]
	s.seq++
	return p.request, s.cfg.expected(p)
}

// payloads gives each request distinct content, cheaply: a window that
// slides over a random buffer.
type payloads struct {
	base []byte
	size int
	seq  int
}

func newPayloads(worker, size int) *payloads {
	r := rand.New(rand.NewPCG(uint64(worker), 0x50c4))
	base := make([]byte, size+4096)
	for i := range base {
		base[i] = byte(r.Uint32())
	}
	return &payloads{base: base, size: size}
}

func (p *payloads) next() []byte {
	off := (p.seq * 61) % 4096
	p.seq++
	return p.base[off : off+p.size]
}

// errLongLine is a reply line that does not end within maxMessage bytes.
var errLongLine = fmt.Errorf("a reply line longer than %d bytes", maxMessage)

// A replyReader reads the replies on a stream by the run's framing; its
// memory stays bounded whatever the server sends.
type replyReader struct {
	f        framing
	received *atomic.Int64 // bytes read, counted here
	conn     net.Conn      // the connection br reads
	br       *bufio.Reader // line framing
	buf      []byte        // the other framings
	got      []byte        // the start of a line reply, for a mismatch's report
}

func newReplyReader(f framing, received *atomic.Int64) *replyReader {
	r := &replyReader{f: f, received: received}
	switch f.kind {
	case frameLine:
		r.br = bufio.NewReaderSize(nil, 4096)
	case frameAny:
		r.buf = make([]byte, 64<<10)
	}
	return r
}

// read reads one reply from c for each of wants, in order, calls judge
// for each, and returns how many it read before an error.
func (r *replyReader) read(c net.Conn, wants [][]byte, judge func(ok bool, got, want []byte)) (int, error) {
	if c != r.conn {
		r.conn = c
		if r.br != nil {
			r.br.Reset(c)
		}
	}
	switch r.f.kind {
	case frameLine:
		for i, want := range wants {
			ok, err := r.readLines(want)
			if err != nil {
				return i, err
			}
			judge(ok, r.got, want)
		}
		return len(wants), nil
	case frameAny:
		for i, want := range wants {
			n, err := c.Read(r.buf)
			r.received.Add(int64(n))
			if err != nil {
				return i, err
			}
			got := r.buf[:n]
			judge(want == nil || bytes.Equal(got, want), got, want)
		}
		return len(wants), nil
	}
	// Replies of known lengths: read them all at once, then judge those
	// that came in full, even if the rest did not.
	total := 0
	for _, want := range wants {
		total += r.size(want)
	}
	if cap(r.buf) < total {
		r.buf = make([]byte, total)
	}
	n, err := io.ReadFull(c, r.buf[:total])
	r.received.Add(int64(n))
	off, done := 0, 0
	for _, want := range wants {
		size := r.size(want)
		if off+size > n {
			break
		}
		got := r.buf[off : off+size]
		judge(want == nil || bytes.Equal(got, want), got, want)
		off += size
		done++
	}
	return done, err
}

// size is the length of a reply of known length.
func (r *replyReader) size(want []byte) int {
	if r.f.kind == frameFixed {
		return r.f.n
	}
	return len(want)
}

// readLines reads a reply of as many lines as want has (one if want is
// nil) and reports whether it equals want. It keeps only the reply's
// first bytes, in r.got.
func (r *replyReader) readLines(want []byte) (bool, error) {
	lines := max(bytes.Count(want, []byte("\n")), 1)
	ok, pos := true, 0
	r.got = r.got[:0]
	for range lines {
		size := 0
		for {
			chunk, err := r.br.ReadSlice('\n')
			size += len(chunk)
			r.received.Add(int64(len(chunk)))
			if len(r.got) <= 64 {
				r.got = append(r.got, chunk[:min(len(chunk), 65-len(r.got))]...)
			}
			if want != nil && ok {
				ok = bytes.HasPrefix(want[pos:], chunk)
				pos += len(chunk)
			}
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return false, err
			}
			if size > maxMessage {
				return false, errLongLine
			}
		}
	}
	return ok && (want == nil || pos == len(want)), nil
}
