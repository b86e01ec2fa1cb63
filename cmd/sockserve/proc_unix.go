//go:build unix && !linux

package main

import (
	"errors"
	"os"
	"syscall"
)

// A proc is a running program.
type proc struct {
	pid int
	p   *os.Process
}

// startProc starts path with argv and env, with files as its descriptors
// 0, 1, 2…, in a process group of its own (a Ctrl-C on the terminal is
// sockserve's alone).
func startProc(path string, argv, env []string, files []uintptr) (*proc, error) {
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: &syscall.SysProcAttr{Setpgid: true}}
	pid, _, err := syscall.StartProcess(path, argv, attr)
	if err != nil {
		return nil, err
	}
	p, err := os.FindProcess(pid)
	return &proc{pid: pid, p: p}, err
}

// wait waits for the process to exit, and reaps it.
func (p *proc) wait() (syscall.WaitStatus, error) {
	st, err := p.p.Wait()
	if err != nil {
		return 0, err
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return 0, errors.New("no wait status")
	}
	return ws, nil
}

// signal sends sig to the process, if it is still there.
func (p *proc) signal(sig syscall.Signal) { p.p.Signal(sig) }

// release does nothing: os.Process needs no release after Wait.
func (p *proc) release() {}
