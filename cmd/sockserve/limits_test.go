package main

import (
	"io"
	"strings"
	"testing"
)

// A line over -max-line gets no reply; the error is logged with the
// connection's ID. Lines within it are served.
func TestMaxLine(t *testing.T) {
	p := startServe(t, 1, "-service", "upper", "-max-line", "8", "-listen", "tcp://127.0.0.1:0")
	if got := ask(t, p.urls[0], "short\n"); got != "SHORT\n" {
		t.Errorf("a short line: %q", got)
	}
	c := dialURL(t, p.urls[0])
	io.WriteString(c, strings.Repeat("x", 40)+"\n")
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Errorf("a 41-byte line got %q", got)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if log := p.stderr.String(); !strings.Contains(log, "line too long") || !strings.Contains(log, "conn=2") {
		t.Errorf("the log does not tell the long line's connection:\n%s", log)
	}
}
