package socketserver_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"net"

	"github.com/socketserver-go/socketserver"
)

// lineUpper is an EventHandler: it answers each whole line upper-cased and
// leaves a partial line for the next call.
type lineUpper struct{ socketserver.EventHandlerBase }

func (lineUpper) OnData(c *socketserver.EventConn, in []byte) (consumed int) {
	for {
		i := bytes.IndexByte(in[consumed:], '\n')
		if i < 0 {
			return consumed // keep the partial line
		}
		c.Write(bytes.ToUpper(in[consumed : consumed+i+1]))
		consumed += i + 1
	}
}

// Event mode serves every connection from a few event loops: for very many
// connections in little memory.
func ExampleEvent() {
	srv := &socketserver.Server{
		Addr:         "127.0.0.1:0",
		Mode:         socketserver.Event{Loops: 2},
		EventHandler: lineUpper{},
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello, ")
	fmt.Fprint(c, "event loop\nsecond line\n")
	r := bufio.NewReader(c)
	for range 2 {
		line, _ := r.ReadString('\n')
		fmt.Print(line)
	}
	// Output:
	// HELLO, EVENT LOOP
	// SECOND LINE
}

// Slow work goes to the worker pool with Go; the answer goes back with
// AsyncWrite, which any goroutine may call.
func ExampleEventConn_Go() {
	lookup := func(key string) string { return "value of " + key } // imagine a database

	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Mode: socketserver.Event{Workers: 8},
		EventHandler: handlerFunc(func(c *socketserver.EventConn, in []byte) int {
			i := bytes.IndexByte(in, '\n')
			if i < 0 {
				return 0
			}
			key := string(in[:i])
			c.Go(func() { c.AsyncWrite([]byte(lookup(key) + "\n")) })
			return i + 1
		}),
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "answer\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: value of answer
}

// handlerFunc is an EventHandler from its OnData function.
type handlerFunc func(c *socketserver.EventConn, in []byte) int

func (handlerFunc) OnOpen(*socketserver.EventConn)                    {}
func (f handlerFunc) OnData(c *socketserver.EventConn, in []byte) int { return f(c, in) }
func (handlerFunc) OnClose(*socketserver.EventConn, error)            {}
