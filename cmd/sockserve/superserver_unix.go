//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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

// stderrLinger is how long the log waits for the rest of a program's
// standard error once it has exited, if a process it started holds it
// open; stderrPoll is how often it looks for that exit meanwhile.
const (
	stderrLinger = time.Second
	stderrPoll   = time.Second
)

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

// relayStream runs the program on one end of a socket pair, and copies
// between the other end and the client, both ways.
func (s *superserver) relayStream(r *socketserver.Request) error {
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	c, err := s.start(r, uintptr(theirs), uintptr(theirs))
	syscall.Close(theirs)
	if err != nil {
		ours.Close()
		return err
	}
	logged := s.logStderrAside(c)
	// If the server closes the connection (at the end of a shutdown's
	// grace period), the relay ends even if a process the program started
	// holds its end open.
	stopRelay := context.AfterFunc(r.Context(), func() { ours.Close() })
	defer stopRelay()

	fromClient := make(chan error, 1)
	var stopping stopFlag
	go func() {
		in := &programEnd{f: ours}
		_, err := io.Copy(in, r.Reader)
		closeWrite(ours) // the client's EOF, passed on
		if stopping.isSet() || in.err != nil {
			err = nil // the relay is over, or the program reads no more: neither is the client's error
		}
		fromClient <- err
	}()
	var clientErr error
	if _, err := io.Copy(r.Writer, &programEnd{f: ours}); err != nil {
		clientErr = err
		ours.Close() // the client is gone: the program's output has nowhere to go
	} else if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // the program's EOF, passed on
	}
	<-logged
	ws := s.wait(c)
	ours.Close()
	if err := stopping.stopReads(r, fromClient); clientErr == nil {
		clientErr = err
	}
	if err := s.ended(r, c, ws); err != nil {
		return err
	}
	return clientErr
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

// A child is a run of the program.
type child struct {
	p      *proc
	stderr *os.File // the read end of its standard error
	id     uint64   // the request's, for the log
	remote string
}

// start runs the program for r with stdin and stdout at the given
// descriptors, which must be blocking. It does not go through os/exec:
// the program's path is found once, at start, the descriptors are passed
// as they are, and no goroutine is started: the caller reads the
// program's standard error (logStderr), on its own goroutine or another.
func (s *superserver) start(r *socketserver.Request, stdin, stdout uintptr) (*child, error) {
	errR, errW, err := childPipe()
	if err != nil {
		return nil, err
	}
	p, err := startProc(s.prog.path, s.prog.argv, ucspiEnv(s.env, r), []uintptr{stdin, stdout, uintptr(errW)})
	syscall.Close(errW)
	if err != nil {
		errR.Close()
		s.stats.exit("start_error")
		return nil, fmt.Errorf("starting %s: %w", s.prog.argv[0], err)
	}
	s.track(p)
	return &child{p: p, stderr: errR, id: r.ID, remote: r.RemoteAddr.String()}, nil
}

// logStderr logs the program's standard error, a record per line, until
// it ends: when the program exits, as a rule. If a process the program
// started holds it open, it ends stderrLinger after the program's exit,
// which is looked for every stderrPoll.
func (s *superserver) logStderr(c *child) {
	br := stderrReaders.Get().(*bufio.Reader)
	defer stderrReaders.Put(br)
	br.Reset(c.stderr)
	exited := false
	c.stderr.SetReadDeadline(time.Now().Add(stderrPoll))
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			s.logger.Info("sockserve: program stderr", "conn", c.id, "remote", c.remote, "pid", c.p.pid, "line", string(line))
		}
		switch {
		case err == nil, err == bufio.ErrBufferFull:
		case errors.Is(err, os.ErrDeadlineExceeded) && !exited:
			if exited = c.p.exited(); exited {
				c.stderr.SetReadDeadline(time.Now().Add(stderrLinger))
			} else {
				c.stderr.SetReadDeadline(time.Now().Add(stderrPoll))
			}
		default:
			c.stderr.Close()
			return
		}
	}
}

