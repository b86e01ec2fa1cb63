//go:build !unix

package main

import (
	"errors"
	"os"
)

// socketOf fails: inherited sockets are a Unix matter.
func socketOf(*os.File) (inheritedSocket, error) {
	return inheritedSocket{}, errors.New("inherited sockets are supported on Unix systems only")
}
