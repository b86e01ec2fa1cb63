//go:build unix

// Package procs starts the child processes of the Fork and Prefork modes:
// this very program again, with the descriptors it is given, in a process
// group of its own. It knows nothing of socketserver.Server.
//
// On Linux a child is sent a signal when the server's process dies
// (PR_SET_PDEATHSIG) and the program is re-run through /proc/self/exe,
// even if its file was replaced since. Elsewhere, and on Linux with the
// socketserver_portable build tag, the program is os.Executable, and a
// child learns of its server's death from its control socket instead.
package procs

import (
	"fmt"
	"os"
	"syscall"
)

// A Spec is a child to start.
type Spec struct {
	Args []string // os.Args of the child: this program's, usually
	Env  []string
	// Files are the child's descriptors 0, 1, 2, … as they are (not
	// through os.File, whose Fd method would put a socket the server
	// shares with the child into blocking mode).
	Files []uintptr
	// Extra, if not nil, is a socket whose descriptor follows Files.
	Extra syscall.Conn
	// DeathSignal, if not zero, is sent to the child if the server's
	// process dies, where the system can (Linux).
	DeathSignal syscall.Signal
}

// Start starts this program as spec says, in a process group of its own.
// The returned process is waited for and signalled through os.Process:
// its PID names it alone until it is reaped (by a pidfd, on Linux).
func (sp *Spawner) Start(spec Spec) (*os.Process, error) {
	exe, err := self()
	if err != nil {
		return nil, err
	}
	attr := &syscall.ProcAttr{Env: spec.Env, Files: spec.Files, Sys: sysProcAttr(spec.DeathSignal)}
	var pid int
	sp.do(func() {
		if spec.Extra == nil {
			pid, _, err = syscall.StartProcess(exe, spec.Args, attr)
			return
		}
		rc, rerr := spec.Extra.SyscallConn()
		if rerr != nil {
			err = rerr
			return
		}
		cerr := rc.Control(func(fd uintptr) {
			attr.Files = append(attr.Files, fd)
			pid, _, err = syscall.StartProcess(exe, spec.Args, attr)
		})
		if err == nil {
			err = cerr
		}
	})
	if err != nil {
		return nil, fmt.Errorf("procs: starting %s: %w", exe, err)
	}
	return os.FindProcess(pid)
}
