package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver/tlsconn"
)

// stopSignals delivers SIGINT and SIGTERM: the first asks for a graceful
// shutdown, the next forces it.
type stopSignals struct{ ch chan os.Signal }

// notifyStop starts catching SIGINT and SIGTERM.
func notifyStop() *stopSignals {
	s := &stopSignals{ch: make(chan os.Signal, 2)}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	return s
}

// wait waits for d, or until a signal comes, which it takes.
func (s *stopSignals) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ch:
	}
}

// stop stops catching the signals: they act as by default again.
func (s *stopSignals) stop() { signal.Stop(s.ch) }

// reloadOnSIGHUP reloads the TLS certificate on each SIGHUP, until stop.
func reloadOnSIGHUP(certs *tlsconn.CertFiles, logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				if err := certs.Reload(); err != nil {
					logger.Error("sockserve: reloading the TLS certificate failed; keeping the old one", "err", err)
				} else {
					logger.Info("sockserve: TLS certificate reloaded")
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}
