package main

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestPartialTCPMessages: a TCP message that its connection's end cuts
// short is written, marked partial, whether the client closed without a
// last newline, reset the connection, or the receiver shut down while it
// was arriving (after its grace); an octet-counted frame cut short says
// how much came. Every message sent is in the output, and in the summary.
func TestPartialTCPMessages(t *testing.T) {
	r := startReceiver(t, options{grace: 300 * time.Millisecond})
	dial := func(name string) *net.TCPConn {
		c, err := net.Dial("tcp", r.urls["tcp"])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "<13>1 - host app - - - whole %s\n", name)
		return c.(*net.TCPConn)
	}
	eof := dial("eof")
	eof.Write([]byte("<13>1 - host app - - - no newline before the end"))
	eof.CloseWrite()

	reset := dial("reset")
	reset.Write([]byte("<13>1 - host app - - - reset mid-message"))
	r.waitFor(t, 3, func() int64 { return 0 }) // the reset must not overtake its data
	reset.SetLinger(0)
	reset.Close()

	stopped := dial("stopped")
	stopped.Write([]byte("<13>1 - host app - - - cut by the shutdown"))
	octets := dial("octets")
	octets.Write([]byte("200 <13>1 - host app - - - octets cut by the shutdown"))

	r.waitFor(t, 6, func() int64 { return 0 }) // four whole, and the first two partial
	recs := r.finish(t)

	var whole, cut []string
	for _, rec := range recs {
		switch {
		case !rec.Partial && rec.Error == "":
			whole = append(whole, rec.Message)
		case rec.Partial && rec.Error == "":
			cut = append(cut, rec.Message)
		case rec.Partial:
			cut = append(cut, rec.Raw+" / "+rec.Error)
		default:
			t.Errorf("malformed record %+v", rec)
		}
	}
	sort.Strings(whole)
	sort.Strings(cut)
	if got := strings.Join(whole, "|"); got != "whole eof|whole octets|whole reset|whole stopped" {
		t.Errorf("whole messages: %q", whole)
	}
	want := strings.Join([]string{
		"<13>1 - host app - - - octets cut by the shutdown / octet-counted frame cut short: 49 of 200 bytes",
		"cut by the shutdown",
		"no newline before the end",
		"reset mid-message",
	}, "|")
	if got := strings.Join(cut, "|"); got != want {
		t.Errorf("partial messages:\n got %q\nwant %q", got, want)
	}
	if sum := r.sum; sum.written != [numKinds]int64{parsed: 4, partial: 4} || sum.dropped() != 0 {
		t.Errorf("summary: %s", sum)
	}
}
