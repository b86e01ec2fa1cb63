package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A respServer is a Redis-protocol server to attack: its command line for
// a port.
type respServer struct {
	name    string
	command func(port int) []string
	missing error // why it cannot run here
}

// budgetMiB is the client memory budget of the "with a budget" servers.
const budgetMiB = 64

func respServers(respBin string) []respServer {
	redis := func(extra ...string) func(int) []string {
		return func(port int) []string {
			return append([]string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
				"--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning"}, extra...)
		}
	}
	ours := func(mode string, extra ...string) func(int) []string {
		return func(port int) []string {
			return append([]string{respBin, "-mode", mode, "-addr", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
		}
	}
	budget := strconv.Itoa(budgetMiB << 20)
	missing := need("redis-server", "redis-server")
	return []respServer{
		{name: "redis-server", command: redis(), missing: missing},
		{name: "respserver event", command: ours("event")},
		{name: "respserver goroutine", command: ours("goroutine")},
		{name: fmt.Sprintf("redis-server, maxmemory-clients %dmb", budgetMiB), command: redis("--maxmemory-clients", fmt.Sprintf("%dmb", budgetMiB)), missing: missing},
		{name: fmt.Sprintf("respserver event, -client-memory %d MiB", budgetMiB), command: ours("event", "-client-memory", budget, "-max-request", budget)},
	}
}

// An attack is done to a fresh server at addr; it returns what the
// report says of it.
type attack struct {
	name string
	run  func(p *proc, addr string) string
}

var respAttacks = []attack{
	{name: "MGET naming a 1 MiB value 1,000 times (9 KB), client not reading: memory", run: func(p *proc, addr string) string {
		args := []string{"MGET"}
		for range 1000 {
			args = append(args, "big")
		}
		return amplify(p, addr, encode(args...))
	}},
	{name: "300 pipelined GETs of a 1 MiB value (8 KB), client not reading: memory", run: func(p *proc, addr string) string {
		return amplify(p, addr, bytes.Repeat(encode("GET", "big"), 300))
	}},
	{name: "10 clients send 31 MiB of a 32 MiB value: memory at the peak, and 2 s after they close", run: partialValues},
	{name: "100 pipelined GETs of a 64 KiB value, read", run: func(_ *proc, addr string) string {
		c, err := dialResp(addr)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		v := bytes.Repeat([]byte("v"), 64<<10)
		if r := c.do(encode("SET", "k", string(v))); r != "+OK\r\n" {
			return "SET: " + r
		}
		c.conn.Write(bytes.Repeat(encode("GET", "k"), 100))
		want := fmt.Sprintf("$%d\r\n%s\r\n", len(v), v)
		for i := range 100 {
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c.r, got); err != nil || string(got) != want {
				return fmt.Sprintf("reply %d: %v", i+1, err)
			}
		}
		return "all 100 right"
	}},
	{name: "MSET of two 20 MB values", run: func(_ *proc, addr string) string {
		c, err := dialResp(addr)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		v := strings.Repeat("m", 20e6)
		return strings.TrimSpace(c.do(encode("MSET", "a", v, "b", v)))
	}},
	{name: "SET k v PX 9223372036854775807 on a key holding x", run: func(_ *proc, addr string) string {
		c, err := dialResp(addr)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.do(encode("SET", "k", "x"))
		r := strings.TrimSpace(c.do(encode("SET", "k", "v", "PX", "9223372036854775807")))
		g := strings.ReplaceAll(strings.TrimSpace(c.do(encode("GET", "k"))), "\r\n", " ")
		return fmt.Sprintf("`%s`; GET k: `%s`", r, g)
	}},
}

