package procs

import "syscall"

// self is the running binary itself, even if its file was replaced.
func self() (string, error) { return "/proc/self/exe", nil }

func sysProcAttr(deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
}
