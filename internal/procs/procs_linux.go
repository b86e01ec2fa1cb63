//go:build linux && !socketserver_portable

package procs

import (
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

// self is the running binary itself, even if its file was replaced.
func self() (string, error) { return "/proc/self/exe", nil }

func sysProcAttr(deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
}
