package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// counters are the live totals of a run, shared by its workers.
type counters struct {
	requests   atomic.Int64 // replies received and checked
	errors     atomic.Int64 // failed connections, reads and writes, timeouts included
	timeouts   atomic.Int64
	mismatches atomic.Int64 // replies that differ from their request
	budget     atomic.Int64 // requests left to send, with -n
	firstErr   atomic.Pointer[string]
}

// latencies is a histogram of latencies in nanoseconds, sharded so that
// many workers can record without contending on one lock.
type latencies struct {
	shards []latencyShard
}

type latencyShard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

const maxLatency = int64(100 * time.Second)

func newLatencies(n int) *latencies {
	l := &latencies{shards: make([]latencyShard, n)}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(1, maxLatency, 3)
	}
	return l
}

func (l *latencies) record(worker int, d time.Duration) {
	s := &l.shards[worker%len(l.shards)]
	s.mu.Lock()
	s.h.RecordValue(min(max(int64(d), 1), maxLatency))
	s.mu.Unlock()
}

func (l *latencies) merged() *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, maxLatency, 3)
	for i := range l.shards {
		h.Merge(l.shards[i].h)
	}
	return h
}

// A load is one run of echo or churn workers.
type load struct {
	cfg   *config
	c     counters
	lat   *latencies
	start time.Time
	// perConnInterval is the open-loop interval between one connection's
	// requests, zero for a closed loop.
	perConnInterval time.Duration
}

// runLoad runs echo or churn workers until -d has passed, -n requests are
// done, or ctx is cancelled.
func runLoad(ctx context.Context, cfg *config, progress io.Writer) (*result, error) {
	l := &load{cfg: cfg, lat: newLatencies(min(cfg.conns, 32))}
	if cfg.requests > 0 {
		l.c.budget.Store(cfg.requests)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	if cfg.rate > 0 {
		l.perConnInterval = time.Duration(float64(time.Second) * float64(cfg.conns) / cfg.rate)
	}
	// Check the server answers before loading it.
	if err := l.probe(ctx); err != nil {
		return nil, err
	}
	stopProgress := startProgress(progress, &l.c, cfg)
	l.start = time.Now()
	var wg sync.WaitGroup
	for id := range cfg.conns {
		switch {
		case cfg.mode == "churn":
			wg.Go(func() { l.churnWorker(ctx, id) })
		case datagram(cfg.network):
			wg.Go(func() { l.datagramWorker(ctx, id) })
		default:
			wg.Go(func() { l.streamWorker(ctx, id) })
		}
	}
	wg.Wait()
	elapsed := time.Since(l.start)
	stopProgress()
	return l.result(elapsed), nil
}

// probe makes one connection, to fail fast with a clear error when
// nothing listens.
func (l *load) probe(ctx context.Context) error {
	c, err := l.dial(ctx, -1)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", l.cfg.url, err)
	}
	c.Close()
	return nil
}

// take reserves up to n requests of the -n budget; with -d it grants n.
func (l *load) take(n int) int {
	if l.cfg.requests == 0 {
		return n
	}
	for {
		left := l.c.budget.Load()
		if left <= 0 {
			return 0
		}
		k := min(int64(n), left)
		if l.c.budget.CompareAndSwap(left, left-k) {
			return int(k)
		}
	}
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

// dial connects to the server; a Unix datagram client binds a path of its
// own so that it can be replied to. worker -1 is the probe.
func (l *load) dial(ctx context.Context, worker int) (net.Conn, error) {
	d := net.Dialer{Timeout: l.cfg.timeout}
	if l.cfg.network != "unixgram" {
		return d.DialContext(ctx, l.cfg.network, l.cfg.address)
	}
	dir, err := os.MkdirTemp("", "sockbench")
	if err != nil {
		return nil, err
	}
	laddr := &net.UnixAddr{Net: "unixgram", Name: filepath.Join(dir, fmt.Sprint(worker+1))}
	c, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Net: "unixgram", Name: l.cfg.address})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &unixgramClient{UnixConn: c, dir: dir}, nil
}

// unixgramClient removes its socket file when closed.
type unixgramClient struct {
	*net.UnixConn
	dir string
}

func (c *unixgramClient) Close() error {
	err := c.UnixConn.Close()
	os.RemoveAll(c.dir)
	return err
}

// over reports whether the run has ended. An I/O cut short by the end of
// the run is not an error; the network's deadline can fire a moment
// before the context's own timer marks it done, so the deadline is
// checked too.
func (l *load) over(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// A session is a worker's connection, made again after a failure.
type session struct {
	l  *load
	id int
	c  net.Conn
}

// conn returns the connection, dialing if there is none; nil once the
// run is over.
func (s *session) conn(ctx context.Context) net.Conn {
	if s.c == nil {
		s.c = s.l.redial(ctx, s.id)
	}
	return s.c
}

// drop closes the connection, if any, so that the next conn dials anew.
func (s *session) drop() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// redial connects, counting each failure and pausing 10ms before the
// next try, until it succeeds or the run is over (then it returns nil).
func (l *load) redial(ctx context.Context, id int) net.Conn {
	for {
		c, err := l.dial(ctx, id)
		if err == nil {
			return c
		}
		if l.over(ctx) {
			return nil
		}
		l.fail(err)
		sleepCtx(ctx, 10*time.Millisecond)
	}
}

// fail counts an I/O error, and the timeouts among them.
func (l *load) fail(err error) {
	l.c.errors.Add(1)
	msg := err.Error()
	l.c.firstErr.CompareAndSwap(nil, &msg)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		l.c.timeouts.Add(1)
	}
}

