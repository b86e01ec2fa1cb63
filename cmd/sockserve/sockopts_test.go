//go:build linux

package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// ss reports the server side of the connections to a tcp:// URL, or the
// socket of a udp:// URL, with its timers and memory.
func ss(t *testing.T, args ...string) string {
	t.Helper()
	tool := servetest.Need(t, "ss", "iproute2")
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ss %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// -keepalive sets the keep-alive of accepted connections, in every mode;
// a negative one turns it off.
func TestKeepAliveFlag(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		for _, ka := range []string{"37s", "-1s"} {
			t.Run(mode+"/"+ka, func(t *testing.T) {
				p := startServe(t, 1, "-service", "echo", "-mode", mode, "-keepalive", ka, "-listen", "tcp://127.0.0.1:0")
				defer p.stop(t)
				c := dialURL(t, p.urls[0])
				servetest.RoundTrip(t, c, "x") // accepted, and held open
				addr := strings.TrimPrefix(p.urls[0], "tcp://")
				_, port, _ := net.SplitHostPort(addr)
				out := ss(t, "-tnoH", "state", "established", "( sport = :"+port+" )")
				on := strings.Contains(out, "keepalive,3") // 37s, counting down
				if (ka == "37s") != on {
					t.Errorf("with -keepalive %s the server's socket shows %q", ka, out)
				}
			})
		}
	}
}

// -rcvbuf asks the kernel for a receive buffer, which a datagram socket
// then has (Linux reports twice the size asked).
func TestReceiveBufferFlag(t *testing.T) {
	p := startServe(t, 1, "-service", "echo", "-rcvbuf", "150000", "-listen", "udp://127.0.0.1:0")
	defer p.stop(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.urls[0], "udp://"))
	out := ss(t, "-ulnmH", "( sport = :"+port+" )")
	if !strings.Contains(out, "rb300000") {
		t.Errorf("the socket's memory: %q, want rb300000", out)
	}
}
