// Package metrics exports a socketserver.Server's counters to Prometheus
// and serves an admin endpoint with /metrics, /healthz and /readyz.
//
// The Server's own package does not depend on Prometheus: this package
// reads Server.Stats when scraped (counters and request durations, those
// of a Fork server's children and a Prefork server's workers included),
// and classifies errors through the HandleError hook, which it wraps
// (hooks set before Instrument still run).
//
//	reg := prometheus.NewRegistry()
//	metrics.Instrument(srv, reg, "echo")
//	admin := metrics.NewAdmin(reg)
//	go http.ListenAndServe("127.0.0.1:9100", admin)
//	...
//	admin.SetReady(false) // shutting down: balancers stop sending
//	srv.Shutdown(ctx)
package metrics

import (
	"errors"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// Instrument registers srv's metrics with reg, with a "server" label of
// name, and installs the hooks that time requests and count errors. Call
// it before srv serves.
func Instrument(srv *socketserver.Server, reg prometheus.Registerer, name string) error {
	c := newCollector(srv, name)
	if err := reg.Register(c); err != nil {
		return err
	}
	if srv.ConnState == nil {
		// Event mode times the connections it makes a Request for: with
		// a ConnState hook.
		srv.ConnState = func(*socketserver.Request, socketserver.ConnState) {}
	}
	next := srv.HandleError
	if next == nil {
		next = srv.LogError
	}
	srv.HandleError = func(remote net.Addr, err error) {
		c.errors.WithLabelValues(errorKind(err)).Inc()
		next(remote, err)
	}
	return nil
}

// A collector reports one server's metrics.
type collector struct {
	srv      *socketserver.Server
	stats    []statDesc
	children *prometheus.Desc
	duration *prometheus.Desc
	errors   *prometheus.CounterVec
}

// A statDesc is a metric read from Stats.
type statDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(socketserver.Stats) float64
	label string // the "reason" label's value, if any
}

func newCollector(srv *socketserver.Server, name string) *collector {
	labels := prometheus.Labels{"server": name}
	d := func(metric, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc("socketserver_"+metric, help, variable, labels)
	}
	rejected := d("connections_rejected_total", "Requests refused, by reason.", "reason")
	c := &collector{
		srv: srv,
		stats: []statDesc{
			{d("connections_active", "Stream connections being served."), prometheus.GaugeValue, func(s socketserver.Stats) float64 { return float64(s.ActiveConns) }, ""},
			{d("connections_total", "Stream connections accepted."), prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.TotalConns) }, ""},
			{d("packets_active", "Datagrams being served."), prometheus.GaugeValue, func(s socketserver.Stats) float64 { return float64(s.ActivePackets) }, ""},
			{d("packets_total", "Datagrams taken as requests."), prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.TotalPackets) }, ""},
			{rejected, prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.Rejected) }, "verify"},
			{rejected, prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.OverLimit) }, "max_conns"},
			{rejected, prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.OverIPLimit) }, "max_conns_per_ip"},
			{rejected, prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.Truncated) }, "datagram_too_large"},
			{d("received_bytes_total", "Bytes read from clients."), prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.BytesIn) }, ""},
			{d("sent_bytes_total", "Bytes written to clients."), prometheus.CounterValue, func(s socketserver.Stats) float64 { return float64(s.BytesOut) }, ""},
		},
		children: d("children", "Child processes alive: Fork mode's children, Prefork mode's workers."),
		duration: d("request_duration_seconds", "Time from a request's start (after VerifyRequest) to its end."),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "socketserver_errors_total",
			Help:        "Errors reported to HandleError, by kind.",
			ConstLabels: labels,
		}, []string{"kind"}),
	}
	return c
}

// Describe sends the descriptions of the metrics.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, s := range c.stats {
		if !seen[s.desc] {
			seen[s.desc] = true
			ch <- s.desc
		}
	}
	ch <- c.children
	ch <- c.duration
	c.errors.Describe(ch)
}

// Collect reads the server's counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	for _, s := range c.stats {
		var labels []string
		if s.label != "" {
			labels = []string{s.label}
		}
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(st), labels...)
	}
	ch <- prometheus.MustNewConstMetric(c.children, prometheus.GaugeValue, float64(len(c.srv.ChildPIDs())))
	ch <- durationHistogram(c.duration, st.Durations)
	c.errors.Collect(ch)
}

// durationHistogram is d as a Prometheus histogram, whose buckets count
// every request up to their bound.
func durationHistogram(desc *prometheus.Desc, d socketserver.Durations) prometheus.Metric {
	buckets := make(map[float64]uint64, socketserver.DurationBuckets)
	var below uint64
	for i := range socketserver.DurationBuckets {
		below += uint64(d.Counts[i])
		buckets[d.Bound(i).Seconds()] = below
	}
	return prometheus.MustNewConstHistogram(desc, uint64(d.Count()), d.Sum.Seconds(), buckets)
}

// errorKind classifies an error for the errors_total metric.
func errorKind(err error) string {
	var pe *socketserver.PanicError
	var ce *socketserver.ChildError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return "panic"
	case errors.As(err, &ce):
		return "child"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, socketserver.ErrIdleTimeout):
		return "timeout"
	case errors.Is(err, socketserver.ErrTruncated):
		return "truncated"
	case errors.Is(err, tlsconn.ErrHandshake):
		return "tls_handshake"
	}
	return "other"
}
