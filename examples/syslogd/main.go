// Command syslogd is a syslog receiver built on package socketserver: it
// takes RFC 5424 and RFC 3164 messages over UDP, TCP (RFC 6587 octet
// counting or newline framing) and a Unix datagram socket, and writes each
// as one JSON line. A message it cannot parse is written too, with its raw
// bytes and the parse error: nothing is dropped silently.
//
//	syslogd [-udp 127.0.0.1:5514] [-tcp 127.0.0.1:5514] [-unix /run/syslogd.sock] [-out FILE]
//
// It prints "listening on URL" for each socket once ready. SIGINT or
// SIGTERM stops it after the messages received are written, and it prints
// a summary on stderr: messages written, how many malformed, and the
// datagrams the kernel dropped because the socket buffer was full.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

func main() {
	udpAddr := flag.String("udp", "127.0.0.1:5514", "UDP address to listen on (empty: none)")
	tcpAddr := flag.String("tcp", "127.0.0.1:5514", "TCP address to listen on (empty: none)")
	unixPath := flag.String("unix", "", "Unix datagram socket to listen on, like /dev/log (empty: none)")
	outPath := flag.String("out", "", "file to append JSON lines to (default stdout)")
	maxSize := flag.Int("max-size", 64<<10, "largest message in bytes")
	flag.Parse()

	out := io.Writer(os.Stdout)
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		out = f
	}
	r := newReceiver(out, *maxSize)
	var socks []listenSpec
	for _, s := range []listenSpec{{"udp", *udpAddr}, {"tcp", *tcpAddr}, {"unixgram", *unixPath}} {
		if s.addr != "" {
			socks = append(socks, s)
		}
	}
	if len(socks) == 0 {
		log.Fatal("syslogd: nothing to listen on")
	}
	if err := r.run(socks, os.Stderr, func(url string) { fmt.Printf("listening on %s\n", url) }, signals()); err != nil {
		log.Fatal(err)
	}
}

func signals() <-chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	return c
}

type listenSpec struct{ network, addr string }

// A receiver turns messages into JSON lines on its output.
type receiver struct {
	socketserver.EventHandlerBase
	maxSize int

	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder

	messages, malformed atomic.Int64
}

func newReceiver(out io.Writer, maxSize int) *receiver {
	w := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &receiver{w: w, enc: enc, maxSize: maxSize}
}

// run serves the sockets until stop delivers, then writes what is
// buffered and the summary.
func (r *receiver) run(socks []listenSpec, summary io.Writer, ready func(url string), stop <-chan os.Signal) error {
	var servers []*socketserver.Server
	served := make(chan error, len(socks))
	defer func() {
		for _, srv := range servers {
			srv.Close()
		}
	}()
	var udpPort int
	for _, s := range socks {
		srv := &socketserver.Server{
			Network:         s.network,
			Addr:            s.addr,
			Mode:            socketserver.Event{Loops: 1, MaxInput: r.maxSize + 16},
			EventHandler:    r,
			MaxPacketSize:   r.maxSize,
			ServiceActions:  r.flush,
			ServiceInterval: 200 * time.Millisecond,
			HandleError: func(remote net.Addr, err error) {
				if errors.Is(err, socketserver.ErrTruncated) {
					r.write(remote, nil, fmt.Errorf("datagram larger than %d bytes", r.maxSize))
				}
			},
		}
		servers = append(servers, srv)
		var addr net.Addr
		if s.network == "udp" {
			// A burst overflows the default receive buffer (208 KiB
			// here) within a few hundred datagrams: take as much as the
			// system allows (net.core.rmem_max).
			pc, err := net.ListenPacket("udp", s.addr)
			if err != nil {
				return err
			}
			pc.(*net.UDPConn).SetReadBuffer(udpReadBuffer)
			addr = pc.LocalAddr()
			udpPort = addr.(*net.UDPAddr).Port
			go func() { served <- srv.ServePacket(pc) }()
		} else {
			var err error
			if addr, err = srv.Listen(); err != nil {
				return err
			}
			go func() { served <- srv.ListenAndServe() }()
		}
		ready(s.network + "://" + addr.String())
	}
	select {
	case <-stop:
	case err := <-served:
		return err
	}
	// The drop count is read while the socket is still open.
	drops, dropsErr := int64(0), errors.New("no UDP socket")
	if udpPort != 0 {
		drops, dropsErr = udpDrops(udpPort)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(ctx)
	}
	r.flush()
	fmt.Fprintf(summary, "syslogd: %d messages written, %d malformed", r.messages.Load(), r.malformed.Load())
	if dropsErr == nil {
		fmt.Fprintf(summary, "; the kernel dropped %d UDP datagrams", drops)
	}
	fmt.Fprintln(summary)
	return nil
}

