//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	librbd "github.com/ceph/go-ceph/rbd"
)

// CreateClaimed makes volume id's image of size bytes, empty, marked
// with claim (image metadata set on volume-<id>.partial, which is then
// renamed into place, so the image never appears unmarked): a
// migration's copy. An image of that id already there is no error when
// marked with claim and of this size (the same create, interrupted);
// otherwise it is ErrNotClaimed (or ErrExists, another size) and the
// image is left alone: two pools on one Ceph pool see each other's
// images, and a copy must never take another's data as its own.
func (c *Client) CreateClaimed(ctx context.Context, id, claim string, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	if size <= 0 || claim == "" {
		return fmt.Errorf("%w: size %d, claim %q", ErrInvalid, size, claim)
	}
	name := VolumeName(id)
	part := name + partialSuffix
	if err := c.ours(name, claim, size); !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := c.removeImage(part); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	o := c.options()
	defer o.Destroy()
	if err := librbd.CreateImage(c.ioctx, part, uint64(size), o); err != nil {
		return fmt.Errorf("rbd: create %s/%s: %w", c.cfg.Pool, part, err)
	}
	img, err := c.open(part)
	if err != nil {
		return err
	}
	err = img.SetMetadata(claimKey, claim)
	img.Close()
	if err != nil {
		return fmt.Errorf("rbd: mark %s/%s: %w", c.cfg.Pool, part, err)
	}
	err = librbd.GetImage(c.ioctx, part).Rename(name)
	if errno(err) == syscall.EEXIST {
		c.removeImage(part)
		return c.ours(name, claim, size)
	}
	if err != nil {
		return fmt.Errorf("rbd: rename %s to %s: %w", part, name, err)
	}
	return nil
}

// ours: image name is there, marked with claim, of size bytes;
// ErrNotFound (wrapped) when there is no image.
func (c *Client) ours(name, claim string, size int64) error {
	got, err := c.claimOf(name)
	if err != nil {
		return err
	}
	if got != claim {
		return fmt.Errorf("%w: %s/%s is there and was not made by claim %s", ErrNotClaimed, c.cfg.Pool, name, claim)
	}
	return c.sameSize(name, size)
}

// claimOf is image name's claim ("" for none); ErrNotFound (wrapped)
// when there is no image.
func (c *Client) claimOf(name string) (string, error) {
	img, err := c.open(name)
	if err != nil {
		return "", err
	}
	defer img.Close()
	v, err := img.GetMetadata(claimKey)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("rbd: claim of %s/%s: %w", c.cfg.Pool, name, err)
	}
	return v, nil
}

// Claimed says whether volume id's image is marked with claim (false
// when there is no image, or one not so marked).
func (c *Client) Claimed(ctx context.Context, id, claim string) (bool, error) {
	if err := validID(id); err != nil {
		return false, err
	}
	got, err := c.claimOf(VolumeName(id))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && claim != "" && got == claim, err
}
