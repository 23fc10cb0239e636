//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"context"
	"errors"
	"fmt"
	"io"

	librbd "github.com/ceph/go-ceph/rbd"
)

// Handle is a volume, or a snapshot of one, open to read or write its
// data: what a backup reads (through io.ReaderAt) and a restore writes
// (io.WriterAt), as Cinder's chunked backup drivers read a volume
// through its connector. Reads and writes are librbd's, each bounded
// by the client's operation timeouts. A Handle is for one user at a
// time, apart from concurrent ReadAt and WriteAt calls, which librbd
// allows.
type Handle struct {
	c        *Client
	img      *librbd.Image
	name     string // the image, "volume-<id>"
	snap     string // the snapshot read ("" for the image itself)
	tempSnap bool   // snap is a backup's temporary snapshot, removed at Close
	size     int64
	written  bool
}

// OpenVolume opens volume id to read and write its data (a restore
// into it).
func (c *Client) OpenVolume(ctx context.Context, id string) (*Handle, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	name := VolumeName(id)
	img, err := c.open(name)
	if err != nil {
		return nil, err
	}
	return c.handle(img, name, "", false)
}

// OpenSnapshot opens snapshot snapID of volume volID to read its data
// (what the volume held when the snapshot was made).
func (c *Client) OpenSnapshot(ctx context.Context, volID, snapID string) (*Handle, error) {
	for _, s := range []string{volID, snapID} {
		if err := validID(s); err != nil {
			return nil, err
		}
	}
	return c.openAt(VolumeName(volID), SnapshotName(snapID), false)
}

// OpenBackupSnapshot opens a point-in-time copy of volume volID for
// backup backupID to read while a guest may be writing the volume: the
// temporary snapshot "backup-<backupID>.backup_snap" (Cinder's
// temporary snapshot of an in-use volume's backup), made now (one left
// by earlier work is removed first, so the copy is of now) and removed
// by Close. One a killed agent left is removed by Sweep, and by the
// volume's Delete.
func (c *Client) OpenBackupSnapshot(ctx context.Context, volID, backupID string) (*Handle, error) {
	for _, s := range []string{volID, backupID} {
		if err := validID(s); err != nil {
			return nil, err
		}
	}
	name, snap := VolumeName(volID), BackupSnapshotName(backupID)
	img, err := c.open(name)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	if hasSnapshot(img, snap) {
		if err := img.GetSnapshot(snap).Remove(); err != nil && !isNotFound(err) {
			return nil, leftover(fmt.Errorf("rbd: remove %s@%s: %w", name, snap, err), "a backup's snapshot left by earlier work")
		}
	}
	if _, err := img.CreateSnapshot(snap); err != nil {
		return nil, fmt.Errorf("rbd: snapshot %s@%s: %w", name, snap, err)
	}
	h, err := c.openAt(name, snap, true)
	if err != nil {
		c.removeSnapshot(name, snap)
		return nil, err
	}
	return h, nil
}

// openAt opens image name read-only at snapshot snap.
func (c *Client) openAt(name, snap string, temp bool) (*Handle, error) {
	img, err := openReadOnly(c.ioctx, name, snap)
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: %s/%s@%s", ErrNotFound, c.cfg.Pool, name, snap)
	}
	if err != nil {
		return nil, fmt.Errorf("rbd: open %s/%s@%s: %w", c.cfg.Pool, name, snap, err)
	}
	return c.handle(img, name, snap, temp)
}

func (c *Client) handle(img *librbd.Image, name, snap string, temp bool) (*Handle, error) {
	size, err := img.GetSize()
	if err != nil {
		img.Close()
		return nil, fmt.Errorf("rbd: size of %s: %w", name, err)
	}
	return &Handle{c: c, img: img, name: name, snap: snap, tempSnap: temp, size: int64(size)}, nil
}

// Size is the volume's (the snapshot's) size in bytes.
func (h *Handle) Size() int64 { return h.size }

func (h *Handle) what() string {
	if h.snap != "" {
		return h.name + "@" + h.snap
	}
	return h.name
}

