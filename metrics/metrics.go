// Package metrics exports socketserver.Server counters in Prometheus's
// text format and serves an admin endpoint with /metrics, /healthz and
// /readyz.
//
// It writes the format itself and depends on nothing beyond the standard
// library: in Fork mode every child starts the whole program again, and
// client_golang's packages cost each one about a millisecond to start. A
// program that keeps its metrics in a client_golang registry exports a
// Server there with package metrics/prom instead.
//
// Instrument reads Server.Stats when scraped (counters and request
// durations, those of a Fork server's children and a Prefork server's
// workers included), and classifies errors through the HandleError hook,
// which it wraps (hooks set before Instrument still run).
//
//	reg := metrics.NewRegistry()
//	metrics.Instrument(srv, reg, "echo")
//	admin := metrics.NewAdmin(reg)
//	go http.ListenAndServe("127.0.0.1:9100", admin)
//	...
//	admin.SetReady(false) // shutting down: balancers stop sending
//	srv.Shutdown(ctx)
package metrics

import (
	"fmt"
	"sync/atomic"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/metrics/internal/family"
)

// An instrumented is a server a Registry reports.
type instrumented struct {
	srv    *socketserver.Server
	name   string
	errors [len(family.ErrorKinds)]atomic.Uint64
}

// Instrument adds srv's metrics to reg, with a "server" label of name,
// and installs the hooks that time requests and count errors. Call it
// before srv serves. Each server of a registry needs a name of its own.
func Instrument(srv *socketserver.Server, reg *Registry, name string) error {
	in := &instrumented{srv: srv, name: name}
	reg.mu.Lock()
	for _, other := range reg.servers {
		if other.name == name {
			reg.mu.Unlock()
			return fmt.Errorf("metrics: a server named %q is already instrumented", name)
		}
	}
	reg.servers = append(reg.servers, in)
	reg.mu.Unlock()
	family.Hook(srv, func(kind int) { in.errors[kind].Add(1) })
	return nil
}

// writeServers writes the servers' metrics, family by family.
func writeServers(w *textWriter, servers []*instrumented) {
	if len(servers) == 0 {
		return
	}
	stats := make([]socketserver.Stats, len(servers))
	for i, in := range servers {
		stats[i] = in.srv.Stats()
	}
	for i, st := range family.Stats {
		if i == 0 || family.Stats[i-1].Name != st.Name {
			w.header(family.Prefix+st.Name, st.Help, kindOf(st.Counter))
		}
		for j, in := range servers {
			if st.Reason != "" {
				w.sample(family.Prefix+st.Name, st.Value(stats[j]), "reason", st.Reason, family.ServerLabel, in.name)
			} else {
				w.sample(family.Prefix+st.Name, st.Value(stats[j]), family.ServerLabel, in.name)
			}
		}
	}
	w.header(family.Prefix+family.Children, family.ChildrenHelp, "gauge")
	for _, in := range servers {
		w.sample(family.Prefix+family.Children, float64(len(in.srv.ChildPIDs())), family.ServerLabel, in.name)
	}
	name := family.Prefix + family.Duration
	w.header(name, family.DurationHelp, "histogram")
	for j, in := range servers {
		d := stats[j].Durations
		bounds, counts := family.Buckets(d)
		for i, b := range bounds {
			w.sample(name+"_bucket", float64(counts[i]), family.ServerLabel, in.name, "le", formatFloat(b))
		}
		w.sample(name+"_bucket", float64(d.Count()), family.ServerLabel, in.name, "le", "+Inf")
		w.sample(name+"_sum", d.Sum.Seconds(), family.ServerLabel, in.name)
		w.sample(name+"_count", float64(d.Count()), family.ServerLabel, in.name)
	}
	w.header(family.Prefix+family.Errors, family.ErrorsHelp, "counter")
	for _, in := range servers {
		for k, kind := range family.ErrorKinds {
			w.sample(family.Prefix+family.Errors, float64(in.errors[k].Load()), "kind", kind, family.ServerLabel, in.name)
		}
	}
}

func kindOf(counter bool) string {
	if counter {
		return "counter"
	}
	return "gauge"
}
