// Package workpool runs values through a function on a fixed number of
// goroutines, fed by a bounded queue: Pool mode's workers and Event mode's
// workers for EventConn.Go are both one.
package workpool

import "sync"

// A Pool hands each value submitted to one of its workers. Its zero value
// is not usable; make one with New.
type Pool[T any] struct {
	workers int
	queue   int
	serve   func(T)

	mu      sync.RWMutex // held for reading while submitting, for writing to start or stop
	ch      chan T       // nil until started
	stopped bool
	wg      sync.WaitGroup
}

// New returns a pool of workers goroutines (at least one) calling serve,
// with room for queue values waiting (none: a hand-off to an idle
// worker). The workers start on the first Submit, or at once if eager.
func New[T any](workers, queue int, serve func(T), eager bool) *Pool[T] {
	p := &Pool[T]{workers: max(workers, 1), queue: max(queue, 0), serve: serve}
	if eager {
		p.start()
	}
	return p
}

// Submit queues v for a worker, blocking while every worker is busy and
// the queue is full. It returns false, without queueing v, once the pool
// is stopped. Safe from any goroutine.
func (p *Pool[T]) Submit(v T) bool {
	p.mu.RLock()
	if p.ch == nil && !p.stopped {
		p.mu.RUnlock()
		p.start()
		p.mu.RLock()
	}
	defer p.mu.RUnlock()
	if p.stopped {
		return false
	}
	p.ch <- v
	return true
}

func (p *Pool[T]) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil || p.stopped {
		return
	}
	p.ch = make(chan T, p.queue)
	p.wg.Add(p.workers)
	for range p.workers {
		go p.work(p.ch)
	}
}

// work is a worker: it serves values until ch is closed. A frame of its
// own (not WaitGroup.Go's two around a closure) keeps what a worker adds
// under serve small: Pool mode's handler blocked in a read stays within a
// 2 KiB stack.
func (p *Pool[T]) work(ch <-chan T) {
	defer p.wg.Done()
	for v := range ch {
		p.serve(v)
	}
}

// Stop refuses further values, lets the workers serve what is queued, and
// waits for them to return. A Submit blocked on a full queue when Stop is
// called is served too.
func (p *Pool[T]) Stop() {
	p.mu.Lock()
	p.stopped = true
	if p.ch != nil {
		close(p.ch)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
