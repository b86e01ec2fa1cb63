//go:build linux

package rawio

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestStream(t *testing.T) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	unix.Listen(lfd, 8)
	var rsa unix.RawSockaddrAny
	if _, err := Accept(lfd, &rsa); err != unix.EAGAIN {
		t.Fatalf("Accept with none waiting: %v, want EAGAIN", err)
	}
	if err := Getsockname(lfd, &rsa); err != nil || rsa.Addr.Family != unix.AF_INET {
		t.Fatalf("Getsockname: %v, family %d", err, rsa.Addr.Family)
	}
	port := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa)).Port // network order
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: int(port>>8 | port<<8)}); err != nil {
		t.Fatal(err)
	}
	var peer unix.RawSockaddrAny
	var fd int
	for {
		if fd, err = Accept(lfd, &peer); err != unix.EAGAIN {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if peer.Addr.Family != unix.AF_INET {
		t.Fatalf("peer family %d", peer.Addr.Family)
	}
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); flags&unix.O_NONBLOCK == 0 {
		t.Error("accepted descriptor is blocking")
	}
	buf := make([]byte, 8)
	if _, err := Read(fd, buf); err != unix.EAGAIN {
		t.Fatalf("Read with nothing sent: %v, want EAGAIN", err)
	}
	if n, err := Write(fd, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if n, err := Write(fd, nil); n != 0 || err != nil {
		t.Fatalf("empty Write: %d, %v", n, err)
	}
	if n, err := unix.Read(cfd, buf); n != 5 || err != nil || string(buf[:5]) != "hello" {
		t.Fatalf("client read %q, %v", buf[:n], err)
	}
	unix.Write(cfd, []byte("bye"))
	unix.Shutdown(cfd, unix.SHUT_WR)
	var got []byte
	for {
		n, err := Read(fd, buf)
		if err == unix.EAGAIN {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break // the end of the stream
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "bye" {
		t.Fatalf("read %q", got)
	}
}

func TestDatagram(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	var rsa unix.RawSockaddrAny
	if _, err := RecvFrom(fds[0], make([]byte, 4), unix.MSG_TRUNC, &rsa); err != unix.EAGAIN {
		t.Fatalf("RecvFrom with nothing sent: %v", err)
	}
	unix.Write(fds[1], []byte("a longer datagram"))
	buf := make([]byte, 4)
	n, err := RecvFrom(fds[0], buf, unix.MSG_TRUNC, &rsa)
	if err != nil || n != len("a longer datagram") || string(buf) != "a lo" {
		t.Fatalf("RecvFrom: %d %q %v, want the whole length and a truncated copy", n, buf, err)
	}
	if rsa.Addr.Family != unix.AF_UNSPEC && rsa.Addr.Family != unix.AF_UNIX {
		t.Fatalf("unnamed sender's family %d", rsa.Addr.Family)
	}
	// sendto on a connected pair ignores no address: send to none.
	if err := SendTo(fds[1], []byte("x"), &rsa, 0); err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	if n, _ := unix.Read(fds[0], buf); n != 1 {
		t.Fatalf("read %d bytes", n)
	}
}
