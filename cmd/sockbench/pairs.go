package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// A pair is one request and the reply it should get; reply is nil when
// the file gives none (then the reply is read by -reply's framing, or,
// without -reply, must echo the request).
type pair struct {
	request, reply []byte
}

const (
	maxPairsFile = 16 << 20 // bytes of a pairs file
	maxMessage   = 1 << 20  // bytes of one request or expected reply
	maxBatch     = 16 << 20 // bytes of the requests, or replies, a connection has in flight
)

// readPairs reads a pairs file (see parsePairs), at most 16 MiB of it.
func readPairs(path string) ([]pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPairsFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPairsFile {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxPairsFile>>20)
	}
	pairs, err := parsePairs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pairs, nil
}

// parsePairs parses the requests and replies of a pairs file:
//
//	# a comment; blank lines are skipped
//	> PING\r\n
//	< +PONG\r\n
//	> SET k v\r\n
//	< +OK\r\n
//
// "> " starts a request and "< " the reply expected to the request above
// it (the space after the marker is optional; a line's own end, \n or
// \r\n, is not part of the message). A request without a "<" line has no
// expected reply. The text takes the escapes of unescape.
func parsePairs(data []byte) ([]pair, error) {
	var pairs []pair
	replied := false // the last request has its reply already
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		marker := line[0]
		if marker != '>' && marker != '<' {
			return nil, fmt.Errorf("line %d: starts with %q; want \"> request\", \"< reply\" or \"# comment\"", n, excerpt(line[:1]))
		}
		text := line[1:]
		if len(text) > 0 && text[0] == ' ' {
			text = text[1:]
		}
		msg, err := unescape(string(text))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(msg) > maxMessage {
			return nil, fmt.Errorf("line %d: %d bytes, more than %d", n, len(msg), maxMessage)
		}
		if marker == '>' {
			pairs = append(pairs, pair{request: msg})
			replied = false
			continue
		}
		switch {
		case len(pairs) == 0:
			return nil, fmt.Errorf("line %d: a reply before any request", n)
		case replied:
			return nil, fmt.Errorf("line %d: a second reply to one request", n)
		case len(msg) == 0:
			return nil, fmt.Errorf("line %d: an empty reply (leave the \"<\" line out to read the reply by -reply)", n)
		}
		pairs[len(pairs)-1].reply = msg
		replied = true
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no request (a request is a line \"> text\")")
	}
	return pairs, nil
}
