package prom_test

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
	"github.com/socketserver-go/socketserver/metrics"
	"github.com/socketserver-go/socketserver/metrics/prom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The two exporters report the same families with the same samples, and
// what package metrics writes by itself is what Prometheus's own parser
// reads back.
func TestSameAsMetrics(t *testing.T) {
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			line, _ := io.ReadAll(r.Reader)
			if string(line) == "panic" {
				panic("asked to")
			}
			_, err := r.Writer.Write(line)
			return err
		}),
		HandleError: func(net.Addr, error) {},
	}
	own := metrics.NewRegistry()
	if err := metrics.Instrument(srv, own, `a "quoted"\name`+"\n"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := prom.Instrument(srv, reg, `a "quoted"\name`+"\n"); err != nil {
		t.Fatal(err)
	}
	addr := servetest.Serve(t, srv)
	for _, msg := range []string{"a", "bb", "panic"} {
		c := servetest.Dial(t, addr)
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
	servetest.WaitUntil(t, "three requests ended", func() bool { return srv.Stats().Durations.Count() == 3 })

	var text bytes.Buffer
	if _, err := own.WriteTo(&text); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	got, err := parser.TextToMetricFamilies(&text)
	if err != nil {
		t.Fatalf("Prometheus cannot parse what metrics wrote: %v\n%s", err, text.String())
	}
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("metrics wrote %d families, client_golang has %d", len(got), len(want))
	}
	for _, w := range want {
		g := got[w.GetName()]
		if g == nil {
			t.Errorf("metrics lacks %s", w.GetName())
			continue
		}
		if err := normalize(g); err != nil {
			t.Errorf("metrics wrote %s: %v", w.GetName(), err)
		}
		normalize(w)
		if !proto.Equal(g, w) {
			t.Errorf("%s differs:\nmetrics: %v\nclient_golang: %v", w.GetName(), g, w)
		}
	}
}

// normalize clears what the two ways legitimately differ in: the text
// format has no created timestamps or exemplars, client_golang leaves the
// +Inf bucket implicit, and the order of samples is free.
func normalize(f *dto.MetricFamily) error {
	slices.SortFunc(f.Metric, func(a, b *dto.Metric) int {
		return strings.Compare(fmt.Sprint(a.Label), fmt.Sprint(b.Label))
	})
	for _, m := range f.Metric {
		if h := m.Histogram; h != nil {
			h.CreatedTimestamp = nil
			if n := len(h.Bucket); n > 0 && math.IsInf(h.Bucket[n-1].GetUpperBound(), 1) {
				if h.Bucket[n-1].GetCumulativeCount() != h.GetSampleCount() {
					return fmt.Errorf("+Inf bucket %d, count %d", h.Bucket[n-1].GetCumulativeCount(), h.GetSampleCount())
				}
				h.Bucket = h.Bucket[:n-1]
			}
			for _, b := range h.Bucket {
				b.Exemplar = nil
			}
		}
		if c := m.Counter; c != nil {
			c.CreatedTimestamp = nil
			c.Exemplar = nil
		}
	}
	return nil
}
