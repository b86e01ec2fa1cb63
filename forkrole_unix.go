//go:build unix

package socketserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// Environment variables telling a process it is a child.
const (
	envRole   = "SOCKETSERVER_CHILD"  // "fork" or "prefork"
	envToken  = "SOCKETSERVER_TOKEN"  // matches the Hello on the control socket
	envParent = "SOCKETSERVER_PARENT" // the server's PID
	envKey    = "SOCKETSERVER_KEY"    // the Server's childKey
	envAddr   = "SOCKETSERVER_ADDR"   // the server's bound address
	envProcs  = "SOCKETSERVER_PROCS"  // set: GOMAXPROCS=1 is the server's doing
)

var envNames = []string{envRole, envToken, envParent, envKey, envAddr, envProcs}

// A childInfo is what a process started by a Fork or Prefork server knows
// of its role, once verified.
type childInfo struct {
	role   string // "fork" or "prefork"
	key    string // the childKey of the Server to serve with
	addr   childAddr
	orphan bool // verified, but the server has died since
	ctl    *forkwire.Conn
	owner  atomic.Pointer[Server] // the Server that claimed the role

	readOnce sync.Once
	jobs     chan *forkwire.Job // from the server, for a Fork child; closed at the end of the stream
	answers  chan bool          // the server's answers to admissions
	closing  chan struct{}      // closed when the server says to close (or is gone)
	endOnce  sync.Once
	serving  atomic.Bool // a Fork child is serving a job

	sockOnce sync.Once
	sock     *socket // a worker's inherited socket
	sockErr  error
}

// theChild is the process's role, found the first time something asks
// (IsChild, or a Fork or Prefork Server serving): never at import.
var theChild = sync.OnceValue(detectChild)

// childRole returns this process's role if it is a verified child of the
// given role ("fork" or "prefork").
func childRole(role string) *childInfo {
	ci := theChild()
	if ci == nil || ci.role != role {
		return nil
	}
	return ci
}

// detectChild reads the role from the environment, removes it from there,
// and verifies it: the token must match the Hello waiting on the control
// socket, which only the server that set the environment can have sent.
func detectChild() *childInfo {
	role := os.Getenv(envRole)
	if role == "" {
		return nil
	}
	token := os.Getenv(envToken)
	parent, _ := strconv.Atoi(os.Getenv(envParent))
	ci := &childInfo{role: role, key: os.Getenv(envKey)}
	network, addr, _ := strings.Cut(os.Getenv(envAddr), " ")
	ci.addr = childAddr{network, addr}
	if os.Getenv(envProcs) != "" {
		os.Unsetenv("GOMAXPROCS") // the server's doing, for this process only
	}
	for _, v := range envNames {
		os.Unsetenv(v)
	}
	if (role != "fork" && role != "prefork") || !forkwire.ReadHello(forkwire.CtlFD, token) {
		fmt.Fprintf(os.Stderr, "socketserver: ignoring %s=%q in the environment: this process was not started by a socketserver server\n", envRole, role)
		return nil
	}
	unix.CloseOnExec(forkwire.CtlFD)
	unix.CloseOnExec(forkwire.InheritedFD)
	ctl, err := forkwire.NewConn(forkwire.CtlFD, "socketserver-control", childMaxMessage)
	if err != nil {
		fmt.Fprintf(os.Stderr, "socketserver: a child without its control socket: %v\n", err)
		return nil
	}
	ci.ctl = ctl
	ci.orphan = os.Getppid() != parent
	ci.jobs = make(chan *forkwire.Job, 1)
	ci.answers = make(chan bool, 1)
	ci.closing = make(chan struct{})
	return ci
}

// childMaxMessage is the largest message a child takes: a job with the
// largest datagram (and room for its address).
const childMaxMessage = 1<<16 + 1<<10

// newToken returns a fresh token for a child's Hello: not a secret from
// anyone who can read the child's environment, but never what a stale
// environment holds.
func newToken() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// report forwards an error the child's handler reported to the server.
func (ci *childInfo) report(err error) {
	var pe *PanicError
	if errors.As(err, &pe) {
		ci.send(forkwire.PanicReport(fmt.Sprint(pe.Value), pe.Stack))
		return
	}
	ci.send(forkwire.ErrorReport(err.Error(), isRoutine(err)))
}

