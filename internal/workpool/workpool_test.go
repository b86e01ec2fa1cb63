package workpool

import (
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every value submitted before Stop is served, by at most workers
// goroutines at once; none after.
func TestServesEverythingWithBoundedWorkers(t *testing.T) {
	var running, most, served atomic.Int64
	release := make(chan struct{})
	p := New(3, 2, func(int) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		served.Add(1)
	}, false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if !p.Submit(i) {
				t.Error("Submit refused before Stop")
			}
		})
	}
	close(release)
	wg.Wait()
	p.Stop()
	if served.Load() != 20 || most.Load() > 3 {
		t.Errorf("served %d (want 20), at most %d at once (want <= 3)", served.Load(), most.Load())
	}
	if p.Submit(1) {
		t.Error("Submit accepted after Stop")
	}
}

// A pool never submitted to starts nothing, and stops at once.
func TestLazyPoolStartsNothing(t *testing.T) {
	p := New(4, 4, func(int) { t.Error("served") }, false)
	p.Stop()
}
