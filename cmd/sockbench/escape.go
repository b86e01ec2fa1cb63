package main

import (
	"fmt"
	"strings"
)

// unescape turns the text of -request, -expect and a pairs file into
// bytes. The escapes are \n, \r, \t, \0, \\ and \xHH (two hex digits);
// every other byte stands for itself. Anything else after a backslash is
// an error, so that a typo does not silently send a backslash.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("a lone backslash at the end (write \\\\ for one)")
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return nil, fmt.Errorf(`\x at offset %d needs two hex digits`, i-1)
			}
			out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			return nil, fmt.Errorf(`unknown escape \%s at offset %d (want \n, \r, \t, \0, \\ or \xHH)`, quoteByte(s[i]), i-1)
		}
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// escape is unescape's inverse: printable ASCII stands for itself, every
// other byte is escaped. Reports show requests and replies this way.
func escape(p []byte) string {
	var b strings.Builder
	for _, c := range p {
		b.WriteString(quoteByte(c))
	}
	return b.String()
}

// quoteByte is one byte as escape writes it.
func quoteByte(c byte) string {
	switch {
	case c == '\\':
		return `\\`
	case c == '\n':
		return `\n`
	case c == '\r':
		return `\r`
	case c == '\t':
		return `\t`
	case c == 0:
		return `\0`
	case c < ' ' || c > '~':
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(rune(c))
}

// excerpt escapes at most the first 64 bytes of p, for a report.
func excerpt(p []byte) string {
	if len(p) > 64 {
		return escape(p[:64]) + "…"
	}
	return escape(p)
}
