package poller

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Poller is an epoll instance with an eventfd for wake-ups.
type Poller struct {
	epfd   int
	wakefd int
	events []unix.EpollEvent
	woken  atomic.Bool // a wake-up is pending: further Wakes need not write

	mu     sync.RWMutex // held by Wake for reading, by Close for writing
	closed bool
}

// New returns a Poller that reports up to batch events per Wait.
func New(batch int) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, events: make([]unix.EpollEvent, max(batch, 1))}
	if err := p.ctl(unix.EPOLL_CTL_ADD, wakefd, Readable); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func epollFlags(interest uint32) uint32 {
	var ev uint32
	if interest&Readable != 0 {
		ev |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if interest&Writable != 0 {
		ev |= unix.EPOLLOUT
	}
	return ev
}

func (p *Poller) ctl(op, fd int, interest uint32) error {
	ev := unix.EpollEvent{Events: epollFlags(interest), Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Add watches fd for the interest given (Readable, Writable, both or none).
func (p *Poller) Add(fd int, interest uint32) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, interest)
}

// Modify changes what fd is watched for.
func (p *Poller) Modify(fd int, interest uint32) error {
	return p.ctl(unix.EPOLL_CTL_MOD, fd, interest)
}

// Remove stops watching fd. Closing a descriptor removes it too, unless
// another descriptor shares its open file (after dup).
func (p *Poller) Remove(fd int) error {
	return p.ctl(unix.EPOLL_CTL_DEL, fd, 0)
}

// Wait blocks until a descriptor is ready, Wake is called, or timeoutMs
// milliseconds pass (-1: no limit), and calls f for each ready descriptor.
// It returns how many events it saw, the wake-up included, and whether a
// wake-up arrived.
//
// With a timeout of zero Wait does not block, and makes a raw system call
// that skips the Go scheduler's bookkeeping for blocking calls: a busy
// loop should poll that way, and block only when a poll finds nothing.
func (p *Poller) Wait(timeoutMs int, f func(Event)) (n int, woken bool, err error) {
	if timeoutMs == 0 {
		r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd),
			uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		n = int(r)
		if errno != 0 {
			err = errno
		}
	} else {
		n, err = unix.EpollWait(p.epfd, p.events, timeoutMs)
	}
	if err == unix.EINTR {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, os.NewSyscallError("epoll_wait", err)
	}
	for i := range n {
		e := &p.events[i]
		fd := int(e.Fd)
		if fd == p.wakefd {
			p.drainWake()
			woken = true
			continue
		}
		var ready uint32
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLPRI) != 0 {
			ready |= Readable
		}
		if e.Events&unix.EPOLLOUT != 0 {
			ready |= Writable
		}
		if e.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			ready |= Hangup
		}
		f(Event{Fd: fd, Events: ready})
	}
	return n, woken, nil
}

// Wake makes the current or next Wait return. It is safe to call from any
// goroutine, even during or after Close (it then does nothing), and cheap
// when a wake-up is already pending.
func (p *Poller) Wake() error {
	if !p.woken.CompareAndSwap(false, true) {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil
	}
	var one = [8]byte{1}
	for {
		_, err := unix.Write(p.wakefd, one[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the counter is full, so a wake-up is pending anyway
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("poller: wake: %w", err)
	}
}

func (p *Poller) drainWake() {
	var buf [8]byte
	unix.Read(p.wakefd, buf[:])
	// Only now may the next Wake write again. The caller takes its queued
	// work after Wait returns, so work queued before a Wake that found the
	// flag still set is not missed.
	p.woken.Store(false)
}

// Close releases the epoll instance and the eventfd. It must be called
// once, after the last Wait.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	err1 := unix.Close(p.wakefd)
	err2 := unix.Close(p.epfd)
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}
