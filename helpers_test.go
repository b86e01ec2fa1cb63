package socketserver_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
)

func TestMain(m *testing.M) {
	if socketserver.IsChild() || os.Getenv(forkStandEnv) != "" {
		forkTestMain()
	}
	goleak.VerifyTestMain(m)
}

// A transport is a network the tests serve on, with the way to address it.
type transport struct {
	network string
	stream  bool
}

var transports = []transport{
	{network: "tcp", stream: true},
	{network: "tcp4", stream: true},
	{network: "tcp6", stream: true},
	{network: "unix", stream: true},
	{network: "unixpacket", stream: true},
	{network: "udp"},
	{network: "udp4"},
	{network: "udp6"},
	{network: "unixgram"},
}

var modes = []socketserver.Mode{
	socketserver.Sync{},
	socketserver.Goroutine{},
	socketserver.Goroutine{Daemon: true},
	socketserver.Pool{Workers: 3, Queue: 2},
}

// forEach runs f for every transport × mode.
func forEach(t *testing.T, f func(t *testing.T, tr transport, mode socketserver.Mode)) {
	for _, tr := range transports {
		for _, mode := range modes {
			t.Run(tr.network+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				f(t, tr, mode)
			})
		}
	}
}

// echo is the handler of most tests: it writes back what it reads.
var echo = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	_, err := io.Copy(r.Writer, r.Reader)
	return err
})

// eventFuncs is an EventHandler made of optional functions.
type eventFuncs struct {
	open  func(c *socketserver.EventConn)
	data  func(c *socketserver.EventConn, in []byte) int
	close func(c *socketserver.EventConn, err error)
}

func (h *eventFuncs) OnOpen(c *socketserver.EventConn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *eventFuncs) OnData(c *socketserver.EventConn, in []byte) int {
	if h.data != nil {
		return h.data(c, in)
	}
	return len(in)
}

func (h *eventFuncs) OnClose(c *socketserver.EventConn, err error) {
	if h.close != nil {
		h.close(c, err)
	}
}

// upperLines replies to each whole line with the line upper-cased, and
// keeps a partial line for later.
func upperLines(c *socketserver.EventConn, in []byte) int {
	consumed := 0
	for {
		i := bytes.IndexByte(in[consumed:], '\n')
		if i < 0 {
			return consumed
		}
		c.Write(bytes.ToUpper(in[consumed : consumed+i+1]))
		consumed += i + 1
	}
}
