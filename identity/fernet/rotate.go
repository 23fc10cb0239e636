package fernet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// Setup creates the repository like keystone-manage fernet_setup: the
// directory (0700), a staged key 0, then one rotation, leaving keys 0 and
// 1.
//
// On a directory that already holds keys it is the start-up repair: it
// finishes what an interrupted Setup or Rotate left (see Rotate) and opens
// the repository. It never rotates a repository that has a primary key and
// never removes a key, so a start cannot invalidate a token.
func Setup(dir string, maxActiveKeys int) (*Repository, error) {
	return setup(osFS{}, dir, maxActiveKeys)
}

func setup(fs fsys, dir string, maxActiveKeys int) (*Repository, error) {
	r, err := newRepository(fs, dir, maxActiveKeys)
	if err != nil {
		return nil, err
	}
	if settled(dir) {
		// Keystone's shape already: nothing to write, so no lock and no
		// write access needed (a directory another process manages, or
		// a read-only mount of keys distributed from elsewhere).
		if _, err := r.reload(true); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := fs.mkdirAll(dir); err != nil {
		return nil, fmt.Errorf("fernet: setup: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ids, err := r.repair()
	if err != nil {
		return nil, err
	}
	if len(ids) == 1 {
		// Only the staged key: a new directory, or a Setup that stopped
		// before its rotation. Promote it; there is nothing to purge.
		if err := r.rotate(ids, false); err != nil {
			return nil, err
		}
	}
	if _, err := r.reload(true); err != nil {
		return nil, err
	}
	return r, nil
}

// Rotate is Keystone's rotate_keys: the staged key 0 becomes the primary
// (the next number), a new key is staged as 0, and the lowest-numbered
// keys beyond max_active_keys are purged. It first repairs what an
// interrupted Setup or Rotate left, as Setup does, so a rotation killed
// part-way is finished, then rotated past, by the next one. Rotations and
// Setups of one directory are serialized with a lock file.
//
// Each step is made durable before the next, so a crash — of the process
// or of the machine — after any of them leaves a repository whose keys
// open every token they opened before (only the purge in step 5 removes
// keys, as it is meant to), and whose staged key is either 0 or, while 0
// is missing, a complete 0.tmp:
//
//  1. Write the new staged key to 0.tmp: create (0600), write, fsync,
//     close. A crash leaves a 0.tmp, maybe torn, next to an untouched
//     repository; the repair removes it.
//  2. Fsync the directory: 0.tmp is there for good before step 3 starts
//     (a file system need not persist directory changes in the order they
//     were made). A crash leaves the same as after 1.
//  3. Rename 0 to the primary's number plus one and fsync the directory:
//     the old staged key encrypts. A crash leaves every old key, the new
//     primary, no 0 and a complete 0.tmp; the repair renames 0.tmp to 0,
//     which is step 4. (Until the fsync returns, a power loss may also
//     undo the rename: the state after 2.)
//  4. Rename 0.tmp to 0 and fsync the directory: rotated but for the
//     purge. A crash leaves the keys beyond max_active_keys in place, a
//     valid repository; the repair leaves it so, the next rotation purges.
//  5. Remove the keys beyond max_active_keys, lowest number first, and
//     fsync the directory. A crash leaves some of them: as after 4.
//
// A crash leaves Rotate's error with the caller (or no caller at all);
// the next Setup or Rotate repairs under the lock. OpenRepository, Reload
// and Keystone read any of these states as they are.
func (r *Repository) Rotate() error {
	unlock, err := lockDir(r.dir)
	if err != nil {
		return err
	}
	defer unlock()
	ids, err := r.repair()
	if err != nil {
		return err
	}
	if err := r.rotate(ids, true); err != nil {
		return err
	}
	_, err = r.reload(true)
	return err
}

// rotate runs the steps of Rotate on a repository with a staged key; ids
// are its key numbers. Setup does not purge.
func (r *Repository) rotate(ids []int, purge bool) error {
	if err := r.stage(); err != nil { // steps 1 and 2
		return err
	}
	primary := slices.Max(ids) + 1
	if err := r.fs.rename(r.path(0), r.path(primary)); err != nil {
		return fmt.Errorf("fernet: rotate: promote the staged key: %w", err)
	}
	if err := r.syncDir(); err != nil { // step 3
		return err
	}
	if err := r.placeStaged(); err != nil { // step 4
		return err
	}
	if !purge {
		return nil
	}
	active := append(slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return id == 0 }), primary)
	slices.Sort(active)
	// max_active_keys counts the staged key. Keystone, given 1, purges the
	// new primary too and leaves the staged key to encrypt; the primary
	// always stays here.
	keep := max(r.maxActive-1, 1)
	if len(active) <= keep {
		return nil
	}
	for _, id := range active[:len(active)-keep] {
		if err := r.fs.remove(r.path(id)); err != nil {
			return fmt.Errorf("fernet: rotate: purge key %d: %w", id, err)
		}
	}
	return r.syncDir() // step 5
}

// repair puts the repository back in Keystone's shape after an
// interrupted Setup or Rotate, removing no key and rotating nothing. It
// returns the key numbers, 0 among them.
//
//   - Key 0 and a 0.tmp: a rotation stopped before its step 3; nothing
//     used the key in 0.tmp, which goes.
//   - No key 0, and a key in 0.tmp: a rotation stopped after step 3 (or a
//     Setup before its first rename); 0.tmp becomes 0, as step 4 would
//     have done.
//   - No key 0 and no usable 0.tmp (absent, torn or empty: a new
//     directory, Keystone's own rotation killed, a partial copy from
//     another node): a new staged key is written through steps 1, 2 and 4.
//     A staged key has signed nothing, so any new one will do.
func (r *Repository) repair() ([]int, error) {
	files, err := keyFiles(r.dir)
	if err != nil {
		return nil, err
	}
	_, staged := files[0]
	tmp, err := os.ReadFile(r.tmpPath())
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("fernet: repair: %w", err)
	case staged && err == nil:
		if err := r.fs.remove(r.tmpPath()); err != nil {
			return nil, fmt.Errorf("fernet: repair: remove 0.tmp: %w", err)
		}
		if err := r.syncDir(); err != nil {
			return nil, err
		}
	case staged: // nothing to repair
	case err == nil && validKey(tmp):
		if err := r.placeStaged(); err != nil {
			return nil, err
		}
	default:
		if err := r.stage(); err != nil {
			return nil, err
		}
		if err := r.placeStaged(); err != nil {
			return nil, err
		}
	}
	ids := mapKeys(files)
	if !staged {
		ids = append(ids, 0)
	}
	slices.Sort(ids)
	return ids, nil
}

