package compose

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
		return nil, fmt.Errorf("compose: data_dir: %w", err)
	}
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("compose: data_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("compose: data_dir %s is in use by another gostack (pid %s)", absPath(dir), strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("compose: lock %s: %w", path, err)
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

// WriteFile writes data to path via a temporary file, fsync and rename,
// so a crash never leaves a half-written file: for the small state files
// areas keep in the data directory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
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

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// Secret is a random secret the daemon keeps in its data directory
// under name (<data_dir>/secrets/<name>, mode 0600): made at first use,
// the same at every start and for every area that asks for it (the
// metadata proxies and the metadata API share one this way). 64 hex
// digits; a file written by hand is read without its surrounding
// blanks (a final newline).
func (e *Env) Secret(name string) (string, error) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	dir := filepath.Join(e.Config.DataDir, "secrets")
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && e.Log != nil {
			e.Log.Warn("a secret file is readable by others than its owner", "file", path, "mode", fi.Mode().Perm().String())
		}
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	if err := WriteFile(path, []byte(s), 0o600); err != nil {
		return "", err
	}
	return s, nil
}
