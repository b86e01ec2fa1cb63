//go:build unix

package sockopt

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listenUDP(t *testing.T, o Options) net.PacketConn {
	t.Helper()
	lc := net.ListenConfig{Control: Control("udp", o)}
	pc, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// tcpPair returns both ends of a loopback TCP connection, closed when the
// test ends.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// Buffers asked for before bind are granted, up to the system's cap.
func TestBuffers(t *testing.T) {
	pc := listenUDP(t, Options{Buffers: Buffers{Receive: 64 << 10, Send: 32 << 10}})
	got, err := GrantedBuffers(pc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Receive < 64<<10 || got.Send < 32<<10 {
		t.Errorf("granted %+v, want at least 64 KiB and 32 KiB", got)
	}
	if err := SetBuffers(pc, Buffers{Receive: 128 << 10}); err != nil {
		t.Fatal(err)
	}
	if got, _ := GrantedBuffers(pc); got.Receive < 128<<10 && got.Receive < maxReceive(t) {
		t.Errorf("after SetBuffers, granted %+v", got)
	}
}

func maxReceive(t *testing.T) int {
	var b [32]byte
	n, err := unix.Open("/proc/sys/net/core/rmem_max", unix.O_RDONLY, 0)
	if err != nil {
		return 1 << 30
	}
	defer unix.Close(n)
	m, _ := unix.Read(n, b[:])
	v := 0
	for _, c := range b[:m] {
		if c >= '0' && c <= '9' {
			v = 10*v + int(c-'0')
		}
	}
	return v
}

// Queued datagrams are seen, without being taken, and discarded and
// counted on demand.
func TestDatagramQueue(t *testing.T) {
	pc := listenUDP(t, Options{})
	if q, ok := DatagramQueued(pc); !ok || q {
		t.Fatalf("empty socket: queued %v, ok %v", q, ok)
	}
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		c.Write([]byte("x"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for q, _ := DatagramQueued(pc); !q; q, _ = DatagramQueued(pc) {
		if time.Now().After(deadline) {
			t.Fatal("the datagrams never arrived")
		}
	}
	if n := DiscardQueued(pc); n != 3 {
		t.Errorf("discarded %d, want 3", n)
	}
	if q, _ := DatagramQueued(pc); q {
		t.Error("still queued after the discard")
	}
}

// Unread counts what a stream connection has not read.
func TestUnreadAndKeepAlive(t *testing.T) {
	c, s := tcpPair(t)
	c.Write([]byte("hello"))
	deadline := time.Now().Add(5 * time.Second)
	for Unread(s) != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("Unread = %d, want 5", Unread(s))
		}
	}
	k := KeepAlive{Enable: true, Idle: 2 * time.Second, Interval: 3 * time.Second, Count: 4}
	if err := SetKeepAliveConn(s, k); err != nil {
		t.Fatal(err)
	}
	rc, _ := s.(*net.TCPConn).SyscallConn()
	rc.Control(func(fd uintptr) {
		if err := SetKeepAliveFD(int(fd), k); err != nil {
			t.Fatal(err)
		}
		on, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		if on == 0 {
			t.Error("SO_KEEPALIVE is off")
		}
	})
}

// TryWrite writes what the socket takes and never waits: into a
// connection whose peer reads nothing it writes until the socket is full,
// then 0 bytes without an error; once the peer is gone, it fails. A
// connection without a descriptor is not written.
func TestTryWrite(t *testing.T) {
	c, s := tcpPair(t)
	chunk := make([]byte, 64<<10)
	total := 0
	for i := 0; ; i++ {
		if i == 10000 { // 640 MiB: far more than any socket buffer
			t.Fatalf("the socket took %d bytes and is still not full", total)
		}
		n, ok, err := TryWrite(s, chunk)
		if !ok || err != nil {
			t.Fatalf("TryWrite = %d, %v, %v", n, ok, err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	t.Logf("the socket took %d bytes", total)
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // a reset
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := TryWrite(s, chunk); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("TryWrite to a reset connection did not fail")
		}
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if n, ok, err := TryWrite(a, chunk); ok || n != 0 || err != nil {
		t.Errorf("TryWrite on a pipe = %d, %v, %v; want nothing written", n, ok, err)
	}
}
