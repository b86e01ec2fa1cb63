//go:build unix && (!linux || socketserver_portable)

package procs

import (
	"os"
	"syscall"
)

// A Spawner starts child processes from the calling goroutine: without a
// parent-death signal, no thread needs to outlive them.
type Spawner struct{}

// NewSpawner returns a spawner.
func NewSpawner() *Spawner { return &Spawner{} }

func (*Spawner) do(f func()) { f() }

// Stop ends the spawner.
func (*Spawner) Stop() {}

// self is the running binary's path, as the system knows it.
func self() (string, error) { return os.Executable() }

// sysProcAttr starts the child in a process group of its own. There is no
// parent-death signal: the child learns of its server's death when its
// control socket reaches the end of the stream.
func sysProcAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
