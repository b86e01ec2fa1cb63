package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// A proc is a running program, known by a pidfd: a signal never reaches
// another process that took its PID, and the wait for its exit is on the
// runtime's poller, not a thread blocked in wait4 for each program.
type proc struct {
	pid   int
	pidfd *os.File // pollable: readable once the process has exited; nil on kernels before 5.3
}

// startProc starts path with argv and env, with files as its descriptors
// 0, 1, 2…, in a process group of its own (a Ctrl-C on the terminal is
// sockserve's alone).
func startProc(path string, argv, env []string, files []uintptr) (*proc, error) {
	pidfd := -1
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: &syscall.SysProcAttr{Setpgid: true, PidFD: &pidfd}}
	pid, _, err := syscall.StartProcess(path, argv, attr)
	if err != nil {
		return nil, err
	}
	p := &proc{pid: pid}
	if pidfd >= 0 {
		if syscall.SetNonblock(pidfd, true) == nil {
			p.pidfd = os.NewFile(uintptr(pidfd), "pidfd")
		} else {
			syscall.Close(pidfd)
		}
	}
	return p, nil
}

// wait waits for the process to exit, and reaps it.
func (p *proc) wait() (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	if p.pidfd == nil {
		_, err := wait4(p.pid, &ws, 0)
		return ws, err
	}
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return ws, err
	}
	var werr error
	err = rc.Read(func(uintptr) bool {
		var pid int
		pid, werr = wait4(p.pid, &ws, syscall.WNOHANG)
		return pid != 0 || werr != nil // else not yet: wait until the pidfd is readable
	})
	if werr != nil {
		return ws, werr
	}
	return ws, err
}

// wait4 is syscall.Wait4, retried on EINTR.
func wait4(pid int, ws *syscall.WaitStatus, options int) (int, error) {
	for {
		wpid, err := syscall.Wait4(pid, ws, options, nil)
		if err != syscall.EINTR {
			return wpid, err
		}
	}
}

// signal sends sig to the process, if it is still there.
func (p *proc) signal(sig syscall.Signal) {
	if p.pidfd == nil {
		syscall.Kill(p.pid, sig) // the PID is ours until wait reaps it, and signal is not called after
		return
	}
	if rc, err := p.pidfd.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.PidfdSendSignal(int(fd), sig, nil, 0) })
	}
}

// release frees the pidfd, once wait has returned.
func (p *proc) release() {
	if p.pidfd != nil {
		p.pidfd.Close()
	}
}
