//go:build unix

package socketserver

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// A workerEngine is Prefork mode in a worker process: it serves the
// socket the supervisor handed down, in the workers' mode, until the
// supervisor says to shut down or close, or dies; then it ends the
// process. A Server of the worker that is not the one to serve with
// waits, serving nothing, until the process ends.
type workerEngine struct {
	s     *Server
	ci    *childInfo
	t     *socket // what Serve was given
	sock  *socket // the inherited socket
	inner engine  // the workers' mode's, on sock
}

func newWorkerEngine(s *Server, ci *childInfo, t *socket, mode Mode) (engine, error) {
	if ci.orphan {
		return nil, errOrphan
	}
	e := &workerEngine{s: s, ci: ci, t: t}
	if !ci.claim(s) {
		return e, nil
	}
	sock, err := ci.socket()
	if err != nil {
		return nil, err
	}
	if e.inner, err = mode.newEngine(s, sock); err != nil {
		return nil, err
	}
	e.sock = sock
	sock.eng = e.inner
	return e, nil
}

// shutdown and close pass on to the inherited socket and its engine; when
// that is the socket Serve was given, its own stop and close see to the
// socket.
func (e *workerEngine) shutdown() {
	switch {
	case e.inner == nil:
	case e.sock == e.t:
		e.inner.shutdown()
	default:
		e.sock.stop()
	}
}

func (e *workerEngine) close() {
	switch {
	case e.inner == nil:
	case e.sock == e.t:
		e.inner.close()
	default:
		e.sock.close()
	}
}

// serve serves until the supervisor's order or end (see childInfo.read),
// sending the worker's counters as they change and once more at the end.
func (e *workerEngine) serve() error {
	s, ci := e.s, e.ci
	if e.inner == nil {
		e.t.closeSocket()
		select {} // the process ends when the Server that claimed the role is done
	}
	if e.t != e.sock {
		e.t.closeSocket()
	}
	// SIGTERM or SIGINT sent to the worker itself (the supervisor sends
	// none) shuts it down, or closes it.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range signals {
			if sig == syscall.SIGTERM {
				go s.Shutdown(context.Background())
			} else {
				go s.Close()
			}
		}
	}()
	ci.listen(s)
	counts := newStatsPusher(s, ci, workerStatsEvery)
	counts.start()
	ci.send([]byte{forkwire.MsgReady})
	err := e.inner.serve()
	counts.stop()
	counts.push(forkwire.MsgStats)
	if !errors.Is(err, ErrServerClosed) {
		s.logger().Error("socketserver: worker failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
	panic("unreachable")
}
