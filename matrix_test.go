package socketserver_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// TestEchoMatrix serves the echo handler over every transport in every
// mode, with several clients.
func TestEchoMatrix(t *testing.T) {
	forEach(t, func(t *testing.T, tr transport, mode socketserver.Mode) {
		srv := &socketserver.Server{Network: tr.network, Addr: servetest.LocalAddr(t, tr.network), Handler: echo, Mode: mode}
		addr := servetest.Serve(t, srv)
		if !strings.HasPrefix(tr.network, addr.Network()) {
			t.Errorf("bound address %v is on %q, want %q", addr, addr.Network(), tr.network)
		}
		const clients, messages = 4, 5
		talk := func(i int, c net.Conn) {
			for j := range messages {
				msg := fmt.Sprintf("client %d message %d\n", i, j)
				if got := servetest.RoundTrip(t, c, msg); got != msg {
					t.Errorf("echo = %q, want %q", got, msg)
					return
				}
			}
			c.Close()
		}
		// A Sync server is deaf while it serves a connection: its stream
		// clients take turns. Everyone else is served at once.
		var wg sync.WaitGroup
		for i := range clients {
			c := servetest.Dial(t, addr)
			if tr.stream && mode == (socketserver.Sync{}) {
				talk(i, c)
				continue
			}
			wg.Go(func() { talk(i, c) })
		}
		wg.Wait()
		want := socketserver.Stats{TotalConns: clients}
		if !tr.stream {
			want = socketserver.Stats{TotalPackets: clients * messages}
		}
		want.BytesIn = clients * messages * int64(len("client 0 message 0\n"))
		want.BytesOut = want.BytesIn
		servetest.WaitUntil(t, "every request ended", func() bool {
			st := srv.Stats()
			return st.ActiveConns == 0 && st.ActivePackets == 0
		})
		got := srv.Stats()
		if n := got.Durations.Count(); n != want.TotalConns+want.TotalPackets {
			t.Errorf("%d request durations, want one per request", n)
		}
		got.Durations = socketserver.Durations{}
		if got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}