// stderrReaders hold the buffers logStderr reads with.
var stderrReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// wait waits for the program, whose standard error has ended, to exit,
// and reaps it.
func (s *superserver) wait(c *child) syscall.WaitStatus {
	err := c.p.waitExit()
	s.untrack(c.p) // no signal for it from now on: its PID is about to be free
	ws, rerr := c.p.reap()
	c.p.release()
	if err = errors.Join(err, rerr); err != nil { // not our child: cannot happen
		s.logger.Error("sockserve: waiting for a program", "pid", c.p.pid, "err", err)
	}
	return ws
}

// logStderrAside runs logStderr on a goroutine of its own, for a caller
// busy with the program's input and output; wait for done before wait.
func (s *superserver) logStderrAside(c *child) (done <-chan struct{}) {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		s.logStderr(c)
	}()
	return ch
}

// ended reports how the program ended: an exit with a non-zero status or
// by a signal is an error (a *socketserver.ChildError, which the log and
// the metrics show with its status), unless the signal was shutdown's.
func (s *superserver) ended(r *socketserver.Request, c *child, ws syscall.WaitStatus) error {
	var how error
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		s.stats.exit("success")
		return nil
	case ws.Signaled() && s.shutdownSignal(ws.Signal()):
		s.stats.exit("stopped")
		s.logger.Info("sockserve: program stopped at shutdown", "conn", r.ID, "pid", c.p.pid, "signal", ws.Signal().String())
		return nil
	case ws.Signaled() && ws.Signal() == syscall.SIGPIPE:
		// The client went away while the program wrote: the client's
		// doing, and routine, not an error for the log to shout.
		s.stats.exit("signal")
		s.logger.Debug("sockserve: program ended by SIGPIPE: the client went away", "conn", r.ID, "pid", c.p.pid)
		return nil
	case ws.Signaled():
		s.stats.exit("signal")
		how = fmt.Errorf("%s killed by signal %d (%v)", s.prog.argv[0], ws.Signal(), ws.Signal())
	default:
		s.stats.exit("failure")
		how = fmt.Errorf("%s exited with status %d", s.prog.argv[0], ws.ExitStatus())
	}
	return &socketserver.ChildError{PID: c.p.pid, Err: how}
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

// programEnd is sockserve's end of the socket pair of a program whose
// bytes it relays. Its errors are the program's doing, not the client's:
// a read error (ECONNRESET, when the program exits with input unread) is
// the end of its output, and a write error (EPIPE, when it has closed its
// input or exited) is kept in err, for the relay to tell it apart from
// the client's.
type programEnd struct {
	f   *os.File
	err error // the first write error
}

func (p *programEnd) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil {
		err = io.EOF
	}
	return n, err
}

func (p *programEnd) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if err != nil && p.err == nil {
		p.err = err
	}
	return n, err
}

// A stopFlag tells the goroutine that relays the client's bytes that its
// read failed because the relay was over.
type stopFlag struct{ atomic.Bool }

func (f *stopFlag) isSet() bool { return f.Load() }

// stopReads ends the goroutine reading the client, which reports on done,
// by putting the connection's read deadline in the past, and returns the
// goroutine's error. The server's own deadlines (-read-timeout) are set
// before each read, so the deadline is set again until the goroutine has
// ended.
func (f *stopFlag) stopReads(r *socketserver.Request, done <-chan error) error {
	select {
	case err := <-done:
		return err
	default:
	}
	f.Store(true)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.Conn.SetReadDeadline(time.Unix(1, 0))
		select {
		case err := <-done:
			r.Conn.SetReadDeadline(time.Time{})
			return err
		case <-tick.C:
		}
	}
}

// socketPair returns a connected pair of stream sockets: ours,
// non-blocking for the runtime's poller, and theirs, blocking, for a
// child's standard input and output. Neither is inherited by other
// children.
func socketPair() (ours *os.File, theirs int, err error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, -1, os.NewSyscallError("socketpair", err)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, -1, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(fds[0]), "program"), fds[1], nil
}

// closeWrite shuts down the sending side of a socket file.
func closeWrite(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_WR) })
	}
}
