package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files keeps volumes as sparse files, one per volume, Dir/volume-<id>:
// tgt's file-backed LUNs. A volume takes disk space only where it has
// been written, and deleting one frees its blocks (so a new volume never
// shows an old one's data: there is nothing to wipe, unlike Cinder's
// thick LVM volumes). The zero value plus Dir is ready.
type Files struct {
	Dir string
}

// Path is volume id's file.
func (f Files) Path(id string) string { return filepath.Join(f.Dir, "volume-"+id) }

// checkID accepts a volume id: what may follow "volume-" in a target
// name and a file name. Lower-case letters, digits, '.', '-' and '_' (a
// Cinder volume id is a lower-case UUID), not starting with '.'.
func checkID(id string) error {
	if id == "" || id[0] == '.' {
		return fmt.Errorf("%w: volume id %q", ErrInvalid, id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("%w: volume id %q: only lower-case letters, digits and .-_ are allowed", ErrInvalid, id)
		}
	}
	return nil
}

// checkSize accepts a positive multiple of tgt's 512-byte block.
func checkSize(size int64) error {
	if size <= 0 || size%512 != 0 {
		return fmt.Errorf("%w: size %d: want a positive multiple of 512 bytes", ErrInvalid, size)
	}
	return nil
}

func (f Files) check(id string) error {
	if f.Dir == "" {
		return fmt.Errorf("%w: Files.Dir is empty", ErrInvalid)
	}
	return checkID(id)
}

// Create makes volume id's file of size bytes, all holes, and returns
// its path. The file appears whole or not at all (it is made aside and
// linked into place). Creating a volume that exists with this size is no
// error, so a create that was interrupted can be done again; with
// another size it is ErrExists.
func (f Files) Create(ctx context.Context, id string, size int64) (string, error) {
	if err := f.check(id); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path := f.Path(id)
	tmp, err := f.holesAside(id, size)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	// A link, not a rename: it fails rather than replace a volume.
	if err := os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		have, serr := f.Size(ctx, id)
		if serr != nil {
			return "", serr
		}
		if have != size {
			return "", fmt.Errorf("%w: volume %s has %d bytes, not %d", ErrExists, id, have, size)
		}
	} else if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	return path, nil
}

// holesAside makes a file of size bytes, all holes, beside volume id's
// (".volume-<id>.*", which Sweep removes), for the caller to link into
// place and then remove.
func (f Files) holesAside(id string, size int64) (string, error) {
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	tmp, err := os.CreateTemp(f.Dir, ".volume-"+id+".*")
	if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	err = tmp.Truncate(size)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	return tmp.Name(), nil
}

// Extend grows volume id's file to size bytes (new holes at the end).
// The same size is no error; a smaller one is ErrInvalid (volumes do not
// shrink, as in Cinder). An exported volume is seen at its new size by
// initiators after the next Export or Reconcile of it.
func (f Files) Extend(ctx context.Context, id string, size int64) error {
	if err := f.check(id); err != nil {
		return err
	}
	if err := checkSize(size); err != nil {
		return err
	}
	have, err := f.Size(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case size < have:
		return fmt.Errorf("%w: volume %s: %d bytes is smaller than its %d", ErrInvalid, id, size, have)
	case size == have:
		return nil
	}
	if err := os.Truncate(f.Path(id), size); err != nil {
		return fmt.Errorf("iscsi: extend volume %s: %w", id, err)
	}
	return nil
}

// Delete removes volume id's file; a volume with no file is no error.
// Unexport it first: tgtd keeps an exported file open, and goes on
// serving the deleted file until its LUN goes.
func (f Files) Delete(ctx context.Context, id string) error {
	if err := f.check(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(f.Path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("iscsi: delete volume %s: %w", id, err)
	}
	// A migration's mark aside (CreateClaimed) goes after its file, so
	// that file is never unmarked while it is there.
	if err := f.removeClaim(id); err != nil {
		return fmt.Errorf("iscsi: delete volume %s: %w", id, err)
	}
	return nil
}

// Size is volume id's size in bytes; ErrNoVolume if it has no file.
func (f Files) Size(ctx context.Context, id string) (int64, error) {
	if err := f.check(id); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(f.Path(id))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s", ErrNoVolume, id)
	} else if err != nil {
		return 0, fmt.Errorf("iscsi: volume %s: %w", id, err)
	}
	return fi.Size(), nil
}
