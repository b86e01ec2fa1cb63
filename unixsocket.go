package socketserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"
)

// A socketFile is the file a Unix socket was bound to, removed on close
// only if it is still that socket.
type socketFile struct {
	path string
	info fs.FileInfo // nil for an abstract socket: nothing to remove
}

// bound records the identity of the socket file just bound at path, and
// sets its permissions.
func (s *Server) bound(path string) (socketFile, error) {
	if isAbstract(path) {
		return socketFile{path: path}, nil
	}
	if s.SocketMode != 0 {
		if err := os.Chmod(path, s.SocketMode.Perm()); err != nil {
			return socketFile{}, err
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return socketFile{}, err
	}
	return socketFile{path: path, info: fi}, nil
}

// remove removes the socket file if it is still the one this server bound.
func (f socketFile) remove() {
	if f.info == nil {
		return
	}
	if cur, err := os.Lstat(f.path); err == nil && os.SameFile(cur, f.info) {
		os.Remove(f.path)
	}
}

func isAbstract(path string) bool {
	return path == "" || path[0] == '@' || path[0] == 0
}

// clearStalePath makes path ready to bind: nothing there, or a socket no
// server listens on any more (left by a crashed server), which it removes.
// A socket still in use is ErrAddrInUse; any other file is ErrNotSocket,
// and is left alone.
func clearStalePath(network, path string) error {
	if isAbstract(path) {
		return nil
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%w: %s (%v)", ErrNotSocket, path, fi.Mode().Type())
	}
	c, err := net.DialTimeout(network, path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrAddrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %s: %v", ErrAddrInUse, path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// listenUnix opens a "unix" or "unixpacket" listener.
func (s *Server) listenUnix(ctx context.Context, lc net.ListenConfig, network string) (*trackedSocket, error) {
	if err := clearStalePath(network, s.Addr); err != nil {
		return nil, err
	}
	ln, err := lc.Listen(ctx, network, s.Addr)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // removal is ours: only if still our file
	f, err := s.bound(s.Addr)
	if err == nil {
		err = s.setBacklog(ln)
	}
	if err != nil {
		ln.Close()
		f.remove()
		return nil, err
	}
	return &trackedSocket{ln: &unixListener{UnixListener: ul, file: f}, owned: true}, nil
}

// listenUnixgram opens a "unixgram" socket.
func (s *Server) listenUnixgram(ctx context.Context, lc net.ListenConfig) (*trackedSocket, error) {
	if err := clearStalePath("unixgram", s.Addr); err != nil {
		return nil, err
	}
	pc, err := lc.ListenPacket(ctx, "unixgram", s.Addr)
	if err != nil {
		return nil, err
	}
	f, err := s.bound(s.Addr)
	if err != nil {
		pc.Close()
		f.remove()
		return nil, err
	}
	return &trackedSocket{pc: &unixgramConn{UnixConn: pc.(*net.UnixConn), file: f}, owned: true}, nil
}

// unixListener removes its socket file on Close.
type unixListener struct {
	*net.UnixListener
	file socketFile
}

// Close closes the listener and removes its socket file if it is still
// the one it bound.
func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.file.remove()
	return err
}

// unixgramConn removes its socket file on Close.
type unixgramConn struct {
	*net.UnixConn
	file socketFile
}

// Close closes the socket and removes its socket file if it is still the
// one it bound.
func (c *unixgramConn) Close() error {
	err := c.UnixConn.Close()
	c.file.remove()
	return err
}
