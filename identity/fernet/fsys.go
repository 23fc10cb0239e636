package fernet

import (
	"fmt"
	"os"
	"path/filepath"
)

// fsys is every change the key repository makes to the disk: the
// operations whose order makes a rotation crash-safe (see Rotate). Reads
// go straight to os.
//
// It is unexported on purpose. Its one use besides the disk is a test that
// stops a rotation after each operation; an exported seam would invite
// embedders to plug in stores whose durability (what Sync and syncDir
// promise) the ordering argument in Rotate cannot vouch for, and would
// freeze this list of operations into the API. An embedder who wants keys
// elsewhere implements KeySource instead.
type fsys interface {
	mkdirAll(dir string) error
	// create opens a new or truncated file for writing, mode 0600.
	create(name string) (fsFile, error)
	rename(oldname, newname string) error
	remove(name string) error
	// syncDir makes the directory's entries (creates, renames, removes)
	// durable.
	syncDir(dir string) error
}

// fsFile is a file being written.
type fsFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// osFS is the disk.
type osFS struct{}

var _ fsys = osFS{}

// mkdirAll creates dir (0700) and its missing parents, each made durable
// in its parent before mkdirAll returns.
func (osFS) mkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range missing {
		if err := (osFS{}).syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

func (osFS) create(name string) (fsFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

func (osFS) rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) remove(name string) error { return os.Remove(name) }

func (osFS) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
