package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Fork serves each request in an operating-system process of its own, as
// Python's ForkingMixIn does: a crash, a leak or a hostile input in one
// request cannot touch the server or the other clients.
//
// Go cannot fork a running program, so the server starts its program
// again (the same executable, arguments and environment) and hands it the
// request: the accepted connection, or the datagram with the server's
// socket to reply from. The child runs main as usual; when main builds the
// Server whose Network and Addr match the parent's and calls Listen,
// ListenAndServe, Serve or ServePacket, that call serves the handed-over
// request with the configured Handler instead of binding, and the child
// process exits. Whatever main does before that runs in every child, so it
// should reach the Server quickly; IsChild tells main it runs as a child,
// to skip other work (see the example), and ChildAddr which Server to
// build.
//
// Starting a process is the cost of this mode, paid by every request: the
// Go runtime's start, the package initialisations of everything the
// program links, and main up to the Server. A child runs with
// GOMAXPROCS=1, which makes it start faster, unless the server's
// environment sets GOMAXPROCS; a program built with CGO_ENABLED=0 starts
// faster, without the dynamic loader. Spares take that cost out of a
// request's latency, not out of the CPU it takes; MaxRequestsPerChild
// shares it among several requests, which then share a process.
//
// Handler state is per process: a child starts from main, so what one
// request's handler changes in memory is lost when its child exits, and
// is never seen by the server or by other requests.
//
// VerifyRequest and MaxConnsPerIP run in the server, before a child is
// used; with WrapConn, whose client address is known only in the child,
// the child runs VerifyRequest and asks the server for the client's
// MaxConnsPerIP slot, so that the limit holds across all the children.
// Everything else runs in the child: Setup, Handle, Finish, ConnState's
// later states. Errors and panics the child's handler reports reach the
// server's HandleError as a *ChildError, as does a child that exits with
// a non-zero status, is killed by a signal, or does not start serving.
// The server's Stats include what its children count (bytes, requests
// they rejected).
//
// Children are started in process groups of their own (so that a Ctrl-C
// on the terminal reaches the server only) and end if the server's
// process dies: on Linux by a parent-death signal, elsewhere when their
// control socket closes. The server waits only for the processes it
// started, never for others of its process's children. Fork runs on every
// Unix system; elsewhere Serve returns an error wrapping ErrUnsupported.
type Fork struct {
	// MaxChildren bounds the child processes alive at once, warm spares
	// included. When it is reached, the server stops accepting until a
	// child exits (Python's max_children). Zero means 40.
	MaxChildren int

	// Spares is how many started, idle children the server keeps ready to
	// take a request at once. They save a request the wait for its
	// process to start (its latency), not the CPU the start takes. Zero
	// means none: a child is started for each request.
	Spares int

	// MaxRequestsPerChild is how many requests a child serves, one after
	// another, before it exits (as in Apache's prefork): the start's cost
	// is shared among them, and so are the process's memory and state.
	// Zero or one means one: each request has a fresh process.
	MaxRequestsPerChild int

	// Grace is how long a child has to exit, once the server is closed or
	// a graceful Shutdown runs past its deadline and the child is told to
	// close, before it is sent SIGKILL. Zero means 2s.
	Grace time.Duration

	// StartTimeout is how long a child may take from its start until its
	// Server serves. One that takes longer is killed and reported (its
	// request is lost). Zero means 10s.
	StartTimeout time.Duration

	// Daemon, if true, means Serve, Shutdown and Close do not wait for the
	// children serving requests (Python's block_on_close = False). They
	// still end when the server's process does.
	Daemon bool
}

// String returns "fork(N)", with the spares if there are any.
func (f Fork) String() string {
	if f.Spares > 0 {
		return fmt.Sprintf("fork(%d, %d spares)", f.maxChildren(), f.Spares)
	}
	return fmt.Sprintf("fork(%d)", f.maxChildren())
}

func (f Fork) maxChildren() int {
	if f.MaxChildren <= 0 {
		return 40
	}
	return f.MaxChildren
}

func (f Fork) maxRequests() int { return max(f.MaxRequestsPerChild, 1) }

func (f Fork) grace() time.Duration { return graceOr(f.Grace) }

func (f Fork) startTimeout() time.Duration { return startTimeoutOr(f.StartTimeout) }

func (f Fork) newEngine(s *Server, t *socket) (engine, error) {
	if s.Handler == nil {
		return nil, ErrNoHandler
	}
	if ci := childRole("fork"); ci != nil {
		return newForkChildEngine(s, ci, t)
	}
	d, err := newForkDispatcher(s, f, t.addr())
	if err != nil {
		return nil, err
	}
	return newLoop(s, t, d)
}

