// Command syslogd is a syslog receiver built on package socketserver: it
// takes RFC 5424 and RFC 3164 messages over UDP, TCP (RFC 6587 octet
// counting or newline framing) and a Unix datagram socket, and writes each
// as one JSON line. A message it cannot parse is written too, with its raw
// bytes and the parse error, and one cut short by the end of its
// connection is written marked partial: nothing is dropped silently.
//
//	syslogd [-udp 127.0.0.1:5514] [-tcp 127.0.0.1:5514] [-unix /run/syslogd.sock] [-out FILE] [-grace 5s]
//
// Its output (stdout, or -out) carries records only; it prints "listening
// on URL" for each socket on stderr once ready. SIGINT or SIGTERM stops
// it: the datagrams already queued in its sockets are read, a TCP message
// still arriving gets up to -grace to end, and it prints a summary on
// stderr that accounts for every message: written, malformed or partial
// (written as error records), or dropped (by the kernel for a full socket
// buffer, left unread at shutdown, or lost to a failed write). It exits 1
// if a write to its output failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
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
	grace := flag.Duration("grace", 5*time.Second, "at SIGINT or SIGTERM, how long a TCP message still arriving may take to end")
	flag.Parse()
	log.SetFlags(0)

	out := io.Writer(os.Stdout)
	var file *os.File
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		file, out = f, f
	}
	r := newReceiver(out, *maxSize)
	r.out.onError = func(err error) { log.Printf("syslogd: writing records: %v", err) }
	var socks []listenSpec
	for _, s := range []listenSpec{{"udp", *udpAddr}, {"tcp", *tcpAddr}, {"unixgram", *unixPath}} {
		if s.addr != "" {
			socks = append(socks, s)
		}
	}
	if len(socks) == 0 {
		log.Fatal("syslogd: nothing to listen on")
	}
	sum, err := r.run(socks, *grace, func(url string) { log.Printf("listening on %s", url) }, signals())
	if err != nil {
		log.Fatal(err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			sum.closeErr = err
		}
	}
	fmt.Fprintln(os.Stderr, sum)
	if !sum.ok() {
		os.Exit(1)
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
	out     *recordWriter
}

func newReceiver(out io.Writer, maxSize int) *receiver {
	return &receiver{out: newRecordWriter(out), maxSize: maxSize}
}

// A summary accounts for the messages a run received.
type summary struct {
	tally
	kernelDrops int64 // UDP datagrams the kernel dropped for a full socket buffer
	dropsErr    error // why kernelDrops is not known
	unread      int64 // datagrams left in the sockets when they closed
	closeErr    error // closing the output failed
}

// dropped is the number of messages received and not written.
func (s summary) dropped() int64 { return s.kernelDrops + s.unread + s.lost }

// ok reports whether every record taken reached the output.
func (s summary) ok() bool { return s.lost == 0 && s.failed == 0 && s.closeErr == nil }

// String is the line printed at exit.
func (s summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "syslogd: %d messages written, %d malformed and %d partial written as error records, %d dropped (",
		s.written[parsed], s.written[malformed], s.written[partial], s.dropped())
	if s.dropsErr == nil {
		fmt.Fprintf(&b, "%d by the kernel for a full UDP socket buffer, ", s.kernelDrops)
	}
	fmt.Fprintf(&b, "%d unread at shutdown, %d lost to write errors)", s.unread, s.lost)
	if s.failed > 0 {
		fmt.Fprintf(&b, "; %d writes failed, the first: %v", s.failed, s.err)
	}
	if s.closeErr != nil {
		fmt.Fprintf(&b, "; closing the output: %v", s.closeErr)
	}
	return b.String()
}

