package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// A proc is a running program, with a pidfd by which to signal it: a
// signal never reaches another process that took its PID.
type proc struct {
	pid   int
	pidfd int // -1 on kernels before 5.3
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
	return &proc{pid: pid, pidfd: pidfd}, nil
}

// exited reports whether the process has exited, without reaping it.
func (p *proc) exited() bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil && info.Signo != 0 // no state yet: Signo is left zero
		}
	}
}

// waitExit waits until the process has exited, without reaping it: until
// reap, its PID, which is also its process group's ID, stays its own, so
// that signal may signal the group. The thread blocks; it is called when
// the program's standard error has ended, that is, as it exits.
func (p *proc) waitExit() error {
	for {
		err := unix.Waitid(unix.P_PID, p.pid, nil, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
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
	if p.pidfd >= 0 {
		unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
	}
	syscall.Kill(-p.pid, sig)
}

// release frees the pidfd, once reaped.
func (p *proc) release() {
	if p.pidfd >= 0 {
		syscall.Close(p.pidfd)
	}
}

// childPipe returns a pipe whose write end, blocking and not registered
// with the runtime's poller, is for a child, and whose read end is ours.
func childPipe() (ours *os.File, theirs int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, os.NewSyscallError("pipe2", err)
	}
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_SETFL, unix.O_RDONLY|unix.O_NONBLOCK); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, -1, os.NewSyscallError("fcntl", err)
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
