package timewheel

import (
	"math/rand/v2"
	"testing"
	"time"
)

var epoch = time.Unix(1_700_000_000, 0)

func TestFiresInOrderWithinResolution(t *testing.T) {
	const res = 10 * time.Millisecond
	w := New[int](res, 64, epoch)
	rng := rand.New(rand.NewPCG(1, 2))
	timers := make([]Timer[int], 2000)
	want := make([]time.Time, len(timers))
	for i := range timers {
		timers[i].Value = i
		// Up to 5 turns of the wheel ahead, so parking is exercised.
		want[i] = epoch.Add(time.Duration(rng.Int64N(int64(5 * 64 * res))))
		w.Schedule(&timers[i], want[i])
	}
	if w.Len() != len(timers) {
		t.Fatalf("Len = %d, want %d", w.Len(), len(timers))
	}
	fired := make([]bool, len(timers))
	for now := epoch; w.Len() > 0; now = now.Add(time.Duration(rng.Int64N(int64(7 * res)))) {
		w.Advance(now, func(tm *Timer[int]) {
			i := tm.Value
			if fired[i] {
				t.Fatalf("timer %d fired twice", i)
			}
			fired[i] = true
			if now.Before(want[i]) {
				t.Fatalf("timer %d fired at %v, before its deadline %v", i, now, want[i])
			}
			if tm.Scheduled() {
				t.Fatalf("timer %d still scheduled while firing", i)
			}
		})
		// Every timer whose deadline is a whole resolution past has fired.
		for i := range timers {
			if !fired[i] && now.Sub(want[i]) >= res {
				t.Fatalf("timer %d due at %v not fired by %v", i, want[i], now)
			}
		}
	}
}

func TestStopAndReschedule(t *testing.T) {
	w := New[string](time.Millisecond, 8, epoch)
	var a, b, c Timer[string]
	a.Value, b.Value, c.Value = "a", "b", "c"
	w.Schedule(&a, epoch.Add(3*time.Millisecond))
	w.Schedule(&b, epoch.Add(3*time.Millisecond))
	w.Schedule(&c, epoch.Add(3*time.Millisecond))
	w.Stop(&b)
	w.Stop(&b) // no-op
	w.Schedule(&c, epoch.Add(100*time.Millisecond))
	var got []string
	w.Advance(epoch.Add(5*time.Millisecond), func(tm *Timer[string]) { got = append(got, tm.Value) })
	if len(got) != 1 || got[0] != "a" {
		t.Fatalf("fired %v, want [a]", got)
	}
	if !c.Scheduled() || b.Scheduled() || a.Scheduled() {
		t.Fatal("wrong Scheduled state after Advance")
	}
	if d := w.Deadline(&c); !d.Equal(epoch.Add(100 * time.Millisecond)) {
		t.Fatalf("Deadline = %v", d)
	}
	// A timer rescheduled from its own callback fires again later.
	n := 0
	w.Advance(epoch.Add(time.Second), func(tm *Timer[string]) {
		n++
		if n == 1 {
			w.Schedule(tm, epoch.Add(2*time.Second))
		}
	})
	if n != 1 || !c.Scheduled() {
		t.Fatalf("n=%d scheduled=%v", n, c.Scheduled())
	}
	w.Advance(epoch.Add(3*time.Second), func(*Timer[string]) { n++ })
	if n != 2 || w.Len() != 0 {
		t.Fatalf("n=%d len=%d", n, w.Len())
	}
	// A deadline in the past fires on the next tick.
	w.Schedule(&a, epoch)
	w.Advance(epoch.Add(3*time.Second+time.Millisecond), func(*Timer[string]) { n++ })
	if n != 3 {
		t.Fatalf("past deadline did not fire: n=%d", n)
	}
}

// A callback may stop, or schedule again, any timer, including those due
// in the same slot and not yet fired: a stopped one does not fire, one
// moved to the same slot waits for its next turn.
func TestCallbackStopsSlotMates(t *testing.T) {
	w := New[int](time.Millisecond, 8, epoch)
	timers := make([]Timer[int], 6)
	for i := range timers {
		timers[i].Value = i
		w.Schedule(&timers[i], epoch.Add(2*time.Millisecond))
	}
	var fired []int
	moved := 0
	w.Advance(epoch.Add(2*time.Millisecond), func(tm *Timer[int]) {
		fired = append(fired, tm.Value)
		for i := range timers {
			if i != tm.Value && timers[i].Scheduled() {
				if i%2 == 0 {
					w.Stop(&timers[i])
				} else {
					moved++
					w.Schedule(&timers[i], epoch.Add(10*time.Millisecond)) // the same slot, a turn later
				}
			}
		}
	})
	if len(fired) != 1 {
		t.Fatalf("fired %v, want one: the callback stopped or moved the others", fired)
	}
	if w.Len() != moved || moved == 0 {
		t.Fatalf("Len = %d, want the %d moved", w.Len(), moved)
	}
	fired = nil
	w.Advance(epoch.Add(10*time.Millisecond), func(tm *Timer[int]) { fired = append(fired, tm.Value) })
	if len(fired) != moved || w.Len() != 0 {
		t.Fatalf("a turn later fired %v, Len %d", fired, w.Len())
	}
}

func BenchmarkScheduleAdvance(b *testing.B) {
	w := New[int](10*time.Millisecond, 1024, epoch)
	timers := make([]Timer[int], 10000)
	now := epoch
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tm := &timers[i%len(timers)]
		w.Schedule(tm, now.Add(5*time.Second))
		if i%100 == 0 {
			now = now.Add(time.Millisecond)
			w.Advance(now, func(*Timer[int]) {})
		}
	}
}
