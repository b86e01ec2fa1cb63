package main

import (
	"fmt"
	"io"
	"time"
)

// result is what a run measured.
type result struct {
	URL         string          `json:"url"`
	Mode        string          `json:"mode"`
	Conns       int             `json:"conns"`
	Size        int             `json:"size"`
	Pipeline    int             `json:"pipeline"`
	Rate        float64         `json:"rate,omitempty"`
	Seconds     float64         `json:"seconds"`
	Requests    int64           `json:"requests"`
	Errors      int64           `json:"errors"`
	Timeouts    int64           `json:"timeouts"`
	Mismatches  int64           `json:"mismatches"`
	FirstError  string          `json:"first_error,omitempty"`
	Throughput  float64         `json:"requests_per_sec"`
	BytesPerSec float64         `json:"bytes_per_sec"`
	LatencyUS   *latencySummary `json:"latency_us,omitempty"`
	Held        int             `json:"held,omitempty"`
}

// latencySummary holds latency percentiles in microseconds.
type latencySummary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// result summarises a finished load.
func (l *load) result(elapsed time.Duration) *result {
	cfg := l.cfg
	r := &result{
		URL: cfg.url, Mode: cfg.mode, Conns: cfg.conns, Size: cfg.size, Pipeline: cfg.pipeline, Rate: cfg.rate,
		Seconds:    elapsed.Seconds(),
		Requests:   l.c.requests.Load(),
		Errors:     l.c.errors.Load(),
		Timeouts:   l.c.timeouts.Load(),
		Mismatches: l.c.mismatches.Load(),
	}
	if msg := l.c.firstErr.Load(); msg != nil {
		r.FirstError = *msg
	}
	r.Throughput = float64(r.Requests) / r.Seconds
	r.BytesPerSec = r.Throughput * float64(cfg.size)
	if h := l.lat.merged(); h.TotalCount() > 0 {
		us := func(ns int64) float64 { return float64(ns) / 1e3 }
		r.LatencyUS = &latencySummary{
			P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
			P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Mean: h.Mean() / 1e3,
		}
	}
	return r
}

func (r *result) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s %s: %d connections, %d-byte messages", r.URL, r.Mode, r.Conns, r.Size)
	if r.Pipeline > 1 {
		fmt.Fprintf(w, ", pipeline %d", r.Pipeline)
	}
	if r.Rate > 0 {
		fmt.Fprintf(w, ", open loop at %.0f req/s", r.Rate)
	}
	fmt.Fprintf(w, ", %.2fs\n", r.Seconds)
	if r.Mode == "idle" {
		fmt.Fprintf(w, "  held:        %d connections\n", r.Held)
		fmt.Fprintf(w, "  errors:      %d\n", r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
		}
		return
	}
	fmt.Fprintf(w, "  requests:    %d (%.0f/s, %.2f MB/s each way)\n", r.Requests, r.Throughput, r.BytesPerSec/1e6)
	fmt.Fprintf(w, "  errors:      %d (timeouts %d), mismatched replies %d\n", r.Errors, r.Timeouts, r.Mismatches)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if l := r.LatencyUS; l != nil {
		fmt.Fprintf(w, "  latency µs:  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
			l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	}
}
