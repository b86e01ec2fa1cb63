package socketserver

import (
	"sync"
	"time"
)

// startServiceActions runs ServiceActions every ServiceInterval until the
// server shuts down or the returned stop function is called; stop waits
// for the goroutine to end.
func (s *Server) startServiceActions() (stop func()) {
	if s.ServiceActions == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.serviceInterval())
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.ServiceActions()
			case <-quit:
				return
			case <-s.done:
				return
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}
