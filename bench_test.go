package socketserver_test

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// The benchmarks run each mode beside a plain Go net server (a goroutine
// per connection, io.Copy), in one run, so that their ratios can be
// compared on a noisy machine: go test -bench . -count 5 | benchstat.

// benchServer starts a server of the named kind ("net" or a mode) and
// returns its address and a function that stops it.
func benchServer(b *testing.B, kind, network, addr string) (net.Addr, func()) {
	b.Helper()
	if kind == "net" {
		return plainNetEcho(b, network, addr)
	}
	mode := map[string]socketserver.Mode{
		"sync": socketserver.Sync{}, "goroutine": socketserver.Goroutine{}, "pool": socketserver.Pool{},
	}[kind]
	srv := &socketserver.Server{Network: network, Addr: addr, Handler: echo, Mode: mode}
	bound, err := srv.Listen()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ListenAndServe(); close(done) }()
	return bound, func() { srv.Close(); <-done }
}

// plainNetEcho is the baseline: what a Go programmer writes without a
// framework.
func plainNetEcho(b *testing.B, network, addr string) (net.Addr, func()) {
	if network == "udp" {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		})
		return pc.LocalAddr(), func() { pc.Close(); wg.Wait() }
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	return l.Addr(), func() { l.Close(); wg.Wait() }
}

func benchAddr(b *testing.B, network string) string {
	if network == "unix" {
		return servetest.SockPath(b, "b")
	}
	return "127.0.0.1:0"
}

// dialBench connects for a benchmark.
func dialBench(b *testing.B, addr net.Addr) net.Conn {
	c, err := net.Dial(addr.Network(), addr.String())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkPingPong: one client, 64-byte round trips on one connection
// (one socket for UDP): the latency of the serving path.
func BenchmarkPingPong(b *testing.B) {
	msg := make([]byte, 64)
	for _, network := range []string{"tcp", "unix", "udp"} {
		for _, kind := range []string{"net", "sync", "goroutine", "pool"} {
			b.Run(network+"/"+kind, func(b *testing.B) {
				addr, stop := benchServer(b, kind, network, benchAddr(b, network))
				defer stop()
				c := dialBench(b, addr)
				defer c.Close()
				buf := make([]byte, len(msg))
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParallelEcho: persistent TCP connections, one per parallel
// client, 64-byte round trips (Sync serves one connection at a time and
// is left out).
func BenchmarkParallelEcho(b *testing.B) {
	msg := make([]byte, 64)
	for _, kind := range []string{"net", "goroutine", "pool"} {
		b.Run(kind, func(b *testing.B) {
			addr, stop := benchServer(b, kind, "tcp", "127.0.0.1:0")
			defer stop()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				c := dialBench(b, addr)
				defer c.Close()
				buf := make([]byte, len(msg))
				for pb.Next() {
					c.Write(msg)
					if _, err := io.ReadFull(c, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkChurn: connect, one 64-byte request, close, from parallel
// clients: the cost of accepting and ending connections.
func BenchmarkChurn(b *testing.B) {
	msg := make([]byte, 64)
	for _, kind := range []string{"net", "sync", "goroutine", "pool"} {
		b.Run(kind, func(b *testing.B) {
			addr, stop := benchServer(b, kind, "tcp", "127.0.0.1:0")
			defer stop()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, len(msg))
				for pb.Next() {
					c := dialBench(b, addr)
					c.Write(msg)
					_, err := io.ReadFull(c, buf)
					c.Close()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
