package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// A client speaks RESP to a server, for tests: it sends commands and
// reads replies.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialClient(t testing.TB, network, addr string) *client {
	t.Helper()
	c, err := dialRaw(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

func dialRaw(network, addr string) (net.Conn, error) {
	return net.DialTimeout(network, addr, 5*time.Second)
}

// send writes commands, each a list of arguments, without reading.
func (c *client) send(cmds ...[]string) {
	c.t.Helper()
	var b []byte
	for _, cmd := range cmds {
		b = append(b, encode(cmd...)...)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// do sends one command and returns its reply.
func (c *client) do(args ...string) any {
	c.t.Helper()
	c.send(args)
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("%.40q: %v", args, err)
	}
	return v
}

// A replyError is an error reply.
type replyError string

func (e replyError) Error() string { return string(e) }

// readReply reads one RESP reply: a string (simple), a replyError, an
// int64, a []byte (bulk; nil for null) or a []any (array).
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return replyError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad bulk length %q", body)
		}
		if n == -1 {
			return []byte(nil), nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(b, []byte("\r\n")) {
			return nil, errors.New("bulk not followed by CRLF")
		}
		return b[:n], nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", body)
		}
		arr := make([]any, 0, max(n, 0))
		for range n {
			v, err := readReply(r)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	}
	return nil, fmt.Errorf("bad reply type in %q", line)
}

// value returns n bytes that depend on n and seed only.
func value(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed + byte(i>>16)
	}
	return b
}
