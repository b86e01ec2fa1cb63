package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/coreos/go-systemd/v22/activation"
)

// An inheritedSocket is a socket sockserve was started with: by systemd's
// socket activation (or systemd-socket-activate), or at a descriptor.
type inheritedSocket struct {
	ln net.Listener   // a stream socket
	pc net.PacketConn // a datagram socket
}

func (s inheritedSocket) addr() net.Addr {
	if s.ln != nil {
		return s.ln.Addr()
	}
	return s.pc.LocalAddr()
}

func (s inheritedSocket) network() string { return s.addr().Network() }

// activated takes the sockets systemd passed (LISTEN_FDS), once: the
// variables are cleared, so that processes sockserve starts do not take
// them for their own.
var activated = sync.OnceValue(func() []*os.File { return activation.Files(true) })

// inheritedSockets returns the sockets of a systemd: or fd:// URL.
func inheritedSockets(network, name string) ([]inheritedSocket, error) {
	var files []*os.File
	switch network {
	case "systemd":
		all := activated()
		if len(all) == 0 {
			return nil, errors.New("no sockets from systemd (LISTEN_FDS is not set for this process: is it socket-activated?)")
		}
		for _, f := range all {
			if name == "" || f.Name() == name {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("systemd passed no socket named %q", name)
		}
	case "fd":
		n, _ := strconv.Atoi(name)
		files = []*os.File{os.NewFile(uintptr(n), "fd "+name)}
	}
	socks := make([]inheritedSocket, 0, len(files))
	for _, f := range files {
		s, err := socketOf(f)
		f.Close() // net made its own descriptor
		if err != nil {
			for _, s := range socks {
				s.close()
			}
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		socks = append(socks, s)
	}
	return socks, nil
}

func (s inheritedSocket) close() {
	if s.ln != nil {
		s.ln.Close()
	} else {
		s.pc.Close()
	}
}
