package iscsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// SnapshotPath is snapshot id's file: a copy of its volume's, beside
// the volumes.
func (f Files) SnapshotPath(id string) string { return filepath.Join(f.Dir, "snapshot-"+id) }

// Snapshot copies the first size bytes of volume volumeID's file into
// snapshot id's file, and returns its path. The copy is made aside and
// linked into place: a snapshot file is whole or absent, and one that
// exists with this size is taken as made (a snapshot interrupted is made
// again). The file system's clone (reflink) is used when it has one,
// which is instant and atomic; otherwise the volume's data is copied,
// its holes kept, while an attached guest may write to it (a crash-
// consistent copy at best, as Cinder's forced snapshot of an in-use
// volume).
func (f Files) Snapshot(ctx context.Context, volumeID, id string, size int64) (string, error) {
	if err := f.check(volumeID); err != nil {
		return "", err
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	return f.copyInto(ctx, f.SnapshotPath(id), f.Path(volumeID), size, size)
}

// DeleteSnapshot removes snapshot id's file; none is no error.
func (f Files) DeleteSnapshot(ctx context.Context, id string) error {
	if err := f.check(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(f.SnapshotPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("iscsi: delete snapshot %s: %w", id, err)
	}
	return nil
}

// CreateFrom makes volume id's file of size bytes with the content of
// the file at src (a snapshot's or another volume's, up to srcSize
// bytes; the rest holes), as Create does: aside, then linked into
// place, a volume that exists with this size taken as made.
func (f Files) CreateFrom(ctx context.Context, id, src string, srcSize, size int64) (string, error) {
	if err := f.check(id); err != nil {
		return "", err
	}
	if srcSize > size {
		return "", fmt.Errorf("%w: volume %s of %d bytes cannot hold %d bytes of %s", ErrInvalid, id, size, srcSize, src)
	}
	return f.copyInto(ctx, f.Path(id), src, srcSize, size)
}

// copyInto makes dst, of size bytes, with the first n bytes of src.
func (f Files) copyInto(ctx context.Context, dst, src string, n, size int64) (string, error) {
	if err := checkSize(size); err != nil {
		return "", err
	}
	// A copy made already is done, whatever its source became since.
	if fi, err := os.Stat(dst); err == nil {
		if fi.Size() != size {
			return "", fmt.Errorf("%w: %s has %d bytes, not %d", ErrExists, dst, fi.Size(), size)
		}
		return dst, nil
	}
	if n < 0 || n > size {
		return "", fmt.Errorf("%w: copy of %d bytes into %d", ErrInvalid, n, size)
	}
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%w: %s", ErrNoVolume, filepath.Base(src))
		}
		return "", fmt.Errorf("iscsi: copy %s: %w", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", fmt.Errorf("iscsi: copy %s: %w", src, err)
	}
	if fi.Size() < n {
		return "", fmt.Errorf("%w: %s has %d bytes, fewer than the %d to copy", ErrInvalid, src, fi.Size(), n)
	}
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return "", fmt.Errorf("iscsi: copy into %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(f.Dir, "."+filepath.Base(dst)+".*")
	if err != nil {
		return "", fmt.Errorf("iscsi: copy into %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name())
	err = copyData(ctx, tmp, in, n, fi.Size())
	if err == nil {
		err = tmp.Truncate(size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("iscsi: copy %s into %s: %w", src, dst, err)
	}
	if err := os.Link(tmp.Name(), dst); errors.Is(err, os.ErrExist) {
		// Another copy won; it was made the same way.
		fi, serr := os.Stat(dst)
		if serr != nil {
			return "", fmt.Errorf("iscsi: copy into %s: %w", dst, serr)
		}
		if fi.Size() != size {
			return "", fmt.Errorf("%w: %s has %d bytes, not %d", ErrExists, dst, fi.Size(), size)
		}
	} else if err != nil {
		return "", fmt.Errorf("iscsi: copy into %s: %w", dst, err)
	}
	return dst, nil
}

// copyChunk is the unit of a copy: zero chunks are left as holes.
const copyChunk = 1 << 20

// copyData copies the first n bytes of in (srcSize bytes long) into out,
// an empty file: by a clone of the whole file when the file system can
// and n is all of it, else the data extents only (SEEK_DATA/SEEK_HOLE),
// chunk by chunk, skipping chunks of zeros.
func copyData(ctx context.Context, out, in *os.File, n, srcSize int64) error {
	if n == 0 {
		return nil
	}
	if n == srcSize {
		if err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); err == nil {
			return nil
		}
	}
	buf := make([]byte, copyChunk)
	off := int64(0)
	for off < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // only holes from off to the end
		} else if err != nil {
			data = off // no SEEK_DATA: read everything
		}
		if data >= n {
			return nil
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil || hole > n {
			hole = n
		}
		for pos := data; pos < hole; {
			k := min(int64(len(buf)), hole-pos)
			got, err := in.ReadAt(buf[:k], pos)
			if err != nil && !(errors.Is(err, io.EOF) && int64(got) == k) {
				return err
			}
			if !allZero(buf[:k]) {
				if _, err := out.WriteAt(buf[:k], pos); err != nil {
					return err
				}
			}
			pos += k
		}
		off = hole
	}
	return nil
}

var zeros = make([]byte, copyChunk)

func allZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

// Sweep removes the files a create or a copy cut short by a kill left
// in Dir (".volume-<id>.*", ".snapshot-<id>.*": made aside, never linked
// into place): they hold a tenant's data that no volume owns; and the
// claims aside (".claim-volume-<id>", CreateClaimed) of volumes with no
// file. Call it before any create or copy runs.
func (f Files) Sweep(ctx context.Context) error {
	if f.Dir == "" {
		return fmt.Errorf("%w: Files.Dir is empty", ErrInvalid)
	}
	var errs []error
	for _, pat := range []string{".volume-*.*", ".snapshot-*.*"} {
		left, err := filepath.Glob(filepath.Join(f.Dir, pat))
		if err != nil {
			return err
		}
		for _, p := range left {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	marks, err := filepath.Glob(filepath.Join(f.Dir, claimPrefix+"*"))
	if err != nil {
		return err
	}
	for _, p := range marks {
		id := strings.TrimPrefix(filepath.Base(p), claimPrefix)
		if _, err := os.Lstat(f.Path(id)); !errors.Is(err, os.ErrNotExist) {
			continue // its file's mark, or a file not to be judged here
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Adopt makes volume id, of size bytes, of the file at src, whose first
// n bytes are the volume's content (a raw image the caller fetched and
// owns): src itself becomes the volume's file when it is on the same
// file system (grown to size, synced, linked into place, so no byte is
// copied; the caller then removes its name), else it is copied as
// CreateFrom copies. A volume that exists with this size is no error,
// as for Create.
func (f Files) Adopt(ctx context.Context, id, src string, n, size int64) (string, error) {
	if err := f.check(id); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	if n < 0 || n > size {
		return "", fmt.Errorf("%w: volume %s of %d bytes cannot hold %d bytes of %s", ErrInvalid, id, size, n, src)
	}
	dst := f.Path(id)
	if fi, err := os.Stat(dst); err == nil {
		if fi.Size() != size {
			return "", fmt.Errorf("%w: %s has %d bytes, not %d", ErrExists, dst, fi.Size(), size)
		}
		return dst, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("iscsi: adopt %s: %w", src, err)
	}
	if fi.Size() != n {
		// Bytes past the content would become the volume's: copy.
		return f.copyInto(ctx, dst, src, n, size)
	}
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return "", fmt.Errorf("iscsi: adopt into %s: %w", dst, err)
	}
	file, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		return "", fmt.Errorf("iscsi: adopt %s: %w", src, err)
	}
	err = file.Truncate(size)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("iscsi: adopt %s: %w", src, err)
	}
	switch err := os.Link(src, dst); {
	case err == nil:
		return dst, nil
	case errors.Is(err, unix.EXDEV):
		return f.copyInto(ctx, dst, src, size, size)
	case errors.Is(err, os.ErrExist):
		return f.copyInto(ctx, dst, src, n, size) // another made it: checked there
	default:
		return "", fmt.Errorf("iscsi: adopt into %s: %w", dst, err)
	}
}
