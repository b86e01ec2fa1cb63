package forkwire

import (
	"encoding/binary"
	"errors"
)

// Frame returns msg framed by its length (4 bytes, big endian), as it
// travels on a stream control socket.
func Frame(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg))), msg...)
}

// SplitFrame returns the first whole message framed in b and how many bytes
// of b it took; used is 0 if b holds no whole message yet. A frame that is
// empty or longer than max is an error.
func SplitFrame(b []byte, max int) (msg []byte, used int, err error) {
	if len(b) < 4 {
		return nil, 0, nil
	}
	n := binary.BigEndian.Uint32(b)
	switch {
	case n == 0:
		return nil, 0, errors.New("forkwire: empty message")
	case uint64(n) > uint64(max):
		return nil, 0, errTooLong
	case uint64(len(b)) < 4+uint64(n):
		return nil, 0, nil
	}
	return b[4 : 4+n], 4 + int(n), nil
}

// errTooLong is a message larger than the receiver takes.
var errTooLong = errors.New("forkwire: message larger than the receiver's buffer")