// pace waits for the open-loop send time of a connection's request seq and
// returns the time latency is measured from: the intended send time, or
// now for a closed loop.
func (l *load) pace(ctx context.Context, seq int) (time.Time, bool) {
	if l.perConnInterval == 0 {
		return time.Now(), true
	}
	intended := l.start.Add(time.Duration(seq) * l.perConnInterval)
	if wait := time.Until(intended); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
	return intended, true
}

// streamWorker does round trips of -pipeline requests on one persistent
// connection, reconnecting after an error.
func (l *load) streamWorker(ctx context.Context, id int) {
	size, depth := l.cfg.size, l.cfg.pipeline
	p := newPayloads(id, size)
	req := make([]byte, size*depth)
	reply := make([]byte, size*depth)
	seq := 0
	sess := session{l: l, id: id}
	defer sess.drop()
	for ctx.Err() == nil {
		c := sess.conn(ctx)
		if c == nil {
			return
		}
		k := l.take(depth)
		if k == 0 {
			return
		}
		for j := range k {
			copy(req[j*size:], p.next())
		}
		t0, ok := l.pace(ctx, seq)
		if !ok {
			return
		}
		seq++
		c.SetDeadline(time.Now().Add(l.cfg.timeout))
		n := k * size
		_, err := c.Write(req[:n])
		if err == nil {
			_, err = io.ReadFull(c, reply[:n])
		}
		if err != nil {
			if !l.over(ctx) {
				l.fail(err)
			}
			sess.drop()
			continue
		}
		d := time.Since(t0)
		for j := range k {
			if !bytes.Equal(reply[j*size:(j+1)*size], req[j*size:(j+1)*size]) {
				l.c.mismatches.Add(1)
				continue
			}
			l.c.requests.Add(1)
			l.lat.record(id, d)
		}
	}
}

// datagramWorker sends -pipeline datagrams and reads their replies, on a
// socket of its own; after a loss it starts a new socket so that a late
// reply cannot be taken for the next one.
func (l *load) datagramWorker(ctx context.Context, id int) {
	size, depth := l.cfg.size, l.cfg.pipeline
	p := newPayloads(id, size)
	sent := make([][]byte, depth)
	reply := make([]byte, size+1)
	seq := 0
	sess := session{l: l, id: id}
	defer sess.drop()
	for ctx.Err() == nil {
		c := sess.conn(ctx)
		if c == nil {
			return
		}
		k := l.take(depth)
		if k == 0 {
			return
		}
		t0, ok := l.pace(ctx, seq)
		if !ok {
			return
		}
		seq++
		c.SetDeadline(time.Now().Add(l.cfg.timeout))
		var err error
		for j := range k {
			sent[j] = p.next()
			if _, err = c.Write(sent[j]); err != nil {
				break
			}
		}
		// Datagrams may be answered out of order (a server may serve each
		// on a goroutine of its own): a reply matches any request of the
		// batch still outstanding.
		pending := sent[:k]
		for j := 0; j < k && err == nil; j++ {
			var n int
			if n, err = c.Read(reply); err != nil {
				break
			}
			if m := indexOf(pending, reply[:n]); m >= 0 {
				pending[m] = pending[len(pending)-1]
				pending = pending[:len(pending)-1]
				l.c.requests.Add(1)
				l.lat.record(id, time.Since(t0))
				continue
			}
			l.c.mismatches.Add(1)
		}
		if err != nil {
			if !l.over(ctx) {
				l.fail(err)
			}
			sess.drop()
		}
	}
}

// indexOf returns the index of the first element of list equal to p, or -1.
func indexOf(list [][]byte, p []byte) int {
	for i, q := range list {
		if bytes.Equal(q, p) {
			return i
		}
	}
	return -1
}

// churnWorker connects, sends one request, reads its reply and closes,
// again and again; with -rate, at its open-loop times, latency including
// the connect.
func (l *load) churnWorker(ctx context.Context, id int) {
	p := newPayloads(id, l.cfg.size)
	reply := make([]byte, l.cfg.size)
	for seq := 0; ctx.Err() == nil && l.take(1) == 1; seq++ {
		t0, ok := l.pace(ctx, seq)
		if !ok {
			return
		}
		c := l.redial(ctx, id)
		if c == nil {
			return
		}
		req := p.next()
		c.SetDeadline(time.Now().Add(l.cfg.timeout))
		_, err := c.Write(req)
		if err == nil {
			_, err = io.ReadFull(c, reply)
		}
		c.Close()
		switch {
		case err != nil:
			if !l.over(ctx) {
				l.fail(err)
			}
		case !bytes.Equal(reply, req):
			l.c.mismatches.Add(1)
		default:
			l.c.requests.Add(1)
			l.lat.record(id, time.Since(t0))
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// startProgress prints a progress line once a second if w is a terminal,
// and returns a function that stops it.
func startProgress(w io.Writer, c *counters, cfg *config) (stop func()) {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {} // a file or a pipe: no progress line
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		start, last := time.Now(), int64(0)
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-tick.C:
				n := c.requests.Load()
				fmt.Fprintf(w, "\r\033[K%s %s %4.0fs  %d requests  %.0f req/s  %d errors",
					cfg.url, cfg.mode, now.Sub(start).Seconds(), n, float64(n-last), c.errors.Load()+c.mismatches.Load())
				last = n
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
