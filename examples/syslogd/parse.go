package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// A Message is one syslog message, parsed.
type Message struct {
	Format         string    // "rfc5424" or "rfc3164"
	Facility       int       // 0..23
	Severity       int       // 0..7
	Timestamp      time.Time // zero if the sender gave none
	Host           string
	App            string
	ProcID         string
	MsgID          string
	StructuredData string // RFC 5424 structured data, as sent ("" for none)
	Text           string
}

var (
	facilityNames = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	severityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

// parseMessage parses an RFC 5424 or RFC 3164 message. now dates RFC 3164
// timestamps, which have no year.
func parseMessage(b []byte, now time.Time) (Message, error) {
	var m Message
	pri, rest, err := parsePRI(b)
	if err != nil {
		return m, err
	}
	m.Facility, m.Severity = pri/8, pri%8
	if len(rest) >= 2 && rest[0] == '1' && rest[1] == ' ' {
		m.Format = "rfc5424"
		return m, parse5424(&m, rest[2:])
	}
	m.Format = "rfc3164"
	return m, parse3164(&m, rest, now)
}

// parsePRI parses "<PRI>", 0 to 191 with no leading zeros.
func parsePRI(b []byte) (int, []byte, error) {
	if len(b) == 0 || b[0] != '<' {
		return 0, nil, errors.New("no <PRI> at the start")
	}
	end := bytes.IndexByte(b[:min(len(b), 5)], '>')
	if end < 2 {
		return 0, nil, errors.New("unterminated or empty <PRI>")
	}
	digits := b[1:end]
	if len(digits) > 1 && digits[0] == '0' {
		return 0, nil, errors.New("<PRI> has a leading zero")
	}
	pri := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, nil, fmt.Errorf("<PRI> is not a number: %q", digits)
		}
		pri = pri*10 + int(c-'0')
	}
	if pri > 191 {
		return 0, nil, fmt.Errorf("<PRI> %d out of range", pri)
	}
	return pri, b[end+1:], nil
}

// parse5424 parses what follows "<PRI>1 ".
func parse5424(m *Message, b []byte) error {
	fields := [5]string{}
	limits := [5]int{64, 255, 48, 128, 32} // timestamp, hostname, app-name, procid, msgid
	names := [5]string{"timestamp", "hostname", "app-name", "procid", "msgid"}
	for i := range fields {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return fmt.Errorf("message ends before its %s", names[i])
		}
		f := b[:sp]
		if len(f) == 0 || len(f) > limits[i] || !printableASCII(f) {
			return fmt.Errorf("bad %s %q", names[i], truncate(f))
		}
		if string(f) != "-" {
			fields[i] = string(f)
		}
		b = b[sp+1:]
	}
	if fields[0] != "" {
		t, err := time.Parse(time.RFC3339Nano, fields[0])
		if err != nil {
			return fmt.Errorf("bad timestamp %q", fields[0])
		}
		m.Timestamp = t
	}
	m.Host, m.App, m.ProcID, m.MsgID = fields[1], fields[2], fields[3], fields[4]
	sd, rest, err := parseStructuredData(b)
	if err != nil {
		return err
	}
	m.StructuredData = sd
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return errors.New("no space between structured data and message")
		}
		rest = bytes.TrimPrefix(rest[1:], []byte("\xef\xbb\xbf")) // the BOM of a UTF-8 MSG
	}
	m.Text = string(bytes.TrimRight(rest, "\r\n"))
	return nil
}

// parseStructuredData parses "-" or one or more [SD-ID PARAM="VALUE" ...]
// elements, and returns them as sent and what follows.
func parseStructuredData(b []byte) (string, []byte, error) {
	if len(b) > 0 && b[0] == '-' {
		return "", b[1:], nil
	}
	if len(b) == 0 || b[0] != '[' {
		return "", nil, errors.New(`structured data is neither "-" nor [...]`)
	}
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		inValue := false
		for {
			if i >= len(b) {
				return "", nil, errors.New("unterminated structured data element")
			}
			c := b[i]
			switch {
			case inValue && c == '\\' && i+1 < len(b):
				i++ // an escaped '"', '\' or ']'
			case c == '"':
				inValue = !inValue
			case !inValue && c == ']':
				i++
				goto next
			case !inValue && (c < 33 && c != ' ' || c > 126):
				return "", nil, fmt.Errorf("bad byte %#x in structured data", c)
			}
			i++
		}
	next:
	}
	return string(b[:i]), b[i:], nil
}

