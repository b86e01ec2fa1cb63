package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// testMaxValue is the largest argument in these tests.
const testMaxValue = 1 << 20

// newTestSession returns a session on db with the default limits and no
// budget.
func newTestSession(db *store) *session {
	cfg := defaultConfig()
	return newSession(db, &limits{maxValue: testMaxValue, maxRequest: cfg.maxRequest})
}

// bufSink collects replies; it is never full.
type bufSink struct{ out []byte }

func (k *bufSink) write(p []byte) error { k.out = append(k.out, p...); return nil }
func (k *bufSink) full() bool           { return false }
func (k *bufSink) chunk() int           { return 1000 }

// serveAll serves in on s and returns the bytes used, the replies, and
// whether the connection would close.
func serveAll(s *session, in []byte) (used int, out []byte, closeConn bool) {
	k := &bufSink{}
	used, closeConn = s.serve(in, k)
	return used, k.out, closeConn
}

// encode writes args as a RESP array of bulk strings, as clients do.
func encode(args ...string) []byte {
	var b []byte
	b = appendArray(b, len(args))
	for _, a := range args {
		b = appendBulk(b, []byte(a))
	}
	return b
}

func TestParseCommandSplitAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"PING"},
		{"SET", "key", "value with spaces\r\nand CRLF"},
		{"MSET", "a", "", "b", strings.Repeat("x", 5000)},
	} {
		msg := encode(args...)
		// Every prefix is incomplete, never an error.
		for i := range len(msg) {
			got, n, err := parseCommand(msg[:i], nil, testMaxValue)
			if err != nil || n != 0 || len(got) != 0 && i < len(msg) && n != 0 {
				t.Fatalf("%q cut at %d: n=%d err=%v", args, i, n, err)
			}
		}
		got, n, err := parseCommand(append(msg, "*1\r\n"...), nil, testMaxValue)
		if err != nil || n != len(msg) || len(got) != len(args) {
			t.Fatalf("%q: n=%d (want %d) args=%q err=%v", args, n, len(msg), got, err)
		}
		for i := range args {
			if string(got[i]) != args[i] {
				t.Fatalf("arg %d = %q, want %q", i, got[i], args[i])
			}
		}
	}
}

func TestParseCommandInline(t *testing.T) {
	got, n, err := parseCommand([]byte("set  k   v\r\nGET k\n"), nil, testMaxValue)
	if err != nil || n != len("set  k   v\r\n") || fmt.Sprintf("%q", got) != `["set" "k" "v"]` {
		t.Fatalf("inline: %q n=%d err=%v", got, n, err)
	}
}

func TestParseCommandRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"*2\r\n:1\r\n",                   // not a bulk string
		"*x\r\n",                         // bad count
		"*1\r\n$-5\r\n",                  // negative length
		"*1\r\n$99999999999\r\n",         // over the limit
		"*1\r\n$3\r\nabcd\r\n",           // no CRLF after the bulk
		"*1\r\n$3\nabc\r\n",              // LF without CR
		"*" + strings.Repeat("9", 40),    // header line too long
		"*+1\r\n$1\r\na\r\n",             // a sign
		"*1\r\n$01\r\na\r\n",             // a leading zero
		"*9999999999\r\n",                // too many arguments
		strings.Repeat("x", maxInline+1), // inline with no end
	} {
		if _, _, err := parseCommand([]byte(in), nil, testMaxValue); err == nil {
			t.Errorf("%.40q: no error", in)
		} else if !strings.HasPrefix(err.Error(), "Protocol error: ") {
			t.Errorf("%.40q: error %q", in, err)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add(encode("SET", "k", "v", "EX", "10"))
	f.Add([]byte("PING\r\n"))
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("*1\r\n$-1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		args, n, err := parseCommand(b, nil, testMaxValue)
		if err != nil {
			if n != 0 || !strings.HasPrefix(err.Error(), "Protocol error: ") {
				t.Fatalf("error %q with n=%d", err, n)
			}
			return
		}
		if n < 0 || n > len(b) {
			t.Fatalf("n=%d of %d bytes", n, len(b))
		}
		if n == 0 {
			return
		}
		// The command parses the same on its own, and re-encoded (unless
		// inline, whose words are not quoted).
		again, m, err := parseCommand(b[:n], nil, testMaxValue)
		if err != nil || m != n || len(again) != len(args) {
			t.Fatalf("reparse: %q m=%d err=%v, first %q n=%d", again, m, err, args, n)
		}
		if b[0] == '*' && len(args) > 0 {
			strs := make([]string, len(args))
			for i, a := range args {
				strs[i] = string(a)
			}
			if _, k, err := parseCommand(encode(strs...), nil, testMaxValue); err != nil || k != n {
				t.Fatalf("re-encoded %q: k=%d n=%d err=%v", strs, k, n, err)
			}
		}
		// A session never panics on it, and answers something.
		if _, out, _ := serveAll(newTestSession(newStore()), b); len(args) > 0 && len(out) == 0 {
			t.Fatalf("no reply to %q", args)
		}
	})
}

