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
// socket the supervisor handed down, in the workers' mode, until SIGTERM
// (a graceful Shutdown), SIGINT (Close) or the supervisor's death, then
// ends the process. A Server of the worker that is not the one to serve
// with waits, serving nothing, until the process ends.
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

func (e *workerEngine) serve() error {
	s, ci := e.s, e.ci
	if e.inner == nil {
		e.t.closeSocket()
		select {} // the process ends when the Server that claimed the role is done
	}
	if e.t != e.sock {
		e.t.closeSocket()
	}
	// The supervisor signals a worker only once it said it is ready.
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
	go func() {
		ci.ctl.Read(make([]byte, 1)) // returns when the supervisor is gone
		s.Shutdown(context.Background())
	}()
	ci.send([]byte{forkwire.MsgReady})
	err := e.inner.serve()
	if !errors.Is(err, ErrServerClosed) {
		s.logger().Error("socketserver: worker failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
	panic("unreachable")
}
