package iscsi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Revert writes snapshot id's data over volume volumeID's file, in
// place, so that an export daemon holding the file open serves the
// snapshot's data from then on (Cinder's revert to snapshot). The two
// files must be of one size. Chunk by chunk (copyChunk), the snapshot's
// holes and chunks of zeros become holes of the volume (punched; written
// as zeros where the file system cannot punch), and the chunks of data
// the volume does not hold already are written; then the file is
// synced. Done again, it gives the same file, so a revert cut short is
// done again whole. ErrNoVolume when either file is missing, ErrInvalid
// when their sizes differ.
func (f Files) Revert(ctx context.Context, volumeID, id string) error {
	if err := f.check(volumeID); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	snap, err := os.Open(f.SnapshotPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: snapshot %s", ErrNoVolume, id)
	} else if err != nil {
		return fmt.Errorf("iscsi: revert %s: %w", volumeID, err)
	}
	defer snap.Close()
	vol, err := os.OpenFile(f.Path(volumeID), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNoVolume, volumeID)
	} else if err != nil {
		return fmt.Errorf("iscsi: revert %s: %w", volumeID, err)
	}
	defer vol.Close()
	sfi, err := snap.Stat()
	if err != nil {
		return fmt.Errorf("iscsi: revert %s: %w", volumeID, err)
	}
	vfi, err := vol.Stat()
	if err != nil {
		return fmt.Errorf("iscsi: revert %s: %w", volumeID, err)
	}
	if sfi.Size() != vfi.Size() {
		return fmt.Errorf("%w: volume %s has %d bytes, its snapshot %s %d", ErrInvalid, volumeID, vfi.Size(), id, sfi.Size())
	}
	if err := revertData(ctx, vol, snap, sfi.Size()); err != nil {
		return fmt.Errorf("iscsi: revert %s to snapshot %s: %w", volumeID, id, err)
	}
	if err := vol.Sync(); err != nil {
		return fmt.Errorf("iscsi: revert %s: %w", volumeID, err)
	}
	return nil
}

// revertData makes the first size bytes of vol those of snap.
func revertData(ctx context.Context, vol, snap *os.File, size int64) error {
	want := make([]byte, copyChunk)
	have := make([]byte, copyChunk)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := unix.Seek(int(snap.Fd()), off, unix.SEEK_DATA)
		switch {
		case errors.Is(err, unix.ENXIO):
			data = size // holes to the end
		case err != nil:
			data = off // no SEEK_DATA: read everything
		}
		data = min(data, size)
		if data > off {
			if err := zeroRange(vol, off, data-off); err != nil {
				return err
			}
		}
		if data >= size {
			return nil
		}
		hole, err := unix.Seek(int(snap.Fd()), data, unix.SEEK_HOLE)
		if err != nil || hole > size {
			hole = size
		}
		for pos := data; pos < hole; {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := min(int64(copyChunk), hole-pos)
			if err := readFull(snap, want[:k], pos); err != nil {
				return err
			}
			if err := readFull(vol, have[:k], pos); err != nil {
				return err
			}
			switch {
			case allZero(want[:k]):
				if !allZero(have[:k]) {
					if err := zeroRange(vol, pos, k); err != nil {
						return err
					}
				}
			case string(want[:k]) != string(have[:k]):
				if _, err := vol.WriteAt(want[:k], pos); err != nil {
					return err
				}
			}
			pos += k
		}
		off = hole
	}
	return nil
}

// readFull reads len(b) bytes of f at off.
func readFull(f *os.File, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return err
	}
	return nil
}

// zeroRange makes n bytes of f at off read as zeros: a hole punched
// (the file's size kept), or zeros written where the file system has no
// hole punching.
func zeroRange(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}
