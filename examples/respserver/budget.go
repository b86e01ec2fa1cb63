package main

import (
	"runtime/debug"
	"sync"
	"time"
)

// A budget bounds the memory that the partial requests of all clients hold
// together: input kept until a command is whole, and the arguments of a
// large command being assembled. It is Redis's maxmemory-clients for the
// part of a client's memory that a client controls: when a request would
// take the total past the limit, the clients holding the most are
// disconnected until it fits. Safe for concurrent use.
type budget struct {
	limit int64

	mu          sync.Mutex // guards the fields below
	total       int64
	holders     map[*holder]struct{} // those holding something
	evictions   int64
	freed       int64 // bytes given back since the last trim
	trimPending bool
	lastTrim    time.Time
}

// A holder is one client's account in a budget.
type holder struct {
	b     *budget
	evict func() // disconnects the client; must not block

	// Guarded by b.mu.
	n       int64 // bytes held
	evicted bool  // disconnected for the budget: it may hold nothing more
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit, holders: map[*holder]struct{}{}}
}

// newHolder opens an account; evict disconnects its client.
func (b *budget) newHolder(evict func()) *holder { return &holder{b: b, evict: evict} }

// set records that h holds n bytes. If that takes the budget past its
// limit, the holders of the most (h first among equals: it asked last)
// are evicted until it fits. It reports whether h may go on, that is, was
// not evicted, now or before.
func (h *holder) set(n int64) bool {
	b := h.b
	b.mu.Lock()
	if h.evicted {
		b.mu.Unlock()
		return false
	}
	grew := n > h.n
	b.total += n - h.n
	h.n = n
	if n > 0 {
		b.holders[h] = struct{}{}
	} else {
		delete(b.holders, h)
	}
	var victims []*holder
	for grew && b.total > b.limit {
		v := h
		for o := range b.holders {
			if o.n > v.n {
				v = o
			}
		}
		if v.n == 0 {
			break
		}
		v.evicted = true
		b.total -= v.n
		v.n = 0
		delete(b.holders, v)
		b.evictions++
		victims = append(victims, v)
	}
	ok := !h.evicted
	b.mu.Unlock()
	for _, v := range victims {
		if v != h {
			v.evict()
		}
	}
	return ok
}

// release closes h's account: its client is gone, and freed bytes of
// memory that it held are garbage now.
func (h *holder) release(freed int64) {
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total -= h.n
	h.n = 0
	delete(b.holders, h)
	b.freed += freed
	b.maybeTrimLocked()
}

// trimAt is how much must be given back before the memory is returned to
// the system, and trimEvery how often at most.
const (
	trimAt    = 32 << 20
	trimEvery = time.Second
)

// maybeTrimLocked returns the memory given back to the operating system
// once enough has been, at most once every trimEvery. Without it, Go
// would keep the heap grown by an attack for minutes (the next collection
// waits for the heap to double, and the scavenger returns pages slowly).
// b.mu must be held.
func (b *budget) maybeTrimLocked() {
	if b.freed < trimAt || b.trimPending {
		return
	}
	b.trimPending = true
	time.AfterFunc(time.Until(b.lastTrim.Add(trimEvery)), func() {
		// What is given back from now on waits for the next trim.
		b.mu.Lock()
		b.freed, b.trimPending, b.lastTrim = 0, false, time.Now()
		b.mu.Unlock()
		debug.FreeOSMemory()
	})
}

// held returns the bytes held in all, and the clients evicted so far.
func (b *budget) held() (total, evictions int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total, b.evictions
}
