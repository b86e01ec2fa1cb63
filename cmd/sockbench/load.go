package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	requests   atomic.Int64 // replies received, and right where checked
	errors     atomic.Int64 // requests and connects lost, timeouts included
	timeouts   atomic.Int64 // requests unanswered after -timeout or at the end of the run
	mismatches atomic.Int64 // replies that differ from the expected one
	sent       atomic.Int64 // bytes
	received   atomic.Int64 // bytes
	budget     atomic.Int64 // requests left to send, with -n
	firstErr   atomic.Pointer[string]
	// firstMismatch shows the first wrong reply beside the expected one.
	firstMismatch atomic.Pointer[string]
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
	cfg    *config
	c      counters
	lat    *latencies
	spread bool // churn connections come from many source addresses
	start  time.Time
	// sendEnd is when -d ends and no request is sent any more; hardEnd,
	// a little later, is when the replies still in flight stop being
	// waited for. Both are zero for a run of -n requests without -d.
	sendEnd, hardEnd time.Time
	// perConnInterval is the open-loop interval between one connection's
	// requests, zero for a closed loop.
	perConnInterval time.Duration
	sources         atomic.Int64 // churn connections made, to rotate source addresses
}

// drain is how long the replies in flight at the end of -d are waited
// for: a tenth of -d, at least 100ms, at most -timeout.
func (cfg *config) drain() time.Duration {
	return min(max(cfg.duration/10, 100*time.Millisecond), cfg.timeout)
}

// runLoad runs echo or churn workers until -d has passed (and the replies
// in flight have come or their time is up), -n requests are done, or ctx
// is cancelled, which cuts every exchange short at once.
func runLoad(ctx context.Context, cfg *config, progress io.Writer) (*result, error) {
	l := &load{cfg: cfg, lat: newLatencies(min(cfg.conns, 32))}
	l.spread = cfg.mode == "churn" && spreadsSource(cfg.network, cfg.address)
	if cfg.requests > 0 {
		l.c.budget.Store(cfg.requests)
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
	if cfg.duration > 0 {
		l.sendEnd = l.start.Add(cfg.duration)
		l.hardEnd = l.sendEnd.Add(cfg.drain())
	}
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

// sending reports whether new requests may still be sent.
func (l *load) sending(ctx context.Context) bool {
	return ctx.Err() == nil && (l.sendEnd.IsZero() || time.Now().Before(l.sendEnd))
}

// deadline is the time by which the reply to a request sent now must
// have come: after -timeout, and no later than the end of the run.
func (l *load) deadline() time.Time {
	d := time.Now().Add(l.cfg.timeout)
	if !l.hardEnd.IsZero() && l.hardEnd.Before(d) {
		return l.hardEnd
	}
	return d
}

// take reserves up to n requests of the -n budget; without -n it grants n.
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

// dial connects to the server, by the end of the run at the latest; a
// churn connection to loopback comes from the next source address; a
// Unix datagram client binds a path of its own so that it can be replied
// to. worker -1 is the probe.
func (l *load) dial(ctx context.Context, worker int) (net.Conn, error) {
	if l.cfg.network == "unixgram" {
		return dialUnixgram(l.cfg.address, worker)
	}
	var d *net.Dialer
	if l.spread {
		d = dialerFrom(true, int(l.sources.Add(1)), l.cfg.timeout)
	} else {
		d = dialerFrom(false, 0, l.cfg.timeout)
	}
	d.Deadline = l.hardEnd
	return d.DialContext(ctx, l.cfg.network, l.cfg.address)
}

func dialUnixgram(address string, worker int) (net.Conn, error) {
	dir, err := os.MkdirTemp("", "sockbench")
	if err != nil {
		return nil, err
	}
	laddr := &net.UnixAddr{Net: "unixgram", Name: filepath.Join(dir, fmt.Sprint(worker+1))}
	c, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Net: "unixgram", Name: address})
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

// A session is a worker's connection, made again after a failure. If
// the run is cut short, the connection's I/O is cut short too.
type session struct {
	l    *load
	id   int
	c    net.Conn
	stop func() bool // unregisters the cut-short hook
}

// conn returns the connection, dialing if there is none; nil once the
// run is over.
func (s *session) conn(ctx context.Context) net.Conn {
	if s.c != nil {
		return s.c
	}
	c := s.l.redial(ctx, s.id)
	if c == nil {
		return nil
	}
	s.c = c
	s.stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return c
}

// arm sets the connection's deadline. A deadline set just as ctx is
// cancelled could undo the hook's: the check after it makes the cut stick.
func (s *session) arm(ctx context.Context, deadline time.Time) {
	s.c.SetDeadline(deadline)
	if ctx.Err() != nil {
		s.c.SetDeadline(time.Unix(1, 0))
	}
}

// drop closes the connection, if any, so that the next conn dials anew.
func (s *session) drop() {
	if s.c != nil {
		s.stop()
		s.c.Close()
		s.c = nil
	}
}

// redial connects, counting each failure and pausing 10ms before the
// next try, until it succeeds or no request may be sent any more (then
// it returns nil).
func (l *load) redial(ctx context.Context, id int) net.Conn {
	for l.sending(ctx) {
		c, err := l.dial(ctx, id)
		if err == nil {
			return c
		}
		l.fail(ctx, err, 1, time.Time{})
		sleepCtx(ctx, 10*time.Millisecond)
	}
	return nil
}

// fail counts n requests (or a connect) lost to err, and whether they
// timed out: unanswered when the run ended counts as a timeout too.
// Nothing is counted once ctx is cancelled: the run was interrupted.
// deadline is the one the lost exchange had, zero for a connect.
func (l *load) fail(ctx context.Context, err error, n int, deadline time.Time) {
	if ctx.Err() != nil || n == 0 {
		return
	}
	l.c.errors.Add(int64(n))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		l.c.timeouts.Add(int64(n))
		switch {
		case !deadline.IsZero() && deadline.Equal(l.hardEnd):
			err = fmt.Errorf("no reply by the end of the run (-d %v, then %v for the replies in flight)", l.cfg.duration, l.cfg.drain())
		case !deadline.IsZero():
			err = fmt.Errorf("no reply within -timeout %v", l.cfg.timeout)
		}
	}
	msg := err.Error()
	l.c.firstErr.CompareAndSwap(nil, &msg)
}

