package main

import (
	"crypto/tls"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver/internal/testcert"
)

// The real openssl s_client talks to sockserve over TLS: with ALPN, and
// with a client certificate when -tls-client-ca asks for one; in
// goroutine mode (tlsconn.Wrap) and in event mode (tlsconn.Layer).
func TestTLSWithOpenSSL(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		t.Run(mode, func(t *testing.T) { testTLSWithOpenSSL(t, mode) })
	}
}

func testTLSWithOpenSSL(t *testing.T, mode string) {
	openssl := servetest.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	ca := testcert.New(t)
	caFile := ca.WriteCA(t, dir)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "server", false))
	clientCert, clientKey := testcert.WritePEM(t, dir, "client", ca.Issue(t, "client", true))

	sClient := func(url string, extra ...string) (string, error) {
		args := append([]string{"s_client", "-connect", strings.TrimPrefix(url, "tcp://"), "-CAfile", caFile,
			"-verify_return_error", "-quiet", "-alpn", "upper/1"}, extra...)
		cmd := exec.Command(openssl, args...)
		cmd.Stdin = strings.NewReader("hello over tls\n")
		out, err := cmd.Output()
		return string(out), err
	}

	p := startServe(t, 1, "-service", "upper", "-mode", mode, "-listen", "tcp://127.0.0.1:0",
		"-tls-cert", certFile, "-tls-key", keyFile, "-tls-alpn", "upper/1")
	if out, err := sClient(p.urls[0]); !strings.Contains(out, "HELLO OVER TLS") {
		t.Errorf("openssl s_client: %q, %v", out, err)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}

	mutual := startServe(t, 1, "-service", "upper", "-mode", mode, "-listen", "tcp://127.0.0.1:0",
		"-tls-cert", certFile, "-tls-key", keyFile, "-tls-client-ca", caFile)
	if out, err := sClient(mutual.urls[0], "-cert", clientCert, "-key", clientKey); !strings.Contains(out, "HELLO OVER TLS") {
		t.Errorf("with a client certificate: %q, %v", out, err)
	}
	if out, _ := sClient(mutual.urls[0]); strings.Contains(out, "HELLO") {
		t.Errorf("without a client certificate, openssl got %q", out)
	}
	mutual.stop(t)
}

// SIGHUP reloads the certificate: new connections get the new one, and
// sockserve goes on.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.New(t)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "first", false))
	p := startServe(t, 1, "-service", "upper", "-listen", "tcp://127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile)
	served := func() string {
		c, err := tls.Dial("tcp", strings.TrimPrefix(p.urls[0], "tcp://"), &tls.Config{RootCAs: ca.Pool})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "x\n")
		io.ReadAll(c)
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "first" {
		t.Fatalf("served %q", got)
	}
	testcert.WritePEM(t, dir, "server", ca.Issue(t, "second", false))
	p.cmd.Process.Signal(syscall.SIGHUP)
	servetest.WaitUntil(t, "the new certificate", func() bool { return served() == "second" })
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged:\n%s", p.stderr)
	}
}
