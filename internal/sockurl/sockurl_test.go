package sockurl

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		url, network, address string
	}{
		{url: "tcp://127.0.0.1:9999", network: "tcp", address: "127.0.0.1:9999"},
		{url: "tcp://:0", network: "tcp", address: ":0"},
		{url: "tcp4://localhost:80", network: "tcp4", address: "localhost:80"},
		{url: "tcp6://[::1]:0", network: "tcp6", address: "[::1]:0"},
		{url: "tcp://[::]:8080", network: "tcp", address: "[::]:8080"},
		{url: "udp://127.0.0.1:53", network: "udp", address: "127.0.0.1:53"},
		{url: "udp4://0.0.0.0:65535", network: "udp4", address: "0.0.0.0:65535"},
		{url: "udp6://[::1]:514", network: "udp6", address: "[::1]:514"},
		{url: "unix:///run/app.sock", network: "unix", address: "/run/app.sock"},
		{url: "unixgram:///tmp/log.sock", network: "unixgram", address: "/tmp/log.sock"},
		{url: "unixpacket:///tmp/p", network: "unixpacket", address: "/tmp/p"},
		{url: "unix://@abstract", network: "unix", address: "@abstract"},
		{url: "systemd://", network: "systemd", address: ""},
		{url: "systemd://web", network: "systemd", address: "web"},
		{url: "fd://3", network: "fd", address: "3"},
	} {
		network, address, err := Parse(tc.url)
		if err != nil || network != tc.network || address != tc.address {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.url, network, address, err, tc.network, tc.address)
		}
		if got := String(network, address); got != tc.url {
			t.Errorf("String(%q, %q) = %q, want %q", network, address, got, tc.url)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		url, why string
	}{
		{url: "", why: "scheme://address"},
		{url: "127.0.0.1:9999", why: "scheme://address"},
		{url: "http://127.0.0.1:80", why: "unknown scheme"},
		{url: "fd://2", why: "3 or more"},
		{url: "fd://03", why: "3 or more"},
		{url: "fd://x", why: "3 or more"},
		{url: "systemd://a b", why: "printable ASCII"},
		{url: "systemd://a:b", why: "printable ASCII"},
		{url: "tcp://127.0.0.1", why: "missing :port"},
		{url: "tcp://127.0.0.1:", why: "not a number"},
		{url: "tcp://127.0.0.1:65536", why: "not a number"},
		{url: "tcp://127.0.0.1:-1", why: "not a number"},
		{url: "tcp://127.0.0.1:+80", why: "not a number"},
		{url: "tcp://127.0.0.1:080", why: "not a number"},
		{url: "tcp://127.0.0.1:http", why: "not a number"},
		{url: "tcp://::1:80", why: "in brackets"},
		{url: "tcp6://[::1:80", why: "missing ']'"},
		{url: "tcp6://[::1]", why: "missing :port"},
		{url: "tcp6://[127.0.0.1]:80", why: "not an IPv6"},
		{url: "tcp6://[fe80::1%eth0]:80", why: "not an IPv6"},
		{url: "tcp4://[::1]:80", why: "needs an IPv4"},
		{url: "udp6://127.0.0.1:80", why: "needs an IPv6"},
		{url: "tcp://127.0.0.1:80/path", why: "host:port only"},
		{url: "tcp://user@127.0.0.1:80", why: "host:port only"},
		{url: "tcp://bad_host:80", why: "bad host name"},
		{url: "tcp://-bad:80", why: "bad host name"},
		{url: "tcp://a..b:80", why: "bad host name"},
		{url: "unix://relative/path", why: "absolute path"},
		{url: "unix://", why: "absolute path"},
		{url: "unix://@", why: "name after '@'"},
		{url: "unix:///tmp/dir/", why: "not a directory"},
		{url: "unix:///tmp/a\x00b", why: "NUL"},
		{url: "unix:///" + strings.Repeat("x", 200), why: "longer than"},
	} {
		_, _, err := Parse(tc.url)
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Parse(%q) = %v, want an ErrSyntax saying %q", tc.url, err, tc.why)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"tcp://127.0.0.1:9999", "tcp6://[::1]:0", "udp://:53", "unix:///run/x.sock",
		"unix://@abs", "unixgram:///tmp/g", "tcp://[::1", "tcp://a..b:1", "unix://rel",
		"systemd:", "systemd://web", "fd://3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		network, address, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", raw, err)
			}
			return
		}
		// What Parse accepts, it accepts again in the form String gives,
		// with the same meaning.
		n2, a2, err := Parse(String(network, address))
		if err != nil || n2 != network || a2 != address {
			t.Fatalf("Parse(String(%q, %q)) = %q, %q, %v", network, address, n2, a2, err)
		}
	})
}

func TestParseSystemdShorthand(t *testing.T) {
	if network, address, err := Parse("systemd:"); network != "systemd" || address != "" || err != nil {
		t.Errorf(`Parse("systemd:") = %q, %q, %v`, network, address, err)
	}
}
