//go:build unix

package socketserver

import (
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/socketserver-go/socketserver/internal/forkwire"
)

// A forkChildEngine is Fork mode in a child process: it serves the jobs
// its server sends, up to MaxRequestsPerChild, then ends the process. A
// Server of the child that is not the one to serve with waits, serving
// nothing, until the process ends.
type forkChildEngine struct {
	s  *Server
	ci *childInfo
	t  *socket // what Serve was given; closed unused
}

func newForkChildEngine(s *Server, ci *childInfo, t *socket) (engine, error) {
	if ci.orphan {
		return nil, errOrphan
	}
	return &forkChildEngine{s: s, ci: ci, t: t}, nil
}

func (*forkChildEngine) shutdown() {}
func (*forkChildEngine) close()    {}

// serve says the child is ready, then serves the jobs that come until it
// has served its share, or the server retires it, closes it or is gone.
// After each job it sends its counters: the server adds them up.
func (e *forkChildEngine) serve() error {
	s, ci := e.s, e.ci
	e.t.closeSocket()
	if !ci.claim(s) {
		select {} // the process ends when the Server that claimed the role is done
	}
	f, _ := s.Mode.(Fork)
	s.mu.Lock()
	s.child = ci
	s.mu.Unlock()
	ci.listen(s)
	if ci.send([]byte{forkwire.MsgReady}) != nil {
		os.Exit(0)
	}
	counts := newStatsPusher(s, ci, childStatsEvery)
	for range f.maxRequests() {
		var j *forkwire.Job
		select {
		case j = <-ci.jobs:
		case <-ci.closing:
		}
		if j == nil {
			break // retired, closed, or the server is gone
		}
		counts.start()
		e.serveJob(j)
		counts.stop()
		ci.serving.Store(false)
		if counts.push(forkwire.MsgDone) != nil {
			break
		}
	}
	os.Exit(0)
	panic("unreachable")
}

// serveJob serves one request handed over by the server.
func (e *forkChildEngine) serveJob(j *forkwire.Job) {
	s := e.s
	f := os.NewFile(uintptr(j.FD), "socketserver-request")
	defer f.Close()
	var r *Request
	if j.Kind == forkwire.JobStream {
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
			RemoteAddr: remoteAddr(local.Network(), j.Remote),
			LocalAddr:  local,
			Packet:     j.Packet,
			PacketConn: pc,
			srv:        s,
		}
	}
	// The server verified the request, unless it had to leave that to the
	// child: see forkDispatcher.run.
	r.checked = s.WrapConn == nil
	// Handed over, it is served even if the server's Shutdown began (and
	// told this child so) while it was on its way.
	if !s.admitReceived(r) {
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