// respReport runs every attack on every server and returns the table.
func respReport(respBin string) string {
	servers := respServers(respBin)
	var b strings.Builder
	fmt.Fprintf(&b, "## respserver beside redis-server, attacked\n\n")
	fmt.Fprintf(&b, "Each attack on a fresh server; memory is the server's resident memory (VmRSS, and VmHWM at the peak) "+
		"above what it held before the attack.\n\n| attack |")
	for _, s := range servers {
		fmt.Fprintf(&b, " %s |", s.name)
	}
	fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---|", len(servers)))
	for _, a := range respAttacks {
		fmt.Fprintf(&b, "| %s |", a.name)
		for _, s := range servers {
			cell := s.missing
			var out string
			if cell == nil {
				out, cell = runAttack(s, a)
			}
			if cell != nil {
				out, _, _ = strings.Cut("not run: "+cell.Error(), "\n")
			}
			fmt.Fprintf(&b, " %s |", out)
		}
		fmt.Fprintln(&b)
	}
	return b.String() + "\n"
}

func runAttack(s respServer, a attack) (string, error) {
	port, err := freePort("tcp")
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc(s.command(port), func() error {
		c, err := dialResp(addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		return "", err
	}
	defer p.stop()
	fmt.Fprintf(logw, "hostile: %s: %s\n", s.name, a.name)
	return a.run(p, addr), nil
}

// amplify stores a 1 MiB value as "big", sends req on a client that
// then reads only the first MiB of the reply, and reports the memory.
func amplify(p *proc, addr string, req []byte) string {
	c, err := dialResp(addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	if r := c.do(encode("SET", "big", strings.Repeat("b", 1<<20))); r != "+OK\r\n" {
		return "SET: " + r
	}
	base, _ := p.memory()
	a, err := dialResp(addr)
	if err != nil {
		return err.Error()
	}
	defer a.Close()
	a.conn.Write(req)
	first := "; "
	if _, err := io.ReadFull(a.r, make([]byte, 1<<20)); err != nil {
		first = fmt.Sprintf("; reading the reply: %v; ", err)
	}
	time.Sleep(500 * time.Millisecond) // what the server will take, it has taken
	rss, peak := p.memory()
	ping := "answers others"
	if r := c.do(encode("PING")); r != "+PONG\r\n" {
		ping = "PING: " + strings.TrimSpace(r)
	}
	return fmt.Sprintf("peak +%s, now +%s%s%s", mib(peak-base), mib(rss-base), first, ping)
}

// partialValues: ten clients each send 31 MiB of a 32 MiB value; a
// client with a 1 MiB value tries meanwhile.
func partialValues(p *proc, addr string) string {
	c, err := dialResp(addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	base, _ := p.memory()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		cut int
	)
	chunk := bytes.Repeat([]byte("p"), 1<<20)
	conns := make([]*respConn, 10)
	for i := range conns {
		a, err := dialResp(addr)
		if err != nil {
			return err.Error()
		}
		conns[i] = a
		wg.Go(func() {
			fmt.Fprintf(a.conn, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 32<<20)
			for range 31 {
				if _, err := a.conn.Write(chunk); err != nil {
					mu.Lock()
					cut++
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	small := strings.TrimSpace(c.do(encode("SET", "small", strings.Repeat("s", 1<<20))))
	_, peak := p.memory()
	for _, a := range conns {
		a.Close()
	}
	time.Sleep(2 * time.Second)
	rss, _ := p.memory()
	return fmt.Sprintf("peak +%s, after +%s; %d of 10 cut off sending; a 1 MiB SET meanwhile: `%s`", mib(peak-base), mib(rss-base), cut, small)
}

// respConn is a Redis-protocol connection.
type respConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialResp(addr string) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &respConn{conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (c *respConn) Close() error { return c.conn.Close() }

// do sends req and returns its reply's first line, or an error's text.
func (c *respConn) do(req []byte) string {
	if _, err := c.conn.Write(req); err != nil {
		return err.Error()
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err.Error()
	}
	if n, ok := strings.CutPrefix(strings.TrimSpace(line), "$"); ok {
		if size, _ := strconv.Atoi(n); size > 0 {
			rest := make([]byte, size+2)
			io.ReadFull(c.r, rest)
			line += string(rest)
		}
	}
	return line
}

// encode is a command as clients send it.
func encode(args ...string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}
