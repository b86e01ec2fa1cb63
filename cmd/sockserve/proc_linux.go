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

// waitExit waits until the process has exited, without reaping it: until
// reap, its PID, which is also its process group's ID, stays its own, so
// that signal may signal the group.
func (p *proc) waitExit() error {
	exited := func() (bool, error) {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				return info.Signo != 0, err // no state yet: Signo is left zero
			}
		}
	}
	if p.pidfd == nil {
		for {
			err := unix.Waitid(unix.P_PID, p.pid, nil, unix.WEXITED|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				return err
			}
		}
	}
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Read(func(uintptr) bool {
		var done bool
		done, werr = exited()
		return done || werr != nil // else not yet: wait until the pidfd is readable
	})
	if werr != nil {
		return werr
	}
	return err
}

// reap collects the exit status of the process, which has exited.
func (p *proc) reap() (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws, err
		}
	}
}

// signal sends sig to the process and to its process group: what the
// program started too, a shell's pipeline say. Call it only between
// start and reap.
func (p *proc) signal(sig syscall.Signal) {
	if p.pidfd != nil {
		if rc, err := p.pidfd.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.PidfdSendSignal(int(fd), sig, nil, 0) })
		}
	}
	syscall.Kill(-p.pid, sig)
}

// release frees the pidfd, once wait has returned.
func (p *proc) release() {
	if p.pidfd != nil {
		p.pidfd.Close()
	}
}

// childPipe returns a pipe whose write end, blocking and not registered
// with the runtime's poller, is for a child, and whose read end is ours.
func childPipe() (ours *os.File, theirs int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, os.NewSyscallError("pipe2", err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, -1, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), p[1], nil
}

// setBlocking puts a socket in blocking mode, or back, with one fcntl:
// its other status flags are O_RDWR alone, as accept4 made it.
func setBlocking(fd uintptr, blocking bool) error {
	flags := unix.O_RDWR
	if !blocking {
		flags |= unix.O_NONBLOCK
	}
	_, err := unix.FcntlInt(fd, unix.F_SETFL, flags)
	return err
}
