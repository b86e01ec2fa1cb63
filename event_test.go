package socketserver_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/socketserver-go/socketserver"
)

// eventEcho writes back whatever arrives.
type eventEcho struct{ socketserver.EventHandlerBase }

func (eventEcho) OnData(c *socketserver.EventConn, in []byte) int {
	c.Write(in)
	return len(in)
}

var eventModes = []socketserver.Event{
	{Loops: 1},
	{Loops: 3, Balance: socketserver.LeastConns},
}

// forEachEvent runs f for every transport Event mode serves × a few
// Event configurations.
func forEachEvent(t *testing.T, f func(t *testing.T, tr transport, mode socketserver.Event)) {
	for _, tr := range transports {
		if tr.network == "unixpacket" {
			continue
		}
		for _, mode := range eventModes {
			t.Run(tr.network+"/"+mode.String()+"/"+mode.Balance.String(), func(t *testing.T) {
				t.Parallel()
				f(t, tr, mode)
			})
		}
	}
}

func TestEventEchoMatrix(t *testing.T) {
	forEachEvent(t, func(t *testing.T, tr transport, mode socketserver.Event) {
		srv := &socketserver.Server{Network: tr.network, Addr: bindAddr(t, tr), EventHandler: eventEcho{}, Mode: mode}
		addr := start(t, srv)
		if !strings.HasPrefix(tr.network, addr.Network()) {
			t.Errorf("bound address %v is on %q, want %q", addr, addr.Network(), tr.network)
		}
		const clients, messages = 6, 5
		var wg sync.WaitGroup
		for i := range clients {
			c := dial(t, addr)
			wg.Go(func() {
				for j := range messages {
					msg := fmt.Sprintf("client %d message %d\n", i, j)
					if got := roundTrip(t, c, msg); got != msg {
						t.Errorf("echo = %q, want %q", got, msg)
						return
					}
				}
				c.Close()
			})
		}
		wg.Wait()
		want := socketserver.Stats{TotalConns: clients}
		if !tr.stream {
			want = socketserver.Stats{TotalPackets: clients * messages}
		}
		want.BytesIn = clients * messages * int64(len("client 0 message 0\n"))
		want.BytesOut = want.BytesIn
		waitUntil(t, "every connection closed", func() bool {
			st := srv.Stats()
			return st.ActiveConns == 0 && st.ActivePackets == 0
		})
		if got := srv.Stats(); got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}

func TestEventUnixpacketUnsupported(t *testing.T) {
	srv := &socketserver.Server{Network: "unixpacket", Addr: sockPath(t, "s"), EventHandler: eventEcho{}, Mode: socketserver.Event{}}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrUnsupported) {
		t.Fatalf("ListenAndServe on unixpacket = %v, want ErrUnsupported", err)
	}
}
