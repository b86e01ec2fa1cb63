package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/sockurl"
	"github.com/socketserver-go/socketserver/metrics"
)

// An adminServer serves /metrics, /healthz and /readyz (-admin).
type adminServer struct {
	reg   *metrics.Registry
	admin *metrics.Admin
	http  *http.Server
	ln    net.Listener
	url   string        // the bound address
	done  chan struct{} // closed when serving has ended; nil until start

}

// newAdmin binds the admin listener at url (tcp://host:port). Its
// connections are closed when idle for timeout, and when a request's
// header or body takes longer than timeout to come.
func newAdmin(url string, timeout time.Duration) (*adminServer, error) {
	network, address, err := sockurl.Parse(url)
	if err != nil {
		return nil, err
	}
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("-admin must be a tcp:// URL, got %q", url)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	reg := metrics.NewRegistry()
	if err := reg.AddProcessMetrics(); err != nil {
		ln.Close()
		return nil, err
	}
	a := &adminServer{reg: reg, admin: metrics.NewAdmin(reg), ln: ln,
		url: sockurl.String(network, ln.Addr().String())}
	a.http = &http.Server{
		Handler:           a.admin,
		ReadHeaderTimeout: timeout,
		ReadTimeout:       timeout,
		WriteTimeout:      timeout,
		IdleTimeout:       timeout,
		MaxHeaderBytes:    8 << 10,
	}
	return a, nil
}

// public reports whether the admin listener is reachable from other
// hosts: bound to an address other than loopback, such as every
// interface.
func (a *adminServer) public() bool {
	ap, err := netip.ParseAddrPort(a.ln.Addr().String())
	return err != nil || !ap.Addr().IsLoopback()
}

// instrument exports srv's metrics, labelled with its URL.
func (a *adminServer) instrument(srv *socketserver.Server, url string) error {
	return metrics.Instrument(srv, a.reg, url)
}

// start serves the admin endpoint on a goroutine of its own, until close.
func (a *adminServer) start(logger *slog.Logger) {
	a.done = make(chan struct{})
	go func() {
		defer close(a.done)
		if err := a.http.Serve(a.ln); err != http.ErrServerClosed {
			logger.Error("sockserve: admin listener failed", "err", err)
		}
	}()
}

// close stops the admin endpoint, letting scrapes in flight finish.
func (a *adminServer) close() {
	if a.done == nil { // never started
		a.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
	<-a.done
}

// programStats counts the runs of -admin's program by how they ended:
// success, failure (a non-zero exit status), signal (killed), stopped (by
// shutdown's signal) or start_error. The zero value counts nothing.
type programStats struct{ exits *metrics.CounterVec }

func (p programStats) exit(result string) {
	if p.exits != nil {
		p.exits.Inc(result)
	}
}

// instrumentPrograms exports the program's metrics: its runs by how they
// ended, and how many are running (count).
func (a *adminServer) instrumentPrograms(count func() int) (programStats, error) {
	exits, err := a.reg.NewCounterVec("sockserve_program_exits_total",
		"Runs of the program, by how they ended: success, failure (non-zero exit status), signal, stopped (at shutdown), start_error.",
		"result")
	if err != nil {
		return programStats{}, err
	}
	err = a.reg.NewGaugeFunc("sockserve_programs_running", "Programs running now.",
		func() float64 { return float64(count()) })
	if err != nil {
		return programStats{}, err
	}
	return programStats{exits: exits}, nil
}
