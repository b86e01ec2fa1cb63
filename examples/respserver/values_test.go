package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
)

// TestLargeValues: every value SET accepts, GET returns, in both modes,
// whether asked for alone, many times over in one pipeline, or in MGET;
// and MSET takes values as large as SET does, together.
func TestLargeValues(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.mode, cfg.loops = mode, 2
			addr := startConfig(t, cfg)
			c := dialClient(t, "tcp", addr.String())
			for _, size := range []int{0, 1, inlineMax, inlineMax + 1, 64 << 10, 5<<20 + 3, cfg.maxValue} {
				v := value(size, byte(size))
				key := fmt.Sprint("v", size)
				if got := c.do("SET", key, string(v)); got != "OK" {
					t.Fatalf("SET of %d bytes: %v", size, got)
				}
				if got, ok := c.do("GET", key).([]byte); !ok || !bytes.Equal(got, v) {
					t.Fatalf("GET of %d bytes: %d bytes back", size, len(got))
				}
			}
			// A longer value is refused at its header.
			fmt.Fprintf(c.conn, "*3\r\n$3\r\nSET\r\n$4\r\nover\r\n$%d\r\nxxxx", cfg.maxValue+1)
			if got, err := readReply(c.r); got != replyError("ERR Protocol error: invalid bulk length") {
				t.Fatalf("SET over -max-value: %v, %v", got, err)
			}

			// 100 pipelined GETs of a 64 KiB value, sent before any
			// reply is read.
			c = dialClient(t, "tcp", addr.String())
			v := value(64<<10, 1)
			c.do("SET", "k64", string(v))
			gets := make([][]string, 100)
			for i := range gets {
				gets[i] = []string{"GET", "k64"}
			}
			c.send(gets...)
			for i := range gets {
				if got, err := readReply(c.r); err != nil || !bytes.Equal(got.([]byte), v) {
					t.Fatalf("pipelined GET %d: %v", i, err)
				}
			}

			// MSET of two 20 MB values, and MGET of them and more.
			a, b := value(20e6, 2), value(20e6, 3)
			if got := c.do("MSET", "a", string(a), "b", string(b)); got != "OK" {
				t.Fatalf("MSET of two 20 MB values: %v", got)
			}
			got, _ := c.do("MGET", "a", "missing", "b", "k64", "a").([]any)
			want := [][]byte{a, nil, b, v, a}
			if len(got) != len(want) {
				t.Fatalf("MGET: %d values, want %d", len(got), len(want))
			}
			for i := range want {
				if g := got[i].([]byte); !bytes.Equal(g, want[i]) || (g == nil) != (want[i] == nil) {
					t.Fatalf("MGET value %d: %d bytes, want %d", i, len(g), len(want[i]))
				}
			}
			if got := c.do("ECHO", string(a[:1<<20])); !bytes.Equal(got.([]byte), a[:1<<20]) {
				t.Fatalf("ECHO of 1 MiB")
			}

			// A client that sends its commands and ends its side gets
			// every reply whole, then the end. In event mode the core
			// may read the end while a reply is still being produced,
			// and close after the output queued (as Redis does at once):
			// what comes is then a part of the replies, never garbled.
			c.send([]string{"GET", "a"}, []string{"GET", "b"})
			c.conn.(*net.TCPConn).CloseWrite()
			rest, err := io.ReadAll(c.r)
			whole := append(appendBulk(nil, a), appendBulk(nil, b)...)
			if err != nil || !bytes.HasPrefix(whole, rest) || mode == "goroutine" && len(rest) != len(whole) {
				t.Fatalf("after the client's end: %d bytes of %d, %v", len(rest), len(whole), err)
			}
		})
	}
}
