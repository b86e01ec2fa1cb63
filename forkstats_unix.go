//go:build unix

package socketserver

import (
	"sync"
	"time"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// How often a child process sends its counters while they change: a Fork
// child serving a long request, a Prefork worker always. A Fork child
// also sends them with each Done, and a worker as it exits.
const (
	childStatsEvery  = time.Second
	workerStatsEvery = 200 * time.Millisecond
)

// A statsPusher sends a child process's counters to its server.
type statsPusher struct {
	s     *Server
	ci    *childInfo
	every time.Duration

	mu     sync.Mutex // guards the fields below
	last   Stats      // as last sent
	timer  *time.Timer
	active bool
}

func newStatsPusher(s *Server, ci *childInfo, every time.Duration) *statsPusher {
	return &statsPusher{s: s, ci: ci, every: every}
}

// push sends the counters, in a message of kind (forkwire.MsgStats, sent
// only if they changed, or MsgDone).
func (p *statsPusher) push(kind byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.s.stats.snapshot()
	if kind == forkwire.MsgStats && st == p.last {
		return nil
	}
	p.last = st
	return p.ci.send(forkwire.Stats(kind, st.values()))
}

// start sends the counters every p.every, until stop.
func (p *statsPusher) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active = true
	if p.timer == nil {
		p.timer = time.AfterFunc(p.every, p.tick)
		return
	}
	p.timer.Reset(p.every)
}

func (p *statsPusher) tick() {
	p.push(forkwire.MsgStats)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active {
		p.timer.Reset(p.every)
	}
}

func (p *statsPusher) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active = false
	if p.timer != nil {
		p.timer.Stop()
	}
}

// decodeStats parses a child's counters.
func decodeStats(msg []byte) (Stats, error) {
	var st Stats
	vals := make([]int64, len(st.fields()))
	if _, err := forkwire.DecodeStats(msg, vals); err != nil {
		return Stats{}, err
	}
	st.setValues(vals)
	return st, nil
}

// mergeChild adds to s's counters what a Fork child counted since prev,
// and only what the server cannot count itself: the child's bytes, the
// requests it rejected (with WrapConn, it verifies them) or could not
// serve. The server counts connections, durations, limits and errors
// (the child reports each error) on its side.
func (s *Server) mergeChild(prev *Stats, now Stats) {
	s.stats.bytesIn.Add(now.BytesIn - prev.BytesIn)
	s.stats.bytesOut.Add(now.BytesOut - prev.BytesOut)
	s.stats.rejected.Add(now.Rejected - prev.Rejected)
	s.stats.unserved.Add(now.Unserved - prev.Unserved)
	*prev = now
}
