package socketserver_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// A greetingLayer's handshake reads a greeting of size bytes and answers
// "ok\n"; then it passes bytes through.
type greetingLayer struct {
	raw  net.Conn
	size int
}

func (g *greetingLayer) HandshakeContext(context.Context) error {
	if _, err := io.ReadFull(g.raw, make([]byte, g.size)); err != nil {
		return err
	}
	_, err := io.WriteString(g.raw, "ok\n")
	return err
}

func (g *greetingLayer) Read(p []byte) (int, error)  { return g.raw.Read(p) }
func (g *greetingLayer) Write(p []byte) (int, error) { return g.raw.Write(p) }
func (g *greetingLayer) CloseWrite() error           { return nil }

// A client that sends its requests before the layer's handshake is over,
// and a handshake that needs more input than MaxInput, are served: the
// loop stops reading what the handshake has not taken yet, instead of
// holding it (and failing the connection past MaxInput), and reads again
// as the handshake takes it.
func TestEventLayerHandshakeBackpressure(t *testing.T) {
	const greeting, requests = 200 << 10, 1 << 20 // MaxInput is 64 KiB
	srv := &socketserver.Server{
		HandshakeTimeout: time.Minute, // a stall that never resumed would show as a hang, not as this
		Logger:           servetest.Logger(t),
		EventHandler:     &eventFuncs{data: func(c *socketserver.EventConn, in []byte) int { c.Write(in); return len(in) }},
		Mode: socketserver.Event{Loops: 1, MaxInput: 64 << 10, HighWater: 16 << 10,
			Layer: func(raw net.Conn) socketserver.EventLayer { return &greetingLayer{raw: raw, size: greeting} }},
	}
	addr := servetest.Serve(t, srv)
	c := servetest.Dial(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	msg := make([]byte, greeting+requests)
	for i := range msg {
		msg[i] = byte(rand.Uint32())
	}
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(msg) // all at once, not waiting for "ok"
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	got, err := io.ReadAll(c)
	if err := <-sent; err != nil {
		t.Fatalf("write: %v", err)
	}
	want := append([]byte("ok\n"), msg[greeting:]...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%d of %d bytes back, %v", len(got), len(want), err)
	}
}
