package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/socketserver-go/socketserver/tlsconn"
)

// newLogger returns sockserve's logger, writing text or JSON to w.
// Durations are written as Go writes them ("1.5s"), in either format:
// JSON would write nanoseconds. Failed TLS handshakes are quieted (see
// quietHandshakes); close writes what was left untold.
func newLogger(format string, w io.Writer) (*slog.Logger, *handshakeLimit) {
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	limit := &handshakeLimit{out: h, every: time.Second}
	return slog.New(quietHandshakes{Handler: h, limit: limit}), limit
}

// quietHandshakes is a slog.Handler that passes records on to Handler,
// except the reports of failed TLS handshakes (an error wrapping
// tlsconn.ErrHandshake, in the "err" attribute). Anyone who can connect
// can fail a handshake, as often as they like, and a TLS scanner does:
// those are logged as warnings, not errors, and at most one a second (see
// handshakeLimit). They are still counted in Stats and in the metrics,
// which see them before the log does.
type quietHandshakes struct {
	slog.Handler
	limit *handshakeLimit // shared by the handlers derived with WithAttrs and WithGroup
}

// Handle logs r, or quiets it if it is a failed handshake.
func (h quietHandshakes) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError || !isHandshakeFailure(r) {
		return h.Handler.Handle(ctx, r)
	}
	log, untold := h.limit.admit(r.Time)
	if !log {
		return nil
	}
	q := slog.NewRecord(r.Time, slog.LevelWarn, "sockserve: TLS handshake failed", r.PC)
	r.Attrs(func(a slog.Attr) bool {
		q.AddAttrs(a)
		return true
	})
	if untold > 0 {
		q.AddAttrs(slog.Int("untold", untold))
	}
	return h.Handler.Handle(ctx, q)
}

// WithAttrs returns the handler with attrs, quieting the same way.
func (h quietHandshakes) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandshakes{Handler: h.Handler.WithAttrs(attrs), limit: h.limit}
}

// WithGroup returns the handler with a group, quieting the same way.
func (h quietHandshakes) WithGroup(name string) slog.Handler {
	return quietHandshakes{Handler: h.Handler.WithGroup(name), limit: h.limit}
}

func isHandshakeFailure(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" && errors.Is(err, tlsconn.ErrHandshake) {
			found = true
		}
		return !found
	})
	return found
}

// A handshakeLimit lets one record through every so often. The next one
// let through says how many were held back ("untold"); if none comes,
// a line of its own says so, once the period is over, or at close.
type handshakeLimit struct {
	out   slog.Handler // for the line of the untold ones
	every time.Duration

	mu     sync.Mutex // guards the fields below
	last   time.Time  // when a record was last let through, or the untold told
	untold int        // records held back since
	timer  *time.Timer
	closed bool
}

// admit reports whether a record at time t is let through and, if so,
// how many were held back before it.
func (l *handshakeLimit) admit(t time.Time) (log bool, untold int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() || t.Sub(l.last) >= l.every {
		untold, l.untold, l.last = l.untold, 0, t
		return true, untold
	}
	l.untold++
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(l.last.Add(l.every).Sub(t), l.tell)
	}
	return false, 0
}

// tell logs how many records were held back, if any.
func (l *handshakeLimit) tell() {
	l.mu.Lock()
	l.timer = nil
	n := l.untold
	l.untold = 0
	if n > 0 {
		l.last = time.Now()
	}
	l.mu.Unlock()
	if n > 0 {
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "sockserve: more TLS handshakes failed", 0)
		r.AddAttrs(slog.Int("untold", n))
		l.out.Handle(context.Background(), r)
	}
}

// close tells the records held back, and stops the timer.
func (l *handshakeLimit) close() {
	l.mu.Lock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.tell()
}