// judge counts a reply: right (or not checked), with its latency, or a
// mismatch.
func (l *load) judge(id int, ok bool, t0 time.Time, got, want []byte) {
	if ok {
		l.c.requests.Add(1)
		l.lat.record(id, time.Since(t0))
		return
	}
	l.c.mismatches.Add(1)
	if l.c.firstMismatch.Load() == nil {
		msg := fmt.Sprintf(`got "%s", want "%s"`, excerpt(got), excerpt(want))
		l.c.firstMismatch.CompareAndSwap(nil, &msg)
	}
}

// pace waits for the open-loop send time of a connection's request seq and
// returns the time latency is measured from: the intended send time, or
// now for a closed loop. It returns false if that time is past the end of
// -d, or the run is cut short.
func (l *load) pace(ctx context.Context, seq int) (time.Time, bool) {
	if l.perConnInterval == 0 {
		return time.Now(), true
	}
	intended := l.start.Add(time.Duration(seq) * l.perConnInterval)
	if !l.sendEnd.IsZero() && !intended.Before(l.sendEnd) {
		return time.Time{}, false
	}
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

// A batch is the requests a worker sends before reading their replies.
type batch struct {
	out   []byte   // the requests, back to back
	wants [][]byte // each one's expected reply, nil if not checked
}

func (b *batch) fill(src *source, k int) {
	b.out, b.wants = b.out[:0], b.wants[:0]
	for range k {
		req, want := src.next()
		b.out = append(b.out, req...)
		b.wants = append(b.wants, want)
	}
}

// streamWorker does round trips of -pipeline requests on one persistent
// connection, reconnecting after an error.
func (l *load) streamWorker(ctx context.Context, id int) {
	src := newSource(l.cfg, id)
	rr := newReplyReader(l.cfg.framing, &l.c.received)
	var b batch
	sess := session{l: l, id: id}
	defer sess.drop()
	for seq := 0; l.sending(ctx); seq++ {
		if sess.c == nil {
			src.restart() // a new connection starts from the first pair
		}
		c := sess.conn(ctx)
		if c == nil {
			return
		}
		t0, ok := l.pace(ctx, seq)
		if !ok {
			return
		}
		k := l.take(l.cfg.pipeline)
		if k == 0 {
			return
		}
		b.fill(src, k)
		deadline := l.deadline()
		sess.arm(ctx, deadline)
		_, err := c.Write(b.out)
		done := 0
		if err == nil {
			l.c.sent.Add(int64(len(b.out)))
			done, err = rr.read(c, b.wants, func(ok bool, got, want []byte) { l.judge(id, ok, t0, got, want) })
		}
		if err != nil {
			l.fail(ctx, err, k-done, deadline)
			sess.drop()
		}
	}
}

// datagramWorker sends -pipeline datagrams and reads their replies, on a
// socket of its own; after a loss it starts a new socket so that a late
// reply cannot be taken for the next one.
func (l *load) datagramWorker(ctx context.Context, id int) {
	src := newSource(l.cfg, id)
	reply := make([]byte, 64<<10+1)
	var b batch
	reqs := make([][]byte, 0, l.cfg.pipeline)
	sess := session{l: l, id: id}
	defer sess.drop()
	for seq := 0; l.sending(ctx); seq++ {
		if sess.c == nil {
			src.restart() // a new connection starts from the first pair
		}
		c := sess.conn(ctx)
		if c == nil {
			return
		}
		t0, ok := l.pace(ctx, seq)
		if !ok {
			return
		}
		k := l.take(l.cfg.pipeline)
		if k == 0 {
			return
		}
		b.out, b.wants, reqs = b.out[:0], b.wants[:0], reqs[:0]
		for range k {
			req, want := src.next()
			reqs = append(reqs, req)
			b.wants = append(b.wants, want)
		}
		deadline := l.deadline()
		sess.arm(ctx, deadline)
		var err error
		for _, req := range reqs {
			if _, err = c.Write(req); err != nil {
				break
			}
			l.c.sent.Add(int64(len(req)))
		}
		// Datagrams may be answered out of order (a server may serve each
		// on a goroutine of its own): a reply matches any expected reply
		// of the batch still outstanding.
		pending, done := b.wants, 0
		for ; done < k && err == nil; done++ {
			var n int
			if n, err = c.Read(reply); err != nil {
				break
			}
			l.c.received.Add(int64(n))
			m := matchDatagram(pending, reply[:n])
			if m < 0 {
				l.judge(id, false, t0, reply[:n], pending[0])
				continue
			}
			want := pending[m]
			pending[m] = pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			l.judge(id, true, t0, reply[:n], want)
		}
		if err != nil {
			l.fail(ctx, err, k-done, deadline)
			sess.drop()
		}
	}
}

// matchDatagram returns the index in pending of the expected reply p is:
// an equal one, or else one not checked; -1 if none.
func matchDatagram(pending [][]byte, p []byte) int {
	unchecked := -1
	for i, want := range pending {
		if want == nil {
			unchecked = i
		} else if string(want) == string(p) {
			return i
		}
	}
	return unchecked
}

// churnWorker connects, sends one request, reads its reply and closes,
// again and again; with -rate, at its open-loop times, latency including
// the connect.
func (l *load) churnWorker(ctx context.Context, id int) {
	src := newSource(l.cfg, id)
	rr := newReplyReader(l.cfg.framing, &l.c.received)
	wants := make([][]byte, 1)
	for seq := 0; l.sending(ctx); seq++ {
		t0, ok := l.pace(ctx, seq)
		if !ok || l.take(1) == 0 {
			return
		}
		sess := session{l: l, id: id}
		c := sess.conn(ctx)
		if c == nil {
			return
		}
		var req []byte
		req, wants[0] = src.next()
		deadline := l.deadline()
		sess.arm(ctx, deadline)
		var err error
		if len(req) > 0 {
			if _, err = c.Write(req); err == nil {
				l.c.sent.Add(int64(len(req)))
			}
		}
		done := 0
		if err == nil {
			done, err = rr.read(c, wants, func(ok bool, got, want []byte) { l.judge(id, ok, t0, got, want) })
		}
		sess.drop()
		if err != nil {
			l.fail(ctx, err, 1-done, deadline)
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
