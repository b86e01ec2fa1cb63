//go:build unix && !linux

package main

import (
	"os"
	"syscall"
)

// A proc is a running program.
type proc struct {
	pid int
	p   *os.Process
	ws  syscall.WaitStatus // set by waitExit
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

// exited reports false: os.Process cannot look without reaping. A
// program whose standard error is held open by a process it started is
// waited for until that ends.
func (p *proc) exited() bool { return false }

// waitExit waits until the process has exited, and reaps it: os.Process
// cannot wait without reaping. signal signals the process alone, so
// that a reused PID is never a concern.
func (p *proc) waitExit() error {
	st, err := p.p.Wait()
	if err == nil {
		p.ws, _ = st.Sys().(syscall.WaitStatus)
	}
	return err
}

// reap returns the exit status waitExit collected.
func (p *proc) reap() (syscall.WaitStatus, error) { return p.ws, nil }

// signal sends sig to the process, if it is still there.
func (p *proc) signal(sig syscall.Signal) { p.p.Signal(sig) }

// release does nothing: os.Process needs no release after Wait.
func (p *proc) release() {}

// childPipe returns a pipe whose write end, blocking, is for a child, and
// whose read end is ours.
func childPipe() (ours *os.File, theirs int, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, -1, err
	}
	fd, err := syscall.Dup(int(w.Fd()))
	w.Close()
	if err != nil {
		r.Close()
		return nil, -1, os.NewSyscallError("dup", err)
	}
	syscall.CloseOnExec(fd)
	return r, fd, nil
}

// setBlocking puts a socket in blocking mode, or back.
func setBlocking(fd uintptr, blocking bool) error { return syscall.SetNonblock(int(fd), !blocking) }