// childSocket is Listen in a Fork child: nothing is bound, and the
// address is the server's.
func (Fork) childSocket(s *Server) (*socket, bool, error) {
	ci := childRole("fork")
	if ci == nil {
		return nil, false, nil
	}
	if ci.orphan {
		return nil, true, errOrphan
	}
	if ci.claim(s) {
		return &socket{stand: ci.addr}, true, nil
	}
	return &socket{stand: childAddr{s.network(), s.Addr}}, true, nil
}

// Prefork serves requests in a fixed number of long-lived worker
// processes that share the server's socket, each running the same program
// and serving many requests in its own Mode. It is the model of Apache's
// prefork MPM and of nginx's workers: requests share a process only with
// those of the same worker, and a worker that crashes is started again
// while the others go on serving.
//
// The serving process is a supervisor: it owns the socket (bound, or
// inherited: Serve and ServePacket take any listener whose descriptor can
// be passed on) and starts the workers (as Fork starts children). It
// restarts a worker that exits, with a growing pause when workers keep
// failing early, and reports why; and it forwards shutdown over each
// worker's control socket: a graceful Shutdown tells each worker to shut
// down gracefully; Close, or Shutdown's deadline, tells it to close at
// once, then sends SIGKILL after Grace. Workers are never sent SIGTERM or
// SIGINT, so main's own handling of those signals runs in the supervisor
// only. ChildPIDs lists the workers.
//
// A worker runs main like a Fork child, and the matching Server's
// Listen, ListenAndServe, Serve or ServePacket serves the inherited socket
// until the supervisor says to stop or dies; then the worker exits (a
// worker sent SIGTERM or SIGINT directly shuts down, or closes, too).
// Hooks run in the worker that serves the request; the supervisor's Stats
// add up its workers' (as of at most 0.2s ago), those of workers that
// exited included. MaxConnsPerIP is counted in each worker.
//
// All workers accept from the one socket the supervisor owns, so a worker
// that dies leaves no queue of unserved connections behind, and the
// socket stays open while workers restart. Prefork, like Fork, runs on
// every Unix system.
type Prefork struct {
	// Workers is the number of worker processes. Zero means GOMAXPROCS.
	Workers int

	// Mode is how each worker serves its requests. Nil means Goroutine{}.
	// It must not be Fork or Prefork.
	Mode Mode

	// Grace is how long a worker has to exit once told to close before it
	// is sent SIGKILL. Zero means 2s.
	Grace time.Duration

	// StartTimeout is how long a worker may take from its start until it
	// serves. One that takes longer is killed, reported and restarted.
	// Zero means 10s.
	StartTimeout time.Duration
}

// String returns "prefork(N)".
func (p Prefork) String() string {
	return fmt.Sprintf("prefork(%d, %v)", p.workers(), p.workerMode())
}

func (p Prefork) workers() int {
	if p.Workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return p.Workers
}

func (p Prefork) workerMode() Mode {
	if p.Mode == nil {
		return Goroutine{}
	}
	return p.Mode
}

func (p Prefork) grace() time.Duration { return graceOr(p.Grace) }

func (p Prefork) startTimeout() time.Duration { return startTimeoutOr(p.StartTimeout) }

func (p Prefork) newEngine(s *Server, t *socket) (engine, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if _, ev := p.workerMode().(Event); ev && s.EventHandler == nil || !ev && s.Handler == nil {
		return nil, ErrNoHandler
	}
	if ci := childRole("prefork"); ci != nil {
		return newWorkerEngine(s, ci, t, p.workerMode())
	}
	return newSupervisor(s, t, p)
}

// childSocket is Listen in a Prefork worker: the socket the supervisor
// handed down.
func (Prefork) childSocket(s *Server) (*socket, bool, error) {
	ci := childRole("prefork")
	if ci == nil {
		return nil, false, nil
	}
	if ci.orphan {
		return nil, true, errOrphan
	}
	if ci.claim(s) {
		t, err := ci.socket()
		return t, true, err
	}
	return &socket{stand: childAddr{s.network(), s.Addr}}, true, nil
}

// checkNetwork refuses what the workers' mode cannot serve.
func (p Prefork) checkNetwork(network string) error {
	if mc, ok := p.workerMode().(interface{ checkNetwork(string) error }); ok {
		return mc.checkNetwork(network)
	}
	return nil
}

func graceOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 2 * time.Second
	}
	return d
}

func startTimeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 10 * time.Second
	}
	return d
}

// check rejects a worker mode that would start processes itself.
func (p Prefork) check() error {
	switch p.Mode.(type) {
	case Fork, Prefork:
		return fmt.Errorf("socketserver: Prefork's worker Mode must not be %v", p.Mode)
	}
	return nil
}

