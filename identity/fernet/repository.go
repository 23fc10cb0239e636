package fernet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxActiveKeys is Keystone's [fernet_tokens] max_active_keys.
const DefaultMaxActiveKeys = 3

// Repository is a Keystone Fernet key repository: a directory of files
// named by integers, each holding one key. File 0 is the staged key (next
// to become primary), the highest number is the primary key (it
// encrypts), the others are secondary; every key decrypts.
//
// Keys are read into memory when the repository is opened and again only
// when Reload sees that the directory changed (Watch calls it
// periodically). Keys never reads the disk.
type Repository struct {
	dir       string
	maxActive int
	fs        fsys

	mu   sync.RWMutex
	keys []Key  // primary first, staged last, as Keystone's load_keys
	sig  string // the directory state the keys were read from
}

var _ KeySource = (*Repository)(nil)

// OpenRepository loads the keys of an existing repository. maxActiveKeys
// is used by Rotate (0 means DefaultMaxActiveKeys).
//
// It only reads: a repository left by an interrupted rotation is loaded
// as it is (its keys open every token that was valid before) and repaired
// by the next Setup or Rotate, so a service that only validates can open
// a directory another process manages.
func OpenRepository(dir string, maxActiveKeys int) (*Repository, error) {
	r, err := newRepository(osFS{}, dir, maxActiveKeys)
	if err != nil {
		return nil, err
	}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func newRepository(fs fsys, dir string, maxActiveKeys int) (*Repository, error) {
	if maxActiveKeys == 0 {
		maxActiveKeys = DefaultMaxActiveKeys
	}
	if maxActiveKeys < 1 {
		return nil, fmt.Errorf("fernet: max_active_keys must be at least 1")
	}
	return &Repository{dir: dir, maxActive: maxActiveKeys, fs: fs}, nil
}

// Dir returns the repository's directory.
func (r *Repository) Dir() string { return r.dir }

// Keys returns the keys, primary first, from memory.
func (r *Repository) Keys() []Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys
}

// Reload re-reads the keys if the directory changed since they were read
// (names, sizes or modification times of the key files) and reports
// whether it did. A repository with no usable key is an error, and the
// keys in memory are kept.
func (r *Repository) Reload() (bool, error) { return r.reload(false) }

func (r *Repository) reload(force bool) (bool, error) {
	sig, err := signature(r.dir)
	if err != nil {
		return false, err
	}
	r.mu.RLock()
	same := sig == r.sig && r.keys != nil
	r.mu.RUnlock()
	if same && !force {
		return false, nil
	}
	files, err := keyFiles(r.dir)
	if err != nil {
		return false, err
	}
	ids := mapKeys(files)
	slices.Sort(ids)
	slices.Reverse(ids)
	keys := make([]Key, 0, len(ids))
	for _, id := range ids {
		k, err := ParseKey(files[id])
		if err != nil {
			return false, fmt.Errorf("fernet: key file %s: %w", filepath.Join(r.dir, strconv.Itoa(id)), err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return false, fmt.Errorf("%w: %s", ErrNoKeys, r.dir)
	}
	r.mu.Lock()
	r.keys, r.sig = keys, sig
	r.mu.Unlock()
	return true, nil
}

// Watch calls Reload every interval until ctx ends, reporting errors to
// onErr (which may be nil), so that keys rotated on disk — by this process,
// Keystone, or a sync from another node — take effect without a restart.
func (r *Repository) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.Reload(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// keyFiles reads the key files: integer names, non-empty content. Other
// files (0.tmp, the lock file) are ignored, as Keystone ignores them.
func keyFiles(dir string) (map[int]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("fernet: key repository: %w", err)
	}
	out := map[int]string{}
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil || id < 0 || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("fernet: key repository: %w", err)
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		out[id] = string(b)
	}
	return out, nil
}

// signature summarizes the directory with stat calls only.
func signature(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("fernet: key repository: %w", err)
	}
	var b strings.Builder
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // renamed away while we looked; next call sees it
			}
			return "", err
		}
		fmt.Fprintf(&b, "%s:%d:%d;", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func mapKeys(m map[int]string) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