// decodeReport turns a report a child forwarded back into an error.
func decodeReport(b []byte) error {
	r, err := forkwire.DecodeReport(b)
	switch {
	case err != nil:
		return err
	case r.Panic:
		return &PanicError{Value: r.Text, Stack: r.Stack}
	}
	return &childFailure{msg: r.Text, routine: r.Routine}
}

// send sends one message to the server.
func (ci *childInfo) send(msg []byte) error { return ci.ctl.Send(msg) }

// claim reports whether s is the Server this child serves with: the first
// one with the server's Network and Addr.
func (ci *childInfo) claim(s *Server) bool {
	if s.childKey() != ci.key {
		return false
	}
	return ci.owner.CompareAndSwap(nil, s) || ci.owner.Load() == s
}

// listen starts reading the control socket, once: the server's jobs go to
// ci.jobs, its answers to ci.answers; its orders to s, the Server that
// claimed the role. At the end of the stream (the server retired this
// child, or died) jobs is closed and so is closing; a Fork child serving a
// job ends at once: its server is gone.
func (ci *childInfo) listen(s *Server) {
	ci.readOnce.Do(func() { go ci.read(s) })
}

func (ci *childInfo) read(s *Server) {
	defer close(ci.jobs)
	for {
		msg, err := ci.ctl.Recv()
		if err != nil {
			ci.end()
			if ci.role == "fork" && ci.serving.Load() {
				os.Exit(3) // the server died: as its parent-death signal does on Linux
			}
			if ci.role == "prefork" {
				go abandoned(s)
			}
			return
		}
		switch msg[0] {
		case forkwire.MsgJob:
			j, err := decodeJob(msg, ci.ctl.TakeFD())
			if err != nil {
				s.report(nil, err)
				continue
			}
			ci.serving.Store(true)
			ci.jobs <- j
		case forkwire.MsgAnswer:
			ok, _ := forkwire.DecodeAnswer(msg)
			ci.answers <- ok
		case forkwire.MsgQuit:
			go s.Shutdown(context.Background())
		case forkwire.MsgClose:
			ci.end()
			go s.Close()
		}
	}
}

// abandoned ends a Prefork worker whose supervisor is gone, which can no
// longer stop it: a graceful Shutdown within the mode's Grace, then Close,
// then, if handlers still run after another Grace, the end of the process.
// (A worker's serve ends the process as soon as its Server is done.)
func abandoned(s *Server) {
	grace := Prefork{}.grace()
	if p, ok := s.mode().(Prefork); ok {
		grace = p.grace()
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if s.Shutdown(ctx) == nil {
		return
	}
	s.Close()
	time.AfterFunc(grace, func() {
		s.logger().Error("socketserver: worker's supervisor is gone, and its handlers do not return; exiting", "grace", grace)
		os.Exit(1)
	})
}

// end marks the server's order to close, or its end.
func (ci *childInfo) end() { ci.endOnce.Do(func() { close(ci.closing) }) }

// decodeJob parses a job and the descriptor that came with it, copying
// what it keeps of the message.
func decodeJob(msg []byte, fd int) (*forkwire.Job, error) {
	j, err := forkwire.DecodeJob(msg, fd, func(fd int) { unix.Close(fd) })
	if err != nil {
		return nil, err
	}
	j.Packet = append([]byte(nil), j.Packet...)
	unix.CloseOnExec(j.FD)
	return j, nil
}

// admit asks the server whether a client from ip may connect: a Fork
// child's MaxConnsPerIP slot is counted, and released, by the server.
func (ci *childInfo) admit(ip netip.Addr) bool {
	if ci.send(forkwire.Admit(ip)) != nil {
		return false
	}
	select {
	case ok := <-ci.answers:
		return ok
	case <-ci.closing:
		return false
	}
}

// socket returns the socket a worker inherited.
func (ci *childInfo) socket() (*socket, error) {
	ci.sockOnce.Do(func() {
		f := os.NewFile(forkwire.InheritedFD, "socketserver-socket")
		defer f.Close()
		typ, err := unix.GetsockoptInt(forkwire.InheritedFD, unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			ci.sockErr = fmt.Errorf("socketserver: worker without its socket: %w", err)
			return
		}
		if typ == unix.SOCK_DGRAM {
			pc, err := net.FilePacketConn(f)
			ci.sock, ci.sockErr = &socket{pc: pc}, err
			return
		}
		ln, err := net.FileListener(f)
		ci.sock, ci.sockErr = &socket{ln: ln}, err
	})
	return ci.sock, ci.sockErr
}
