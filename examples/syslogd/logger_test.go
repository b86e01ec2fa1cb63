package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// A running receiver, as main runs it, writing to a file.
type running struct {
	rcv  *receiver
	urls map[string]string // network → address
	out  string
	stop chan os.Signal
	done chan error
	sum  summary // once stopped
}

// options of a receiver under test.
type options struct {
	grace time.Duration // Shutdown's bound; 0: 5s
	out   io.Writer     // instead of the file
}

func startReceiver(t *testing.T, opts options) *running {
	t.Helper()
	dir, err := os.MkdirTemp("", "syslogd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &running{urls: map[string]string{}, out: filepath.Join(dir, "out.jsonl"), stop: make(chan os.Signal, 1), done: make(chan error, 1)}
	f, err := os.Create(r.out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if opts.out == nil {
		opts.out = f
	}
	if opts.grace == 0 {
		opts.grace = 5 * time.Second
	}
	ready := make(chan string, 3)
	socks := []listenSpec{{"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:0"}, {"unixgram", filepath.Join(dir, "log.sock")}}
	r.rcv = newReceiver(opts.out, 64<<10)
	go func() {
		var err error
		r.sum, err = r.rcv.run(socks, opts.grace, func(url string) { ready <- url }, r.stop)
		r.done <- err
	}()
	for range socks {
		select {
		case url := <-ready:
			network, addr, _ := strings.Cut(url, "://")
			r.urls[network] = addr
		case err := <-r.done:
			t.Fatalf("receiver: %v", err)
		}
	}
	t.Cleanup(func() { r.finish(t) })
	return r
}

// waitFor waits until the receiver has taken n messages, or the kernel's
// drop count makes up the rest.
func (r *running) waitFor(t *testing.T, n int64, drops func() int64) {
	t.Helper()
	servetest.WaitUntil(t, fmt.Sprintf("%d messages are taken or dropped", n), func() bool {
		return r.rcv.out.taken.Load()+drops() >= n
	})
}

// finish stops the receiver, once, and returns its records.
func (r *running) finish(t *testing.T) []record {
	t.Helper()
	if r.stop != nil {
		r.stop <- os.Interrupt
		r.stop = nil
		if err := <-r.done; err != nil {
			t.Fatalf("receiver: %v", err)
		}
	}
	f, err := os.Open(r.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func loggerPath(t *testing.T) string {
	return servetest.Need(t, "logger", "bsdutils")
}

func logger(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(loggerPath(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("logger %q: %v\n%s", args, err, out)
	}
}

// TestLogger sends with the real logger over each transport and framing,
// in both formats, and finds every message in the output with its fields.
func TestLogger(t *testing.T) {
	r := startReceiver(t, options{})
	host, port, _ := strings.Cut(r.urls["udp"], ":")
	_, tcpPort, _ := strings.Cut(r.urls["tcp"], ":")
	cases := []struct {
		args []string
		want record
	}{
		{args: []string{"--rfc5424", "-n", host, "-P", port, "-d", "-t", "app1", "-p", "local3.err", "--msgid", "M1", "udp 5424"},
			want: record{Format: "rfc5424", App: "app1", Facility: "local3", Severity: "err", MsgID: "M1", Message: "udp 5424"}},
		{args: []string{"--rfc3164", "-n", host, "-P", port, "-d", "-t", "app2", "-p", "user.warning", "udp 3164"},
			want: record{Format: "rfc3164", App: "app2", Facility: "user", Severity: "warning", Message: "udp 3164"}},
		{args: []string{"--rfc5424", "-n", host, "-P", tcpPort, "-T", "-t", "app3", "tcp newline framing"},
			want: record{Format: "rfc5424", App: "app3", Facility: "user", Severity: "notice", Message: "tcp newline framing"}},
		{args: []string{"--rfc5424", "-n", host, "-P", tcpPort, "-T", "--octet-count", "-t", "app4", "tcp octet counting"},
			want: record{Format: "rfc5424", App: "app4", Facility: "user", Severity: "notice", Message: "tcp octet counting"}},
		{args: []string{"-u", r.urls["unixgram"], "-t", "app5", "-i", "unix socket"},
			want: record{Format: "rfc3164", App: "app5", Facility: "user", Severity: "notice", Message: "unix socket"}},
		{args: []string{"--rfc5424", "-u", r.urls["unixgram"], "-t", "app6", "--sd-id", "zoo@32473", "--sd-param", `tiger="hungry"`, "unix 5424"},
			want: record{Format: "rfc5424", App: "app6", Facility: "user", Severity: "notice", Message: "unix 5424"}},
	}
	for _, c := range cases {
		logger(t, c.args...)
	}
	// Garbage is kept, marked.
	raw, err := exec.Command("bash", "-c", "printf 'not syslog at all' > /dev/udp/"+host+"/"+port).CombinedOutput()
	if err != nil {
		t.Fatalf("sending garbage: %v %s", err, raw)
	}
	r.waitFor(t, int64(len(cases)+1), func() int64 { return 0 })
	recs := r.finish(t)
	byApp := map[string]record{}
	var garbage []record
	for _, rec := range recs {
		if rec.Error != "" {
			garbage = append(garbage, rec)
			continue
		}
		byApp[rec.App] = rec
	}
	for _, c := range cases {
		got, ok := byApp[c.want.App]
		if !ok {
			t.Errorf("no record from %s (logger %q)", c.want.App, c.args)
			continue
		}
		if got.Format != c.want.Format || got.Facility != c.want.Facility || got.Severity != c.want.Severity ||
			got.Message != c.want.Message || got.MsgID != c.want.MsgID || got.Timestamp == "" {
			t.Errorf("logger %q gave %+v", c.args, got)
		}
	}
	if got := byApp["app5"]; got.PID == "" {
		t.Errorf("logger -i sent a PID, record has none: %+v", got)
	}
	if got := byApp["app6"]; !strings.Contains(got.StructuredData, `[zoo@32473 tiger="hungry"]`) {
		t.Errorf("structured data = %q", got.StructuredData)
	}
	if len(garbage) != 1 || garbage[0].Raw != "not syslog at all" || garbage[0].Remote == "" {
		t.Errorf("garbage records: %+v", garbage)
	}
	if !regexp.MustCompile(`^syslogd: 6 messages written, 1 malformed and 0 partial written as error records, 0 dropped \(0 by the kernel for a full UDP socket buffer, 0 unread at shutdown, 0 lost to write errors\)$`).MatchString(r.sum.String()) {
		t.Errorf("summary %q", r.sum.String())
	}
}

// TestUDPBurst sends 50,000 messages over UDP as fast as logger can, and
// checks the receiver's account: every message was written, or counted
// as dropped. Then again, stopping the receiver the moment logger is done,
// with much of the burst still queued in the socket: those are read and
// written before it exits, not lost.
func TestUDPBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 messages: not in -short")
	}
	for _, tc := range []struct {
		name string
		wait bool // for every message to be taken before stopping
	}{
		{name: "drained", wait: true},
		{name: "stopped at once", wait: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 50000
			r := startReceiver(t, options{grace: 10 * time.Second})
			host, port, _ := strings.Cut(r.urls["udp"], ":")
			var lines strings.Builder
			for i := range n {
				fmt.Fprintf(&lines, "burst message %d\n", i)
			}
			cmd := exec.Command(loggerPath(t), "--rfc5424", "-n", host, "-P", port, "-d", "-t", "burst")
			cmd.Stdin = strings.NewReader(lines.String())
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("logger: %v\n%s", err, out)
			}
			sent := time.Since(start)
			queued := n - r.rcv.out.taken.Load()
			if tc.wait {
				portNum, _ := strconv.Atoi(port)
				r.waitFor(t, n, func() int64 { d, _ := udpDrops(portNum); return d })
			}
			recs := r.finish(t)
			seen := make(map[string]bool, len(recs))
			for _, rec := range recs {
				if rec.App != "burst" || rec.Error != "" || seen[rec.Message] {
					t.Fatalf("unexpected record %+v", rec)
				}
				seen[rec.Message] = true
			}
			sum := r.sum
			if sum.dropsErr != nil {
				t.Fatalf("no kernel drop count: %v", sum.dropsErr)
			}
			if int64(len(recs)) != sum.written[parsed] || sum.written[malformed]+sum.written[partial] != 0 {
				t.Errorf("%d records in the file; summary: %s", len(recs), sum)
			}
			if got := int64(len(recs)) + sum.dropped(); got != n {
				t.Errorf("sent %d, written %d, dropped %d: %d unaccounted for; summary: %s", n, len(recs), sum.dropped(), n-got, sum)
			}
			if sum.unread != 0 {
				t.Errorf("%d datagrams left unread at shutdown", sum.unread)
			}
			t.Logf("sent %d in %v, %d not yet taken when logger ended; %s",
				n, sent.Round(time.Millisecond), queued, sum)
		})
	}
}
