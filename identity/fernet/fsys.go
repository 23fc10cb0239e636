package fernet

import (
	"fmt"
	"os"
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

func (osFS) mkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }

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
