package forkwire

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
)

func TestJobRoundTrip(t *testing.T) {
	j := &Job{Kind: JobPacket, Remote: "127.0.0.1:5353", Packet: []byte("hello")}
	got, err := DecodeJob(j.Encode(false), 7, func(int) { t.Error("closed a descriptor") })
	if err != nil || got.Kind != j.Kind || got.Remote != j.Remote || !bytes.Equal(got.Packet, j.Packet) || got.FD != 7 {
		t.Fatalf("got %+v, %v", got, err)
	}
	got, err = DecodeJob((&Job{Kind: JobStream}).Encode(true), -1, nil)
	if err != nil || got.FD != InheritedFD {
		t.Fatalf("inherited: %+v, %v", got, err)
	}
	var closed []int
	for _, bad := range [][]byte{nil, {MsgJob, 'x', 0, 0, 0}, {MsgJob, JobStream, 0, 0, 9}, {'s', 0, 0, 0, 0}, (&Job{Kind: JobStream}).Encode(true)} {
		if _, err := DecodeJob(bad, 5, func(fd int) { closed = append(closed, fd) }); err == nil {
			t.Errorf("DecodeJob(%q) succeeded", bad)
		}
	}
	if len(closed) != 5 {
		t.Errorf("closed %v, want the descriptor of each bad job", closed)
	}
	if _, err := DecodeJob((&Job{Kind: JobStream}).Encode(false), -1, nil); err == nil {
		t.Error("a job without its descriptor decoded")
	}
}

func TestReports(t *testing.T) {
	r, err := DecodeReport(ErrorReport("boom", true))
	if err != nil || r.Panic || !r.Routine || r.Text != "boom" {
		t.Errorf("error report: %+v, %v", r, err)
	}
	r, err = DecodeReport(PanicReport("bad\x00value", []byte("stack")))
	if err != nil || !r.Panic || r.Text != "bad value" || string(r.Stack) != "stack" {
		t.Errorf("panic report: %+v, %v", r, err)
	}
	if _, err := DecodeReport([]byte{MsgError}); err == nil {
		t.Error("a short report decoded")
	}
	if !IsHello(Hello("t0k"), "t0k") || IsHello(Hello("t0k"), "other") || IsHello(Hello(""), "") {
		t.Error("IsHello")
	}
}

func TestStats(t *testing.T) {
	in := []int64{1, 0, 1 << 40, 7, -1}
	vals := make([]int64, 5)
	kind, err := DecodeStats(Stats(MsgDone, in), vals)
	if err != nil || kind != MsgDone || !slices.Equal(vals, in) {
		t.Fatalf("round trip: %v %c %v", vals, kind, err)
	}
	// A newer sender's extra counters are ignored; an older one's missing
	// counters are zero.
	short := make([]int64, 3)
	if _, err := DecodeStats(Stats(MsgStats, in), short); err != nil || !slices.Equal(short, in[:3]) {
		t.Errorf("fewer known: %v, %v", short, err)
	}
	long := make([]int64, 7)
	if _, err := DecodeStats(Stats(MsgStats, in[:2]), long); err != nil || !slices.Equal(long, []int64{1, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("more known: %v, %v", long, err)
	}
	for _, bad := range [][]byte{nil, {MsgStats}, {MsgStats, 2, 1}, {MsgStats, 1, 2, 3}, {MsgError, 0}, {MsgStats, 0xff, 0xff, 0xff, 0x7f}} {
		if _, err := DecodeStats(bad, vals); err == nil {
			t.Errorf("DecodeStats(%q) succeeded", bad)
		}
	}
}

func TestAdmission(t *testing.T) {
	for _, ip := range []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1"), netip.MustParseAddr("fe80::1%eth0")} {
		got, err := DecodeAdmit(Admit(ip))
		if err != nil || got != ip {
			t.Errorf("%v: %v, %v", ip, got, err)
		}
	}
	if _, err := DecodeAdmit([]byte{MsgAdmit, 1, 2}); err == nil {
		t.Error("a 2-byte address decoded")
	}
	for _, ok := range []bool{true, false} {
		if got, err := DecodeAnswer(Answer(ok)); err != nil || got != ok {
			t.Errorf("answer %v: %v, %v", ok, got, err)
		}
	}
	if _, err := DecodeAnswer([]byte{MsgAnswer, 2}); err == nil {
		t.Error("answer 2 decoded")
	}
}

