package socketserver

import (
	"sync/atomic"
	"time"
)

// Stats are a server's counters at one moment, from Server.Stats. A
// server in Fork mode adds what its children counted (bytes, requests
// they rejected); one in Prefork mode adds up its workers' counters.
type Stats struct {
	ActiveConns   int64 // stream connections being served now
	TotalConns    int64 // stream connections accepted
	ActivePackets int64 // datagram requests being served now
	TotalPackets  int64 // datagrams taken as requests
	Rejected      int64 // requests VerifyRequest refused
	OverLimit     int64 // connections closed at once for passing MaxConns
	OverIPLimit   int64 // connections closed at once for passing MaxConnsPerIP
	Errors        int64 // errors and panics reported to HandleError
	Truncated     int64 // datagrams dropped for exceeding MaxPacketSize
	Unserved      int64 // requests taken but not served: closed by Close or at Shutdown's deadline before their turn (datagrams still queued in the socket, connections waiting for a worker)
	BytesIn       int64 // bytes read from clients through Reader, and datagram bytes
	BytesOut      int64 // bytes written to clients through Writer and SendTo
	Durations     Durations
}

// Durations counts requests by how long they ran, from StateActive to
// StateClosed: every request of the modes that serve a Request, and in
// Event mode the connections for which one is made (with ConnState or
// VerifyRequest set).
type Durations struct {
	// Counts[i] is how many took at most Bound(i), and more than
	// Bound(i-1); the last counts those longer than every bound.
	Counts [DurationBuckets + 1]int64
	Sum    time.Duration // their total time
}

// DurationBuckets is the number of bounds of Durations: 100µs × 4^i, from
// 100µs to about 26s.
const DurationBuckets = 10

// Bound returns the upper bound of bucket i of Durations.
func (Durations) Bound(i int) time.Duration { return 100 * time.Microsecond << (2 * i) }

// Count is the number of requests timed.
func (d Durations) Count() int64 {
	var n int64
	for _, c := range d.Counts {
		n += c
	}
	return n
}

// counters are the live values behind Stats.
type counters struct {
	activeConns, totalConns     atomic.Int64
	activePackets, totalPackets atomic.Int64
	rejected, errors, truncated atomic.Int64
	unserved                    atomic.Int64
	overLimit, overIPLimit      atomic.Int64
	bytesIn, bytesOut           atomic.Int64
	durations                   [DurationBuckets + 1]atomic.Int64
	durationSum                 atomic.Int64 // nanoseconds
}

// observe counts a request that ran for d.
func (c *counters) observe(d time.Duration) {
	i := 0
	for i < DurationBuckets && d > (Durations{}).Bound(i) {
		i++
	}
	c.durations[i].Add(1)
	c.durationSum.Add(int64(d))
}

// snapshot reads the counters.
func (c *counters) snapshot() Stats {
	st := Stats{
		ActiveConns:   c.activeConns.Load(),
		TotalConns:    c.totalConns.Load(),
		ActivePackets: c.activePackets.Load(),
		TotalPackets:  c.totalPackets.Load(),
		Rejected:      c.rejected.Load(),
		OverLimit:     c.overLimit.Load(),
		OverIPLimit:   c.overIPLimit.Load(),
		Errors:        c.errors.Load(),
		Truncated:     c.truncated.Load(),
		Unserved:      c.unserved.Load(),
		BytesIn:       c.bytesIn.Load(),
		BytesOut:      c.bytesOut.Load(),
	}
	for i := range c.durations {
		st.Durations.Counts[i] = c.durations[i].Load()
	}
	st.Durations.Sum = time.Duration(c.durationSum.Load())
	return st
}

// Stats returns the server's counters, with those of its child processes
// (see Stats). It is safe to call at any time, from any goroutine.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	s.mu.Lock()
	sources := make([]statsSource, 0, len(s.statsFrom))
	for src := range s.statsFrom {
		sources = append(sources, src)
	}
	s.mu.Unlock()
	for _, src := range sources {
		st.add(src.stats())
	}
	return st
}

// A statsSource is counted in a Server's Stats: Prefork's workers.
type statsSource interface{ stats() Stats }

// countFrom adds a source of a server's Stats, for good.
func (s *Server) countFrom(src statsSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statsFrom == nil {
		s.statsFrom = make(map[statsSource]struct{})
	}
	s.statsFrom[src] = struct{}{}
}

// fields lists st's counters, in the order of the counters of a child's
// stats messages (see internal/forkwire): only ever appended to.
func (st *Stats) fields() []*int64 {
	f := []*int64{
		&st.ActiveConns, &st.TotalConns, &st.ActivePackets, &st.TotalPackets,
		&st.Rejected, &st.OverLimit, &st.OverIPLimit, &st.Errors, &st.Truncated,
		&st.Unserved, &st.BytesIn, &st.BytesOut, (*int64)(&st.Durations.Sum),
	}
	for i := range st.Durations.Counts {
		f = append(f, &st.Durations.Counts[i])
	}
	return f
}

// values returns st's counters in the order of fields.
func (st Stats) values() []int64 {
	f := st.fields()
	vals := make([]int64, len(f))
	for i, p := range f {
		vals[i] = *p
	}
	return vals
}

// setValues sets st's counters from vals, in the order of fields.
func (st *Stats) setValues(vals []int64) {
	for i, p := range st.fields() {
		if i < len(vals) {
			*p = vals[i]
		}
	}
}

// add adds o's counters to st's.
func (st *Stats) add(o Stats) {
	of := o.fields()
	for i, p := range st.fields() {
		*p += *of[i]
	}
}

// sub subtracts o's counters from st's.
func (st *Stats) sub(o Stats) {
	of := o.fields()
	for i, p := range st.fields() {
		*p -= *of[i]
	}
}
