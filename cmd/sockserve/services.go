package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/socketserver-go/socketserver"
)

// A service is a built-in handler, serving streams and datagrams alike.
type service struct {
	handler socketserver.Handler
	events  socketserver.EventHandler // the same service in Event mode
	doc     string
}

var services = map[string]service{
	"echo": {
		doc:     "stream: echo bytes until EOF; datagram: echo the datagram",
		handler: socketserver.HandlerFunc(serveEcho),
		events:  echoEvents{},
	},
	"upper": {
		doc:     "one line (or one datagram) in, upper-cased out",
		handler: socketserver.HandlerFunc(serveUpper),
		events:  upperEvents,
	},
	"pid": {
		doc:     `one line (or one datagram) in, "<pid>: <data>" out: shows which process served`,
		handler: socketserver.HandlerFunc(servePID),
		events:  pidEvents,
	},
	"discard": {
		doc:     "read and drop everything (RFC 863)",
		handler: socketserver.HandlerFunc(serveDiscard),
		events:  socketserver.EventHandlerBase{},
	},
	"daytime": {
		doc:     "the date and time, then close (RFC 867)",
		handler: socketserver.HandlerFunc(serveDaytime),
		events:  daytimeEvents{},
	},
	"whoami": {
		doc:     "the client's address as the server sees it (behind a PROXY protocol balancer: the original client's)",
		handler: socketserver.HandlerFunc(serveWhoami),
		events:  whoamiEvents{},
	},
}

// maxLine is the longest line the one-line services take (-max-line).
var maxLine = 64 << 10

// errLineTooLong ends a request whose line passes maxLine.
var errLineTooLong = errors.New("line too long")

func serviceNames() []string {
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// serveEcho echoes with a plain read/write loop. (io.Copy would do, but
// its path through bufio.Reader.WriteTo is deep enough to double the
// stack of every goroutine blocked on an idle connection, 2 KiB to 4.) A
// datagram is echoed whole, with no buffer of its own: one per datagram
// would cost more than the rest of serving it.
func serveEcho(r *socketserver.Request) error {
	if r.Datagram() {
		_, err := r.Writer.Write(r.Packet)
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, err := r.Reader.Read(buf)
		if n > 0 {
			if _, werr := r.Writer.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line, or the whole datagram, newline included if
// there was one. A stream that ends without a newline gives what came.
func readLine(r *socketserver.Request) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.Reader.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("%w: more than %d bytes", errLineTooLong, maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && (len(line) > 0 || r.Datagram()) {
			err = nil
		}
		return line, err
	}
}

func serveUpper(r *socketserver.Request) error {
	line, err := readLine(r)
	if err != nil {
		return err
	}
	_, err = r.Writer.Write(bytes.ToUpper(line))
	return err
}

func servePID(r *socketserver.Request) error {
	line, err := readLine(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(r.Writer, "%d: %s", os.Getpid(), line)
	return err
}

func serveWhoami(r *socketserver.Request) error {
	_, err := fmt.Fprintf(r.Writer, "%s\n", r.RemoteAddr)
	return err
}

func serveDiscard(r *socketserver.Request) error {
	_, err := io.Copy(io.Discard, r.Reader)
	return err
}

// daytimeLayout is the format of RFC 867's suggested example.
const daytimeLayout = "Monday, January 2, 2006 15:04:05-MST"

func serveDaytime(r *socketserver.Request) error {
	_, err := fmt.Fprintf(r.Writer, "%s\r\n", time.Now().Format(daytimeLayout))
	return err
}
