package socketserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A childInfo is what a process started by a Fork or Prefork server knows
// of its role, from its environment and descriptors.
type childInfo struct {
	role  string // "fork" or "prefork"
	key   string // the childKey of the Server to serve with
	addr  childAddr
	ctl   *net.UnixConn
	owner atomic.Pointer[Server] // the Server that claimed the role
	never chan struct{}          // never closed: other Servers wait on it

	// A worker's SIGTERM and SIGINT, caught from the start so that one
	// sent while main still prepares is acted on once the worker serves.
	signals chan os.Signal

	sendMu sync.Mutex

	sockOnce sync.Once
	sock     *trackedSocket // a worker's inherited socket
	sockErr  error
}

// theChild is set when the process starts, and the environment cleaned, so
// that processes the handlers start do not take themselves for children.
var theChild = detectChild()

func currentChild() *childInfo { return theChild }

func detectChild() *childInfo {
	role := os.Getenv(envRole)
	if role == "" {
		return nil
	}
	ci := &childInfo{role: role, key: os.Getenv(envKey), never: make(chan struct{})}
	network, addr, _ := strings.Cut(os.Getenv(envAddr), " ")
	ci.addr = childAddr{network, addr}
	parent, _ := strconv.Atoi(os.Getenv(envParent))
	if os.Getenv(envProcs) != "" {
		os.Unsetenv("GOMAXPROCS")
	}
	for _, v := range []string{envRole, envKey, envAddr, envParent, envProcs} {
		os.Unsetenv(v)
	}
	if role != "fork" && role != "prefork" {
		fmt.Fprintf(os.Stderr, "socketserver: ignoring %s=%q: not a child role\n", envRole, role)
		return nil
	}
	if os.Getppid() != parent {
		os.Exit(1) // the server died before this process could learn of it
	}
	unix.CloseOnExec(ctlFD)
	unix.CloseOnExec(inheritedFD)
	f := os.NewFile(ctlFD, "socketserver-control")
	c, err := net.FileConn(f)
	f.Close()
	uc, ok := c.(*net.UnixConn)
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "socketserver: child without its control socket: %v\n", err)
		os.Exit(2)
	}
	ci.ctl = uc
	if role == "prefork" {
		ci.signals = make(chan os.Signal, 2)
		signal.Notify(ci.signals, syscall.SIGTERM, syscall.SIGINT)
	}
	return ci
}

// send sends one message to the server.
func (ci *childInfo) send(msg []byte) error {
	ci.sendMu.Lock()
	defer ci.sendMu.Unlock()
	_, err := ci.ctl.Write(msg)
	return err
}

// childRole returns the role s has to take in this process, if it is a
// child and s has the mode the child was started for.
func (s *Server) childRole() *childInfo {
	ci := theChild
	if ci == nil || s.inWorker {
		return nil
	}
	switch s.Mode.(type) {
	case Fork:
		if ci.role == "fork" {
			return ci
		}
	case Prefork:
		if ci.role == "prefork" {
			return ci
		}
	}
	return nil
}

// claim reports whether s is the Server this child serves with: the first
// one with the server's Network and Addr.
func (ci *childInfo) claim(s *Server) bool {
	if s.childKey() != ci.key {
		return false
	}
	return ci.owner.CompareAndSwap(nil, s) || ci.owner.Load() == s
}

// listenAsChild is Listen in a child: nothing is bound. A worker takes
// the socket it inherited.
func (s *Server) listenAsChild(ci *childInfo) (net.Addr, error) {
	if !ci.claim(s) {
		return childAddr{s.network(), s.Addr}, nil
	}
	if ci.role == "fork" {
		return ci.addr, nil
	}
	t, err := ci.socket()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.initLocked()
	s.listened = t
	s.mu.Unlock()
	return t.addr(), nil
}

// socket returns the socket a worker inherited.
func (ci *childInfo) socket() (*trackedSocket, error) {
	ci.sockOnce.Do(func() {
		f := os.NewFile(inheritedFD, "socketserver-socket")
		defer f.Close()
		typ, err := unix.GetsockoptInt(inheritedFD, unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			ci.sockErr = fmt.Errorf("socketserver: worker without its socket: %w", err)
			return
		}
		if typ == unix.SOCK_DGRAM {
			pc, err := net.FilePacketConn(f)
			ci.sock, ci.sockErr = &trackedSocket{pc: pc}, err
			return
		}
		ln, err := net.FileListener(f)
		ci.sock, ci.sockErr = &trackedSocket{ln: ln}, err
	})
	return ci.sock, ci.sockErr
}

