package tlsconn

import (
	"crypto/tls"
	"os"
	"sync"
	"time"
)

// CertFiles serves a TLS certificate from a certificate file and a key
// file (PEM), and reloads them when they change, so that a renewed
// certificate is used without a restart. Use its GetCertificate method as
// tls.Config.GetCertificate. It looks at the files' modification times at
// most once per CheckInterval; Reload reloads at once (call it on SIGHUP).
// If reloading fails, the certificate it has is kept, and the error is
// returned by Reload (GetCertificate keeps serving the old one).
type CertFiles struct {
	CertFile, KeyFile string

	// CheckInterval is how often GetCertificate looks for changed files.
	// Zero means 1s.
	CheckInterval time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // modification times of the files loaded
	checked time.Time
}

// LoadCertFiles loads the certificate and key, failing if they do not
// make a pair.
func LoadCertFiles(certFile, keyFile string) (*CertFiles, error) {
	c := &CertFiles{CertFile: certFile, KeyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the files again.
func (c *CertFiles) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loadLocked()
}

func (c *CertFiles) loadLocked() error {
	stamp := c.stamps()
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return err
	}
	c.cert, c.stamp, c.checked = &cert, stamp, time.Now()
	return nil
}

func (c *CertFiles) stamps() [2]time.Time {
	var st [2]time.Time
	for i, name := range []string{c.CertFile, c.KeyFile} {
		if fi, err := os.Stat(name); err == nil {
			st[i] = fi.ModTime()
		}
	}
	return st
}

// GetCertificate returns the certificate, reloaded first if the files
// changed since it was loaded.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.CheckInterval
	if every <= 0 {
		every = time.Second
	}
	if time.Since(c.checked) >= every {
		c.checked = time.Now()
		if c.stamps() != c.stamp {
			c.loadLocked() // on failure (a half-written pair): keep the old one
		}
	}
	return c.cert, nil
}
