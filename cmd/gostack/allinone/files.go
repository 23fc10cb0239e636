package allinone

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dataLock is an exclusive lock on <data_dir>/LOCK, held while running.
type dataLock struct{ f *os.File }

// lockDataDir creates the data directory (0700) and locks it, so two
// daemons never share one data directory.
func lockDataDir(dir string) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("allinone: data_dir: %w", err)
	}
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("allinone: data_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("allinone: data_dir %s is in use by another gostack (pid %s)", absPath(dir), strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("allinone: lock %s: %w", path, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &dataLock{f: f}, nil
}

func (l *dataLock) release() {
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// adminPassword returns the bootstrap admin password kept in
// <data_dir>/admin-password (0600), creating it on first start.
func adminPassword(dir string) (string, error) {
	path := filepath.Join(dir, "admin-password")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("allinone: %w", err)
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

// writeOpenRC writes <data_dir>/openrc for the openstack CLI, pointing at
// the identity listener's address.
func writeOpenRC(cfg *Config, authAddr string, identity bool) error {
	pw, err := adminPassword(cfg.DataDir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# gostack all-in-one: `source` this file, then use the openstack CLI.\n")
	if !identity {
		b.WriteString("# The identity area is not in this build yet: nothing answers on OS_AUTH_URL,\n")
		b.WriteString("# so this file cannot authenticate until it lands.\n")
	}
	fmt.Fprintf(&b, "export OS_AUTH_URL=%s://%s/v3\n", cfg.scheme(), publicAddr(authAddr))
	if cfg.TLS.on() {
		ca, err := filepath.Abs(cfg.TLS.caFile())
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "export OS_CACERT=%s\n", shellQuote(ca))
	}
	for _, kv := range [][2]string{
		{"OS_IDENTITY_API_VERSION", "3"},
		{"OS_AUTH_TYPE", "password"},
		{"OS_USERNAME", "admin"},
		{"OS_PASSWORD", pw},
		{"OS_PROJECT_NAME", "admin"},
		{"OS_USER_DOMAIN_NAME", "Default"},
		{"OS_PROJECT_DOMAIN_NAME", "Default"},
		{"OS_REGION_NAME", cfg.Region},
		{"OS_INTERFACE", "public"},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return writeFileAtomic(filepath.Join(cfg.DataDir, "openrc"), []byte(b.String()), 0o600)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeFileAtomic writes via a temporary file, fsync and rename, so a crash
// never leaves a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
	return id, writeFileAtomic(path, []byte(id+"\n"), 0o600)
}
