package main

import (
	"strings"
	"unicode/utf8"
)

// A record is one JSON line.
type record struct {
	Received       string `json:"received"`
	Remote         string `json:"remote,omitempty"`
	Format         string `json:"format,omitempty"`
	Facility       string `json:"facility,omitempty"`
	Severity       string `json:"severity,omitempty"`
	Timestamp      string `json:"timestamp,omitempty"`
	Host           string `json:"host,omitempty"`
	App            string `json:"app,omitempty"`
	PID            string `json:"pid,omitempty"`
	MsgID          string `json:"msgid,omitempty"`
	StructuredData string `json:"structured_data,omitempty"`
	Message        string `json:"message,omitempty"`
	// A message that could not be parsed: its bytes (as text; bytes that
	// are not UTF-8 become U+FFFD) and why.
	Raw   string `json:"raw,omitempty"`
	Error string `json:"error,omitempty"`
	// The message was cut short: its connection ended before its end.
	Partial bool `json:"partial,omitempty"`
}

// appendJSON appends rec as one line of JSON, byte for byte as
// encoding/json writes it with HTML escaping off: the same fields, in the
// same order, empty ones left out, invalid UTF-8 as U+FFFD. It does so
// without reflection, which took most of a message's time.
func (rec *record) appendJSON(b []byte) []byte {
	b = append(b, `{"received":`...)
	b = appendJSONString(b, rec.Received)
	for _, f := range [...]struct{ name, v string }{
		{"remote", rec.Remote}, {"format", rec.Format}, {"facility", rec.Facility}, {"severity", rec.Severity},
		{"timestamp", rec.Timestamp}, {"host", rec.Host}, {"app", rec.App}, {"pid", rec.PID}, {"msgid", rec.MsgID},
		{"structured_data", rec.StructuredData}, {"message", rec.Message}, {"raw", rec.Raw}, {"error", rec.Error},
	} {
		b = appendField(b, f.name, f.v)
	}
	if rec.Partial {
		b = append(b, `,"partial":true`...)
	}
	return append(b, '}', '\n')
}

// appendField appends ,"name":"v" unless v is empty.
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// The bytes JSON escapes with a letter (and '"' and '\' as themselves),
// and the letters.
const (
	shortEscapes = "\"\\\b\f\n\r\t"
	shortEscaped = "\"\\bfnrt"
)

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping off.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if e := strings.IndexByte(shortEscapes, c); e >= 0 {
				b = append(b, '\\', shortEscaped[e])
			} else {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
