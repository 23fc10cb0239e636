package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotClaimed: Files.CreateClaimed of a volume whose file is there
// but not marked with the claim: another's (a pool sharing this
// directory), left as it is.
var ErrNotClaimed = errors.New("iscsi: volume file is not this claim's")

// claimAttr is the extended attribute that marks a file as a claim's.
const claimAttr = "user.gostack.claim"

// errNoXattr: the file system keeps no user extended attributes
// (EOPNOTSUPP: tmpfs before Linux 6.6, ramfs, some NFS); the claim is
// then kept in a file aside (claimPath).
var errNoXattr = errors.New("no user extended attributes here")

// claimPrefix starts the name of the file, in Dir, that marks volume
// id's file with a claim where extended attributes cannot: it holds the
// claim and the marked file's device and inode, so it marks that very
// file and no other one later given the name (another pool's volume in
// a shared directory, or the migrating volume itself).
const claimPrefix = ".claim-volume-"

func (f Files) claimPath(id string) string { return filepath.Join(f.Dir, claimPrefix+id) }

// CreateClaimed makes volume id's file of size bytes, all holes, marked
// with claim (an extended attribute set before the file is linked into
// place, so it never appears unmarked; on a file system without user
// extended attributes, a file aside, Dir/.claim-volume-<id>, made with
// O_EXCL before the link, naming the claim and the file's inode), and
// returns its path: a migration's copy. A file of that id already there
// is no error when marked with claim and of this size (the same create,
// interrupted); otherwise it is ErrNotClaimed (or ErrExists, another
// size) and the file is left alone: two pools sharing a directory see
// each other's volumes, and a copy must never take another's data as
// its own.
func (f Files) CreateClaimed(ctx context.Context, id, claim string, size int64) (string, error) {
	if err := f.check(id); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	if claim == "" || strings.ContainsAny(claim, "\n\x00") {
		return "", fmt.Errorf("%w: claim %q", ErrInvalid, claim)
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
	aside := false // this call made the claim's file aside
	err = setClaim(tmp, claim)
	if errors.Is(err, errNoXattr) {
		aside, err = f.claimAside(id, claim, tmp)
	}
	if err != nil {
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	// A link, not a rename: it fails rather than replace a volume.
	if err := os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		if aside {
			// It marks the file just made, never linked: gone with it.
			os.Remove(f.claimPath(id))
		}
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
		if aside {
			os.Remove(f.claimPath(id))
		}
		return "", fmt.Errorf("iscsi: create volume %s: %w", id, err)
	}
	return path, nil
}

// claimAside marks file (not yet linked into place as volume id's)
// with claim in the file aside, made with O_EXCL, and says whether it
// made it. One there already is left when volume id's file is there (it
// is that file's mark, or none of this claim's: Claimed tells), and
// otherwise removed and made again: a create cut short before its link,
// or a delete before its removal, left it.
func (f Files) claimAside(id, claim, file string) (bool, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return false, err
	}
	ino, ok := fileID(fi)
	if !ok {
		return false, fmt.Errorf("claim %s: %w, and no inode to mark the file by", claimAttr, errNoXattr)
	}
	p := f.claimPath(id)
	for range 2 {
		c, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			if _, err := os.Lstat(f.Path(id)); err == nil {
				return false, nil
			} else if !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, err
		}
		_, err = c.WriteString(claim + "\n" + ino + "\n")
		if err == nil {
			err = c.Sync()
		}
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return false, err
		}
		return true, nil
	}
	return false, fmt.Errorf("%s: made again by someone else meanwhile", p)
}

// Claimed says whether volume id's file is marked with claim (false
// when it has no file, or one not so marked): by its extended
// attribute, or by the file aside naming the claim and that file.
func (f Files) Claimed(ctx context.Context, id, claim string) (bool, error) {
	if err := f.check(id); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	path := f.Path(id)
	have, err := getClaim(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil && !errors.Is(err, errNoXattr) {
		return false, fmt.Errorf("iscsi: claim of volume %s: %w", id, err)
	}
	if have != "" {
		return claim != "" && have == claim, nil
	}
	b, err := os.ReadFile(f.claimPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("iscsi: claim of volume %s: %w", id, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != 3 || lines[2] != "" || claim == "" || lines[0] != claim {
		return false, nil // another claim's, or one cut short while written
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("iscsi: claim of volume %s: %w", id, err)
	}
	ino, ok := fileID(fi)
	return ok && ino == lines[1], nil
}

// removeClaim removes volume id's file aside, once its file is gone.
func (f Files) removeClaim(id string) error {
	if err := os.Remove(f.claimPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
