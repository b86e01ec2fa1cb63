package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// relay copies both ways until both directions have ended. When one side
// ends its stream, the other side's write half is closed, so a half-closed
// conversation (an upload, then the answer) goes through whole.
//
// Two timeouts keep a relay from holding its two descriptors for ever: it
// ends when no data has moved either way for idleTimeout, and, once one
// direction has ended, when the other has been silent for
// halfCloseTimeout (HAProxy's "timeout client-fin"): a client that sent
// its request and closed does not wait on a silent upstream. Server
// Close ends it at once.
func (p *proxy) relay(r *socketserver.Request, upstream *net.TCPConn) error {
	rl := &relayState{client: r.Conn, upstream: upstream, idle: p.idleTimeout, halfClosed: p.halfCloseTimeout}
	rl.last.Store(time.Now().UnixNano())
	stop := context.AfterFunc(r.Context(), rl.abort)
	defer stop()

	up := make(chan error, 1)
	go func() {
		// What the client had sent ahead is in Reader.
		err := rl.pipe(upstream, upstream, r.Reader, r.Conn)
		if err == nil {
			err = closeWrite(upstream)
			rl.ended()
		} else {
			upstream.Close() // wakes the other direction
		}
		up <- err
	}()
	err := rl.pipe(r.Writer, r.Conn, upstream, upstream)
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok && err == nil {
		err = closeWrite(cw)
		rl.ended()
	} else if err != nil {
		rl.abort()
	}
	if uerr := <-up; err == nil {
		err = uerr
	}
	if errors.Is(err, errRelayTimeout) {
		return nil // a relay ended by its timeouts is not an error
	}
	return err
}

var errRelayTimeout = errors.New("socks5: relay timed out")

// closeWrite ends c's output. A peer that has already reset the
// connection needs no end: that is not an error.
func closeWrite(c interface{ CloseWrite() error }) error {
	if err := c.CloseWrite(); !errors.Is(err, syscall.ENOTCONN) {
		return err
	}
	return nil
}

// relayState is what a relay's two directions share.
type relayState struct {
	client, upstream net.Conn
	idle, halfClosed time.Duration // 0: no limit
	last             atomic.Int64  // UnixNano of the last data moved, either way
	oneEnded         atomic.Bool   // one direction has ended

	mu      sync.Mutex // guards aborted, and orders it with setting deadlines
	aborted bool
}

// deadline is when the relay times out if nothing moves, or zero.
func (rl *relayState) deadline() time.Time {
	d := rl.idle
	if rl.oneEnded.Load() {
		d = rl.halfClosed
	}
	if d <= 0 {
		return time.Time{}
	}
	return time.Unix(0, rl.last.Load()).Add(d)
}

// setReadDeadline sets c's read deadline to the relay's, unless the relay
// was aborted, whose deadline in the past stays.
func (rl *relayState) setReadDeadline(c net.Conn) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if !rl.aborted {
		c.SetReadDeadline(rl.deadline())
	}
}

// ended records that one direction has ended: from now on the other runs
// under the half-close timeout.
func (rl *relayState) ended() {
	rl.last.Store(time.Now().UnixNano())
	rl.oneEnded.Store(true)
	rl.setReadDeadline(rl.client)
	rl.setReadDeadline(rl.upstream)
}

// abort ends both directions at once.
func (rl *relayState) abort() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if !rl.aborted {
		rl.aborted = true
		rl.upstream.Close()
		rl.client.SetDeadline(time.Unix(1, 0))
	}
}

// pipe copies from src (whose connection is srcConn) to dst (dstConn)
// until src ends (nil), an error, or the relay's timeout.
func (rl *relayState) pipe(dst io.Writer, dstConn net.Conn, src io.Reader, srcConn net.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		rl.setReadDeadline(srcConn)
		n, err := src.Read(buf)
		if n > 0 {
			rl.last.Store(time.Now().UnixNano())
			dstConn.SetWriteDeadline(rl.deadline())
			if _, werr := dst.Write(buf[:n]); werr != nil {
				if errors.Is(werr, os.ErrDeadlineExceeded) {
					return errRelayTimeout
				}
				return werr
			}
			rl.last.Store(time.Now().UnixNano())
		}
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			rl.mu.Lock()
			aborted := rl.aborted
			rl.mu.Unlock()
			if dl := rl.deadline(); aborted || !dl.IsZero() && !time.Now().Before(dl) {
				return errRelayTimeout
			}
			// The other direction moved data meanwhile: wait on.
		case err != nil:
			return err
		}
	}
}
