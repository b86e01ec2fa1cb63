//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup has cmd start a process group of its own, so that a forking
// server's children can be stopped with it.
func ownGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return nil
}

// killGroup kills the process group p leads.
func killGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }
