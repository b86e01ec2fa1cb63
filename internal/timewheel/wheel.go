// Package timewheel is a hashed timing wheel: O(1) timers for very many
// connections, advanced by the event loop that owns it. It is not safe for
// concurrent use.
//
// Timers are intrusive (a Timer lives inside what it times), so
// scheduling allocates nothing. Deadlines beyond the wheel's span are
// parked in the farthest slot and moved on as the wheel turns, so any
// deadline can be scheduled. Timers fire at most one resolution late.
package timewheel

import "time"

// A Timer is an entry of a Wheel. Embed it (or keep it) in the value it
// times; Value is handed back when it fires. The zero Timer is not
// scheduled. It is 32 bytes with a pointer Value: it sits in every
// connection of an event loop.
type Timer[T any] struct {
	Value      T
	next, prev *Timer[T] // nil while not scheduled
	at         int64     // deadline, in ticks
}

// Scheduled reports whether t is waiting to fire.
func (t *Timer[T]) Scheduled() bool { return t.next != nil }

// A Wheel holds timers in slots of one resolution each.
type Wheel[T any] struct {
	res time.Duration
	// slots are the heads of circular doubly linked lists: a timer is
	// unlinked without knowing its slot.
	slots []Timer[T]
	// firing heads the timers of the slot Advance is firing.
	firing Timer[T]
	now    int64 // the last tick advanced to
	n      int   // timers scheduled
}

// New returns a wheel of the given resolution and number of slots, turned
// to now.
func New[T any](resolution time.Duration, slots int, now time.Time) *Wheel[T] {
	if resolution <= 0 || slots <= 0 {
		panic("timewheel: resolution and slots must be positive")
	}
	w := &Wheel[T]{res: resolution, slots: make([]Timer[T], slots), now: now.UnixNano() / int64(resolution)}
	for i := range w.slots {
		head := &w.slots[i]
		head.next, head.prev = head, head
	}
	return w
}

// Len returns the number of scheduled timers.
func (w *Wheel[T]) Len() int { return w.n }

// Resolution returns the wheel's tick.
func (w *Wheel[T]) Resolution() time.Duration { return w.res }

// Deadline returns when t fires, rounded up to the resolution, or the zero
// time if it is not scheduled.
func (w *Wheel[T]) Deadline(t *Timer[T]) time.Time {
	if !t.Scheduled() {
		return time.Time{}
	}
	return time.Unix(0, t.at*int64(w.res))
}

// Schedule sets t to fire at the first tick at or after at, moving it if
// it was already scheduled.
func (w *Wheel[T]) Schedule(t *Timer[T], at time.Time) {
	if t.Scheduled() {
		w.unlink(t)
	}
	res := int64(w.res)
	tick := (at.UnixNano() + res - 1) / res
	t.at = max(tick, w.now+1)
	w.link(t)
}

// Stop unschedules t. It does nothing if t is not scheduled.
func (w *Wheel[T]) Stop(t *Timer[T]) {
	if t.Scheduled() {
		w.unlink(t)
	}
}

// Advance turns the wheel to now and calls fire for every timer whose
// deadline has passed, after unscheduling it. fire may schedule and stop
// timers, including the one it was given.
func (w *Wheel[T]) Advance(now time.Time, fire func(*Timer[T])) {
	target := now.UnixNano() / int64(w.res)
	if target <= w.now {
		return
	}
	// Past a whole turn every slot is visited once.
	from := max(w.now+1, target-int64(len(w.slots))+1)
	w.now = target
	for tick := from; tick <= target && w.n > 0; tick++ {
		head := &w.slots[tick%int64(len(w.slots))]
		if head.next == head {
			continue
		}
		// Move the slot's timers to the firing list: fire may stop any of
		// them, or schedule timers into this slot, which wait for its
		// next turn.
		f := &w.firing
		f.next, f.prev = head.next, head.prev
		f.next.prev, f.prev.next = f, f
		head.next, head.prev = head, head
		for f.next != f {
			t := f.next
			w.unlink(t)
			if t.at <= target {
				fire(t)
			} else {
				w.link(t) // parked: move on to its own slot, or the farthest
			}
		}
	}
}

// link puts a timer in the slot of its deadline, or, if the deadline lies
// beyond one turn, in the farthest slot.
func (w *Wheel[T]) link(t *Timer[T]) {
	tick := min(t.at, w.now+int64(len(w.slots))-1)
	head := &w.slots[tick%int64(len(w.slots))]
	t.prev, t.next = head, head.next
	head.next.prev = t
	head.next = t
	w.n++
}

func (w *Wheel[T]) unlink(t *Timer[T]) {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
	w.n--
}