// ReadAt reads len(p) bytes from off; past the end it reads what there
// is and says io.EOF.
func (h *Handle) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: read at %d", ErrInvalid, off)
	}
	if off >= h.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), h.size-off)
	n, err := h.img.ReadAt(p[:want], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("rbd: read %s at %d: %w", h.what(), off, err)
	}
	if int64(n) < want {
		return n, fmt.Errorf("rbd: read %s at %d: %d bytes of %d", h.what(), off, n, want)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt writes p at off, within the volume's size.
func (h *Handle) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > h.size {
		return 0, fmt.Errorf("%w: write of %d bytes at %d past the end of %s (%d bytes)", ErrInvalid, len(p), off, h.what(), h.size)
	}
	h.written = true
	n, err := h.img.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("rbd: write %s at %d: %w", h.what(), off, err)
	}
	return n, nil
}

// zeroStep is the most one discard asks for: librbd answers a discard
// with its length as an int, and refuses one of 2 GiB or more.
const zeroStep = 1 << 30

// discardGrain is what librbd discards whole: by default
// (rbd_skip_partial_discard, rbd_discard_granularity_bytes 64 KiB) it
// skips, without an error, the parts of a discard outside 64 KiB
// boundaries.
const discardGrain = 64 << 10

// Zero makes n bytes from off zeros: the 64 KiB-aligned middle discarded,
// so the objects wholly inside are removed (in a clone, truncated, so
// the parent's data does not show through) and the volume stays thin;
// an unaligned head and tail, which librbd would skip, written as zeros.
func (h *Handle) Zero(ctx context.Context, off, n int64) error {
	if off < 0 || n < 0 || off+n > h.size {
		return fmt.Errorf("%w: zero %d bytes at %d of %s (%d bytes)", ErrInvalid, n, off, h.what(), h.size)
	}
	h.written = true
	end := off + n
	lo := min((off+discardGrain-1)/discardGrain*discardGrain, end)
	hi := max(end/discardGrain*discardGrain, lo)
	for _, r := range [][2]int64{{off, lo}, {hi, end}} { // the head and the tail
		if r[1] > r[0] {
			if _, err := h.img.WriteAt(make([]byte, r[1]-r[0]), r[0]); err != nil {
				return fmt.Errorf("rbd: zero %s at %d: %w", h.what(), r[0], err)
			}
		}
	}
	for off := lo; off < hi; off += zeroStep {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := h.img.Discard(uint64(off), uint64(min(zeroStep, hi-off))); err != nil {
			return fmt.Errorf("rbd: discard %s at %d: %w", h.what(), off, err)
		}
	}
	return nil
}

// Extents are the parts of the first size bytes that may hold data —
// the objects that exist in the image or its parents at the handle's
// snapshot (from the object map when the image has one), in order; the
// rest reads as zeros.
func (h *Handle) Extents(ctx context.Context, size int64) ([]Extent, error) {
	size = min(size, h.size)
	if size <= 0 {
		return nil, nil
	}
	ext, err := allocated(h.img, uint64(size))
	if err != nil {
		return nil, fmt.Errorf("rbd: extents of %s: %w", h.what(), err)
	}
	out := make([]Extent, len(ext))
	for i, e := range ext {
		out[i] = Extent{Offset: int64(e[0]), Length: int64(min(e[1], uint64(size)-e[0]))}
	}
	return out, nil
}

// Close flushes what was written, closes the image and removes a
// backup's temporary snapshot (a removal that fails is an ErrLeftover:
// Sweep removes it later).
func (h *Handle) Close() error {
	if h.img == nil {
		return nil
	}
	var errs []error
	if h.written {
		if err := h.img.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("rbd: flush %s: %w", h.what(), err))
		}
	}
	if err := h.img.Close(); err != nil {
		errs = append(errs, fmt.Errorf("rbd: close %s: %w", h.what(), err))
	}
	h.img = nil
	if h.tempSnap {
		err := h.c.removeSnapshot(h.name, h.snap)
		if err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, leftover(err, "a backup's snapshot is left to the sweep"))
		}
	}
	return errors.Join(errs...)
}
