//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// The methods below work on images of the client's pool by name, for
// users of a pool other than Cinder's volumes (Nova's root disks,
// "<instance uuid>_disk"). A name is letters, digits, '-' and '_': no
// dot, so no name ends as another's ".partial".

// ImageInfo describes image name (ErrNotFound when there is none).
func (c *Client) ImageInfo(ctx context.Context, name string) (Info, error) {
	if err := validID(name); err != nil {
		return Info{}, err
	}
	return c.info(name)
}

// CloneImageTo makes image name, of size bytes, a copy-on-write clone
// of the image service's RBD image at loc (rbd://fsid/pool/image/snap
// of this cluster), as CloneImage does for a volume: made as
// "<name>.partial", grown and renamed, so an image there already is a
// whole clone (or one flattened since), grown if it must be.
func (c *Client) CloneImageTo(ctx context.Context, name, loc string, size int64) error {
	if err := validID(name); err != nil {
		return err
	}
	return c.cloneLocation(name, loc, size)
}

// ImportImage makes image name, of size bytes, with the first n bytes
// of the raw file at path, as Import does for a volume: filled as
// "<name>.partial" and renamed once whole, so an image of the name is
// always complete; one there already is the import done.
func (c *Client) ImportImage(ctx context.Context, name, path string, n, size int64) error {
	if err := validID(name); err != nil {
		return err
	}
	return c.importAs(ctx, name, path, n, size)
}

// GrowImage grows image name to size bytes; an image of that size is no
// work, a larger one ErrInvalid.
func (c *Client) GrowImage(ctx context.Context, name string, size int64) error {
	if err := validID(name); err != nil {
		return err
	}
	return c.grow(name, size)
}

// ExportImage writes image name's content to the sparse raw file at
// path, as Export does for a volume, and returns its size.
func (c *Client) ExportImage(ctx context.Context, name, path string) (int64, error) {
	if err := validID(name); err != nil {
		return 0, err
	}
	return c.exportAs(ctx, name, path)
}

// ExportImageSnapshot writes snapshot snap of image name to the sparse
// raw file at path, as ExportImage does for the image's head, and
// returns its size: a copy of the disk as it was at the snapshot while
// a guest goes on writing to it.
func (c *Client) ExportImageSnapshot(ctx context.Context, name, snap, path string) (int64, error) {
	if err := validID(name); err != nil {
		return 0, err
	}
	if err := validID(snap); err != nil {
		return 0, err
	}
	return c.exportSnap(ctx, name, snap, path)
}

// RemoveImage removes image name with its snapshots (unprotected
// first), and a "<name>.partial" an import left. An image that is gone
// is no error; one a client has open, or whose snapshot has clones, is
// a *BusyError and stays. A clone's parent is not touched.
func (c *Client) RemoveImage(ctx context.Context, name string) error {
	if err := validID(name); err != nil {
		return err
	}
	if err := c.RemovePartial(ctx, name); err != nil {
		return err
	}
	in, err := c.info(name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ws := c.watchers(name); ws > 0 {
		return &BusyError{Image: name, Watchers: ws}
	}
	for _, s := range in.Snapshots {
		if err := c.removeSnapshot(name, s); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if err := c.removeImage(name); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// RemovePartial removes "<name>.partial", what an import or a clone of
// image name cut short left; none is no error, one a killed client still holds an
// ErrLeftover.
func (c *Client) RemovePartial(ctx context.Context, name string) error {
	if err := validID(name); err != nil {
		return err
	}
	if err := c.removeImage(name + partialSuffix); err != nil && !errors.Is(err, ErrNotFound) {
		return leftover(err, "the half-made "+name+partialSuffix)
	}
	return nil
}

// SnapshotImage makes snapshot snap of image name (not protected: it is
// for a rollback, not for clones); one there already is no error.
func (c *Client) SnapshotImage(ctx context.Context, name, snap string) error {
	if err := validID(name); err != nil {
		return err
	}
	if err := validID(snap); err != nil {
		return err
	}
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	if _, err := img.CreateSnapshot(snap); err != nil && errno(err) != syscall.EEXIST {
		return fmt.Errorf("rbd: snapshot %s@%s: %w", name, snap, err)
	}
	return nil
}

// RollbackImage puts image name back as it was at snapshot snap, its
// size too, and removes the snapshot; no such snapshot is no work (a
// rollback done before).
func (c *Client) RollbackImage(ctx context.Context, name, snap string) error {
	if err := validID(name); err != nil {
		return err
	}
	if err := validID(snap); err != nil {
		return err
	}
	img, err := c.open(name)
	if err != nil {
		return err
	}
	if !hasSnapshot(img, snap) {
		img.Close()
		return nil
	}
	err = img.GetSnapshot(snap).Rollback()
	img.Close()
	if err != nil {
		return fmt.Errorf("rbd: roll %s back to %s: %w", name, snap, err)
	}
	return c.RemoveImageSnapshot(ctx, name, snap)
}

// RemoveImageSnapshot removes snapshot snap of image name; none (or no
// image) is no error.
func (c *Client) RemoveImageSnapshot(ctx context.Context, name, snap string) error {
	if err := validID(name); err != nil {
		return err
	}
	if err := validID(snap); err != nil {
		return err
	}
	if err := c.removeSnapshot(name, snap); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
