package cli

import (
	"errors"
	"testing"
)

func TestOneLine(t *testing.T) {
	plain := errors.New("unknown service \"x\"")
	if got := OneLine(plain); got != plain {
		t.Errorf("OneLine changed a one-line error: %v", got)
	}
	if got := OneLine(errors.New("flag provided but not defined: -a\nb\x00")).Error(); got != `flag provided but not defined: -a\nb\x00` {
		t.Errorf("OneLine = %q", got)
	}
}
