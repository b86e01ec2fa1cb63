package sockerr

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassification(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("accept: %w", os.NewSyscallError("accept4", err)) }
	for _, tc := range []struct {
		err                          error
		temporary, exhausted, routin bool
	}{
		{err: wrap(syscall.EMFILE), temporary: true, exhausted: true},
		{err: wrap(syscall.ENFILE), temporary: true, exhausted: true},
		{err: wrap(syscall.ECONNABORTED), temporary: true, routin: true},
		{err: wrap(syscall.ECONNREFUSED), temporary: true},
		{err: wrap(syscall.ECONNRESET), routin: true},
		{err: os.ErrDeadlineExceeded, temporary: true, routin: true},
		{err: fmt.Errorf("read: %w", net.ErrClosed), routin: true},
		{err: io.EOF, routin: true},
		{err: errors.New("something else")},
	} {
		if got := Temporary(tc.err); got != tc.temporary {
			t.Errorf("Temporary(%v) = %v", tc.err, got)
		}
		if got := Exhausted(tc.err); got != tc.exhausted {
			t.Errorf("Exhausted(%v) = %v", tc.err, got)
		}
		if got := Routine(tc.err); got != tc.routin {
			t.Errorf("Routine(%v) = %v", tc.err, got)
		}
	}
}

func TestNextPause(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 10 {
		d = NextPause(d)
		got = append(got, d)
	}
	if got[0] != 5*time.Millisecond || got[1] != 10*time.Millisecond || got[9] != time.Second {
		t.Errorf("pauses %v: want 5ms doubling to 1s", got)
	}
}
