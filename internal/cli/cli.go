// Package cli holds what the commands share about reporting errors.
package cli

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// OneLine returns err with control characters escaped (a newline in a
// flag's name, say), so that it prints as one line.
func OneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsFunc(msg, unicode.IsControl) {
		return err
	}
	q := strconv.Quote(msg)
	return errors.New(q[1 : len(q)-1])
}
