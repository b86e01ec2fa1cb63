package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/socketserver-go/socketserver"
)

// The services in Event mode: the same replies as the handlers in
// services.go, written as callbacks.

type echoEvents struct{ socketserver.EventHandlerBase }

func (echoEvents) OnData(c *socketserver.EventConn, in []byte) int {
	c.Write(in)
	return len(in)
}

// lineEvents serves the one-line services: one line (or one datagram) in,
// reply(line) out, then the connection closes. A stream that ends without
// a newline gets the reply to what came.
type lineEvents struct {
	socketserver.EventHandlerBase
	reply func(line []byte) []byte
}

func (h lineEvents) OnData(c *socketserver.EventConn, in []byte) int {
	if c.Datagram() {
		c.Write(h.reply(in))
		return len(in)
	}
	i := bytes.IndexByte(in, '\n')
	switch {
	case i >= 0:
		in = in[:i+1]
	case !c.InputClosed():
		return 0 // wait for the rest of the line
	}
	c.Write(h.reply(in))
	c.Close()
	return len(in)
}

type whoamiEvents struct{ socketserver.EventHandlerBase }

func (whoamiEvents) OnOpen(c *socketserver.EventConn) {
	if !c.Datagram() {
		c.Write(fmt.Appendf(nil, "%s\n", c.RemoteAddr()))
		c.Close()
	}
}

func (whoamiEvents) OnData(c *socketserver.EventConn, in []byte) int {
	if c.Datagram() {
		c.Write(fmt.Appendf(nil, "%s\n", c.RemoteAddr()))
	}
	return len(in)
}

type daytimeEvents struct{ socketserver.EventHandlerBase }

func daytime() []byte { return fmt.Appendf(nil, "%s\r\n", time.Now().Format(daytimeLayout)) }

func (daytimeEvents) OnOpen(c *socketserver.EventConn) {
	c.Write(daytime())
	c.Close()
}

func (daytimeEvents) OnData(c *socketserver.EventConn, in []byte) int {
	if c.Datagram() {
		c.Write(daytime())
	}
	return len(in)
}

var (
	upperEvents = lineEvents{reply: bytes.ToUpper}
	pidEvents   = lineEvents{reply: func(line []byte) []byte { return fmt.Appendf(nil, "%d: %s", os.Getpid(), line) }}
)
