//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/socketserver-go/socketserver"
)

// A superserver is the Handler that runs a program for each request, as
// inetd and tcpserver do: for a stream connection, a process with the
// client on its standard input and output; for a datagram, a process with
// the datagram on its standard input, whose standard output is the reply.
// The program's standard error goes to the log, line by line, with the
// connection's ID.
//
// A plain TCP or Unix connection is handed over: the process gets the
// socket itself, as from tcpserver, and sockserve keeps no descriptor of
// it. Where something sits between (TLS, the PROXY protocol, or a
// timeout, which must see the bytes to time them), sockserve relays them
// over a socket pair, passing half-closes on both ways.
//
// At most -max-children programs run at once. Shutdown sends each
// SIGTERM (terminate), then SIGKILL when the grace period is over (kill);
// on Linux, to its process group too, for what it started.
type superserver struct {
	prog   *program
	env    []string // sockserve's environment less the UCSPI variables
	relay  bool     // relay every stream: a timeout is set
	logger *slog.Logger
	slots  chan struct{} // a token for each program running
	stats  programStats

	mu       sync.Mutex // guards the fields below
	running  map[*proc]struct{}
	stopping bool          // terminate was called: a program started now gets SIGTERM at once
	killing  bool          // kill was called: a program started now gets SIGKILL at once
	stopped  chan struct{} // closed by terminate: requests waiting for a slot give up
}

// programsSupported reports whether programs can be run here.
func programsSupported() error { return nil }

// maxReply is the largest reply datagram a program may write.
const maxReply = 64 << 10

func newSuperserver(prog *program, maxChildren int, relay bool, logger *slog.Logger) *superserver {
	return &superserver{
		prog:    prog,
		env:     baseEnv(),
		relay:   relay,
		logger:  logger,
		slots:   make(chan struct{}, maxChildren),
		running: map[*proc]struct{}{},
		stopped: make(chan struct{}),
	}
}

// setStats makes s count its programs' exits; call it before serving.
func (s *superserver) setStats(st programStats) { s.stats = st }

// Handle serves a request with a run of the program.
func (s *superserver) Handle(r *socketserver.Request) error {
	select {
	case s.slots <- struct{}{}:
	case <-s.stopped:
		return nil
	case <-r.Context().Done():
		return nil
	}
	defer func() { <-s.slots }()
	if r.Datagram() {
		return s.serveDatagram(r)
	}
	if !s.relay && isSocket(r.Conn) {
		return s.handOver(r, r.Conn.(syscall.Conn))
	}
	return s.relayStream(r)
}

// handOver runs the program on the client's socket itself. The process
// needs it in blocking mode, which is a property of the socket, not of
// the descriptor; so, once the program has the socket, sockserve closes
// its own descriptor, which it will not use again: as from tcpserver, the
// connection ends when the program ends, and the program's exit is what
// tears it down.
func (s *superserver) handOver(r *socketserver.Request, sc syscall.Conn) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var c *child
	cerr := rc.Control(func(fd uintptr) {
		if err = setBlocking(fd, true); err == nil {
			c, err = s.start(r, fd, fd)
		}
	})
	if c == nil {
		rc.Control(func(fd uintptr) { setBlocking(fd, false) })
		return errors.Join(err, cerr)
	}
	r.Conn.Close()
	s.logStderr(c)
	return s.ended(r, c, s.wait(c))
}

// serveDatagram runs the program with the datagram on its standard input,
// and sends what it writes to its standard output as one reply datagram.
func (s *superserver) serveDatagram(r *socketserver.Request) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	c, err := s.start(r, inR.Fd(), outW.Fd())
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return err
	}
	logged := s.logStderrAside(c)
	written := make(chan struct{})
	go func() { // the program may write its reply before it reads
		defer close(written)
		inW.Write(r.Packet)
		inW.Close()
	}()
	reply, err := io.ReadAll(io.LimitReader(outR, maxReply+1))
	if len(reply) > maxReply {
		io.Copy(io.Discard, outR)
		err = fmt.Errorf("the program's reply is over %d bytes, the most a datagram takes; none was sent", maxReply)
	}
	outR.Close()
	<-written
	<-logged
	ws := s.wait(c)
	if e := s.ended(r, c, ws); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	if len(reply) > 0 {
		_, err = r.Writer.Write(reply)
	}
	return err
}

func (s *superserver) shutdownSignal(sig syscall.Signal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return (s.stopping && sig == syscall.SIGTERM) || (s.killing && sig == syscall.SIGKILL)
}

func (s *superserver) track(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[p] = struct{}{}
	switch {
	case s.killing:
		p.signal(syscall.SIGKILL)
	case s.stopping:
		p.signal(syscall.SIGTERM)
	}
}

func (s *superserver) untrack(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, p)
}

// running counts the programs running.
func (s *superserver) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// terminate sends every program SIGTERM, and so to those started from
// now on; requests waiting for a slot are dropped.
func (s *superserver) terminate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopping {
		s.stopping = true
		close(s.stopped)
	}
	for p := range s.running {
		p.signal(syscall.SIGTERM)
	}
}

// kill sends every program SIGKILL, and so to those started from now on.
func (s *superserver) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killing = true
	for p := range s.running {
		p.signal(syscall.SIGKILL)
	}
}

// isSocket reports whether c is a socket itself, with nothing between.
func isSocket(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}
