package httpapi

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertFiles serves a certificate and key kept in two PEM files, read
// again when either file changes, so a renewed certificate takes effect on
// the next handshake without a restart. The files are looked at no more
// than once per CheckEvery; a pair that does not load (half written, key
// and certificate not matching) is ignored and the previous one kept
// until a good pair appears.
type CertFiles struct {
	CertFile, KeyFile string
	// CheckEvery is how often the files' size and modification time are
	// compared with the loaded pair's (default 1 s).
	CheckEvery time.Duration
	// OnError, if set, hears of a changed pair that does not load, once per
	// change of the files (the previous pair is still served): log it, or
	// the bad renewal goes unnoticed until the old certificate expires.
	OnError func(error)

	mu      sync.Mutex
	cert    *tls.Certificate
	sig     [2]fileSig
	failed  [2]fileSig // the files' signature at the last failed load
	checked time.Time
}

// fileSig is what tells a file changed: its size and modification time.
type fileSig struct {
	size int64
	mod  time.Time
}

func statSig(path string) (fileSig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{}, err
	}
	return fileSig{fi.Size(), fi.ModTime()}, nil
}

// LoadCertFiles reads the pair once, so a bad configuration fails at
// start, and returns it ready for GetCertificate.
func LoadCertFiles(certFile, keyFile string) (*CertFiles, error) {
	c := &CertFiles{CertFile: certFile, KeyFile: keyFile}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertFiles) load() error {
	var sig [2]fileSig
	for i, p := range []string{c.CertFile, c.KeyFile} {
		s, err := statSig(p)
		if err != nil {
			return fmt.Errorf("httpapi: tls: %w", err)
		}
		sig[i] = s
	}
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("httpapi: tls: load %s and %s: %w", c.CertFile, c.KeyFile, err)
	}
	c.cert, c.sig, c.checked = &pair, sig, time.Now()
	return nil
}

// GetCertificate is a tls.Config.GetCertificate that reloads the pair
// when its files changed.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.CheckEvery
	if every <= 0 {
		every = time.Second
	}
	if c.cert == nil || time.Since(c.checked) >= every {
		c.checked = time.Now()
		if c.changed() {
			if err := c.load(); err != nil {
				if c.cert == nil {
					return nil, err
				}
				c.reportOnce(err)
			}
		}
	}
	return c.cert, nil
}

// reportOnce hands err to OnError unless the files are as they were at
// the last failure.
func (c *CertFiles) reportOnce(err error) {
	var sig [2]fileSig
	for i, p := range []string{c.CertFile, c.KeyFile} {
		sig[i], _ = statSig(p)
	}
	if sig == c.failed {
		return
	}
	c.failed = sig
	if c.OnError != nil {
		c.OnError(err)
	}
}

// changed reports whether either file differs from the loaded pair's.
func (c *CertFiles) changed() bool {
	if c.cert == nil {
		return true
	}
	for i, p := range []string{c.CertFile, c.KeyFile} {
		s, err := statSig(p)
		if err != nil || s != c.sig[i] {
			return true
		}
	}
	return false
}

// ServerTLS is the TLS configuration of every gostack listener: TLS 1.2
// or newer with Go's default cipher suites (AEAD only with forward
// secrecy for TLS 1.2, all of TLS 1.3's), the certificate from certs, and
// HTTP/1.1 only (the per-request deadlines of Deadlines are per
// connection).
func ServerTLS(certs *CertFiles) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.GetCertificate,
		NextProtos:     []string{"http/1.1"},
		CipherSuites: []uint16{ // TLS 1.2 only; TLS 1.3's are not configurable
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// ClientTLS is the TLS configuration for gostack's own clients of its
// listeners (the watch client, agents): TLS 1.2 or newer, verifying the
// server against the CA certificates in caFile (PEM) instead of the
// system's roots.
func ClientTLS(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("httpapi: tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bytes.TrimSpace(pem)) {
		return nil, errors.New("httpapi: tls: no PEM certificate in " + caFile)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}
