package main

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// A session runs a client's commands against the store. It is not safe
// for concurrent use; each connection has its own while it is served.
type session struct {
	db   *store
	args [][]byte // reused by parseCommand
}

// serve runs every whole command at the front of in and appends the
// replies to out. It returns the bytes used, the replies, and whether the
// connection must close (QUIT, or a protocol error, whose reply is in out).
func (s *session) serve(in, out []byte) (consumed int, _ []byte, closeConn bool) {
	for consumed < len(in) {
		args, n, err := parseCommand(in[consumed:], s.args)
		s.args = args
		if err != nil {
			return consumed, appendError(out, "ERR "+err.Error()), true
		}
		if n == 0 {
			break // the rest of the command has not arrived
		}
		consumed += n
		if len(args) == 0 {
			continue // an empty line, or "*0"
		}
		var quit bool
		out, quit = s.run(args, out)
		if quit {
			return consumed, out, true
		}
	}
	return consumed, out, false
}

var errNotInteger = errors.New("ERR value is not an integer or out of range")

// run executes one command and appends its reply.
func (s *session) run(args [][]byte, out []byte) (_ []byte, quit bool) {
	db := s.db
	name := strings.ToLower(string(args[0]))
	argc := len(args) - 1
	arity := func(ok bool) bool {
		if !ok {
			out = appendError(out, "ERR wrong number of arguments for '"+name+"' command")
		}
		return ok
	}
	switch name {
	case "ping":
		switch {
		case !arity(argc <= 1):
		case argc == 1:
			out = appendBulk(out, args[1])
		default:
			out = appendSimple(out, "PONG")
		}
	case "echo":
		if arity(argc == 1) {
			out = appendBulk(out, args[1])
		}
	case "get":
		if arity(argc == 1) {
			if v, ok := db.get(args[1]); ok {
				out = appendBulk(out, v)
			} else {
				out = appendNull(out)
			}
		}
	case "set":
		if arity(argc >= 2) {
			out = s.set(args, out)
		}
	case "del", "exists":
		if arity(argc >= 1) {
			var n int64
			for _, k := range args[1:] {
				if name == "del" && db.del(k) || name == "exists" && db.exists(k) {
					n++
				}
			}
			out = appendInt(out, n)
		}
	case "incr":
		if arity(argc == 1) {
			var result int64
			err := db.update(args[1], func(old []byte, exists bool) ([]byte, error) {
				var v int64
				if exists {
					var err error
					if v, err = parseInt(old); err != nil {
						return nil, errNotInteger
					}
				}
				if v == 1<<63-1 {
					return nil, errors.New("ERR increment or decrement would overflow")
				}
				result = v + 1
				return strconv.AppendInt(nil, result, 10), nil
			})
			if err != nil {
				out = appendError(out, err.Error())
			} else {
				out = appendInt(out, result)
			}
		}
	case "mget":
		if arity(argc >= 1) {
			out = appendArray(out, argc)
			for _, k := range args[1:] {
				if v, ok := db.get(k); ok {
					out = appendBulk(out, v)
				} else {
					out = appendNull(out)
				}
			}
		}
	case "mset":
		if arity(argc >= 2 && argc%2 == 0) {
			db.setMany(args[1:])
			out = appendSimple(out, "OK")
		}
	case "expire":
		if arity(argc == 2) {
			secs, err := parseInt(args[2])
			if err != nil || secs > (1<<63-1)/1000 || secs < -(1<<63-1)/1000 {
				out = appendError(out, errNotInteger.Error())
				break
			}
			out = appendInt(out, boolInt(db.expire(args[1], secs*1000)))
		}
	case "ttl":
		if arity(argc == 1) {
			ms := db.ttl(args[1])
			if ms > 0 {
				ms = (ms + 500) / 1000 // Redis rounds to the nearest second
			}
			out = appendInt(out, ms)
		}
	case "quit":
		return appendSimple(out, "OK"), true
	case "config":
		// redis-benchmark asks for these two at start.
		settings := map[string]string{"save": "", "appendonly": "no"}
		if argc == 2 && strings.EqualFold(string(args[1]), "get") {
			if v, ok := settings[strings.ToLower(string(args[2]))]; ok {
				out = appendArray(out, 2)
				out = appendBulk(out, bytes.ToLower(args[2]))
				return appendBulk(out, []byte(v)), false
			}
		}
		out = appendArray(out, 0)
	case "command":
		out = appendArray(out, 0) // redis-cli asks, for its hints: there are none
	default:
		var b strings.Builder
		b.WriteString("ERR unknown command '")
		b.WriteString(printable(args[0]))
		b.WriteString("', with args beginning with:")
		for _, a := range args[1:min(len(args), 4)] {
			b.WriteString(" '" + printable(a) + "'")
		}
		out = appendError(out, b.String())
	}
	return out, false
}

// set runs SET key value [EX seconds | PX milliseconds] [NX | XX].
func (s *session) set(args [][]byte, out []byte) []byte {
	var ttl int64
	mode := setAlways
	for i := 3; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		switch {
		case (opt == "EX" || opt == "PX") && ttl == 0 && i+1 < len(args):
			v, err := parseInt(args[i+1])
			if err != nil {
				return appendError(out, errNotInteger.Error())
			}
			if v <= 0 || opt == "EX" && v > (1<<63-1)/1000 {
				return appendError(out, "ERR invalid expire time in 'set' command")
			}
			if opt == "EX" {
				v *= 1000
			}
			ttl = v
			i++
		case opt == "NX" && mode == setAlways:
			mode = setIfAbsent
		case opt == "XX" && mode == setAlways:
			mode = setIfPresent
		default:
			return appendError(out, "ERR syntax error")
		}
	}
	if !s.db.set(args[1], args[2], ttl, mode) {
		return appendNull(out)
	}
	return appendSimple(out, "OK")
}

// parseInt parses a decimal integer as Redis does: no spaces, no plus sign.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 || b[0] == '+' {
		return 0, errNotInteger
	}
	return strconv.ParseInt(string(b), 10, 64)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// printable quotes a client's bytes for an error message, which must stay
// on one line.
func printable(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return string(bytes.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, b))
}
