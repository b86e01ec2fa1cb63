package socketserver

import "sync/atomic"

// A packetReader is a dispatcher that reads a datagram socket itself,
// rather than being handed each request by the serving loop.
type packetReader interface {
	// readPackets serves l's datagram socket until serving ends, and
	// returns why, as readLoop does.
	readPackets(l *loop) error
}

// A packetGroup serves a datagram socket in Goroutine mode, leader and
// followers: the goroutine that read a datagram serves it itself, with no
// goroutine started and no hand-off of the request, while another takes
// over the reading. A handler that takes its time does not hold up the
// datagrams behind it, as with a goroutine per request.
//
// The reader's role is taken with a compare-and-swap. The reader gives it
// up as it starts serving, and arms a follower: it wakes a parked
// goroutine, or starts one, unless one armed before has not tried for the
// role yet. Whoever finishes serving first reads next: on a busy socket
// with quick handlers the reader takes its role back before the follower
// has even run, and a datagram costs two atomic operations more than a
// plain ReadFrom/WriteTo loop's. A follower that finds the role taken
// waits parked, for the next reader to arm it, unless one waits already:
// then it exits. So the group is the reader and one follower while the
// handlers are quick, and grows by one goroutine for each handler that
// blocks, as far as they need.
type packetGroup struct {
	l  *loop
	d  *goroutineDispatcher
	rs readState // the reader's: guarded by role

	role   atomic.Bool   // a goroutine holds the reader's role
	armed  atomic.Bool   // a goroutine woken or started for the role has not tried for it yet
	parked atomic.Int32  // goroutines in park, or on their way there
	wake   chan struct{} // capacity 1: a parked goroutine's wake-up
	done   chan struct{} // closed when serving ends
	err    error         // why serving ended: written before done is closed
}

func (d *goroutineDispatcher) readPackets(l *loop) error {
	g := &packetGroup{l: l, d: d, wake: make(chan struct{}, 1), done: make(chan struct{})}
	g.role.Store(true) // the first goroutine starts as the reader
	g.start(true)
	<-g.done
	return g.err
}

// start starts a goroutine of the group, as the reader if lead (it holds
// the role already). Goroutine mode waits for it (it serves requests)
// unless Daemon.
func (g *packetGroup) start(lead bool) {
	f := func() { g.work(lead) }
	if g.d.isDaemon {
		go f()
		return
	}
	g.d.wg.Go(f)
}

// work reads and serves datagrams, taking turns with the group's other
// goroutines, until serving ends.
func (g *packetGroup) work(lead bool) {
	woken := !lead // started by arm
	// The buffer of the datagram this goroutine reads and serves, from
	// the pool: goroutines come and go as handlers block.
	pools := &g.l.s.pools
	own := pools.getPacket(g.l.s.maxPacketSize() + 1)
	defer pools.putPacket(own)
	for {
		if !lead && !g.take(woken) {
			return
		}
		r, err := g.l.next(&g.rs, *own)
		if err != nil {
			// The role is kept: nobody reads any more.
			g.err = err
			close(g.done)
			return
		}
		g.role.Store(false)
		g.arm()
		g.l.s.serveRequest(r)
		lead, woken = g.role.CompareAndSwap(false, true), false
	}
}

// take waits until this goroutine holds the reader's role. A goroutine
// armed for it (woken) tries at once; one that just served has found the
// role taken, and parks first. It returns false once serving has ended,
// or when enough goroutines wait already.
func (g *packetGroup) take(woken bool) bool {
	for {
		if woken {
			// Disarmed before trying: a reader that gives up its role
			// after this arms another.
			g.armed.Store(false)
			if g.role.CompareAndSwap(false, true) {
				return true
			}
		}
		if !g.park() {
			return false
		}
		woken = true
	}
}

// arm makes sure that a goroutine will try for the role the caller has
// just given up.
func (g *packetGroup) arm() {
	if g.armed.Swap(true) {
		return // one armed before has yet to try
	}
	if g.parked.Load() > 0 {
		select {
		case g.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
		return
	}
	g.start(false)
}

// park waits to be armed. It returns false once serving has ended, or if
// another goroutine waits already (this one exits).
func (g *packetGroup) park() bool {
	if g.parked.Add(1) > 1 {
		g.parked.Add(-1)
		return false
	}
	defer g.parked.Add(-1)
	select {
	case <-g.wake:
		return true
	case <-g.done:
		return false
	}
}