// parse3164 parses what follows "<PRI>" in a BSD message:
// "Mmm dd hh:mm:ss HOST TAG[PID]: text". Senders differ; what cannot be
// read as a header is kept as the text.
func parse3164(m *Message, b []byte, now time.Time) error {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) >= 16 && b[15] == ' ' {
		if t, err := time.ParseInLocation(time.Stamp, string(b[:15]), now.Location()); err == nil {
			t = t.AddDate(now.Year(), 0, 0)
			if t.After(now.Add(24 * time.Hour)) { // December's message read in January
				t = t.AddDate(-1, 0, 0)
			}
			m.Timestamp = t
			b = b[16:]
			// A host, unless the word is already the tag, as in what
			// local programs send to /dev/log: "Mmm dd hh:mm:ss tag: text".
			if sp := bytes.IndexByte(b, ' '); sp > 0 && printableASCII(b[:sp]) && !bytes.ContainsAny(b[:sp], ":[") {
				m.Host = string(b[:sp])
				b = b[sp+1:]
			}
		}
	}
	// TAG: up to 32 alphanumerics and a few marks, then "[pid]" and ":".
	end := 0
	for end < len(b) && end < 48 && b[end] != '[' && b[end] != ':' && b[end] != ' ' {
		end++
	}
	if end > 0 && end < len(b) && (b[end] == '[' || b[end] == ':') {
		tag := b[:end]
		rest := b[end:]
		if rest[0] == '[' {
			if close := bytes.IndexByte(rest, ']'); close > 1 && printableASCII(rest[1:close]) {
				m.ProcID = string(rest[1:close])
				rest = rest[close+1:]
			}
		}
		if len(rest) > 0 && rest[0] == ':' && printableASCII(tag) {
			m.App = string(tag)
			b = bytes.TrimPrefix(rest[1:], []byte(" "))
		} else {
			m.ProcID = ""
		}
	}
	if !utf8.Valid(b) {
		return errors.New("message text is not UTF-8")
	}
	m.Text = string(b)
	return nil
}

// parseFrames splits a TCP stream into messages (RFC 6587): octet counting
// ("LEN SP MSG") when a frame starts with a digit, a newline-ended line
// otherwise. It calls f for each whole frame and returns the bytes used; a
// bad length is an error, after which the stream cannot be read on.
func parseFrames(in []byte, maxLen int, f func(frame []byte)) (int, error) {
	used := 0
	for used < len(in) {
		b := in[used:]
		if b[0] >= '1' && b[0] <= '9' {
			sp := bytes.IndexByte(b[:min(len(b), 12)], ' ')
			if sp < 0 {
				if len(b) >= 12 {
					return used, errors.New("octet count too long")
				}
				return used, nil
			}
			n, err := strconv.Atoi(string(b[:sp]))
			if err != nil || n > maxLen {
				return used, fmt.Errorf("bad octet count %q", truncate(b[:sp]))
			}
			if len(b) < sp+1+n {
				return used, nil
			}
			f(b[sp+1 : sp+1+n])
			used += sp + 1 + n
			continue
		}
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 && len(b) <= maxLen {
			return used, nil
		}
		if nl < 0 || nl > maxLen {
			return used, fmt.Errorf("line longer than %d bytes", maxLen)
		}
		if line := bytes.TrimRight(b[:nl], "\r\x00"); len(line) > 0 {
			f(line)
		}
		used += nl + 1
	}
	return used, nil
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// partialFrame returns the message in what a stream left unframed when it
// ended: an octet-counted frame cut short (with an error that says so, as
// its bytes are not the whole message), or a line with no newline.
func partialFrame(rest []byte) ([]byte, error) {
	if len(rest) > 0 && rest[0] >= '1' && rest[0] <= '9' {
		if sp := bytes.IndexByte(rest[:min(len(rest), 12)], ' '); sp > 0 {
			if n, err := strconv.Atoi(string(rest[:sp])); err == nil {
				msg := rest[sp+1:]
				return msg, fmt.Errorf("octet-counted frame cut short: %d of %d bytes", len(msg), n)
			}
		}
	}
	return bytes.TrimRight(rest, "\r\x00"), nil
}
