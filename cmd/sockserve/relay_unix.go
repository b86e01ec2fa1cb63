//go:build unix

package main

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

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
