//go:build unix && !linux

package procs

import (
	"os"
	"syscall"
)

// self is the running binary's path, as the system knows it.
func self() (string, error) { return os.Executable() }

// sysProcAttr starts the child in a process group of its own. The system
// has no parent-death signal: the child learns of its server's death when
// its control socket reaches end of file.
func sysProcAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
