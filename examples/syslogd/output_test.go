package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// cutWriter takes the first limit bytes it is given, then fails.
type cutWriter struct {
	limit int
	got   []byte
}

var errCut = errors.New("no space left")

func (w *cutWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.limit-len(w.got))
	w.got = append(w.got, p[:n]...)
	if n < len(p) {
		return n, errCut
	}
	return n, nil
}

// TestRecordWriterCounts: the records a write took whole are counted
// written, by kind; the rest of the buffer is counted lost, with the
// error.
func TestRecordWriterCounts(t *testing.T) {
	w := &cutWriter{limit: 250}
	rw := newRecordWriter(w)
	var reported []error
	rw.onError = func(err error) { reported = append(reported, err) }
	kinds := []kind{parsed, malformed, partial, parsed, parsed, malformed}
	for i, k := range kinds {
		rw.write(&record{Received: "now", Message: fmt.Sprintf("message %d %s", i, strings.Repeat("x", 40))}, k)
	}
	rw.flush()
	whole := strings.Count(string(w.got), "\n")
	tl := rw.tally()
	var written int64
	for _, n := range tl.written {
		written += n
	}
	if written != int64(whole) || tl.lost != int64(len(kinds)-whole) || whole == 0 || whole == len(kinds) {
		t.Fatalf("%d whole lines in the output; tally %+v", whole, tl)
	}
	if tl.written[parsed] != 1 || tl.written[malformed] != 1 || tl.written[partial] != 1 {
		t.Errorf("by kind: %v, want the first three (one of each)", tl.written)
	}
	if tl.failed != 1 || !errors.Is(tl.err, errCut) || len(reported) != 1 {
		t.Errorf("failed %d, err %v, reported %v", tl.failed, tl.err, reported)
	}
	// Later writes fail too: each is counted, the error reported once.
	rw.write(&record{Received: "later"}, parsed)
	rw.flush()
	if tl = rw.tally(); tl.lost != int64(len(kinds)-whole)+1 || tl.failed != 2 || len(reported) != 1 {
		t.Errorf("after a second failure: %+v, reported %d", tl, len(reported))
	}
}

// TestWriteErrorsCounted: with /dev/full as its output, the receiver
// counts every message as lost to a write error and says so; main exits
// 1 on such a summary.
func TestWriteErrorsCounted(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	r := startReceiver(t, options{out: full})
	const n = 20
	c, err := net.Dial("udp", r.urls["udp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		fmt.Fprintf(c, "<13>1 - host app - - - message %d", i)
	}
	r.waitFor(t, n, func() int64 { return 0 })
	r.finish(t)
	sum := r.sum
	if sum.ok() || sum.lost != n || sum.written != [numKinds]int64{} || !errors.Is(sum.err, syscall.ENOSPC) {
		t.Fatalf("summary %+v", sum)
	}
	if s := sum.String(); !strings.Contains(s, fmt.Sprintf("%d dropped", n)) || !strings.Contains(s, "no space left on device") {
		t.Errorf("summary %q", s)
	}
}

// jsonRecord is rec as encoding/json writes it, HTML escaping off.
func jsonRecord(t testing.TB, rec *record) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRecordJSON(t *testing.T) {
	for _, rec := range []record{
		{Received: "2026-12-03T10:00:00Z"},
		{Received: "r", Remote: "127.0.0.1:5", Format: "rfc5424", Facility: "user", Severity: "err", Timestamp: "t",
			Host: "h", App: "a", PID: "1", MsgID: "m", StructuredData: `[a@1 x="\"y\""]`, Message: "hi"},
		{Received: "r", Raw: "\x00\x01\x1f\x7f\"\\\b\f\n\r\t<>&\u2028\u2029\xff\xfe ok é", Error: "bad", Partial: true},
		{Received: "r", Message: "\xe2\x82", Partial: true},
	} {
		if got, want := string(rec.appendJSON(nil)), jsonRecord(t, &rec); got != want {
			t.Errorf("appendJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzRecordJSON(f *testing.F) {
	f.Add("<13>1 - - - - - - x", "\x00\"\\\u2028\xff", true)
	f.Fuzz(func(t *testing.T, msg, raw string, part bool) {
		rec := record{Received: "r", Message: msg, Raw: raw, Error: raw, Partial: part}
		if got, want := string(rec.appendJSON(nil)), jsonRecord(t, &rec); got != want {
			t.Fatalf("appendJSON:\n got %q\nwant %q", got, want)
		}
	})
}
