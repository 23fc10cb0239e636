//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"context"
	"errors"
	"fmt"

	librbd "github.com/ceph/go-ceph/rbd"
)

// CopyToPool writes volume id's data into the image of the same name in
// pool, another pool of this client's cluster: a migration's copy, made
// already (CreateClaimed by the destination's agent) and marked with
// claim; any other image there is ErrNotClaimed and left alone. Only
// the blocks with data are written (the copy was made empty, and one
// cut short holds the same data), then flushed: done again whole, the
// copy converges. The client's cephx user needs write access to pool.
func (c *Client) CopyToPool(ctx context.Context, id, pool, claim string) error {
	if err := validID(id); err != nil {
		return err
	}
	if pool == "" || pool == c.cfg.Pool || claim == "" {
		return fmt.Errorf("%w: copy to pool %q with claim %q from %s", ErrInvalid, pool, claim, c.cfg.Pool)
	}
	ioctx, err := c.conn.OpenIOContext(pool)
	if err != nil {
		return fmt.Errorf("rbd: open pool %s: %w", pool, err)
	}
	defer ioctx.Destroy()
	name := VolumeName(id)
	dst, err := librbd.OpenImage(ioctx, name, librbd.NoSnapshot)
	if isNotFound(err) {
		return fmt.Errorf("%w: %s/%s", ErrNotFound, pool, name)
	}
	if err != nil {
		return fmt.Errorf("rbd: open %s/%s: %w", pool, name, err)
	}
	defer dst.Close()
	mark, err := dst.GetMetadata(claimKey)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("rbd: claim of %s/%s: %w", pool, name, err)
	}
	if mark != claim {
		return fmt.Errorf("%w: %s/%s was not made by claim %s", ErrNotClaimed, pool, name, claim)
	}
	src, err := openReadOnly(c.ioctx, name, librbd.NoSnapshot)
	if isNotFound(err) {
		return fmt.Errorf("%w: %s/%s", ErrNotFound, c.cfg.Pool, name)
	}
	if err != nil {
		return fmt.Errorf("rbd: open %s/%s: %w", c.cfg.Pool, name, err)
	}
	defer src.Close()
	size, err := src.GetSize()
	if err != nil {
		return fmt.Errorf("rbd: size of %s/%s: %w", c.cfg.Pool, name, err)
	}
	if dsize, err := dst.GetSize(); err != nil || dsize < size {
		return errors.Join(fmt.Errorf("%w: %s/%s is smaller than %s/%s", ErrInvalid, pool, name, c.cfg.Pool, name), err)
	}
	buf := make([]byte, 4<<20)
	for off := uint64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(uint64(len(buf)), size-off)
		for got := uint64(0); got < n; {
			m, err := src.ReadAt(buf[got:n], int64(off+got))
			if err != nil || m <= 0 {
				return fmt.Errorf("rbd: read %s/%s at %d: %v", c.cfg.Pool, name, off+got, err)
			}
			got += uint64(m)
		}
		if err := writeNonZero(dst, buf[:n], int64(off)); err != nil {
			return fmt.Errorf("rbd: write %s/%s at %d: %w", pool, name, off, err)
		}
		off += n
	}
	if err := dst.Flush(); err != nil {
		return fmt.Errorf("rbd: flush %s/%s: %w", pool, name, err)
	}
	return nil
}
