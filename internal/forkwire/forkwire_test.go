package forkwire

import (
	"bytes"
	"testing"
)

func TestJobRoundTrip(t *testing.T) {
	j := &Job{Kind: JobPacket, Remote: "127.0.0.1:5353", Packet: []byte("hello")}
	got, err := DecodeJob(j.Encode(false), []int{7}, func(int) { t.Error("closed a descriptor") })
	if err != nil || got.Kind != j.Kind || got.Remote != j.Remote || !bytes.Equal(got.Packet, j.Packet) || got.FD != 7 {
		t.Fatalf("got %+v, %v", got, err)
	}
	got, err = DecodeJob((&Job{Kind: JobStream}).Encode(true), nil, nil)
	if err != nil || got.FD != InheritedFD {
		t.Fatalf("inherited: %+v, %v", got, err)
	}
	var closed []int
	for _, bad := range [][]byte{nil, {'x', 0, 0, 0}, {JobStream, 0, 0, 9}} {
		if _, err := DecodeJob(bad, []int{5}, func(fd int) { closed = append(closed, fd) }); err == nil {
			t.Errorf("DecodeJob(%q) succeeded", bad)
		}
	}
	if len(closed) != 3 {
		t.Errorf("closed %v, want the descriptor of each bad job", closed)
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

// The job decoder never panics, and a job it accepts encodes back to the
// same bytes.
func FuzzDecodeJob(f *testing.F) {
	f.Add((&Job{Kind: JobPacket, Remote: "[::1]:53", Packet: []byte("q")}).Encode(false), 1)
	f.Add((&Job{Kind: JobStream}).Encode(true), 0)
	f.Fuzz(func(t *testing.T, b []byte, nfds int) {
		fds := make([]int, (nfds%3+3)%3)
		j, err := DecodeJob(b, fds, func(int) {})
		if err != nil {
			return
		}
		if !bytes.Equal(j.Encode(j.FD == InheritedFD && len(fds) == 0), b) {
			t.Errorf("%q re-encodes differently", b)
		}
	})
}