// run serves the sockets until stop delivers, then shuts down within
// grace, writes what is buffered, and returns the summary.
func (r *receiver) run(socks []listenSpec, grace time.Duration, ready func(url string), stop <-chan os.Signal) (summary, error) {
	var sum summary
	var servers []*socketserver.Server
	served := make(chan error, len(socks))
	defer func() {
		for _, srv := range servers {
			srv.Close()
		}
	}()
	var udp *udpSocket
	defer func() { udp.close() }()
	for _, s := range socks {
		srv := &socketserver.Server{
			Network:         s.network,
			Addr:            s.addr,
			Mode:            socketserver.Event{Loops: 1, MaxInput: r.maxSize + 16},
			EventHandler:    r,
			MaxPacketSize:   r.maxSize,
			ServiceActions:  r.out.flush,
			ServiceInterval: 200 * time.Millisecond,
			HandleError: func(remote net.Addr, err error) {
				if errors.Is(err, socketserver.ErrTruncated) {
					r.write(remote, nil, fmt.Errorf("datagram larger than %d bytes", r.maxSize), malformed)
				}
			},
		}
		servers = append(servers, srv)
		var addr net.Addr
		if s.network == "udp" {
			var err error
			if udp, err = listenUDP(s.addr); err != nil {
				return sum, err
			}
			addr = udp.pc.LocalAddr()
			go func() { served <- srv.ServePacket(udp.pc) }()
		} else {
			var err error
			if addr, err = srv.Listen(); err != nil {
				return sum, err
			}
			go func() { served <- srv.ListenAndServe() }()
		}
		ready(s.network + "://" + addr.String())
	}
	select {
	case <-stop:
	case err := <-served:
		return sum, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, srv := range servers {
		go srv.Shutdown(ctx)
	}
	// Serving ends once the loops have ended, the last OnData calls (a
	// message cut short at the deadline) included.
	for range servers {
		<-served
	}
	r.out.flush()
	sum.tally = r.out.tally()
	sum.dropsErr = errors.New("no UDP socket")
	if udp != nil {
		// The socket is still open (udp holds a copy of it): its drop
		// count is complete, and what is still queued can be counted.
		sum.kernelDrops, sum.dropsErr = udpDrops(udp.port())
		sum.unread += udp.discardQueued()
	}
	return sum, nil
}

// A udpSocket is the UDP socket served, with a descriptor of its own for
// the same socket: it outlives the server's, so that once the server has
// stopped, the kernel's drop count can still be read and the datagrams
// still queued counted.
type udpSocket struct {
	pc  *net.UDPConn
	dup *os.File
}

// udpReadBuffer is the receive buffer asked for the UDP socket; Linux caps
// it at net.core.rmem_max.
const udpReadBuffer = 8 << 20

func listenUDP(addr string) (*udpSocket, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	u := &udpSocket{pc: pc.(*net.UDPConn)}
	// A burst overflows the default receive buffer (208 KiB here) within
	// a few hundred datagrams: take as much as the system allows.
	u.pc.SetReadBuffer(udpReadBuffer)
	if u.dup, err = u.pc.File(); err != nil {
		u.dup = nil // the count of what is left unread will be missing
	}
	return u, nil
}

func (u *udpSocket) port() int { return u.pc.LocalAddr().(*net.UDPAddr).Port }

// discardQueued reads and drops what is queued, and returns the count.
func (u *udpSocket) discardQueued() int64 {
	if u.dup == nil {
		return 0
	}
	return discardQueued(u.dup)
}

func (u *udpSocket) close() {
	if u != nil {
		u.pc.Close()
		if u.dup != nil {
			u.dup.Close()
		}
	}
}

// OnData takes a datagram as one message, and cuts a stream into
// messages. What a stream leaves unframed when it ends (the client closed
// or reset it, a timeout, shutdown) is written as a partial message.
func (r *receiver) OnData(c *socketserver.EventConn, in []byte) int {
	remote := c.RemoteAddr()
	if c.Datagram() {
		r.write(remote, in, nil, parsed)
		return len(in)
	}
	used, err := parseFrames(in, r.maxSize, func(frame []byte) { r.write(remote, frame, nil, parsed) })
	switch {
	case err != nil:
		// The framing is lost: keep what is left as one raw record.
		r.write(remote, in[used:], fmt.Errorf("framing: %w", err), malformed)
		c.Close()
		return len(in)
	case c.InputClosed() && used < len(in):
		msg, err := partialFrame(in[used:])
		r.write(remote, msg, err, partial)
		return len(in)
	}
	return used
}

// write parses msg and writes its record, of kind k; failure, if not nil,
// makes it a record of the raw bytes and the error, without parsing. A
// message that does not parse is malformed, unless k says it is partial.
func (r *receiver) write(remote net.Addr, msg []byte, failure error, k kind) {
	now := time.Now()
	rec := record{Received: now.Format(time.RFC3339Nano), Partial: k == partial}
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
		if k == parsed {
			k = malformed
		}
	}
	r.out.write(&rec, k)
}
