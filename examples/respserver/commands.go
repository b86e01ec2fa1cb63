package main

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
)

var errNotInteger = errors.New("ERR value is not an integer or out of range")

// exec executes one command and appends its reply to out, or, for a
// reply that may be large, makes it the pending reply (after what it
// appends).
func (s *session) exec(args [][]byte, out []byte) (_ []byte, quit bool) {
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
			out = s.appendBulkArg(out, 1)
		default:
			out = appendSimple(out, "PONG")
		}
	case "echo":
		if arity(argc == 1) {
			out = s.appendBulkArg(out, 1)
		}
	case "get":
		if arity(argc == 1) {
			v, ok := db.get(args[1])
			switch {
			case !ok:
				out = appendNull(out)
			case len(v) <= inlineMax:
				out = appendBulk(out, v)
			default:
				s.sendBulk(v)
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
			s.reply.vals = db.getMany(args[1:], s.reply.vals[:0])
		}
	case "mset":
		if arity(argc >= 2 && argc%2 == 0) {
			pairs := make([][]byte, argc)
			for i := 1; i < len(args); i += 2 {
				pairs[i-1], pairs[i] = args[i], s.keep(i+1)
			}
			db.setMany(pairs)
			out = appendSimple(out, "OK")
		}
	case "expire":
		if arity(argc == 2) {
			secs, err := parseInt(args[2])
			if err != nil {
				out = appendError(out, errNotInteger.Error())
				break
			}
			// As Redis: the seconds must convert to milliseconds, and
			// the time to expire at must fit, or nothing changes.
			now := db.now()
			if secs > math.MaxInt64/1000 || secs < math.MinInt64/1000 || secs*1000 > math.MaxInt64-now {
				out = appendError(out, "ERR invalid expire time in 'expire' command")
				break
			}
			out = appendInt(out, boolInt(db.expire(args[1], now+secs*1000)))
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
	var expireAt int64
	mode := setAlways
	for i := 3; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		switch {
		case (opt == "EX" || opt == "PX") && expireAt == 0 && i+1 < len(args):
			v, err := parseInt(args[i+1])
			if err != nil {
				return appendError(out, errNotInteger.Error())
			}
			// As Redis: positive, convertible to milliseconds, and the
			// time to expire at must fit; or the key stays as it was.
			if v <= 0 || opt == "EX" && v > math.MaxInt64/1000 {
				return appendError(out, "ERR invalid expire time in 'set' command")
			}
			if opt == "EX" {
				v *= 1000
			}
			now := s.db.now()
			if v > math.MaxInt64-now {
				return appendError(out, "ERR invalid expire time in 'set' command")
			}
			expireAt = now + v
			i++
		case opt == "NX" && mode == setAlways:
			mode = setIfAbsent
		case opt == "XX" && mode == setAlways:
			mode = setIfPresent
		default:
			return appendError(out, "ERR syntax error")
		}
	}
	if !s.db.set(args[1], s.keep(2), expireAt, mode) {
		return appendNull(out)
	}
	return appendSimple(out, "OK")
}

// appendBulkArg replies with argument i: at once if small, else as the
// pending reply.
func (s *session) appendBulkArg(out []byte, i int) []byte {
	if len(s.args[i]) <= inlineMax {
		return appendBulk(out, s.args[i])
	}
	s.sendBulk(s.keep(i))
	return out
}

// parseInt parses a decimal integer as Redis does (string2ll): an
// optional minus sign, then "0" or digits that do not start with a zero;
// no spaces, no plus sign, nothing that overflows 64 bits.
func parseInt(b []byte) (int64, error) {
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	switch {
	case len(digits) == 0 || len(b) > 20:
		return 0, errNotInteger
	case digits[0] == '0' && (len(digits) > 1 || len(b) > 1):
		return 0, errNotInteger // a leading zero, or "-0"
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errNotInteger
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, errNotInteger
	}
	return v, nil
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
