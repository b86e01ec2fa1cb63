package socketserver

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// A spawner starts child processes from one locked OS thread that lives as
// long as they may: Linux sends a child its parent-death signal when the
// thread that started it exits, not the process, and the Go runtime may
// end an ordinary thread (one a goroutine locked and never unlocked).
type spawner struct {
	reqs chan func()
}

func newSpawner() *spawner {
	sp := &spawner{reqs: make(chan func())}
	go sp.loop()
	return sp
}

func (sp *spawner) loop() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // the thread returns to the pool, alive
	for f := range sp.reqs {
		f()
	}
}

// do runs f on the spawner's thread.
func (sp *spawner) do(f func()) {
	done := make(chan struct{})
	sp.reqs <- func() {
		defer close(done)
		f()
	}
	<-done
}

// stop ends the spawner, once no child it started is alive.
func (sp *spawner) stop() { close(sp.reqs) }

// startChild starts this program again (the very binary, even if replaced
// on disk since) as a child of role "fork" or "prefork" for s, whose socket
// is at addr. The child has /dev/null as its standard input, the server's
// standard output and error, the control socket ctl at descriptor 3 and,
// if src is not nil, src's socket at descriptor 4. It gets deathSig if the
// server's process dies.
//
// The descriptors are passed as they are, not through os.File: its Fd
// method would put the socket, which the server shares with its children,
// into blocking mode.
func (s *Server) startChild(sp *spawner, role string, addr net.Addr, ctl int, src syscall.Conn, deathSig syscall.Signal) (*os.Process, error) {
	env := make([]string, 0, len(os.Environ())+4)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != envRole && name != envParent && name != envKey && name != envAddr && name != envProcs {
			env = append(env, kv)
		}
	}
	if os.Getenv("GOMAXPROCS") == "" && role == "fork" {
		// A child serves one request at a time, and a runtime with one P
		// starts faster (about 10% less CPU per child, measured). The child
		// unsets it again, for the processes it may start.
		env = append(env, "GOMAXPROCS=1", envProcs+"=1")
	}
	env = append(env,
		envRole+"="+role,
		envParent+"="+strconv.Itoa(os.Getpid()),
		envKey+"="+s.childKey(),
		envAddr+"="+addr.Network()+" "+addr.String(),
	)
	devNull, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("open", err)
	}
	defer syscall.Close(devNull)
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{uintptr(devNull), 1, 2, uintptr(ctl)},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig},
	}
	var pid int
	sp.do(func() {
		if src == nil {
			pid, _, err = syscall.StartProcess("/proc/self/exe", os.Args, attr)
			return
		}
		rc, rerr := src.SyscallConn()
		if rerr != nil {
			err = rerr
			return
		}
		cerr := rc.Control(func(fd uintptr) {
			attr.Files = append(attr.Files, fd)
			pid, _, err = syscall.StartProcess("/proc/self/exe", os.Args, attr)
		})
		if err == nil {
			err = cerr
		}
	})
	if err != nil {
		return nil, fmt.Errorf("socketserver: starting a %s child: %w", role, err)
	}
	// The PID stays ours until it is reaped, so it names the child alone.
	return os.FindProcess(pid)
}