// udpReadBuffer is the receive buffer asked for the UDP socket; Linux caps
// it at net.core.rmem_max.
const udpReadBuffer = 8 << 20

// OnData takes a datagram as one message, and cuts a stream into
// messages.
func (r *receiver) OnData(c *socketserver.EventConn, in []byte) int {
	remote := c.RemoteAddr()
	if c.Datagram() {
		r.write(remote, in, nil)
		return len(in)
	}
	used, err := parseFrames(in, r.maxSize, func(frame []byte) { r.write(remote, frame, nil) })
	switch {
	case err != nil:
		// The framing is lost: keep what is left as one raw record.
		r.write(remote, in[used:], fmt.Errorf("framing: %w", err))
		c.Close()
		return len(in)
	case c.InputClosed() && used < len(in):
		r.write(remote, in[used:], nil) // a last message with no newline
		return len(in)
	}
	return used
}

// A record is one JSON line.
type record struct {
	Received       string `json:"received"`
	Remote         string `json:"remote,omitempty"`
	Format         string `json:"format,omitempty"`
	Facility       string `json:"facility,omitempty"`
	Severity       string `json:"severity,omitempty"`
	Timestamp      string `json:"timestamp,omitempty"`
	Host           string `json:"host,omitempty"`
	App            string `json:"app,omitempty"`
	PID            string `json:"pid,omitempty"`
	MsgID          string `json:"msgid,omitempty"`
	StructuredData string `json:"structured_data,omitempty"`
	Message        string `json:"message,omitempty"`
	// A message that could not be parsed: its bytes (as text; bytes that
	// are not UTF-8 become U+FFFD) and why.
	Raw   string `json:"raw,omitempty"`
	Error string `json:"error,omitempty"`
}

// write parses msg and writes its record; failure, if not nil, marks it
// malformed without parsing.
func (r *receiver) write(remote net.Addr, msg []byte, failure error) {
	now := time.Now()
	rec := record{Received: now.Format(time.RFC3339Nano)}
	if remote != nil {
		rec.Remote = remote.String()
	}
	if failure == nil {
		var m Message
		m, failure = parseMessage(msg, now)
		if failure == nil {
			rec.Format = m.Format
			rec.Facility = facilityNames[m.Facility]
			rec.Severity = severityNames[m.Severity]
			if !m.Timestamp.IsZero() {
				rec.Timestamp = m.Timestamp.Format(time.RFC3339Nano)
			}
			rec.Host, rec.App, rec.PID, rec.MsgID = m.Host, m.App, m.ProcID, m.MsgID
			rec.StructuredData, rec.Message = m.StructuredData, m.Text
		}
	}
	if failure != nil {
		rec.Raw, rec.Error = string(msg), failure.Error()
		r.malformed.Add(1)
	}
	r.messages.Add(1)
	r.mu.Lock()
	r.enc.Encode(&rec)
	r.mu.Unlock()
}

func (r *receiver) flush() {
	r.mu.Lock()
	r.w.Flush()
	r.mu.Unlock()
}
