package socketserver_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// TestGoroutineDatagramsDoNotWait: in Goroutine mode a datagram is served
// on the goroutine that read it, and another goroutine reads on: handlers
// that block hold up none of the datagrams behind them, however many
// block at once. Once they return, the goroutines they needed go, and a
// graceful Shutdown waits for the handlers still running.
func TestGoroutineDatagramsDoNotWait(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			const blocked = 20
			release := make(chan struct{})
			var running, done atomic.Int32
			srv := &socketserver.Server{Network: network, Addr: servetest.LocalAddr(t, network), Mode: socketserver.Goroutine{},
				Logger: servetest.Logger(t),
				Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
					if string(r.Packet) == "block" {
						running.Add(1)
						<-release
						done.Add(1)
					}
					_, err := r.Writer.Write(r.Packet)
					return err
				})}
			addr, served := servetest.Background(t, srv)
			c := servetest.Dial(t, addr)
			buf := make([]byte, 16)
			fmt.Fprint(c, "warm-up")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil {
				t.Fatal(err)
			}
			// Answered: the group has its reader and the follower it
			// started before serving.
			before := runtime.NumGoroutine()
			for range blocked {
				fmt.Fprint(c, "block")
			}
			servetest.WaitUntil(t, "every blocking handler runs", func() bool { return running.Load() == blocked })
			// The socket is still read, and answered, while they block.
			for i := range 10 {
				fmt.Fprintf(c, "quick %d", i)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil || string(buf[:n]) != fmt.Sprintf("quick %d", i) {
					t.Fatalf("reply %d while %d handlers block: %q, %v", i, blocked, buf[:n], err)
				}
			}
			close(release)
			for range blocked {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(buf); err != nil || string(buf[:n]) != "block" {
					t.Fatalf("reply of a released handler: %q, %v", buf[:n], err)
				}
			}
			// The goroutines the blocked handlers needed are gone: the
			// group keeps its reader and one follower.
			servetest.WaitUntil(t, "the extra goroutines exit", func() bool { return runtime.NumGoroutine() <= before })
			if err := srv.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Fatalf("ServePacket = %v", err)
			}
			if st := srv.Stats(); st.TotalPackets != blocked+11 || st.ActivePackets != 0 {
				t.Fatalf("stats: %d packets, %d active", st.TotalPackets, st.ActivePackets)
			}
		})
	}
}