// TestCommands runs each command through a session and checks the reply
// byte for byte.
func TestCommands(t *testing.T) {
	db := newStore()
	clock := int64(1_000_000)
	db.now = func() int64 { return clock }
	s := newTestSession(db)
	steps := []struct {
		cmd  []string
		want string
	}{
		{cmd: []string{"PING"}, want: "+PONG\r\n"},
		{cmd: []string{"ping", "hi"}, want: "$2\r\nhi\r\n"},
		{cmd: []string{"PING", "a", "b"}, want: "-ERR wrong number of arguments for 'ping' command\r\n"},
		{cmd: []string{"ECHO", "x y"}, want: "$3\r\nx y\r\n"},
		{cmd: []string{"GET", "k"}, want: "$-1\r\n"},
		{cmd: []string{"SET", "k", "v1"}, want: "+OK\r\n"},
		{cmd: []string{"GET", "k"}, want: "$2\r\nv1\r\n"},
		{cmd: []string{"SET", "k", "v2", "NX"}, want: "$-1\r\n"},
		{cmd: []string{"SET", "new", "v", "XX"}, want: "$-1\r\n"},
		{cmd: []string{"SET", "k", "v3", "XX", "PX", "1500"}, want: "+OK\r\n"},
		{cmd: []string{"TTL", "k"}, want: ":2\r\n"}, // 1.5s rounds to 2, as in Redis
		{cmd: []string{"SET", "k", "v", "EX", "-1"}, want: "-ERR invalid expire time in 'set' command\r\n"},
		{cmd: []string{"SET", "k", "v", "EX", "ten"}, want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: []string{"SET", "k", "v", "PX", "9223372036854775807"}, want: "-ERR invalid expire time in 'set' command\r\n"},
		{cmd: []string{"SET", "k", "v", "EX", "9223372036854775"}, want: "-ERR invalid expire time in 'set' command\r\n"},
		{cmd: []string{"SET", "k", "v", "EX", "9223372036854776"}, want: "-ERR invalid expire time in 'set' command\r\n"},
		{cmd: []string{"EXPIRE", "k", "9223372036854775"}, want: "-ERR invalid expire time in 'expire' command\r\n"},
		{cmd: []string{"EXPIRE", "k", "-9223372036854776"}, want: "-ERR invalid expire time in 'expire' command\r\n"},
		{cmd: []string{"EXPIRE", "k", "9223372036854775808"}, want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: []string{"TTL", "k"}, want: ":2\r\n"}, // none of these changed k
		{cmd: []string{"SET", "k", "v", "NX", "XX"}, want: "-ERR syntax error\r\n"},
		{cmd: []string{"SET", "k", "v", "EX", "1", "PX", "1"}, want: "-ERR syntax error\r\n"},
		{cmd: []string{"SET", "k"}, want: "-ERR wrong number of arguments for 'set' command\r\n"},
		{cmd: []string{"INCR", "n"}, want: ":1\r\n"},
		{cmd: []string{"INCR", "n"}, want: ":2\r\n"},
		{cmd: []string{"INCR", "k"}, want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: []string{"SET", "big", "9223372036854775807"}, want: "+OK\r\n"},
		{cmd: []string{"INCR", "big"}, want: "-ERR increment or decrement would overflow\r\n"},
		{cmd: []string{"MSET", "a", "1", "b", "2"}, want: "+OK\r\n"},
		{cmd: []string{"MSET", "a", "1", "b"}, want: "-ERR wrong number of arguments for 'mset' command\r\n"},
		{cmd: []string{"MGET", "a", "nope", "b"}, want: "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"},
		{cmd: []string{"EXISTS", "a", "a", "nope"}, want: ":2\r\n"},
		{cmd: []string{"EXPIRE", "a", "10"}, want: ":1\r\n"},
		{cmd: []string{"EXPIRE", "nope", "10"}, want: ":0\r\n"},
		{cmd: []string{"EXPIRE", "a", "x"}, want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: []string{"TTL", "a"}, want: ":10\r\n"},
		{cmd: []string{"TTL", "b"}, want: ":-1\r\n"},
		{cmd: []string{"TTL", "nope"}, want: ":-2\r\n"},
		{cmd: []string{"DEL", "a", "b", "nope"}, want: ":2\r\n"},
		{cmd: []string{"EXPIRE", "n", "0"}, want: ":1\r\n"},
		{cmd: []string{"GET", "n"}, want: "$-1\r\n"},
		{cmd: []string{"NOPE", "x\r\ny"}, want: "-ERR unknown command 'NOPE', with args beginning with: 'x??y'\r\n"},
		{cmd: []string{"CONFIG", "GET", "save"}, want: "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
	}
	for _, st := range steps {
		used, out, closeConn := serveAll(s, encode(st.cmd...))
		if string(out) != st.want || closeConn || used != len(encode(st.cmd...)) {
			t.Errorf("%q: reply %q (close %v, used %d), want %q", st.cmd, out, closeConn, used, st.want)
		}
	}

	// Time passes: k (1.5s) expires, a (10s) does not.
	clock += 2000
	for cmd, want := range map[string]string{"k": "$-1\r\n"} {
		if _, out, _ := serveAll(s, encode("GET", cmd)); string(out) != want {
			t.Errorf("GET %s after expiry = %q, want %q", cmd, out, want)
		}
	}
	serveAll(s, encode("SET", "short", "v", "PX", "10"))
	clock += 20
	if n := db.sweep(1000); n != 1 {
		t.Errorf("sweep dropped %d keys, want 1 (short)", n)
	}
}

func TestPipelinedAndPartial(t *testing.T) {
	s := newTestSession(newStore())
	in := append(append(encode("SET", "k", "v"), encode("GET", "k")...), encode("PING")[:5]...)
	used, out, _ := serveAll(s, in)
	if string(out) != "+OK\r\n$1\r\nv\r\n" || used != len(in)-5 {
		t.Fatalf("pipelined: %q used %d of %d", out, used, len(in))
	}
	// A protocol error is answered, then the connection closes.
	_, out, closeConn := serveAll(s, []byte("*1\r\n:5\r\n"))
	if !closeConn || !bytes.HasPrefix(out, []byte("-ERR Protocol error: ")) {
		t.Fatalf("garbage: %q close=%v", out, closeConn)
	}
	if _, out, closeConn := serveAll(s, encode("QUIT")); !closeConn || string(out) != "+OK\r\n" {
		t.Fatalf("QUIT: %q close=%v", out, closeConn)
	}
}

// TestMGetAtomic: MGET sees an MSET whole or not at all.
func TestMGetAtomic(t *testing.T) {
	db := newStore()
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20000 {
			v := []byte(fmt.Sprint(i))
			db.setMany([][]byte{keys[0], v, keys[1], v, keys[2], v})
		}
	}()
	var vals []bulk
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if reads == 0 {
				t.Fatal("no MGET ran alongside")
			}
			return
		default:
		}
		vals = db.getMany(keys, vals[:0])
		if !bytes.Equal(vals[0].v, vals[1].v) || !bytes.Equal(vals[1].v, vals[2].v) {
			t.Fatalf("MGET saw %q %q %q", vals[0].v, vals[1].v, vals[2].v)
		}
	}
}