// serveAsChild is what Serve, ServePacket and ListenAndServe do in a
// child: serve the server's requests with s and exit the process, or, if
// s is not the Server the child serves with, wait until it does. A socket
// t made in the child is closed unused.
func (s *Server) serveAsChild(ci *childInfo, t *trackedSocket) error {
	if !ci.claim(s) {
		if t != nil {
			t.close()
		}
		<-ci.never
	}
	if t != nil && t != ci.sock {
		t.close()
	}
	if ci.role == "fork" {
		s.serveForkChild(ci)
	}
	sock, err := ci.socket()
	if err != nil {
		s.logger().Error(err.Error())
		os.Exit(1)
	}
	s.serveWorker(ci, sock)
	panic("unreachable")
}

// serveForkChild serves the jobs the server sends, up to
// MaxRequestsPerChild, then exits the process.
func (s *Server) serveForkChild(ci *childInfo) {
	f, _ := s.Mode.(Fork)
	s.mu.Lock()
	s.initLocked()
	s.reportTo = ci
	s.mu.Unlock()
	buf := make([]byte, s.maxPacketSize()+1024)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for range f.maxRequests() {
		if ci.send([]byte{msgReady}) != nil {
			break
		}
		n, oobn, flags, _, err := ci.ctl.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			break // the server retired this child
		}
		j, err := decodeJob(buf[:n], oob[:oobn])
		if err == nil && flags&unix.MSG_TRUNC != 0 {
			unix.Close(j.fd)
			err = errors.New("socketserver: job larger than the child's buffer")
		}
		if err != nil {
			s.report(nil, err)
			os.Exit(1)
		}
		s.serveJob(j)
		if ci.send([]byte{msgDone}) != nil {
			break
		}
	}
	os.Exit(0)
}

// serveJob serves one request handed over by the server.
func (s *Server) serveJob(j *job) {
	f := os.NewFile(uintptr(j.fd), "socketserver-request")
	defer f.Close()
	var r *Request
	if j.kind == jobStream {
		c, err := net.FileConn(f)
		if err != nil {
			s.report(nil, err)
			return
		}
		r = s.newStreamRequest(c, false)
	} else {
		pc, err := net.FilePacketConn(f)
		if err != nil {
			s.report(nil, err)
			return
		}
		defer pc.Close()
		local := pc.LocalAddr()
		r = &Request{
			ID:         s.nextID.Add(1),
			RemoteAddr: remoteAddr(local.Network(), j.remote),
			LocalAddr:  local,
			Packet:     j.packet,
			PacketConn: pc,
			srv:        s,
		}
		s.stats.bytesIn.Add(int64(len(j.packet)))
	}
	// The server verified the request, unless it had to leave that to the
	// child: see forkExecutor.run.
	r.checked = s.WrapConn == nil
	if !s.admit(r) {
		if r.Conn != nil {
			r.Conn.Close()
		}
		return
	}
	r.setState(StateNew)
	s.serveRequest(r)
}

// remoteAddr parses a datagram client's address, as the server wrote it.
func remoteAddr(network, a string) net.Addr {
	if strings.HasPrefix(network, "udp") {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			return net.UDPAddrFromAddrPort(ap)
		}
	}
	if a == "" {
		return UnnamedAddr{Net: network}
	}
	return &net.UnixAddr{Name: a, Net: network}
}

// serveWorker serves the inherited socket in the workers' mode until
// SIGTERM (a graceful Shutdown) or SIGINT (Close), or until the supervisor
// is gone, then exits the process.
func (s *Server) serveWorker(ci *childInfo, t *trackedSocket) {
	pf, _ := s.Mode.(Prefork)
	s.mu.Lock()
	s.initLocked()
	s.inWorker = true
	s.workerMode = pf.workerMode()
	s.mu.Unlock()
	go func() {
		for sig := range ci.signals {
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
	ci.send([]byte{msgReady})
	err := s.serve(t)
	if !errors.Is(err, ErrServerClosed) {
		s.logger().Error("socketserver: worker failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}
