package main

import (
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// startRedis runs a real redis-server, without persistence, on a Unix
// socket, with more settings from args.
func startRedis(t *testing.T, args ...string) serverProc {
	t.Helper()
	bin := servetest.Need(t, "redis-server", "redis-server")
	sock := servetest.SockPath(t, "redis.sock")
	cmd := exec.Command(bin, append([]string{"--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
		"--loglevel", "warning", "--daemonize", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	servetest.WaitUntil(t, "redis-server listens", func() bool {
		c, err := dialRaw("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return serverProc{pid: cmd.Process.Pid, network: "unix", addr: sock}
}

// TestRepliesMatchRedis sends the same commands to a real redis-server
// and to respserver, in both modes, and compares the replies: the edge
// cases of expiry (times that overflow leave the key as it was), integer
// parsing, arity and options.
func TestRepliesMatchRedis(t *testing.T) {
	rp := startRedis(t)
	redis := dialClient(t, rp.network, rp.addr)
	cmds := []string{
		"SET k v", "GET k",
		"SET k v PX 9223372036854775807", "SET k v EX 9223372036854775", "SET k v EX 9223372036854776",
		"SET k v PX 9223372036854775806", "SET k v EX 0", "SET k v PX -5", "SET k v EX 1.5", "SET k v EX", "GET k", "TTL k",
		"EXPIRE k 9223372036854775", "EXPIRE k 9223372036854776", "EXPIRE k -9223372036854776",
		"EXPIRE k 9223372036854775808", "EXPIRE k abc", "TTL k", "GET k",
		"EXPIRE k -9223372036854775", "GET k", "EXISTS k",
		"SET k v EX 100", "TTL k", "SET k v NX", "SET k v XX EX 50", "TTL k", "SET nope v XX",
		"SET k v NX XX", "SET k v EX 1 PX 1", "SET k v nx", "SET k v ex 10 xx",
		"INCR k", "SET n 9223372036854775806", "INCR n", "INCR n", "GET n", "INCR fresh", "SET n +1", "INCR n", "SET n 01", "INCR n", "SET n -0", "INCR n", "SET n -9223372036854775808", "INCR n", "EXPIRE n 01", "EXPIRE n -0",
		"MSET a 1 b 2", "MSET a 1 b", "MGET a nope b", "DEL a b nope", "EXISTS a a nope",
		"ECHO hi", "ECHO", "PING", "PING x", "PING x y", "GET", "GET a b", "TTL nope",
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			redis.do("FLUSHALL")
			ours := dialClient(t, "tcp", "127.0.0.1:"+start(t, mode))
			for _, cmd := range cmds {
				args := strings.Fields(cmd)
				want, got := redis.do(args...), ours.do(args...)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s, redis-server: %s", cmd, show(got), show(want))
				}
			}
		})
	}
}

func show(v any) string {
	switch v := v.(type) {
	case []byte:
		return fmt.Sprintf("%q", v)
	case replyError:
		return "-" + string(v)
	}
	return fmt.Sprintf("%#v", v)
}
