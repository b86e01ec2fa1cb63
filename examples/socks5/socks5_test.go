package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// body returns n bytes that depend on n only.
func body(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}).Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// origin serves GET /bytes/N (N deterministic bytes) and POST /sum (the
// SHA-256 of the body) on addr.
func origin(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body(n))
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		fmt.Fprint(w, hex.EncodeToString(h.Sum(nil)))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

// loopback opens this host's addresses, which the proxy refuses by
// default, for tests whose origin server listens there.
var loopback = rules{allow: mustPrefixes("127.0.0.0/8", "::1/128")}

// startProxy serves p on loopback and returns its address.
func startProxy(t *testing.T, p *proxy) (string, *socketserver.Server) {
	t.Helper()
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.dialTimeout == 0 {
		p.dialTimeout = 5 * time.Second
	}
	if p.handshakeTimeout == 0 {
		p.handshakeTimeout = 5 * time.Second
	}
	srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: p}
	return servetest.Serve(t, srv).String(), srv
}

func curlPath(t *testing.T) string {
	return servetest.Need(t, "curl", "curl")
}

// curl runs the real curl and returns its output and stderr.
func curl(t *testing.T, args ...string) ([]byte, string, error) {
	t.Helper()
	cmd := exec.Command(curlPath(t), append([]string{"-sS", "--max-time", "60"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

func TestCurlDownloads(t *testing.T) {
	v4 := origin(t, "tcp4", "127.0.0.1:0")
	_, v4port, _ := net.SplitHostPort(v4)
	v6 := origin(t, "tcp6", "[::1]:0")
	proxyAddr, srv := startProxy(t, &proxy{rules: loopback})
	dir := t.TempDir()
	for _, tc := range []struct {
		name, flag, url string
		size            int
	}{
		{name: "empty", flag: "--socks5-hostname", url: "http://" + v4, size: 0},
		{name: "ipv4 address", flag: "--socks5", url: "http://" + v4, size: 65537},
		{name: "domain name", flag: "--socks5-hostname", url: "http://localhost:" + v4port, size: 1 << 20},
		{name: "ipv6 address", flag: "--socks5", url: "http://" + v6, size: 3<<20 + 1},
		{name: "50 MiB", flag: "--socks5-hostname", url: "http://" + v4, size: 50 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "out")
			_, stderr, err := curl(t, tc.flag, proxyAddr, "-o", file, fmt.Sprintf("%s/bytes/%d", tc.url, tc.size))
			if err != nil {
				t.Fatalf("curl: %v: %s", err, stderr)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.size || sum(got) != sum(body(tc.size)) {
				t.Fatalf("got %d bytes (sha256 %s), want %d", len(got), sum(got)[:12], tc.size)
			}
		})
	}
	if st := srv.Stats(); st.BytesOut < 50<<20 || st.Errors != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestCurlUpload sends a body through the proxy: curl ends its side after
// the request, the proxy half-closes upstream, the answer comes back.
func TestCurlUpload(t *testing.T) {
	up := origin(t, "tcp4", "127.0.0.1:0")
	proxyAddr, _ := startProxy(t, &proxy{rules: loopback})
	file := filepath.Join(t.TempDir(), "in")
	data := body(8<<20 + 3)
	os.WriteFile(file, data, 0o644)
	out, stderr, err := curl(t, "--socks5-hostname", proxyAddr, "--data-binary", "@"+file, "http://"+up+"/sum")
	if err != nil || string(out) != sum(data) {
		t.Fatalf("upload: %q, %v: %s", out, err, stderr)
	}
}

func TestCurlConcurrent(t *testing.T) {
	up := origin(t, "tcp4", "127.0.0.1:0")
	proxyAddr, _ := startProxy(t, &proxy{rules: loopback})
	const transfers, size = 40, 2 << 20
	want := sum(body(size))
	var wg sync.WaitGroup
	for i := range transfers {
		wg.Go(func() {
			out, stderr, err := curl(t, "--socks5-hostname", proxyAddr, fmt.Sprintf("http://%s/bytes/%d", up, size))
			if err != nil || sum(out) != want {
				t.Errorf("transfer %d: %d bytes, %v: %s", i, len(out), err, stderr)
			}
		})
	}
	wg.Wait()
}

func TestCurlAuthentication(t *testing.T) {
	up := origin(t, "tcp4", "127.0.0.1:0")
	proxyAddr, srv := startProxy(t, &proxy{rules: loopback, users: map[string]string{"alice": "s3cret"}})
	url := fmt.Sprintf("http://%s/bytes/%d", up, 1000)
	out, stderr, err := curl(t, "--socks5-hostname", proxyAddr, "--proxy-user", "alice:s3cret", url)
	if err != nil || sum(out) != sum(body(1000)) {
		t.Fatalf("with the password: %v: %s", err, stderr)
	}
	for _, args := range [][]string{
		{"--proxy-user", "alice:wrong"},
		{"--proxy-user", "bob:s3cret"},
		{}, // no credentials: no acceptable method
	} {
		if _, stderr, err := curl(t, append([]string{"--socks5-hostname", proxyAddr}, append(args, url)...)...); err == nil {
			t.Errorf("curl %q succeeded", args)
		} else if !strings.Contains(stderr, "(97)") { // curl's "proxy handshake error"
			t.Errorf("curl %q: %s", args, stderr)
		}
	}
	waitErrors(t, srv, 3)
}

// TestCurlDenied: by default the proxy refuses this host, by name as
// well as by address, and curl reports the RFC's "not allowed" reply.
func TestCurlDenied(t *testing.T) {
	up := origin(t, "tcp4", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(up)
	proxyAddr, _ := startProxy(t, &proxy{})
	for _, url := range []string{"http://" + up, "http://localhost:" + port, "http://0.0.0.0:" + port} {
		_, stderr, err := curl(t, "--socks5-hostname", proxyAddr, url+"/bytes/10")
		// curl reports the reply code: 2, connection not allowed by ruleset.
		if err == nil || !strings.Contains(stderr, ". (2)") {
			t.Errorf("%s: %v: %s", url, err, stderr)
		}
	}
}

func waitErrors(t *testing.T, srv *socketserver.Server, n int64) {
	t.Helper()
	servetest.WaitUntil(t, fmt.Sprintf("%d errors are reported", n), func() bool { return srv.Stats().Errors >= n })
}

// TestMalformed speaks bad SOCKS and checks the RFC's reply, then the
// close.
func TestMalformed(t *testing.T) {
	closedPort := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().String()
	}()
	_, cp, _ := net.SplitHostPort(closedPort)
	p, _ := strconv.Atoi(cp)
	proxyAddr, _ := startProxy(t, &proxy{rules: loopback})
	connect := func(atyp byte, addr ...byte) []byte {
		return append([]byte{5, 1, 0, 5, cmdConnect, 0, atyp}, addr...)
	}
	for _, tc := range []struct {
		name       string
		send, want []byte
	}{
		{name: "SOCKS4", send: []byte{4, 1, 0, 80, 127, 0, 0, 1, 0}, want: nil},
		{name: "no acceptable method", send: []byte{5, 1, 0x80}, want: []byte{5, 0xFF}},
		{name: "no method", send: []byte{5, 0}, want: nil},
		{name: "bad address type", send: connect(9, 1, 2, 3, 4, 0, 80), want: []byte{5, 0, 5, repAddrNotSupported}},
		{name: "UDP ASSOCIATE", send: []byte{5, 1, 0, 5, cmdUDPAssociate, 0, atypIPv4, 127, 0, 0, 1, 0, 53}, want: []byte{5, 0, 5, repCommandNotSupported}},
		{name: "BIND", send: []byte{5, 1, 0, 5, cmdBind, 0, atypIPv4, 127, 0, 0, 1, 0, 53}, want: []byte{5, 0, 5, repCommandNotSupported}},
		{name: "bad host name", send: connect(atypDomain, 3, 'a', ' ', 'b', 0, 80), want: []byte{5, 0, 5, repHostUnreachable}},
		{name: "refused", send: connect(atypIPv4, 127, 0, 0, 1, byte(p>>8), byte(p)), want: []byte{5, 0, 5, repConnectionRefused}},
		{name: "reserved byte", send: []byte{5, 1, 0, 5, 1, 7, 1, 127, 0, 0, 1, 0, 80}, want: []byte{5, 0, 5, repGeneralFailure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write(tc.send)
			got, err := io.ReadAll(c) // the proxy closes after its answer
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(tc.want) == 4 && len(got) == 2+10 {
				got = got[:4] // the method choice, then the reply's VER and REP
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("reply % x, want % x", got, tc.want)
			}
		})
	}
}

func TestReadRequest(t *testing.T) {
	q, err := readRequest(bytes.NewReader([]byte{5, 1, 0, atypDomain, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 1, 187}))
	if err != nil || q.host != "localhost" || q.port != 443 || q.ip.IsValid() {
		t.Fatalf("domain: %+v %v", q, err)
	}
	ip6 := netip.MustParseAddr("2001:db8::1").As16()
	q, err = readRequest(bytes.NewReader(append(append([]byte{5, 1, 0, atypIPv6}, ip6[:]...), 0, 80)))
	if err != nil || q.address() != "[2001:db8::1]:80" {
		t.Fatalf("ipv6: %+v %v", q, err)
	}
	if _, err := readRequest(bytes.NewReader([]byte{5, 1, 0, atypIPv4, 1, 2})); err == nil {
		t.Fatal("a short request parsed")
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, atypDomain, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 80})
	f.Add([]byte{5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 1, 'p', 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		methods, err := readGreeting(r)
		if err != nil {
			return
		}
		if len(methods) == 0 {
			t.Fatal("a greeting with no method accepted")
		}
		if bytesContain(methods, methodUserPass) {
			if user, pass, err := readUserPass(r); err == nil && (user == "" || pass == "") {
				t.Fatal("empty credentials accepted")
			}
		}
		q, err := readRequest(r)
		var re *requestError
		switch {
		case errors.As(err, &re):
			if re.code == repSucceeded {
				t.Fatal("an error with the success code")
			}
		case err == nil:
			if q.cmd != cmdConnect || q.host == "" {
				t.Fatalf("accepted %+v", q)
			}
			if _, _, err := net.SplitHostPort(q.address()); err != nil {
				t.Fatalf("address %q: %v", q.address(), err)
			}
		}
	})
}

func bytesContain(b []byte, c byte) bool { return bytes.IndexByte(b, c) >= 0 }
