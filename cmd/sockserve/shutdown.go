package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Why a shutdown closed connections still open: the cause of its
// context.
var (
	errForced       = errors.New("forced by a second signal")
	errGraceExpired = errors.New("the grace period expired")
)

// serve serves every socket until a stop signal, a new process taking
// over, or a server failing; then it shuts them all down.
func (f *fleet) serve(stop *stopSignals) error {
	served := make(chan error, len(f.members))
	for _, m := range f.members {
		go func() { served <- m.serve() }()
	}
	if f.admin != nil {
		f.admin.start(f.logger)
	}
	if f.restart != nil {
		if err := f.restart.ready(); err != nil {
			f.logger.Error("sockserve: telling the previous process to go", "err", err)
		}
	}

	var failure error
	running := len(f.members)
	signalled := false
	select {
	case <-f.restart.exit():
		f.logger.Info("sockserve: a new process took over; shutting down", "grace", f.cfg.grace)
	case sig := <-stop.ch:
		f.logger.Info("sockserve: shutting down", "signal", sig.String(), "grace", f.cfg.grace)
		signalled = true
	case err := <-served:
		failure = err // a server failed: stop the others too
		running--
	}
	// From here on, a stop signal closes everything at once.
	cut := newCutter(f)
	defer cut.stop()
	go func() {
		select {
		case sig := <-stop.ch:
			f.logger.Warn("sockserve: second signal: closing every connection now", "signal", sig.String())
			cut.cut(fmt.Errorf("%w (%v)", errForced, sig))
		case <-cut.ctx.Done():
		}
	}()
	if signalled {
		f.drain(cut.ctx)
	}
	if err := f.shutdown(cut); err != nil && failure == nil {
		failure = err
	}
	for range running { // each server has cleaned up: socket files removed
		<-served
	}
	return failure
}

// A cutter ends a graceful shutdown: its context is done, with the cause,
// once the grace period expires or a second signal comes. It counts the
// requests being served just before, to say how many were cut.
type cutter struct {
	f      *fleet
	ctx    context.Context
	cancel context.CancelCauseFunc
	once   sync.Once
	open   string // what was being served when cut; written once, in once
}

func newCutter(f *fleet) *cutter {
	c := &cutter{f: f}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

// cut ends the shutdown, for cause; only the first call counts.
func (c *cutter) cut(cause error) {
	c.once.Do(func() {
		c.open = c.f.openRequests()
		c.cancel(cause)
	})
}

// stop releases the context; a later cut does nothing.
func (c *cutter) stop() { c.cut(context.Canceled) }

// drain turns /readyz not ready and, with -drain-delay, serves on while
// load balancers notice, unless cut first.
func (f *fleet) drain(cut context.Context) {
	if f.admin == nil {
		return
	}
	f.admin.admin.SetReady(false)
	if f.cfg.drainDelay > 0 {
		f.logger.Info("sockserve: not ready; serving on while balancers notice", "drain_delay", f.cfg.drainDelay)
		t := time.NewTimer(f.cfg.drainDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-cut.Done():
		}
	}
}

// shutdown shuts every server down at once, within -grace, unless cut
// sooner. If requests were still being served then, it says why they were
// cut, and how many there were.
func (f *fleet) shutdown(cut *cutter) error {
	start := time.Now()
	grace := time.AfterFunc(f.cfg.grace, func() { cut.cut(errGraceExpired) })
	defer grace.Stop()
	if f.program != nil { // programs get SIGTERM now, SIGKILL at the cut
		f.program.terminate()
		stop := context.AfterFunc(cut.ctx, f.program.kill)
		defer stop()
	}
	errs := make(chan error, len(f.members))
	for _, m := range f.members {
		go func() { errs <- m.srv.Shutdown(cut.ctx) }()
	}
	var err error
	for range f.members {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err == nil {
		return nil
	}
	cut.stop() // waits for a cut under way: its count is then ours to read
	switch cause := context.Cause(cut.ctx); {
	case errors.Is(cause, errForced):
		return fmt.Errorf("shutdown %v after %v: %s cut", cause, time.Since(start).Round(time.Millisecond), cut.open)
	case errors.Is(cause, errGraceExpired):
		return fmt.Errorf("shutdown did not finish within the grace period (-grace %v): %s cut", f.cfg.grace, cut.open)
	}
	return fmt.Errorf("shutdown: %w", err)
}

// openRequests says how many requests the servers are serving.
func (f *fleet) openRequests() string {
	var conns, packets int64
	for _, m := range f.members {
		st := m.srv.Stats()
		conns += st.ActiveConns
		packets += st.ActivePackets
	}
	s := plural(conns, "connection")
	if packets > 0 {
		s += " and " + plural(packets, "datagram")
	}
	return s
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
