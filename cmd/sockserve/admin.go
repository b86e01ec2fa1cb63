package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/sockurl"
	"github.com/socketserver-go/socketserver/metrics"
)

// An adminServer serves /metrics, /healthz and /readyz (-admin).
type adminServer struct {
	reg   *prometheus.Registry
	admin *metrics.Admin
	http  *http.Server
	ln    net.Listener
	done  chan struct{}
}

// newAdmin binds the admin listener at url (tcp://host:port).
func newAdmin(url string) (*adminServer, error) {
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &adminServer{reg: reg, admin: metrics.NewAdmin(reg), ln: ln, done: make(chan struct{})}
	a.http = &http.Server{Handler: a.admin, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// instrument exports srv's metrics, labelled with its URL.
func (a *adminServer) instrument(srv *socketserver.Server, url string) error {
	return metrics.Instrument(srv, a.reg, url)
}

func (a *adminServer) serve(logger *slog.Logger) {
	defer close(a.done)
	if err := a.http.Serve(a.ln); err != http.ErrServerClosed {
		logger.Error("sockserve: admin listener failed", "err", err)
	}
}

// close stops the admin listener, letting scrapes in flight finish.
func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
	<-a.done
}
