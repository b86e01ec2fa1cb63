// Package family describes the metrics of a socketserver.Server, once,
// for the two exporters: package metrics, which writes Prometheus's text
// format itself, and package metrics/prom, which feeds client_golang.
package family

import (
	"errors"
	"net"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// Every metric's name starts with Prefix; each carries the label
// ServerLabel, the name the server was instrumented with.
const (
	Prefix      = "socketserver_"
	ServerLabel = "server"
)

// A Stat is a metric read from Server.Stats.
type Stat struct {
	Name    string // without Prefix
	Help    string
	Counter bool   // else a gauge
	Reason  string // the "reason" label's value, if any
	Value   func(socketserver.Stats) float64
}

// Rejected is the name of the metric whose samples carry a Reason.
const Rejected = "connections_rejected_total"

const rejectedHelp = "Requests refused, by reason."

// Stats are the metrics read from Stats, in the order they are written;
// the samples of one name are adjacent.
var Stats = []Stat{
	{"connections_active", "Stream connections being served.", false, "", func(s socketserver.Stats) float64 { return float64(s.ActiveConns) }},
	{"connections_total", "Stream connections accepted.", true, "", func(s socketserver.Stats) float64 { return float64(s.TotalConns) }},
	{"packets_active", "Datagrams being served.", false, "", func(s socketserver.Stats) float64 { return float64(s.ActivePackets) }},
	{"packets_total", "Datagrams taken as requests.", true, "", func(s socketserver.Stats) float64 { return float64(s.TotalPackets) }},
	{Rejected, rejectedHelp, true, "verify", func(s socketserver.Stats) float64 { return float64(s.Rejected) }},
	{Rejected, rejectedHelp, true, "max_conns", func(s socketserver.Stats) float64 { return float64(s.OverLimit) }},
	{Rejected, rejectedHelp, true, "max_conns_per_ip", func(s socketserver.Stats) float64 { return float64(s.OverIPLimit) }},
	{Rejected, rejectedHelp, true, "datagram_too_large", func(s socketserver.Stats) float64 { return float64(s.Truncated) }},
	{"received_bytes_total", "Bytes read from clients.", true, "", func(s socketserver.Stats) float64 { return float64(s.BytesIn) }},
	{"sent_bytes_total", "Bytes written to clients.", true, "", func(s socketserver.Stats) float64 { return float64(s.BytesOut) }},
}

// The metrics that are not read from Stats alone.
const (
	Children     = "children"
	ChildrenHelp = "Child processes alive: Fork mode's children, Prefork mode's workers."
	Duration     = "request_duration_seconds"
	DurationHelp = "Time from a request's start (after VerifyRequest) to its end."
	Errors       = "errors_total"
	ErrorsHelp   = "Errors reported to HandleError, by kind."
)

// ErrorKinds are the values of the errors metric's "kind" label.
var ErrorKinds = [...]string{"panic", "child", "timeout", "truncated", "tls_handshake", "other"}

// Hook installs on srv the hooks both exporters need: a ConnState, for
// Event mode times the connections it makes a Request for only with one,
// and a HandleError that counts each error by kind (an index into
// ErrorKinds), then calls the hook set before (or LogError).
func Hook(srv *socketserver.Server, count func(kind int)) {
	if srv.ConnState == nil {
		srv.ConnState = func(*socketserver.Request, socketserver.ConnState) {}
	}
	next := srv.HandleError
	if next == nil {
		next = srv.LogError
	}
	srv.HandleError = func(remote net.Addr, err error) {
		count(ErrorKind(err))
		next(remote, err)
	}
}

// ErrorKind classifies err: it returns an index into ErrorKinds.
func ErrorKind(err error) int {
	var pe *socketserver.PanicError
	var ce *socketserver.ChildError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return 0
	case errors.As(err, &ce):
		return 1
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, socketserver.ErrIdleTimeout):
		return 2
	case errors.Is(err, socketserver.ErrTruncated):
		return 3
	case errors.Is(err, tlsconn.ErrHandshake):
		return 4
	}
	return 5
}

// Buckets returns d as a Prometheus histogram's buckets: each bound in
// seconds, and the requests that took up to it.
func Buckets(d socketserver.Durations) (bounds []float64, counts []uint64) {
	bounds = make([]float64, socketserver.DurationBuckets)
	counts = make([]uint64, socketserver.DurationBuckets)
	var below uint64
	for i := range socketserver.DurationBuckets {
		below += uint64(d.Counts[i])
		bounds[i] = d.Bound(i).Seconds()
		counts[i] = below
	}
	return bounds, counts
}
