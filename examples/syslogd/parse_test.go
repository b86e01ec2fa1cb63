package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestParseMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Message
	}{
		{
			in: `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + "\xef\xbb\xbf" + `An application event log entry...`,
			want: Message{Format: "rfc5424", Facility: 20, Severity: 5, Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC),
				Host: "mymachine.example.com", App: "evntslog", MsgID: "ID47",
				StructuredData: `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]`, Text: "An application event log entry..."},
		},
		{
			in:   `<34>1 - - - - - -`,
			want: Message{Format: "rfc5424", Facility: 4, Severity: 2},
		},
		{
			in: `<13>1 2026-11-22T09:00:00+01:00 host app 123 - [a@1 x="q\"uote\]"][b@2] text with ] and "`,
			want: Message{Format: "rfc5424", Facility: 1, Severity: 5, Timestamp: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
				Host: "host", App: "app", ProcID: "123", StructuredData: `[a@1 x="q\"uote\]"][b@2]`, Text: `text with ] and "`},
		},
		{
			in: `<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8`,
			want: Message{Format: "rfc3164", Facility: 4, Severity: 2, Timestamp: time.Date(2026, 10, 11, 22, 14, 15, 0, time.UTC),
				Host: "mymachine", App: "su", Text: "'su root' failed for lonvick on /dev/pts/8"},
		},
		{
			in: `<13>Nov 22 09:52:17 unixapp[42]: from /dev/log`,
			want: Message{Format: "rfc3164", Facility: 1, Severity: 5, Timestamp: time.Date(2026, 11, 22, 9, 52, 17, 0, time.UTC),
				App: "unixapp", ProcID: "42", Text: "from /dev/log"},
		},
		{
			in: `<13>Dec 31 23:59:59 host app: last year's`,
			want: Message{Format: "rfc3164", Facility: 1, Severity: 5, Timestamp: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC),
				Host: "host", App: "app", Text: "last year's"},
		},
		{
			in:   `<0>no header at all`,
			want: Message{Format: "rfc3164", Text: "no header at all"},
		},
	} {
		got, err := parseMessage([]byte(tc.in), now)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !got.Timestamp.Equal(tc.want.Timestamp) {
			t.Errorf("%q: timestamp %v, want %v", tc.in, got.Timestamp, tc.want.Timestamp)
		}
		got.Timestamp, tc.want.Timestamp = time.Time{}, time.Time{}
		if got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseMessageRejects(t *testing.T) {
	for _, in := range []string{
		"", "no pri", "<>1 - - - - - -", "<192>x", "<013>x", "<1a>x", "<13",
		"<13>1 notatime host app - - - x",
		"<13>1 - host app - -",           // no structured data
		"<13>1 - host app - - [unclosed", // unterminated element
		"<13>1 - host app - - junk",      // neither - nor [
		"<13>1 - host app - - [a@1]text", // no space before the text
		"<13>1 - " + strings.Repeat("h", 300) + " app - - -",
		"<13>text \xff\xfe not UTF-8",
	} {
		if m, err := parseMessage([]byte(in), now); err == nil {
			t.Errorf("%q: parsed as %+v", in, m)
		}
	}
}

func TestParseFrames(t *testing.T) {
	in := []byte("11 <13>1 - - -\n<13>newline framed\r\n5 <1>ab99 <2>partial")
	var frames []string
	used, err := parseFrames(in, 1024, func(f []byte) { frames = append(frames, string(f)) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"<13>1 - - -", "<13>newline framed", "<1>ab"}
	if strings.Join(frames, "|") != strings.Join(want, "|") || string(in[used:]) != "99 <2>partial" {
		t.Fatalf("frames %q, rest %q", frames, in[used:])
	}
	for rest, want := range map[string]string{
		"99 <2>partial":    "<2>partial / octet-counted frame cut short: 10 of 99 bytes",
		"<13>no newline\r": "<13>no newline / <nil>",
		"12":               "12 / <nil>",
	} {
		msg, err := partialFrame([]byte(rest))
		if got := fmt.Sprintf("%s / %v", msg, err); got != want {
			t.Errorf("partialFrame(%q) = %s, want %s", rest, got, want)
		}
	}
	for _, bad := range []string{"99999 x", "123456789012345", "1x <13>"} {
		if _, err := parseFrames([]byte(bad), 1024, func([]byte) {}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`<165>1 2003-10-11T22:14:15.003Z host app - ID47 [x@1 a="b"] msg`))
	f.Add([]byte(`<34>Oct 11 22:14:15 mymachine su[12]: failed`))
	f.Add([]byte(`<13>1 - - - - - [a@1 x="\]"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b, now)
		if err != nil {
			return
		}
		if m.Facility < 0 || m.Facility > 23 || m.Severity < 0 || m.Severity > 7 {
			t.Fatalf("facility %d severity %d", m.Facility, m.Severity)
		}
		if m.Format == "rfc3164" && !utf8.ValidString(m.Text) {
			t.Fatalf("text %q is not UTF-8", m.Text)
		}
		for _, s := range []string{m.Host, m.App, m.ProcID, m.MsgID} {
			if strings.ContainsAny(s, " \n") {
				t.Fatalf("header field %q has a space", s)
			}
		}
	})
}

func FuzzParseFrames(f *testing.F) {
	f.Add([]byte("11 <13>1 - - -\n<13>x\n"))
	f.Add([]byte("3 abc4 defg"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var total int
		used, err := parseFrames(in, 512, func(fr []byte) {
			if len(fr) > 512 {
				t.Fatalf("frame of %d bytes", len(fr))
			}
			total += len(fr)
		})
		if used < 0 || used > len(in) || total > used {
			t.Fatalf("used %d of %d, frames %d bytes (err %v)", used, len(in), total, err)
		}
		// What was used parses again to the same count.
		again, err2 := parseFrames(in[:used], 512, func([]byte) {})
		if again != used || err2 != nil && err == nil {
			t.Fatalf("reparse used %d, first %d (%v)", again, used, err2)
		}
		// What is left, were the stream to end here, is a partial
		// message: a part of the rest.
		if err == nil && used < len(in) {
			rest := in[used:]
			if msg, _ := partialFrame(rest); !bytes.Contains(rest, msg) {
				t.Fatalf("partial %q is not in the rest %q", msg, rest)
			}
		}
	})
}
