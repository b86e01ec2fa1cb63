//go:build linux

package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadableAndWake(t *testing.T) {
	p, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := p.Add(fds[0], Readable); err != nil {
		t.Fatal(err)
	}

	var got []Event
	collect := func(e Event) { got = append(got, e) }
	if _, woken, err := p.Wait(0, collect); err != nil || woken || len(got) != 0 {
		t.Fatalf("idle Wait: woken=%v err=%v events=%v", woken, err, got)
	}

	unix.Write(fds[1], []byte("x"))
	if _, _, err := p.Wait(1000, collect); err != nil || len(got) != 1 || got[0].Fd != fds[0] || got[0].Events&Readable == 0 {
		t.Fatalf("Wait after write: err=%v events=%v", err, got)
	}

	// Level triggered: still readable until read.
	got = nil
	if _, _, err := p.Wait(0, collect); err != nil || len(got) != 1 {
		t.Fatalf("second Wait: err=%v events=%v", err, got)
	}

	for range 3 {
		if err := p.Wake(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Modify(fds[0], 0); err != nil {
		t.Fatal(err)
	}
	got = nil
	if _, woken, err := p.Wait(1000, collect); err != nil || !woken || len(got) != 0 {
		t.Fatalf("Wait after Wake: woken=%v err=%v events=%v", woken, err, got)
	}
	// The wake-up was consumed: the next Wait times out.
	if _, woken, err := p.Wait(0, collect); err != nil || woken {
		t.Fatalf("Wait after drained wake: woken=%v err=%v", woken, err)
	}
	// And Wake works again.
	p.Wake()
	if _, woken, _ := p.Wait(1000, collect); !woken {
		t.Fatal("second Wake was lost")
	}

	if err := p.Remove(fds[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(fds[0]); err == nil {
		t.Fatal("removing twice succeeded")
	}
}

func TestWritableAndHangup(t *testing.T) {
	p, err := New(8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := p.Add(fds[0], Readable|Writable); err != nil {
		t.Fatal(err)
	}
	var got Event
	if _, _, err := p.Wait(1000, func(e Event) { got = e }); err != nil || got.Events&Writable == 0 {
		t.Fatalf("want writable: %v %v", got, err)
	}
	unix.Close(fds[1])
	got = Event{}
	if _, _, err := p.Wait(1000, func(e Event) { got = e }); err != nil || got.Events&(Readable|Hangup) == 0 {
		t.Fatalf("want readable or hang-up after peer close: %v %v", got, err)
	}
}

func TestWakeAfterClose(t *testing.T) {
	p, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			p.Wake()
			p.woken.Store(false) // force the write path
		}
	}()
	p.Close()
	<-done
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake after Close: %v", err)
	}
}
