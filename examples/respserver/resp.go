package main

import (
	"bytes"
	"fmt"
	"strconv"
)

// Limits of the protocol, as Redis's own. The size of an argument and of
// a command are the server's settings (limits).
const (
	maxArgs      = 1 << 20  // arguments in one command
	maxInline    = 64 << 10 // bytes in an inline command line
	maxLineBytes = 32       // bytes in a "*N" or "$N" header line
)

// A protocolError is a request that is not RESP: the server replies with it
// and closes the connection, as Redis does.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

func protoErr(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// parseCommand parses one command from the front of b: a RESP array of bulk
// strings (what clients send) or an inline command (what a person types
// into telnet). It returns the arguments, which point into b, and the
// number of bytes used; n == 0 with a nil error means b holds only part of
// a command. An argument longer than maxValue is an error. args is reused
// for the result.
func parseCommand(b []byte, args [][]byte, maxValue int) (_ [][]byte, n int, err error) {
	args = args[:0]
	if len(b) == 0 {
		return args, 0, nil
	}
	if b[0] != '*' {
		return parseInline(b, args)
	}
	count, pos, err := parseHeader(b, 0, '*')
	if err != nil || pos == 0 {
		return args, 0, err
	}
	if count > maxArgs {
		return args, 0, protoErr("invalid multibulk length")
	}
	for range count {
		size, next, err := parseHeader(b, pos, '$')
		if err != nil || next == 0 {
			return args, 0, err
		}
		if size < 0 || size > int64(maxValue) {
			return args, 0, protoErr("invalid bulk length")
		}
		end := next + int(size)
		if len(b) > end && b[end] != '\r' || len(b) > end+1 && b[end+1] != '\n' {
			return args, 0, protoErr("bulk string not followed by CRLF")
		}
		if len(b) < end+2 {
			return args, 0, nil
		}
		args = append(args, b[next:end:end])
		pos = end + 2
	}
	return args, pos, nil
}

// parseHeader parses a "<kind><integer>\r\n" line at b[pos:] and returns
// the integer and the position after the line, or 0 if the line is not
// complete yet.
func parseHeader(b []byte, pos int, kind byte) (int64, int, error) {
	if pos >= len(b) {
		return 0, 0, nil
	}
	if b[pos] != kind {
		return 0, 0, protoErr("expected '%c', got '%c'", kind, b[pos])
	}
	i := bytes.IndexByte(b[pos:min(len(b), pos+maxLineBytes)], '\n')
	if i < 0 {
		if len(b)-pos >= maxLineBytes {
			return 0, 0, protoErr("header line too long")
		}
		return 0, 0, nil
	}
	line := b[pos+1 : pos+i]
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return 0, 0, protoErr("header line not ended by CRLF")
	}
	v, err := parseLength(line[:len(line)-1])
	if err != nil {
		if kind == '*' {
			return 0, 0, protoErr("invalid multibulk length")
		}
		return 0, 0, protoErr("invalid bulk length")
	}
	if kind == '*' && v < 0 {
		v = 0 // "*-1": a null array, no command
	}
	return v, pos + i + 1, nil
}

// parseLength parses a length as Redis does: decimal digits with no sign
// and no leading zero, or -1.
func parseLength(b []byte) (int64, error) {
	if string(b) == "-1" {
		return -1, nil
	}
	if len(b) == 0 || len(b) > 18 || len(b) > 1 && b[0] == '0' {
		return 0, strconv.ErrSyntax
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		v = v*10 + int64(c-'0')
	}
	return v, nil
}

// parseInline parses a line of space-separated words.
func parseInline(b []byte, args [][]byte) ([][]byte, int, error) {
	i := bytes.IndexByte(b[:min(len(b), maxInline)], '\n')
	if i < 0 {
		if len(b) >= maxInline {
			return args, 0, protoErr("too big inline request")
		}
		return args, 0, nil
	}
	for _, w := range bytes.Fields(b[:i]) {
		args = append(args, w)
	}
	return args, i + 1, nil
}

// Reply encoders: each appends one RESP value to out.

func appendSimple(out []byte, s string) []byte {
	out = append(out, '+')
	out = append(out, s...)
	return append(out, '\r', '\n')
}

func appendError(out []byte, msg string) []byte {
	out = append(out, '-')
	out = append(out, msg...)
	return append(out, '\r', '\n')
}

func appendInt(out []byte, v int64) []byte {
	out = append(out, ':')
	out = strconv.AppendInt(out, v, 10)
	return append(out, '\r', '\n')
}

func appendBulk(out, v []byte) []byte {
	out = appendBulkHeader(out, len(v))
	out = append(out, v...)
	return append(out, '\r', '\n')
}

// appendBulkHeader appends the "$N\r\n" before a bulk string of n bytes.
func appendBulkHeader(out []byte, n int) []byte {
	out = append(out, '$')
	out = strconv.AppendInt(out, int64(n), 10)
	return append(out, '\r', '\n')
}

func appendNull(out []byte) []byte { return append(out, "$-1\r\n"...) }

func appendArray(out []byte, n int) []byte {
	out = append(out, '*')
	out = strconv.AppendInt(out, int64(n), 10)
	return append(out, '\r', '\n')
}
