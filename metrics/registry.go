package metrics

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/socketserver-go/socketserver/metrics/internal/family"
)

// A Registry holds the metrics a scrape of /metrics gets: those of the
// servers instrumented with it, and the program's own, added with
// NewCounterVec, NewGaugeFunc and AddProcessMetrics. It serves them over
// HTTP in Prometheus's text format. The zero value is an empty registry.
type Registry struct {
	mu      sync.Mutex
	servers []*instrumented
	names   map[string]bool     // the program's own families
	others  []func(*textWriter) // write them, in the order they were added
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return new(Registry) }

// add adds a family of the program's own, written by write. Its name,
// and its label's if not empty, must be valid Prometheus names, not
// taken, and not of the servers' families.
func (r *Registry) add(name, label string, write func(*textWriter)) error {
	switch {
	case !validName(name, true):
		return fmt.Errorf("metrics: %q is not a valid metric name", name)
	case label != "" && !validName(label, false):
		return fmt.Errorf("metrics: %q is not a valid label name", label)
	case strings.HasPrefix(name, family.Prefix):
		return fmt.Errorf("metrics: %s: the %s names are the servers'", name, family.Prefix)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names[name] {
		return fmt.Errorf("metrics: %s is already registered", name)
	}
	if r.names == nil {
		r.names = map[string]bool{}
	}
	r.names[name] = true
	r.others = append(r.others, write)
	return nil
}

// validName reports whether s is a valid metric name (colons allowed) or
// label name.
func validName(s string, metric bool) bool {
	for i, c := range s {
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' || metric && c == ':'
		if !ok {
			return false
		}
	}
	return s != "" && !strings.HasPrefix(s, "__")
}

// WriteTo writes every metric to w in Prometheus's text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	servers := slices.Clone(r.servers)
	others := slices.Clone(r.others)
	r.mu.Unlock()
	cw := &countingWriter{w: w}
	t := &textWriter{w: bufio.NewWriter(cw)}
	writeServers(t, servers)
	for _, write := range others {
		write(t)
	}
	err := t.w.Flush()
	return cw.n, err
}

// ServeHTTP serves the metrics, as /metrics does.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	r.WriteTo(w)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// A CounterVec is a counter of the program's own, with one label.
type CounterVec struct {
	mu     sync.Mutex
	values map[string]*atomic.Uint64
	order  []string // label values, in the order first seen
}

// NewCounterVec adds a counter named name to r, whose samples differ by
// the value of one label.
func (r *Registry) NewCounterVec(name, help, label string) (*CounterVec, error) {
	c := &CounterVec{values: map[string]*atomic.Uint64{}}
	err := r.add(name, label, func(t *textWriter) {
		t.header(name, help, "counter")
		c.mu.Lock()
		order := slices.Clone(c.order)
		c.mu.Unlock()
		slices.Sort(order)
		for _, v := range order {
			t.sample(name, float64(c.counter(v).Load()), label, v)
		}
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Inc adds one to the sample whose label has the given value.
func (c *CounterVec) Inc(value string) { c.counter(value).Add(1) }

func (c *CounterVec) counter(value string) *atomic.Uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.values[value]
	if v == nil {
		v = new(atomic.Uint64)
		c.values[value] = v
		c.order = append(c.order, value)
	}
	return v
}

// NewGaugeFunc adds a gauge named name to r, whose value f reports when
// scraped.
func (r *Registry) NewGaugeFunc(name, help string, f func() float64) error {
	return r.add(name, "", func(t *textWriter) {
		t.header(name, help, "gauge")
		t.sample(name, f())
	})
}
