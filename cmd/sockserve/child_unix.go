//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// stderrLinger is how long the log waits for the rest of a program's
// standard error once it has exited, if a process it started holds it
// open; stderrPoll is how often it looks for that exit meanwhile.
const (
	stderrLinger = time.Second
	stderrPoll   = time.Second
)

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
