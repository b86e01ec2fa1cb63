// Package prom exports a socketserver.Server's metrics through
// Prometheus's client_golang, for a program that keeps its metrics in a
// client_golang registry. The metrics are those of package metrics, which
// writes them without client_golang: a program that has no registry of
// its own is leaner with that one (in Fork mode every child pays for the
// packages a program links, client_golang's about 1 ms).
//
//	reg := prometheus.NewRegistry()
//	prom.Instrument(srv, reg, "echo")
//	admin := metrics.NewAdmin(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/metrics/internal/family"
)

// Instrument registers srv's metrics with reg, with a "server" label of
// name, and installs the hooks that time requests and count errors, as
// metrics.Instrument does. Call it before srv serves.
func Instrument(srv *socketserver.Server, reg prometheus.Registerer, name string) error {
	c := newCollector(srv, name)
	if err := reg.Register(c); err != nil {
		return err
	}
	family.Hook(srv, func(kind int) { c.errors.WithLabelValues(family.ErrorKinds[kind]).Inc() })
	return nil
}

// A collector reports one server's metrics.
type collector struct {
	srv      *socketserver.Server
	stats    []*prometheus.Desc // one per family.Stats entry
	children *prometheus.Desc
	duration *prometheus.Desc
	errors   *prometheus.CounterVec
}

func newCollector(srv *socketserver.Server, name string) *collector {
	labels := prometheus.Labels{family.ServerLabel: name}
	d := func(metric, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(family.Prefix+metric, help, variable, labels)
	}
	c := &collector{
		srv:      srv,
		children: d(family.Children, family.ChildrenHelp),
		duration: d(family.Duration, family.DurationHelp),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        family.Prefix + family.Errors,
			Help:        family.ErrorsHelp,
			ConstLabels: labels,
		}, []string{"kind"}),
	}
	for _, kind := range family.ErrorKinds {
		c.errors.WithLabelValues(kind) // every kind is there, at 0 until it is counted
	}
	byName := map[string]*prometheus.Desc{}
	for _, st := range family.Stats {
		desc := byName[st.Name]
		if desc == nil {
			var variable []string
			if st.Reason != "" {
				variable = []string{"reason"}
			}
			desc = d(st.Name, st.Help, variable...)
			byName[st.Name] = desc
		}
		c.stats = append(c.stats, desc)
	}
	return c
}

// Describe sends the descriptions of the metrics.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, desc := range c.stats {
		if !seen[desc] {
			seen[desc] = true
			ch <- desc
		}
	}
	ch <- c.children
	ch <- c.duration
	c.errors.Describe(ch)
}

// Collect reads the server's counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	for i, s := range family.Stats {
		kind := prometheus.GaugeValue
		if s.Counter {
			kind = prometheus.CounterValue
		}
		var labels []string
		if s.Reason != "" {
			labels = []string{s.Reason}
		}
		ch <- prometheus.MustNewConstMetric(c.stats[i], kind, s.Value(st), labels...)
	}
	ch <- prometheus.MustNewConstMetric(c.children, prometheus.GaugeValue, float64(len(c.srv.ChildPIDs())))
	bounds, counts := family.Buckets(st.Durations)
	buckets := make(map[float64]uint64, len(bounds))
	for i, b := range bounds {
		buckets[b] = counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.duration, uint64(st.Durations.Count()), st.Durations.Sum.Seconds(), buckets)
	c.errors.Collect(ch)
}
