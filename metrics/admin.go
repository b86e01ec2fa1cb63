package metrics

import (
	"io"
	"net/http"
	"sync/atomic"
)

// Admin is the admin endpoint's handler:
//
//   - /metrics: the metrics handler's answer: a Registry, or
//     client_golang's promhttp.HandlerFor for a program whose metrics are
//     in a client_golang registry;
//   - /healthz: 200 while the process runs (liveness);
//   - /readyz: 200 while the servers take requests, 503 from the moment
//     SetReady(false) is called, which a program does as its shutdown
//     begins, so that load balancers and Kubernetes stop sending before
//     the servers drain.
//
// A new Admin is ready.
type Admin struct {
	mux      *http.ServeMux
	draining atomic.Bool
}

// NewAdmin returns an admin handler serving metrics at /metrics.
func NewAdmin(metrics http.Handler) *Admin {
	a := &Admin{mux: http.NewServeMux()}
	a.mux.Handle("GET /metrics", metrics)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if a.draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return a
}

// SetReady sets what /readyz answers.
func (a *Admin) SetReady(ready bool) { a.draining.Store(!ready) }

// ServeHTTP serves the admin endpoints.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }
