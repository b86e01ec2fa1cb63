//go:build unix

package forkwire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// pair returns both ends of a control socket as Conns, the child's end
// with its descriptor.
func pair(t *testing.T, max int) (server, child *Conn, childFD int) {
	t.Helper()
	server, fd, err := SocketPair(max)
	if err != nil {
		t.Fatal(err)
	}
	if ReadHello(fd, "none") {
		t.Fatal("a silent socket read as a Hello")
	}
	child, err = NewConn(fd, "child", max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); child.Close() })
	return server, child, fd
}

// Messages of every size up to the limit arrive whole and in order, from
// several senders at once; a descriptor arrives with its message; the end
// of one side is the other's io.EOF.
func TestConnMessages(t *testing.T) {
	server, child, _ := pair(t, 70<<10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	sizes := []int{1, 2, 4095, 4096, 4097, 65536 + 300, 70 << 10}
	for w := range 3 {
		wg.Go(func() {
			for _, n := range sizes {
				msg := bytes.Repeat([]byte{byte('a' + w)}, n)
				if err := server.Send(msg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		if err := server.SendFD(Hello("with-fd"), ln.(*net.TCPListener)); err != nil {
			t.Error(err)
		}
	})
	got := map[byte][]int{}
	for range 3*len(sizes) + 1 {
		msg, err := child.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if msg[0] == MsgHello {
			fd := child.TakeFD()
			if fd < 0 {
				t.Fatal("the descriptor did not come with its message")
			}
			if _, err := unix.Getsockname(fd); err != nil {
				t.Errorf("received descriptor: %v", err)
			}
			unix.Close(fd)
			continue
		}
		if bytes.Count(msg, msg[:1]) != len(msg) {
			t.Fatalf("a message of %d bytes is mixed", len(msg))
		}
		got[msg[0]] = append(got[msg[0]], len(msg))
	}
	wg.Wait()
	for w := range 3 {
		if g := got[byte('a'+w)]; len(g) != len(sizes) || g[0] != 1 || g[len(g)-1] != 70<<10 {
			t.Errorf("sender %d: sizes %v", w, g)
		}
	}
	if child.TakeFD() != -1 {
		t.Error("a descriptor too many")
	}
	server.Close()
	if _, err := child.Recv(); err != io.EOF {
		t.Errorf("after the other end closed: %v, want io.EOF", err)
	}
}

// A message over the receiver's limit is an error, not a cut message.
func TestConnTooLong(t *testing.T) {
	server, child, _ := pair(t, 100)
	if err := server.Send(bytes.Repeat([]byte("x"), 101)); err != nil {
		t.Fatal(err)
	}
	if msg, err := child.Recv(); !errors.Is(err, errTooLong) {
		t.Errorf("got %d bytes, %v", len(msg), err)
	}
}

// ReadHello takes the Hello with the right token only, without waiting,
// and leaves what follows for Recv.
func TestReadHello(t *testing.T) {
	server, fd, err := SocketPair(1024)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if ReadHello(fd, "tok") {
		t.Error("a Hello before any was sent")
	}
	server.WriteHello("tok")
	server.Send([]byte("Jnext"))
	if ReadHello(fd, "other") {
		t.Error("the Hello of another token")
	}
	if !ReadHello(fd, "tok") {
		t.Fatal("the Hello was not read")
	}
	child, err := NewConn(fd, "child", 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if msg, err := child.Recv(); err != nil || string(msg) != "Jnext" {
		t.Errorf("after the Hello: %q, %v", msg, err)
	}
	f, err := os.CreateTemp(t.TempDir(), "notasocket")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ReadHello(int(f.Fd()), "tok") {
		t.Error("a file read as a control socket")
	}
}

// Closing a Conn ends a Recv waiting on it.
func TestConnCloseEndsRecv(t *testing.T) {
	server, _, _ := pair(t, 64)
	done := make(chan error, 1)
	go func() {
		_, err := server.Recv()
		done <- err
	}()
	server.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Recv after Close: %v", err)
	}
}
