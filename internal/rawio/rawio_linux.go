package rawio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pointers are converted to uintptr in the call expressions themselves,
// as unsafe.Pointer's rules require for a system call's arguments.

func result(r uintptr, errno unix.Errno) (int, error) {
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// Read reads from fd into p: n > 0 bytes, 0 at the end of a stream, or an
// error (unix.EAGAIN when nothing is there), as read(2).
func Read(fd int, p []byte) (int, error) {
	r, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return result(r, errno)
}

// Write writes p to fd, as write(2): possibly less than all of it.
func Write(fd int, p []byte) (int, error) {
	r, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return result(r, errno)
}

// Accept takes a connection from the listening fd, non-blocking and
// close-on-exec, with the client's address in rsa.
func Accept(fd int, rsa *unix.RawSockaddrAny) (int, error) {
	size := uint32(unix.SizeofSockaddrAny)
	r, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(rsa)),
		uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return result(r, errno)
}

// RecvFrom reads one datagram from fd into p, its sender's address into
// rsa, as recvfrom(2) with flags (unix.MSG_TRUNC: n is the datagram's
// whole length even when it did not fit). A sender without an address
// (an unnamed Unix socket) leaves rsa's family AF_UNSPEC.
func RecvFrom(fd int, p []byte, flags int, rsa *unix.RawSockaddrAny) (int, error) {
	rsa.Addr.Family = unix.AF_UNSPEC
	size := uint32(unix.SizeofSockaddrAny)
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), uintptr(flags),
		uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&size)))
	return result(r, errno)
}

// SendTo sends p as one datagram from fd to the address in rsa, of size
// bytes (see Inet4, Inet6, Unix).
func SendTo(fd int, p []byte, rsa *unix.RawSockaddrAny, size uint32) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(rsa)), uintptr(size))
	if errno != 0 {
		return errno
	}
	return nil
}

// Getsockname writes fd's own address into rsa.
func Getsockname(fd int, rsa *unix.RawSockaddrAny) error {
	size := uint32(unix.SizeofSockaddrAny)
	_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return errno
	}
	return nil
}
