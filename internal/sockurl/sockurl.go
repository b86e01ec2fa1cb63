// Package sockurl parses and formats the socket URLs of sockserve and
// sockbench: tcp://127.0.0.1:9999, tcp6://[::1]:0, udp4://0.0.0.0:53,
// unix:///run/app.sock, unixgram:///tmp/log.sock, unixpacket:///tmp/p.sock,
// and on Linux abstract Unix sockets as unix://@name. Sockets a server
// inherits are systemd: (all those systemd passed), systemd://NAME (those
// of a FileDescriptorName) and fd://N (descriptor N, 3 or more).
package sockurl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("bad socket URL")

// maxUnixPath is the longest Unix socket path, less sun_path's NUL.
const maxUnixPath = 107

// Parse splits a socket URL into the network and address that
// net.Listen, net.ListenPacket and net.Dial take.
func Parse(raw string) (network, address string, err error) {
	if raw == "systemd:" {
		return "systemd", "", nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", fmt.Errorf("%w %q: want scheme://address, e.g. tcp://127.0.0.1:9999 or unix:///path", ErrSyntax, raw)
	}
	switch scheme {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		address, err = parseHostPort(scheme, rest)
	case "unix", "unixgram", "unixpacket":
		address, err = parseUnixPath(rest)
	case "systemd":
		address = rest
		if strings.ContainsFunc(rest, func(r rune) bool { return r <= ' ' || r == ':' || r > '~' }) || len(rest) > 255 {
			err = errors.New("a systemd socket name is printable ASCII without ':' or spaces, at most 255 bytes")
		}
	case "fd":
		n, perr := strconv.Atoi(rest)
		if perr != nil || n < 3 || strconv.Itoa(n) != rest {
			err = fmt.Errorf("descriptor %q is not a number of 3 or more", rest)
		}
		address = rest
	default:
		err = fmt.Errorf("unknown scheme %q (want tcp, tcp4, tcp6, udp, udp4, udp6, unix, unixgram, unixpacket, systemd or fd)", scheme)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w %q: %v", ErrSyntax, raw, err)
	}
	return scheme, address, nil
}

func parseHostPort(scheme, hostport string) (string, error) {
	if strings.ContainsAny(hostport, "/?#@") {
		return "", errors.New("an IP address takes host:port only, no path, query or user")
	}
	var host, port string
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return "", errors.New("missing ']' after IPv6 address")
		}
		host, port = hostport[1:end], hostport[end+1:]
		if !strings.HasPrefix(port, ":") {
			return "", errors.New("missing :port after ']'")
		}
		port = port[1:]
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if scheme[len(scheme)-1] == '4' {
			return "", fmt.Errorf("%s needs an IPv4 address, not [%s]", scheme, host)
		}
	} else {
		i := strings.LastIndexByte(hostport, ':')
		if i < 0 {
			return "", errors.New("missing :port (use :0 for any free port)")
		}
		host, port = hostport[:i], hostport[i+1:]
		if strings.Contains(host, ":") {
			return "", errors.New("an IPv6 address goes in brackets: [::1]:port")
		}
		if err := checkHost(scheme, host); err != nil {
			return "", err
		}
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || port == "" || port[0] == '+' || (len(port) > 1 && port[0] == '0') {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "" {
		return ":" + strconv.Itoa(int(n)), nil
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(int(n)), nil
	}
	return host + ":" + strconv.Itoa(int(n)), nil
}

// checkHost accepts an IPv4 address or a host name.
func checkHost(scheme, host string) error {
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() && scheme[len(scheme)-1] == '6' {
			return fmt.Errorf("%s needs an IPv6 address, not %s", scheme, host)
		}
		return nil
	}
	if len(host) > 253 {
		return errors.New("host name longer than 253 bytes")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("bad host name %q", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(label)-1) {
				return fmt.Errorf("bad host name %q", host)
			}
		}
	}
	return nil
}

func parseUnixPath(rest string) (string, error) {
	switch {
	case strings.HasPrefix(rest, "@"):
		if len(rest) < 2 {
			return "", errors.New("an abstract socket needs a name after '@'")
		}
	case strings.HasPrefix(rest, "/"):
	default:
		return "", errors.New("a Unix socket needs an absolute path (unix:///path) or an abstract name (unix://@name)")
	}
	if len(rest) > maxUnixPath {
		return "", fmt.Errorf("socket path is %d bytes, longer than %d", len(rest), maxUnixPath)
	}
	if strings.ContainsAny(rest, "\x00?#") {
		return "", errors.New("a socket path cannot hold NUL, '?' or '#'")
	}
	if strings.HasSuffix(rest, "/") {
		return "", errors.New("a socket path names a file, not a directory")
	}
	return rest, nil
}

// String returns the URL of network and address, the inverse of Parse.
func String(network, address string) string {
	return network + "://" + address
}
