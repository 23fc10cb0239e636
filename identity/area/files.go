package area

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/kit/compose"
)

// adminPassword returns the bootstrap admin password kept in
// <data_dir>/admin-password (0600), creating it on first start.
func adminPassword(dir string) (string, error) { return secretFile(dir, "admin-password") }

// secretFile returns the random secret kept in <dir>/<name> (0600),
// creating it on first use.
func secretFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("identity: %w", err)
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := compose.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

// writeOpenRC writes <data_dir>/openrc for the openstack CLI, pointing at
// authURL.
func writeOpenRC(cfg *compose.Config, authURL, password string) error {
	var b strings.Builder
	b.WriteString("# gostack: `source` this file, then use the openstack CLI.\n")
	fmt.Fprintf(&b, "export OS_AUTH_URL=%s\n", shellQuote(authURL))
	if cfg.TLS.On() {
		ca, err := filepath.Abs(cfg.TLS.CA())
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "export OS_CACERT=%s\n", shellQuote(ca))
	}
	for _, kv := range [][2]string{
		{"OS_IDENTITY_API_VERSION", "3"},
		{"OS_AUTH_TYPE", "password"},
		{"OS_USERNAME", "admin"},
		{"OS_PASSWORD", password},
		{"OS_PROJECT_NAME", "admin"},
		{"OS_USER_DOMAIN_NAME", "Default"},
		{"OS_PROJECT_DOMAIN_NAME", "Default"},
		{"OS_REGION_NAME", cfg.Region},
		{"OS_INTERFACE", "public"},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return compose.WriteFile(filepath.Join(cfg.DataDir, "openrc"), []byte(b.String()), 0o600)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// nodeID names this controller for shared-key acknowledgements: a random
// id kept in <data_dir>/node-id.
func nodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	host, _ := os.Hostname()
	id := host + "-" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return id, compose.WriteFile(path, []byte(id+"\n"), 0o600)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
