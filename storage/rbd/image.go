//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	librbd "github.com/ceph/go-ceph/rbd"

	"github.com/gostack/gostack/kit/crashpoint"
)

// Cloneable reports whether a volume can be a clone of the image
// service's RBD image at loc (Cinder's _is_cloneable): an rbd:// URL of
// this cluster (its fsid) naming a snapshot this client can open. The
// disk format (raw) is the caller's to check. nil when it can; the
// error says why not.
func (c *Client) Cloneable(ctx context.Context, loc string) error {
	fsid, pool, image, snap, err := ParseLocation(loc)
	if err != nil {
		return err
	}
	if fsid != c.fsid {
		return fmt.Errorf("%w: %s is in another cluster (fsid %s, not %s)", ErrInvalid, loc, fsid, c.fsid)
	}
	ioctx, err := c.conn.OpenIOContext(pool)
	if err != nil {
		return fmt.Errorf("rbd: pool %s: %w", pool, err)
	}
	defer ioctx.Destroy()
	img, err := openReadOnly(ioctx, image, snap)
	if isNotFound(err) {
		return fmt.Errorf("%w: %s/%s@%s", ErrNotFound, pool, image, snap)
	}
	if err != nil {
		return fmt.Errorf("rbd: open %s/%s@%s: %w", pool, image, snap, err)
	}
	return img.Close()
}

// CloneImage makes volume id, of size bytes, a copy-on-write clone of
// the image service's RBD image at loc (pool/image@snap of this
// cluster), as Cinder's clone_image does (_clone, then _resize). The
// clone is made as "volume-<id>.partial", grown, and renamed: librbd's
// clone is not atomic (it creates the child, then attaches the parent),
// so a kill between the two leaves an empty image with no parent, under
// the half-made name Sweep and Delete remove. A volume there already is
// therefore whole: that clone (or one flattened since), grown if it
// must be.
func (c *Client) CloneImage(ctx context.Context, id, loc string, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	return c.cloneLocation(VolumeName(id), loc, size)
}

// cloneLocation is CloneImage to image name.
func (c *Client) cloneLocation(name, loc string, size int64) error {
	fsid, pool, image, snap, err := ParseLocation(loc)
	if err != nil {
		return err
	}
	if fsid != c.fsid {
		return fmt.Errorf("%w: %s is in another cluster", ErrInvalid, loc)
	}
	want := pool + "/" + image + "@" + snap
	in, err := c.info(name)
	if errors.Is(err, ErrNotFound) {
		part := name + partialSuffix
		if err := c.removeImage(part); err != nil && !errors.Is(err, ErrNotFound) {
			return leftover(err, "a clone left by earlier work")
		}
		if err := c.cloneFrom(pool, image, snap, part); err != nil {
			return err
		}
		crashpoint.Hit("storage.rbd.cloned")
		if err := c.grow(part, size); err != nil {
			return err
		}
		return c.rename(part, name)
	}
	if err != nil {
		return err
	}
	if in.Parent != "" && in.Parent != want {
		return fmt.Errorf("%w: %s/%s is a clone of %s, not of %s", ErrExists, c.cfg.Pool, name, in.Parent, want)
	}
	return c.grow(name, size)
}

// cloneFrom clones pool/image@snap to name in this client's pool;
// ErrExists when name is there already.
func (c *Client) cloneFrom(pool, image, snap, name string) error {
	src, err := c.conn.OpenIOContext(pool)
	if err != nil {
		return fmt.Errorf("rbd: pool %s: %w", pool, err)
	}
	defer src.Destroy()
	// The clone's objects are its parent's size (librbd's default for
	// a clone when no order is given); its features the cluster's
	// defaults.
	o, err := c.cloneOptions()
	if err != nil {
		return err
	}
	defer o.Destroy()
	err = librbd.CloneImage(src, image, snap, c.ioctx, name, o)
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("%w: %s/%s@%s to clone", ErrNotFound, pool, image, snap)
	case errno(err) == syscall.EEXIST:
		return fmt.Errorf("%w: %s", ErrExists, name)
	}
	return fmt.Errorf("rbd: clone %s/%s@%s to %s: %w", pool, image, snap, name, err)
}