// settled reports whether dir needs nothing from Setup: a staged key 0,
// at least one other key, and no 0.tmp left by an interrupted rotation.
func settled(dir string) bool {
	files, err := keyFiles(dir)
	if err != nil {
		return false
	}
	if _, staged := files[0]; !staged || len(files) < 2 {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "0.tmp"))
	return errors.Is(err, fs.ErrNotExist)
}

func validKey(b []byte) bool {
	_, err := ParseKey(string(b))
	return err == nil
}

// stage writes a new key to 0.tmp and makes it durable (steps 1 and 2).
func (r *Repository) stage() error {
	if err := writeStagedKey(r.fs, r.dir); err != nil {
		return err
	}
	return r.syncDir()
}

// placeStaged renames 0.tmp to 0 and makes that durable (step 4).
func (r *Repository) placeStaged() error {
	if err := r.fs.rename(r.tmpPath(), r.path(0)); err != nil {
		return fmt.Errorf("fernet: place the staged key: %w", err)
	}
	return r.syncDir()
}

func (r *Repository) syncDir() error {
	if err := r.fs.syncDir(r.dir); err != nil {
		return fmt.Errorf("fernet: key repository: %w", err)
	}
	return nil
}

func (r *Repository) path(id int) string { return filepath.Join(r.dir, strconv.Itoa(id)) }

func (r *Repository) tmpPath() string { return filepath.Join(r.dir, "0.tmp") }

// writeStagedKey writes a new key to 0.tmp (0600) and fsyncs it, as
// Keystone's _create_tmp_new_key does.
func writeStagedKey(fs fsys, dir string) error {
	k, err := GenerateKey()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "0.tmp")
	f, err := fs.create(path)
	if err != nil {
		return fmt.Errorf("fernet: write staged key: %w", err)
	}
	_, err = f.Write([]byte(k.String()))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fernet: write staged key: %w", err)
	}
	return nil
}

// lockDir takes the repository's lock file (.rotate.lock, which Keystone
// ignores). The kernel drops it when the process dies, so a crash leaves
// no stale lock.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".rotate.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fernet: lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("fernet: lock %s: %w", dir, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
