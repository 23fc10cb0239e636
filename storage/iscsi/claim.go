package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrNotClaimed: Files.CreateClaimed of a volume whose file is there
// but not marked with the claim: another's (a pool sharing this
// directory), left as it is.
var ErrNotClaimed = errors.New("iscsi: volume file is not this claim's")

// claimAttr is the extended attribute that marks a file as a claim's.
const claimAttr = "user.gostack.claim"

// CreateClaimed makes volume id's file of size bytes, all holes, marked
// with claim (an extended attribute set before the file is linked into
// place, so it never appears unmarked), and returns its path: a
// migration's copy. A file of that id already there is no error when
// marked with claim and of this size (the same create, interrupted);
// otherwise it is ErrNotClaimed (or ErrExists, another size) and the
// file is left alone: two pools sharing a directory see each other's
// volumes, and a copy must never take another's data as its own.
func (f Files) CreateClaimed(ctx context.Context, id, claim string, size int64) (string, error) {
	if err := f.check(id); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	if claim == "" {
		return "", fmt.Errorf("%w: empty claim", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path := f.Path(id)
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	tmp, err := os.CreateTemp(f.Dir, ".volume-"+id+".*")
	if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Truncate(size)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = setClaim(tmp.Name(), claim)
	}
	if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	// A link, not a rename: it fails rather than replace a volume.
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		ok, err := f.Claimed(ctx, id, claim)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("%w: %s is there and was not made by claim %s", ErrNotClaimed, path, claim)
		}
		have, err := f.Size(ctx, id)
		if err != nil {
			return "", err
		}
		if have != size {
			return "", fmt.Errorf("%w: volume %s has %d bytes, not %d", ErrExists, id, have, size)
		}
	} else if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	return path, nil
}

// Claimed says whether volume id's file is marked with claim (false
// when it has no file, or one not so marked).
func (f Files) Claimed(ctx context.Context, id, claim string) (bool, error) {
	if err := f.check(id); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	have, err := getClaim(f.Path(id))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("iscsi: claim of volume %s: %w", id, err)
	}
	return claim != "" && have == claim, nil
}
