//go:build unix

package main

import (
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
)

// A restarter gives sockserve zero-downtime restarts (-restartable): on
// SIGUSR2 it starts a new sockserve process with the same arguments, which
// inherits the listening sockets (github.com/cloudflare/tableflip); once
// the new process is ready, this one shuts down gracefully. The sockets
// stay open throughout, so no client is refused and every accepted
// request is answered.
type restarter struct {
	upg  *tableflip.Upgrader
	usr2 chan os.Signal
	done chan struct{}
}

func newRestarter(pidFile string, logger *slog.Logger) (*restarter, error) {
	upg, err := tableflip.New(tableflip.Options{PIDFile: pidFile, UpgradeTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	r := &restarter{upg: upg, usr2: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(r.usr2, syscall.SIGUSR2)
	go r.loop(logger)
	return r, nil
}

func (r *restarter) loop(logger *slog.Logger) {
	for {
		select {
		case <-r.usr2:
			logger.Info("sockserve: SIGUSR2: starting a new process to take over")
			if err := r.upg.Upgrade(); err != nil {
				logger.Error("sockserve: restart failed; serving on", "err", err)
			}
		case <-r.done:
			return
		}
	}
}

// listen returns the socket for network and address: the one the previous
// process handed over, or a new one.
func (r *restarter) listen(network, address string) (net.Listener, net.PacketConn, error) {
	if isStreamNetwork(network) {
		ln, err := r.upg.Listen(network, address)
		return ln, nil, err
	}
	pc, err := r.upg.ListenPacket(network, address)
	return nil, pc, err
}

// ready tells the previous process, if any, to shut down.
func (r *restarter) ready() error { return r.upg.Ready() }

// exit is closed when a new process is ready to take over.
func (r *restarter) exit() <-chan struct{} {
	if r == nil {
		return nil
	}
	return r.upg.Exit()
}

func (r *restarter) stop() {
	signal.Stop(r.usr2)
	close(r.done)
	r.upg.Stop()
}
