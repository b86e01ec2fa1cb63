package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A steadyLoad is clients sending one line per connection to an upper
// service, as fast as it answers, counting every request and reply: the
// load under which the drain and restart tests check that nothing is lost.
type steadyLoad struct {
	sent, answered, failed atomic.Int64
	firstErr               atomic.Value
	stop                   chan struct{}
	progress               chan struct{}
	wg                     sync.WaitGroup
}

// startLoad starts clients workers against addr.
func startLoad(addr string, clients int) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{}), progress: make(chan struct{}, 1)}
	for w := range clients {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				msg := fmt.Sprintf("request %d from client %d\n", i, w)
				l.sent.Add(1)
				if reply, err := exchange(addr, msg); err != nil || reply != strings.ToUpper(msg) {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, fmt.Sprintf("%q: got %q, %v", msg, reply, err))
					continue
				}
				l.answered.Add(1)
				select {
				case l.progress <- struct{}{}:
				default:
				}
			}
		})
	}
	return l
}

// waitMore waits until n more requests than now have been answered.
func (l *steadyLoad) waitMore(t *testing.T, n int64) {
	t.Helper()
	want := l.answered.Load() + n
	timeout := time.After(60 * time.Second)
	for l.answered.Load() < want {
		select {
		case <-l.progress:
		case <-timeout:
			t.Fatalf("only %d answered, waiting for %d", l.answered.Load(), want)
		}
	}
}

// finish stops the clients and checks that every request was answered.
func (l *steadyLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%d requests sent, %d answered byte-exact, %d failed", l.sent.Load(), l.answered.Load(), l.failed.Load())
	if l.failed.Load() > 0 || l.sent.Load() != l.answered.Load() {
		t.Errorf("%d of %d requests failed; first: %v", l.failed.Load(), l.sent.Load(), l.firstErr.Load())
	}
}

// exchange sends one line through a new connection and reads the reply.
func exchange(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}