// A ChildError reports, to Server.HandleError, a failure in a child process
// of Fork or Prefork mode: an error or panic its handler reported (Err); an
// exit with a non-zero status or by a signal (State); or a child that did
// not start serving (Err wraps ErrChildStart, and State says how it ended,
// if it did).
type ChildError struct {
	PID   int              // the child's process ID
	Err   error            // what the child's handler reported, or why it did not start, or nil
	State *os.ProcessState // how the child exited, if that is (part of) the failure
}

// Error describes the failure.
func (e *ChildError) Error() string {
	switch {
	case e.Err != nil && e.State != nil:
		return fmt.Sprintf("socketserver: child %d: %v: %s", e.PID, e.Err, exitDescription(e.State))
	case e.Err != nil:
		return fmt.Sprintf("socketserver: child %d: %v", e.PID, e.Err)
	}
	return fmt.Sprintf("socketserver: child %d %s", e.PID, exitDescription(e.State))
}

// Unwrap returns Err.
func (e *ChildError) Unwrap() error { return e.Err }

// Signaled reports whether the child was killed by a signal, and which.
func (e *ChildError) Signaled() (syscall.Signal, bool) {
	if e.State == nil {
		return 0, false
	}
	ws, ok := e.State.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

func exitDescription(st *os.ProcessState) string {
	if st == nil {
		return "failed"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exited with status %d", st.ExitCode())
}

// A childFailure is an error a child's handler reported, carried to the
// server as text.
type childFailure struct {
	msg     string
	routine bool // the child judged it the ordinary end of a conversation
}

func (e *childFailure) Error() string { return e.msg }

// A processMode is a mode whose requests run in processes that run main
// again (Fork, Prefork). In such a process, Listen binds nothing and
// Serve serves what the parent hands down.
type processMode interface {
	Mode
	// childSocket returns, in a child process, the socket s serves there
	// instead of binding one; isChild is false in any other process.
	childSocket(s *Server) (t *socket, isChild bool, err error)
}

var (
	_ processMode = Fork{}
	_ processMode = Prefork{}
)

// errOrphan is what Listen and Serve return in a child process whose
// server is gone.
var errOrphan = errors.New("socketserver: the server that started this child process is gone")

// IsChild reports whether this process was started by a Server in Fork or
// Prefork mode, to serve requests for it. main may use it to skip work
// that only the serving process needs, such as opening an admin listener
// or printing a banner.
//
// This is the child's contract, and nothing is done before a process asks:
// importing the package has no effect. The first call of IsChild or
// ChildAddr, or of Listen, ListenAndServe, Serve or ServePacket on a
// Server in Fork or Prefork mode, looks for the role in the environment and verifies it: a
// token there must match the first message on the control socket the
// server passed at descriptor 3, and the process's parent must be the
// server. The role's variables are then removed from the environment (the
// processes a handler starts are not children). A process that inherited
// such variables from elsewhere is warned on stderr and goes on as an
// ordinary program; one whose server has died has IsChild true, and its
// Listen and Serve fail. Only in a verified child do Fork and Prefork
// Servers end the process when their work is done.
func IsChild() bool { return theChild() != nil }

// ChildAddr reports, in a child process of Fork or Prefork mode, the
// Network and Addr of the Server it serves for (those of the server that
// started it, as that Server's fields were set), so that main can build
// that Server, and no other. ok is false in any other process. A server
// that owns sockets it did not bind (inherited from systemd, or from a
// previous process over a restart) gives its Servers Network and Addr
// fields all the same: its children build Servers with the same fields,
// and bind nothing.
func ChildAddr() (network, addr string, ok bool) {
	ci := theChild()
	if ci == nil {
		return "", "", false
	}
	network, addr, _ = strings.Cut(ci.key, " ")
	return network, addr, true
}

// ChildPIDs returns the process IDs of the children a Server in Fork mode
// has alive (serving or spare) and of the workers of a Server in Prefork
// mode, in increasing order.
func (s *Server) ChildPIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	pids := make([]int, 0, len(s.procs))
	for pid := range s.procs {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// trackPID adds or removes a child process in ChildPIDs.
func (s *Server) trackPID(pid int, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs = make(map[int]struct{})
	}
	if add {
		s.procs[pid] = struct{}{}
	} else {
		delete(s.procs, pid)
	}
}

// childKey names the Server a child process must serve with: the one
// whose Network and Addr are those of the server that started it.
func (s *Server) childKey() string { return s.network() + " " + s.Addr }

// A childAddr is the address a child reports from Listen: the server's,
// which it does not bind.
type childAddr struct{ network, addr string }

func (a childAddr) Network() string { return a.network }
func (a childAddr) String() string  { return a.addr }

var _ net.Addr = childAddr{}
