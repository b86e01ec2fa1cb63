//go:build unix

package socketserver

import (
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver/internal/forkwire"
	"github.com/socketserver-go/socketserver/internal/procs"
)

// startChild starts this program again as a child of role "fork" or
// "prefork" for s, whose socket is at addr, and returns it with the
// server's end of its control socket. The child has devNull as its
// standard input, the server's standard output and error, the control
// socket at descriptor 3 and, if src is not nil, src's socket at
// descriptor 4. The control socket holds the Hello with the child's token
// and, if not nil, first. The child gets deathSig if the server's process
// dies, where the system can send it.
func (s *Server) startChild(sp *procs.Spawner, role string, addr net.Addr, first []byte, src syscall.Conn, deathSig syscall.Signal, devNull int) (*os.Process, *forkwire.Conn, error) {
	ctl, childEnd, err := forkwire.SocketPair(parentMaxMessage)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(childEnd)
	token := newToken()
	err = ctl.WriteHello(token)
	if err == nil && first != nil {
		err = ctl.Send(first)
	}
	if err != nil {
		ctl.Close()
		return nil, nil, err
	}
	proc, err := sp.Start(procs.Spec{
		Args:        os.Args,
		Env:         s.childEnv(role, token, addr),
		Files:       []uintptr{uintptr(devNull), 1, 2, uintptr(childEnd)},
		Extra:       src,
		DeathSignal: deathSig,
	})
	if err != nil {
		ctl.Close()
		return nil, nil, errors.Join(errors.New("socketserver: starting a "+role+" child"), err)
	}
	return proc, ctl, nil
}

// parentMaxMessage is the largest message a server takes from a child: a
// panic's value and stack.
const parentMaxMessage = 2*forkwire.MaxReportLen + 64

// childEnv is the environment of a child of role for s, whose socket is
// at addr: this process's, without any role of its own, and the new role.
func (s *Server) childEnv(role, token string, addr net.Addr) []string {
	env := make([]string, 0, len(os.Environ())+len(envNames)+1)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(envNames, name) {
			env = append(env, kv)
		}
	}
	if os.Getenv("GOMAXPROCS") == "" && role == "fork" {
		// A child serves one request at a time, and a runtime with one P
		// starts faster (about 10% less CPU per child, measured). The
		// child unsets it again, for the processes it may start.
		env = append(env, "GOMAXPROCS=1", envProcs+"=1")
	}
	return append(env,
		envRole+"="+role,
		envToken+"="+token,
		envParent+"="+strconv.Itoa(os.Getpid()),
		envKey+"="+s.childKey(),
		envAddr+"="+addr.Network()+" "+addr.String(),
	)
}
