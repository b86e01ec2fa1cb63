package main

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// result is what a run measured.
type result struct {
	URL      string  `json:"url"`
	Mode     string  `json:"mode"`
	Conns    int     `json:"conns"`
	Size     int     `json:"size,omitempty"`    // of random requests
	Request  string  `json:"request,omitempty"` // what was sent instead, escaped, or the pairs file
	Reply    string  `json:"reply,omitempty"`   // the framing of -reply
	Pipeline int     `json:"pipeline"`
	Rate     float64 `json:"rate,omitempty"`
	Seconds  float64 `json:"seconds"`
	Requests int64   `json:"requests"`
	// Errors are requests lost (and connects failed), Timeouts among
	// them: unanswered after -timeout, or when the run ended.
	Errors        int64           `json:"errors"`
	Timeouts      int64           `json:"timeouts"`
	Mismatches    int64           `json:"mismatches"`
	FirstError    string          `json:"first_error,omitempty"`
	FirstMismatch string          `json:"first_mismatch,omitempty"`
	Throughput    float64         `json:"requests_per_sec"`
	SentPerSec    float64         `json:"sent_bytes_per_sec"`
	RecvPerSec    float64         `json:"received_bytes_per_sec"`
	LatencyUS     *latencySummary `json:"latency_us,omitempty"`
	Held          int             `json:"held,omitempty"`
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

// newResult starts a result with what the configuration says.
func newResult(cfg *config, elapsed time.Duration) *result {
	r := &result{URL: cfg.url, Mode: cfg.mode, Conns: cfg.conns, Pipeline: cfg.pipeline, Rate: cfg.rate, Seconds: elapsed.Seconds()}
	switch {
	case cfg.mode == "idle":
	case cfg.pairsFile != "":
		r.Request = fmt.Sprintf("%d pairs from %s", len(cfg.pairs), cfg.pairsFile)
	case cfg.pairs != nil:
		r.Request = `"` + excerpt(cfg.pairs[0].request) + `"`
	default:
		r.Size = cfg.size
	}
	if cfg.mode != "idle" {
		r.Reply = cfg.framing.String()
	}
	return r
}

// result summarises a finished load.
func (l *load) result(elapsed time.Duration) *result {
	r := newResult(l.cfg, elapsed)
	r.Requests = l.c.requests.Load()
	r.Errors = l.c.errors.Load()
	r.Timeouts = l.c.timeouts.Load()
	r.Mismatches = l.c.mismatches.Load()
	if msg := l.c.firstErr.Load(); msg != nil {
		r.FirstError = *msg
	}
	if msg := l.c.firstMismatch.Load(); msg != nil {
		r.FirstMismatch = *msg
	}
	r.Throughput = float64(r.Requests) / r.Seconds
	r.SentPerSec = float64(l.c.sent.Load()) / r.Seconds
	r.RecvPerSec = float64(l.c.received.Load()) / r.Seconds
	if h := l.lat.merged(); h.TotalCount() > 0 {
		us := func(ns int64) float64 { return float64(ns) / 1e3 }
		r.LatencyUS = &latencySummary{
			P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
			P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Mean: h.Mean() / 1e3,
		}
	}
	return r
}

// failure says why a run measured nothing: no request answered right, or
// no connection held. It is nil for a run that measured something.
func (r *result) failure() error {
	switch {
	case r.Mode == "idle" && r.Held == 0:
		return fmt.Errorf("no connection held: %s", r.FirstError)
	case r.Mode == "idle" || r.Requests > 0:
		return nil
	case r.Mismatches > 0:
		return fmt.Errorf("no request answered right: %d wrong replies, the first %s", r.Mismatches, r.FirstMismatch)
	case r.Errors > 0:
		return fmt.Errorf("no request answered: %d lost, %d of them timeouts; the first: %s", r.Errors, r.Timeouts, r.FirstError)
	}
	return errors.New("no request answered: none was sent")
}

func (r *result) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s %s: %d connections", r.URL, r.Mode, r.Conns)
	switch {
	case r.Size > 0:
		fmt.Fprintf(w, ", %d-byte messages", r.Size)
	case r.Request != "":
		fmt.Fprintf(w, ", requests %s", r.Request)
	}
	if r.Reply != "" && r.Reply != "exact" {
		fmt.Fprintf(w, ", replies by %s", r.Reply)
	}
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
	fmt.Fprintf(w, "  requests:    %d (%.0f/s; %.2f MB/s sent, %.2f MB/s received)\n", r.Requests, r.Throughput, r.SentPerSec/1e6, r.RecvPerSec/1e6)
	fmt.Fprintf(w, "  errors:      %d (timeouts %d), mismatched replies %d\n", r.Errors, r.Timeouts, r.Mismatches)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if r.FirstMismatch != "" {
		fmt.Fprintf(w, "  first wrong reply: %s\n", r.FirstMismatch)
	}
	if l := r.LatencyUS; l != nil {
		fmt.Fprintf(w, "  latency µs:  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
			l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	}
}