func TestSplitFrame(t *testing.T) {
	stream := append(Frame([]byte("one")), Frame([]byte("second"))...)
	var got []string
	for b := stream; ; {
		msg, used, err := SplitFrame(b, 16)
		if err != nil || used == 0 {
			if err != nil || len(b) > 0 {
				t.Fatalf("left %q: %v", b, err)
			}
			break
		}
		got = append(got, string(msg))
		b = b[used:]
	}
	if !slices.Equal(got, []string{"one", "second"}) {
		t.Errorf("got %q", got)
	}
	if _, used, err := SplitFrame(stream[:6], 16); used != 0 || err != nil {
		t.Errorf("a partial frame: used %d, %v", used, err)
	}
	if _, _, err := SplitFrame(Frame([]byte("seventeen bytes!!")), 16); err == nil {
		t.Error("a frame over the limit")
	}
	if _, _, err := SplitFrame([]byte{0, 0, 0, 0}, 16); err == nil {
		t.Error("an empty frame")
	}
}

// The job decoder never panics, and a job it accepts encodes back to the
// same bytes.
func FuzzDecodeJob(f *testing.F) {
	f.Add((&Job{Kind: JobPacket, Remote: "[::1]:53", Packet: []byte("q")}).Encode(false), true)
	f.Add((&Job{Kind: JobStream}).Encode(true), false)
	f.Fuzz(func(t *testing.T, b []byte, withFD bool) {
		fd := -1
		if withFD {
			fd = 9
		}
		j, err := DecodeJob(b, fd, func(int) {})
		if err != nil {
			return
		}
		if !bytes.Equal(j.Encode(j.FD == InheritedFD && fd < 0), b) {
			t.Errorf("%q re-encodes differently", b)
		}
	})
}

// What a child sends is decoded without panics, whatever it is, and what
// decodes encodes back to the same meaning.
func FuzzChildMessage(f *testing.F) {
	f.Add(Stats(MsgDone, []int64{3, 0, -2, 1 << 50}))
	f.Add(Stats(MsgStats, nil))
	f.Add(ErrorReport("failed", true))
	f.Add(PanicReport("v", []byte("stack")))
	f.Add(Admit(netip.MustParseAddr("10.1.2.3")))
	f.Add([]byte{MsgReady})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals := make([]int64, 8)
		if kind, err := DecodeStats(b, vals); err == nil {
			again := make([]int64, 8)
			if _, err := DecodeStats(Stats(kind, vals), again); err != nil || !slices.Equal(vals, again) {
				t.Errorf("%q: counters %v re-decode as %v, %v", b, vals, again, err)
			}
		}
		if r, err := DecodeReport(b); err == nil && !r.Panic {
			if r2, err := DecodeReport(ErrorReport(r.Text, r.Routine)); err != nil || r2.Text != clip(r.Text) || r2.Routine != r.Routine {
				t.Errorf("%q: report %+v re-decodes as %+v, %v", b, r, r2, err)
			}
		}
		if ip, err := DecodeAdmit(b); err == nil {
			if ip2, err := DecodeAdmit(Admit(ip)); err != nil || ip2 != ip {
				t.Errorf("%q: %v re-decodes as %v, %v", b, ip, ip2, err)
			}
		}
	})
}

// The framing of a stream control socket never panics, never reads past
// its input, and gives back what was framed.
func FuzzSplitFrame(f *testing.F) {
	f.Add(append(Frame([]byte("R")), Frame([]byte("D\x00"))...), 16)
	f.Add([]byte{0, 0, 0, 9, 'x'}, 8)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		limit = limit%(1<<16) + 1
		if limit <= 0 {
			limit = -limit + 1
		}
		msg, used, err := SplitFrame(b, limit)
		if err != nil || used == 0 {
			return
		}
		if used > len(b) || len(msg) > limit || !bytes.Equal(Frame(msg), b[:used]) {
			t.Errorf("%q (limit %d): message %q, used %d", b, limit, msg, used)
		}
	})
}
