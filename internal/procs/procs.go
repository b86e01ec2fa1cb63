//go:build unix

// Package procs starts the child processes of the Fork and Prefork modes:
// this very program again, with the descriptors it is given, in a process
// group of its own, killed if the server's process dies. It knows nothing
// of socketserver.Server.
package procs

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// A Spawner starts child processes from one locked OS thread that lives
// as long as they may: Linux sends a child its parent-death signal when
// the thread that started it exits, not the process, and the Go runtime
// may end an ordinary thread (one a goroutine locked and never unlocked).
type Spawner struct {
	reqs chan func()
}

// NewSpawner starts a spawner's thread.
func NewSpawner() *Spawner {
	sp := &Spawner{reqs: make(chan func())}
	go sp.loop()
	return sp
}

func (sp *Spawner) loop() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // the thread returns to the pool, alive
	for f := range sp.reqs {
		f()
	}
}

// do runs f on the spawner's thread.
func (sp *Spawner) do(f func()) {
	done := make(chan struct{})
	sp.reqs <- func() {
		defer close(done)
		f()
	}
	<-done
}

// Stop ends the spawner, once no child it started is alive.
func (sp *Spawner) Stop() { close(sp.reqs) }

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
	// DeathSignal is sent to the child if the server's process dies
	// (where the system can: Linux).
	DeathSignal syscall.Signal
}

// Start starts this program (the very binary, even if replaced on disk
// since, where the system can tell) as spec says, in a process group of
// its own.
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
	// The PID stays ours until it is reaped, so it names the child alone.
	return os.FindProcess(pid)
}
