//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/ceph/go-ceph/rados"
	librbd "github.com/ceph/go-ceph/rbd"

	"github.com/gostack/gostack/kit/crashpoint"
)

// Available reports whether this build has the Ceph client.
const Available = true

// opTimeout bounds each RADOS operation, in seconds.
const opTimeout = "60"

// Client is a connection to one pool of a cluster, safe for concurrent
// use.
type Client struct {
	cfg   Config
	conn  *rados.Conn
	ioctx *rados.IOContext
	fsid  string
}

// New connects to the cluster and opens the pool.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var conn *rados.Conn
	var err error
	if cfg.User != "" {
		conn, err = rados.NewConnWithClusterAndUser(cfg.ClusterName, "client."+cfg.User)
	} else {
		conn, err = rados.NewConnWithClusterAndUser(cfg.ClusterName, "client.admin")
	}
	if err != nil {
		return nil, fmt.Errorf("rbd: %w", err)
	}
	if cfg.ConfFile != "" {
		err = conn.ReadConfigFile(cfg.ConfFile)
	} else {
		err = conn.ReadDefaultConfigFile()
	}
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rbd: configuration %s: %w", cfg.ConfFile, err)
	}
	if cfg.Keyring != "" {
		if err := conn.SetConfigOption("keyring", cfg.Keyring); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rbd: keyring: %w", err)
		}
	}
	t := strconv.Itoa(max(1, int(cfg.ConnectTimeout.Seconds()+0.5)))
	// librados waits for ever by default on an operation the OSDs or
	// the monitors do not answer (an outage): the agent's sync, and the
	// daemon's shutdown behind it, would wait with it. Each operation is
	// bounded instead (a flatten or an import is many operations).
	for k, v := range map[string]string{"client_mount_timeout": t, "rados_osd_op_timeout": opTimeout, "rados_mon_op_timeout": opTimeout} {
		if err := conn.SetConfigOption(k, v); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rbd: %s: %w", k, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Connect gives up at client_mount_timeout; the connection is
		// shut down then.
		go func() {
			if <-done == nil {
				conn.Shutdown()
			}
		}()
		return nil, fmt.Errorf("rbd: connect: %w", ctx.Err())
	}
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rbd: connect to cluster %s as %s: %w", cfg.ClusterName, userName(cfg.User), err)
	}
	ioctx, err := conn.OpenIOContext(cfg.Pool)
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rbd: pool %s: %w", cfg.Pool, err)
	}
	fsid, err := conn.GetFSID()
	if err != nil {
		ioctx.Destroy()
		conn.Shutdown()
		return nil, fmt.Errorf("rbd: fsid: %w", err)
	}
	if cfg.SecretUUID == "" {
		cfg.SecretUUID = fsid
	}
	return &Client{cfg: cfg, conn: conn, ioctx: ioctx, fsid: fsid}, nil
}

func userName(u string) string {
	if u == "" {
		return "client.admin"
	}
	return "client." + u
}

// Close ends the connection.
func (c *Client) Close() error {
	c.ioctx.Destroy()
	c.conn.Shutdown()
	return nil
}

// Config is the client's configuration with its defaults (and the
// secret uuid the fsid when none was given).
func (c *Client) Config() Config { return c.cfg }

// FSID is the cluster's id.
func (c *Client) FSID() string { return c.fsid }

// errno is a Ceph error's errno (positive), 0 for another error.
func errno(err error) syscall.Errno {
	var ce interface{ ErrorCode() int }
	if errors.As(err, &ce) {
		n := ce.ErrorCode()
		if n < 0 {
			n = -n
		}
		return syscall.Errno(n)
	}
	return 0
}

func isNotFound(err error) bool {
	return errors.Is(err, librbd.ErrNotFound) || errno(err) == syscall.ENOENT
}

// openReadOnly opens image name read-only at snapshot snap (its head
// when snap is librbd.NoSnapshot). A snapshot is set on the open head
// (rbd_snap_set) rather than named to rbd_open_read_only: Debian 12's
// librbd 16.2.15 aborted, segfaulted or hung in rbd_open_read_only of a
// snapshot in about one loaded test run in 14 of the image store, and
// not once in 56 opened this way (docs/operations.md, "A librbd
// crash"). A missing image or snapshot is ENOENT either way.
func openReadOnly(ioctx *rados.IOContext, name, snap string) (*librbd.Image, error) {
	img, err := librbd.OpenImageReadOnly(ioctx, name, librbd.NoSnapshot)
	if err != nil || snap == librbd.NoSnapshot {
		return img, err
	}
	if err := img.SetSnapshot(snap); err != nil {
		img.Close()
		return nil, err
	}
	return img, nil
}

// open opens image name; ErrNotFound (wrapped) when it does not exist.
func (c *Client) open(name string) (*librbd.Image, error) {
	img, err := librbd.OpenImage(c.ioctx, name, librbd.NoSnapshot)
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: image %s/%s", ErrNotFound, c.cfg.Pool, name)
	}
	if err != nil {
		return nil, fmt.Errorf("rbd: open %s/%s: %w", c.cfg.Pool, name, err)
	}
	return img, nil
}

func (c *Client) options() *librbd.ImageOptions {
	o := librbd.NewRbdImageOptions()
	o.SetUint64(librbd.ImageOptionOrder, uint64(c.cfg.order()))
	return o
}

// Create makes volume id's image of size bytes. An image of that size
// already there is no error; one of another size is ErrExists.
func (c *Client) Create(ctx context.Context, id string, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	if size <= 0 {
		return fmt.Errorf("%w: size %d", ErrInvalid, size)
	}
	name := VolumeName(id)
	o := c.options()
	defer o.Destroy()
	err := librbd.CreateImage(c.ioctx, name, uint64(size), o)
	if errno(err) == syscall.EEXIST {
		return c.sameSize(name, size)
	}
	if err != nil {
		return fmt.Errorf("rbd: create %s/%s: %w", c.cfg.Pool, name, err)
	}
	return nil
}

// sameSize: image name exists; it must be of size bytes.
func (c *Client) sameSize(name string, size int64) error {
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	have, err := img.GetSize()
	if err != nil {
		return fmt.Errorf("rbd: size of %s: %w", name, err)
	}
	if int64(have) != size {
		return fmt.Errorf("%w: %s/%s has %d bytes, not %d", ErrExists, c.cfg.Pool, name, have, size)
	}
	return nil
}

// Info describes volume id's image (ErrNotFound when there is none).
func (c *Client) Info(ctx context.Context, id string) (Info, error) {
	if err := validID(id); err != nil {
		return Info{}, err
	}
	return c.info(VolumeName(id))
}

func (c *Client) info(name string) (Info, error) {
	img, err := c.open(name)
	if err != nil {
		return Info{}, err
	}
	defer img.Close()
	in := Info{Name: name}
	size, err := img.GetSize()
	if err != nil {
		return Info{}, fmt.Errorf("rbd: size of %s: %w", name, err)
	}
	in.Size = int64(size)
	if p, err := img.GetParent(); err == nil {
		in.Parent = p.Image.PoolName + "/" + p.Image.ImageName + "@" + p.Snap.SnapName
	} else if !isNotFound(err) {
		return Info{}, fmt.Errorf("rbd: parent of %s: %w", name, err)
	}
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return Info{}, fmt.Errorf("rbd: snapshots of %s: %w", name, err)
	}
	for _, s := range snaps {
		in.Snapshots = append(in.Snapshots, s.Name)
	}
	f, err := img.GetFeatures()
	if err != nil {
		return Info{}, fmt.Errorf("rbd: features of %s: %w", name, err)
	}
	fs := librbd.FeatureSet(f)
	in.Features = fs.Names()
	slices.Sort(in.Features)
	return in, nil
}

// cloneOptions are a clone's options: the cluster's
// rbd_default_features (layering when it has none), as Cinder's RBD
// driver gives each clone, not its parent's — so a clone of a
// multiattach volume that is not multiattach has the exclusive lock
// again.
func (c *Client) cloneOptions() (*librbd.ImageOptions, error) {
	v, err := c.conn.GetConfigOption("rbd_default_features")
	if err != nil {
		return nil, fmt.Errorf("rbd: rbd_default_features: %w", err)
	}
	f, err := parseFeatures(v)
	if err != nil {
		return nil, err
	}
	o := librbd.NewRbdImageOptions()
	o.SetUint64(librbd.ImageOptionFeatures, f)
	return o, nil
}

// parseFeatures reads rbd_default_features, a number or names
// separated by commas; none (0) is layering, as Cinder takes it.
func parseFeatures(v string) (uint64, error) {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		var names []string
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		fs := librbd.FeatureSetFromNames(names)
		if len(fs.Names()) != len(names) {
			return 0, fmt.Errorf("%w: rbd_default_features %q", ErrInvalid, v)
		}
		f = uint64(fs)
	}
	if f == 0 {
		f = librbd.FeatureLayering
	}
	return f, nil
}

// multiattachExclusions are the features Cinder's RBD driver takes off
// a multiattach volume's image (MULTIATTACH_EXCLUSIONS): the exclusive
// lock, which lets one client write at a time, and what needs it.
const multiattachExclusions = librbd.FeatureJournaling | librbd.FeatureFastDiff | librbd.FeatureObjectMap | librbd.FeatureExclusiveLock

// Multiattach readies volume id's image for writers on several hosts
// at once, as Cinder's _enable_multiattach does: the features of
// multiattachExclusions it has are taken off (layering, deep-flatten and
// the others stay). An image without them is no work.
func (c *Client) Multiattach(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return c.updateFeatures(VolumeName(id), false, func(have uint64) uint64 { return have & multiattachExclusions })
}

// updateFeatures turns on (or off) the features of image name that
// change picks from those it has; none picked is no work.
func (c *Client) updateFeatures(name string, on bool, change func(have uint64) uint64) error {
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	f, err := img.GetFeatures()
	if err != nil {
		return fmt.Errorf("rbd: features of %s: %w", name, err)
	}
	if set := change(f); set != 0 {
		if err := img.UpdateFeatures(set, on); err != nil {
			verb, fs := map[bool]string{true: "enable", false: "disable"}[on], librbd.FeatureSet(set)
			return fmt.Errorf("rbd: %s %s on %s/%s: %w", verb, strings.Join(fs.Names(), ","), c.cfg.Pool, name, err)
		}
	}
	return nil
}

// SingleWriter undoes Multiattach, as Cinder's _disable_multiattach does
// when a retype makes a volume no longer multiattach: the features of
// multiattachExclusions the image was made with are put back. Cinder
// reads those from the features it saved in the volume's
// provider_location; here every image, clone or not, is made with the
// cluster's rbd_default_features, so they are those. librbd enables
// the exclusive lock before what needs it; an object map enabled so is
// flagged invalid until rebuilt (rbd object-map rebuild), as after
// Cinder's. An image with them already is no work.
func (c *Client) SingleWriter(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	v, err := c.conn.GetConfigOption("rbd_default_features")
	if err != nil {
		return fmt.Errorf("rbd: rbd_default_features: %w", err)
	}
	def, err := parseFeatures(v)
	if err != nil {
		return err
	}
	return c.updateFeatures(VolumeName(id), true, func(have uint64) uint64 { return def & multiattachExclusions &^ have })
}

// Resize grows volume id's image to size bytes; at that size already it
// is no error, shrinking is ErrInvalid (it would lose data).
func (c *Client) Resize(ctx context.Context, id string, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	return c.grow(VolumeName(id), size)
}

func (c *Client) grow(name string, size int64) error {
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	have, err := img.GetSize()
	if err != nil {
		return fmt.Errorf("rbd: size of %s: %w", name, err)
	}
	switch {
	case int64(have) == size:
		return nil
	case int64(have) > size:
		return fmt.Errorf("%w: %s has %d bytes, more than %d", ErrInvalid, name, have, size)
	}
	if err := img.Resize(uint64(size)); err != nil {
		return fmt.Errorf("rbd: resize %s to %d bytes: %w", name, size, err)
	}
	return nil
}

// CreateSnapshot makes snapshot snapID of volume volID and protects it
// (Cinder's create_snapshot), so volumes can be cloned from it. One that
// exists already is protected if it is not.
func (c *Client) CreateSnapshot(ctx context.Context, volID, snapID string) error {
	if err := validID(volID); err != nil {
		return err
	}
	if err := validID(snapID); err != nil {
		return err
	}
	return c.protectedSnapshot(VolumeName(volID), SnapshotName(snapID))
}

func (c *Client) protectedSnapshot(image, snap string) error {
	img, err := c.open(image)
	if err != nil {
		return err
	}
	defer img.Close()
	s, err := img.CreateSnapshot(snap)
	if errno(err) == syscall.EEXIST {
		s, err = img.GetSnapshot(snap), nil
	}
	if err != nil {
		return fmt.Errorf("rbd: snapshot %s@%s: %w", image, snap, err)
	}
	if ok, err := s.IsProtected(); err != nil {
		return fmt.Errorf("rbd: snapshot %s@%s: %w", image, snap, err)
	} else if ok {
		return nil
	}
	if err := s.Protect(); err != nil && errno(err) != syscall.EBUSY {
		return fmt.Errorf("rbd: protect %s@%s: %w", image, snap, err)
	}
	return nil
}

// RevertVolume rolls volume volID back to its snapshot snapID (Cinder's
// RBD driver's revert_to_snapshot: rbd_snap_rollback), in place: the
// image keeps its name, features, other snapshots and clones. Doing it
// again gives the same data. ErrNotFound (wrapped) when the volume or
// the snapshot is gone.
func (c *Client) RevertVolume(ctx context.Context, volID, snapID string) error {
	if err := validID(volID); err != nil {
		return err
	}
	if err := validID(snapID); err != nil {
		return err
	}
	name, snap := VolumeName(volID), SnapshotName(snapID)
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	if !hasSnapshot(img, snap) {
		return fmt.Errorf("%w: snapshot %s@%s", ErrNotFound, name, snap)
	}
	if err := img.GetSnapshot(snap).Rollback(); err != nil {
		return fmt.Errorf("rbd: roll %s back to %s: %w", name, snap, err)
	}
	return nil
}

// DeleteSnapshot unprotects and removes snapshot snapID of volume volID
// (Cinder's delete_snapshot). A snapshot that has clones is a
// *BusyError naming them (Cinder's SnapshotIsBusy), and is left as it
// was; one that is gone (or whose volume is) is no error.
func (c *Client) DeleteSnapshot(ctx context.Context, volID, snapID string) error {
	if err := validID(volID); err != nil {
		return err
	}
	if err := validID(snapID); err != nil {
		return err
	}
	err := c.removeSnapshot(VolumeName(volID), SnapshotName(snapID))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// removeSnapshot unprotects and removes image@snap: a *BusyError when it
// has clones, ErrNotFound (wrapped) when the image or the snapshot is
// gone.
func (c *Client) removeSnapshot(image, snap string) error {
	img, err := c.open(image)
	if err != nil {
		return err
	}
	defer img.Close()
	if !hasSnapshot(img, snap) {
		return fmt.Errorf("%w: snapshot %s@%s", ErrNotFound, image, snap)
	}
	s := img.GetSnapshot(snap)
	if protected, err := s.IsProtected(); err != nil {
		return fmt.Errorf("rbd: snapshot %s@%s: %w", image, snap, err)
	} else if protected {
		err := s.Unprotect()
		if errno(err) == syscall.EBUSY {
			children, _ := c.children(image, snap)
			return &BusyError{Image: image + "@" + snap, Children: children}
		}
		if err != nil && errno(err) != syscall.EINVAL {
			return fmt.Errorf("rbd: unprotect %s@%s: %w", image, snap, err)
		}
	}
	if err := s.Remove(); err != nil && !isNotFound(err) {
		if errno(err) == syscall.EBUSY {
			children, _ := c.children(image, snap)
			return &BusyError{Image: image + "@" + snap, Children: children}
		}
		return fmt.Errorf("rbd: remove %s@%s: %w", image, snap, err)
	}
	return nil
}

func hasSnapshot(img *librbd.Image, snap string) bool {
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return true // let the operation say what is wrong
	}
	return slices.ContainsFunc(snaps, func(s librbd.SnapInfo) bool { return s.Name == snap })
}

// children are the clones of image@snap, "pool/image".
func (c *Client) children(image, snap string) ([]string, error) {
	img, err := openReadOnly(c.ioctx, image, snap)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	pools, images, err := img.ListChildren()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(images))
	for i := range images {
		out[i] = pools[i] + "/" + images[i]
	}
	return out, nil
}

// CreateFromSnapshot makes volume id, of size bytes, a copy-on-write
// clone of snapshot snapID of volume volID (Cinder's
// create_volume_from_snapshot): flattened when FlattenFromSnapshot says
// so, grown to size. The clone is made as "volume-<id>.partial",
// flattened and grown there, and renamed into place once whole
// (librbd's clone creates the child before it attaches the parent, so a
// kill between the two leaves an empty image with no parent, under the
// half-made name, which the next try removes). An image of the volume
// already there is therefore that clone, whole (or flattened), and what
// is left of the work is done.
func (c *Client) CreateFromSnapshot(ctx context.Context, id, volID, snapID string, size int64) error {
	for _, s := range []string{id, volID, snapID} {
		if err := validID(s); err != nil {
			return err
		}
	}
	name, parent, snap := VolumeName(id), VolumeName(volID), SnapshotName(snapID)
	return c.clone(name, parent, snap, c.cfg.FlattenFromSnapshot, size)
}

// clone makes name, of size bytes, a clone of parent@snap, flattened
// when flatten says so: cloned as "<name>.partial" (one there already,
// what a killed try left, is removed first; one a killed client still
// holds is an ErrLeftover), flattened and grown there, and renamed into
// place once whole. A name that exists is that clone made whole before:
// still a clone of parent@snap, or with no parent when flatten says it
// was flattened; it is flattened (when flatten says so) and grown if it
// must be.
func (c *Client) clone(name, parent, snap string, flatten bool, size int64) error {
	in, err := c.info(name)
	if errors.Is(err, ErrNotFound) {
		part := name + partialSuffix
		if err := c.removeImage(part); err != nil && !errors.Is(err, ErrNotFound) {
			return leftover(err, "a clone left by earlier work")
		}
		// A clone keeps its parent's object size: librbd refuses a
		// smaller one (EINVAL), and a volume cloned from an image
		// (CloneImage) has the image's, 8 MB in Glance's default.
		o, err := c.cloneOptions()
		if err != nil {
			return err
		}
		err = librbd.CloneImage(c.ioctx, parent, snap, c.ioctx, part, o)
		o.Destroy()
		if isNotFound(err) {
			return fmt.Errorf("%w: %s/%s@%s to clone", ErrNotFound, c.cfg.Pool, parent, snap)
		}
		if err != nil {
			return fmt.Errorf("rbd: clone %s@%s to %s: %w", parent, snap, part, err)
		}
		crashpoint.Hit("storage.rbd.cloned")
		if flatten {
			if err := c.flatten(part); err != nil {
				return err
			}
		}
		if err := c.grow(part, size); err != nil {
			return err
		}
		return c.rename(part, name)
	}
	if err != nil {
		return err
	}
	want := c.cfg.Pool + "/" + parent + "@" + snap
	if in.Parent == "" && !flatten {
		return fmt.Errorf("%w: %s/%s is not a clone of %s", ErrExists, c.cfg.Pool, name, want)
	}
	if in.Parent != "" && in.Parent != want {
		return fmt.Errorf("%w: %s/%s is a clone of %s, not of %s", ErrExists, c.cfg.Pool, name, in.Parent, want)
	}
	if in.Parent != "" && flatten {
		if err := c.flatten(name); err != nil {
			return err
		}
	}
	return c.grow(name, size)
}

// Flatten copies into volume id's image what it reads from its parent,
// so it no longer depends on it; an image with no parent is no work.
func (c *Client) Flatten(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return c.flatten(VolumeName(id))
}

func (c *Client) flatten(name string) error {
	img, err := c.open(name)
	if err != nil {
		return err
	}
	defer img.Close()
	if _, err := img.GetParent(); isNotFound(err) {
		return nil
	}
	if err := img.Flatten(); err != nil && errno(err) != syscall.EINVAL {
		return fmt.Errorf("rbd: flatten %s: %w", name, err)
	}
	return nil
}

// Depth is volume id's clone depth as Cinder's _get_clone_depth counts
// it: how many volumes it was cloned from in a chain, each through the
// "<child>.clone_snap" snapshot of its parent (a volume from a user's
// snapshot does not count).
func (c *Client) Depth(ctx context.Context, id string) (int, error) {
	if err := validID(id); err != nil {
		return 0, err
	}
	return c.depth(VolumeName(id))
}

func (c *Client) depth(name string) (int, error) {
	for d := 0; d < 1000; d++ {
		parent, _, err := c.cloneParent(name)
		if err != nil {
			return 0, err
		}
		if parent == "" {
			return d, nil
		}
		name = parent
	}
	return 0, fmt.Errorf("rbd: the clone chain of %s does not end", name)
}

// cloneParent is the volume image name is a clone of through
// "<name>.clone_snap" (Cinder's _get_clone_info): its parent's image
// name and that snapshot; "" when it is not such a clone.
func (c *Client) cloneParent(name string) (parent, snap string, err error) {
	img, err := c.open(name)
	if err != nil {
		return "", "", err
	}
	defer img.Close()
	p, err := img.GetParent()
	if isNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("rbd: parent of %s: %w", name, err)
	}
	base := strings.TrimSuffix(name, deletedSuffix)
	if p.Image.PoolName != c.cfg.Pool || p.Snap.SnapName != base+cloneSnapSuffix {
		return "", "", nil
	}
	return p.Image.ImageName, p.Snap.SnapName, nil
}

// CloneVolume makes volume id, of size bytes, from volume srcID as
// Cinder's create_cloned_volume does: a snapshot
// "volume-<id>.clone_snap" of the source, protected and cloned; when the
// source's clone depth is MaxCloneDepth or more, the new volume is
// flattened and the snapshot removed. A negative MaxCloneDepth makes a
// full copy instead. The volume is grown to size. The clone is made as
// "volume-<id>.partial", flattened and grown there and renamed once
// whole (as CreateFromSnapshot's), so a volume there already is whole.
// Done again, it finishes what is left.
func (c *Client) CloneVolume(ctx context.Context, id, srcID string, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := validID(srcID); err != nil {
		return err
	}
	name, src := VolumeName(id), VolumeName(srcID)
	if c.cfg.MaxCloneDepth < 0 {
		if err := c.copyImage(ctx, src, name); err != nil {
			return err
		}
		return c.grow(name, size)
	}
	snap := name + cloneSnapSuffix
	depth, err := c.depth(src)
	if err != nil {
		return err
	}
	flatten := depth >= c.cfg.MaxCloneDepth
	made := false
	if _, err := c.info(name); errors.Is(err, ErrNotFound) {
		made = true
		if err := c.protectedSnapshot(src, snap); err != nil {
			c.dropCloneSnap(name, src, snap)
			return err
		}
	} else if err != nil {
		return err
	}
	// A volume there already is this clone, whole, flattened when it
	// had to be.
	if err := c.clone(name, src, snap, flatten, size); err != nil {
		if made {
			c.dropCloneSnap(name, src, snap)
		}
		return err
	}
	in, err := c.info(name)
	if err != nil {
		return err
	}
	if in.Parent == "" {
		// Flattened (now or before a crash): the snapshot has no use.
		if err := c.removeSnapshot(src, snap); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// dropCloneSnap removes src@snap, the .clone_snap a clone that failed
// was to be made from, as Cinder's create_cloned_volume does on its
// error path — unless the clone name is there after all. What cannot be
// removed now is left to Sweep.
func (c *Client) dropCloneSnap(name, src, snap string) {
	if _, err := c.info(name); !errors.Is(err, ErrNotFound) {
		return
	}
	c.removeSnapshot(src, snap)
}

// copyImage copies image src to dst through dst.partial, renamed into
// place once whole (a dst there already is the copy).
func (c *Client) copyImage(ctx context.Context, src, dst string) error {
	if _, err := c.info(dst); err == nil || !errors.Is(err, ErrNotFound) {
		return err
	}
	part := dst + partialSuffix
	if err := c.removeImage(part); err != nil && !errors.Is(err, ErrNotFound) {
		return leftover(err, "a copy left by earlier work")
	}
	img, err := c.open(src)
	if err != nil {
		return err
	}
	err = img.Copy(c.ioctx, part)
	img.Close()
	if err != nil {
		return fmt.Errorf("rbd: copy %s to %s: %w", src, dst, err)
	}
	return c.rename(part, dst)
}

func (c *Client) rename(from, to string) error {
	img := librbd.GetImage(c.ioctx, from)
	if err := img.Rename(to); err != nil {
		return fmt.Errorf("rbd: rename %s to %s: %w", from, to, err)
	}
	return nil
}

// removeImage removes an image with no snapshots: a *BusyError when a
// client has it open or it has snapshots, ErrNotFound (wrapped) when it
// is gone.
func (c *Client) removeImage(name string) error {
	err := librbd.RemoveImage(c.ioctx, name)
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("%w: image %s", ErrNotFound, name)
	case errno(err) == syscall.EBUSY || errno(err) == syscall.ENOTEMPTY:
		b := &BusyError{Image: name}
		if img, oerr := c.open(name); oerr == nil {
			b.Watchers = c.otherWatchers(img)
			if snaps, serr := img.GetSnapshotNames(); serr == nil {
				for _, s := range snaps {
					b.Snapshots = append(b.Snapshots, s.Name)
				}
			}
			img.Close()
		}
		return b
	}
	return fmt.Errorf("rbd: remove %s: %w", name, err)
}

// Delete removes volume id's image as Cinder's delete_volume does. A
// volume with snapshots of its own is a *BusyError naming them, one a
// client has open a *BusyError with its watchers (Cinder's
// VolumeIsBusy); both are left as they were. A volume whose clones hold
// it (through its .clone_snap snapshots) is renamed volume-<id>.deleted,
// to be removed with its last clone. A clone's removal removes its
// .clone_snap snapshot on its parent, and a deleted parent nothing holds
// any more, up the chain. A volume that is gone is no error (a
// half-made one is removed). Once the volume's image is gone, what could
// not be removed with it (its half-made copy a killed client still
// holds, its parent's .clone_snap, a deleted parent) is an ErrLeftover:
// the volume is deleted, and Sweep removes the rest later.
func (c *Client) Delete(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	name := VolumeName(id)
	in, err := c.info(name)
	if errors.Is(err, ErrNotFound) {
		if err := c.removeImage(name + partialSuffix); err != nil && !errors.Is(err, ErrNotFound) {
			return leftover(err, "volume "+id+" is deleted; its half-made image is left to the sweep")
		}
		return nil
	}
	if err != nil {
		return err
	}
	var own, cloneSnaps, backupSnaps []string
	for _, s := range in.Snapshots {
		switch {
		case strings.HasSuffix(s, cloneSnapSuffix):
			cloneSnaps = append(cloneSnaps, s)
		case strings.HasSuffix(s, backupSnapSuffix):
			backupSnaps = append(backupSnaps, s)
		default:
			own = append(own, s)
		}
	}
	if len(own) > 0 {
		return &BusyError{Image: name, Snapshots: own}
	}
	// A backup's temporary snapshot a killed agent left: no backup is
	// under way (the volume is being deleted), so it goes.
	for _, s := range backupSnaps {
		if err := c.removeSnapshot(name, s); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	held := false
	for _, s := range cloneSnaps {
		// A .clone_snap no clone uses (flattened, or a crash between the
		// snapshot and the clone) goes.
		err := c.removeSnapshot(name, s)
		if errors.Is(err, ErrBusy) {
			held = true
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	parent, parentSnap, err := c.cloneParent(name)
	if err != nil {
		return err
	}
	if held {
		// Cinder's silent volume: its clones keep it; the last one's
		// delete removes it.
		if ws := c.watchers(name); ws > 0 {
			return &BusyError{Image: name, Watchers: ws}
		}
		return c.rename(name, name+deletedSuffix)
	}
	if err := c.removeImage(name); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if parent != "" {
		return leftover(c.releaseParent(parent, parentSnap), "volume "+id+" is deleted; its parent "+parent+"@"+parentSnap+" is left to the sweep")
	}
	return nil
}

// watchers is how many clients other than this one have image name
// open.
func (c *Client) watchers(name string) int {
	img, err := c.open(name)
	if err != nil {
		return 0
	}
	defer img.Close()
	return c.otherWatchers(img)
}

// otherWatchers counts img's watchers that are not this client (which
// watches what it opens).
func (c *Client) otherWatchers(img *librbd.Image) int {
	ws, err := img.ListWatchers()
	if err != nil {
		return 0
	}
	self := int64(c.conn.GetInstanceID())
	n := 0
	for _, w := range ws {
		if w.Id != self {
			n++
		}
	}
	return n
}

// releaseParent removes parent@snap, a clone's .clone_snap, once the
// clone is gone (Cinder's _delete_clone_parent_refs); a deleted parent
// left with no snapshot is removed, and its own parent released.
func (c *Client) releaseParent(parent, snap string) error {
	for range 1000 {
		if err := c.removeSnapshot(parent, snap); err != nil && !errors.Is(err, ErrNotFound) {
			if errors.Is(err, ErrBusy) {
				return nil // another clone of the same snapshot: it stays
			}
			return err
		}
		if !strings.HasSuffix(parent, deletedSuffix) {
			return nil
		}
		in, err := c.info(parent)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(in.Snapshots) > 0 {
			return nil
		}
		next, nextSnap, err := c.cloneParent(parent)
		if err != nil {
			return err
		}
		if err := c.removeImage(parent); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if next == "" {
			return nil
		}
		parent, snap = next, nextSnap
	}
	return fmt.Errorf("rbd: the clone chain of %s does not end", parent)
}

// List is every image of the pool, classified.
func (c *Client) List(ctx context.Context) ([]Image, error) {
	names, err := librbd.GetImageNames(c.ioctx)
	if err != nil {
		return nil, fmt.Errorf("rbd: list %s: %w", c.cfg.Pool, err)
	}
	slices.Sort(names)
	out := make([]Image, len(names))
	for i, n := range names {
		out[i] = ParseImage(n)
	}
	return out, nil
}

// Sweep removes what work cut short (or failed) left: half-filled
// volumes (volume-<id>.partial), .clone_snap snapshots no clone uses,
// backups' temporary snapshots (.backup_snap), and deleted volumes
// nothing holds any more. It is for when none of the
// backend's work is under way (an agent's start, and between its syncs):
// the pool must be the backend's own. A half-filled volume a client
// still has open (a killed agent's watch, until the OSDs time it out) is
// an ErrLeftover, left for the next sweep.
func (c *Client) Sweep(ctx context.Context) error {
	imgs, err := c.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, im := range imgs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch im.Kind {
		case KindPartial:
			if err := c.removeImage(im.Name); err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, leftover(err, "kept for a later sweep"))
			}
		case KindVolume:
			in, err := c.info(im.Name)
			if err != nil {
				if !errors.Is(err, ErrNotFound) {
					errs = append(errs, err)
				}
				continue
			}
			for _, s := range in.Snapshots {
				if strings.HasSuffix(s, cloneSnapSuffix) || strings.HasSuffix(s, backupSnapSuffix) {
					if err := c.removeSnapshot(im.Name, s); err != nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrNotFound) {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	// Deleted volumes last: a sweep of their clones' snapshots may have
	// freed them.
	for _, im := range imgs {
		if im.Kind != KindDeleted {
			continue
		}
		in, err := c.info(im.Name)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		held := false
		for _, s := range in.Snapshots {
			err := c.removeSnapshot(im.Name, s)
			if errors.Is(err, ErrBusy) {
				held = true
			} else if err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
				held = true
			}
		}
		if held {
			continue
		}
		parent, snap, err := c.cloneParent(im.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := c.removeImage(im.Name); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		if parent != "" {
			if err := c.releaseParent(parent, snap); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// block is the unit Import and Export skip when it is all zeros.
const block = 64 << 10

// Import makes volume id, of size bytes, with the content of the raw
// file at path (its first n bytes; the rest of the volume reads as
// zeros): written into volume-<id>.partial, blocks of zeros skipped so
// the image stays thin, and renamed into place once whole. A volume
// there already is the import done.
func (c *Client) Import(ctx context.Context, id, path string, n, size int64) error {
	if err := validID(id); err != nil {
		return err
	}
	return c.importAs(ctx, VolumeName(id), path, n, size)
}

// importAs is Import into image name.
func (c *Client) importAs(ctx context.Context, name, path string, n, size int64) error {
	if n < 0 || n > size {
		return fmt.Errorf("%w: %d bytes of content for %d", ErrInvalid, n, size)
	}
	if _, err := c.info(name); err == nil || !errors.Is(err, ErrNotFound) {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("rbd: import: %w", err)
	}
	defer f.Close()
	part := name + partialSuffix
	if err := c.removeImage(part); err != nil && !errors.Is(err, ErrNotFound) {
		return leftover(err, "an import left by earlier work")
	}
	o := c.options()
	err = librbd.CreateImage(c.ioctx, part, uint64(size), o)
	o.Destroy()
	if err != nil {
		return fmt.Errorf("rbd: create %s: %w", part, err)
	}
	img, err := c.open(part)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	var off int64
	for off < n {
		if err := ctx.Err(); err != nil {
			img.Close()
			return err
		}
		m, err := io.ReadFull(f, buf[:min(int64(len(buf)), n-off)])
		if err != nil {
			img.Close()
			return fmt.Errorf("rbd: import %s at %d: %w", path, off, err)
		}
		if err := writeNonZero(img, buf[:m], off); err != nil {
			img.Close()
			return fmt.Errorf("rbd: write %s at %d: %w", part, off, err)
		}
		off += int64(m)
	}
	if err := img.Flush(); err != nil {
		img.Close()
		return fmt.Errorf("rbd: flush %s: %w", part, err)
	}
	if err := img.Close(); err != nil {
		return fmt.Errorf("rbd: close %s: %w", part, err)
	}
	return c.rename(part, name)
}

// writeNonZero writes b at off, skipping its all-zero blocks.
func writeNonZero(img *librbd.Image, b []byte, off int64) error {
	for i := 0; i < len(b); {
		j := min(i+block, len(b))
		if isZero(b[i:j]) {
			i = j
			continue
		}
		// Runs of data in one write.
		k := j
		for k < len(b) {
			e := min(k+block, len(b))
			if isZero(b[k:e]) {
				break
			}
			k = e
		}
		if _, err := img.WriteAt(b[i:k], off+int64(i)); err != nil {
			return err
		}
		i = k
	}
	return nil
}

var zeros = make([]byte, block)

func isZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

// Export writes volume id's content to the file at path (made or
// truncated), as a sparse file: blocks of zeros are holes. It returns
// the volume's size.
func (c *Client) Export(ctx context.Context, id, path string) (int64, error) {
	if err := validID(id); err != nil {
		return 0, err
	}
	return c.exportAs(ctx, VolumeName(id), path)
}

// exportAs is Export of image name.
func (c *Client) exportAs(ctx context.Context, name, path string) (int64, error) {
	return c.exportSnap(ctx, name, librbd.NoSnapshot, path)
}

// exportSnap is Export of image name at snapshot snap (its head when
// snap is librbd.NoSnapshot).
func (c *Client) exportSnap(ctx context.Context, name, snap, path string) (int64, error) {
	img, err := openReadOnly(c.ioctx, name, snap)
	if isNotFound(err) {
		if snap != librbd.NoSnapshot {
			name += "@" + snap
		}
		return 0, fmt.Errorf("%w: image %s/%s", ErrNotFound, c.cfg.Pool, name)
	}
	if err != nil {
		return 0, fmt.Errorf("rbd: open %s: %w", name, err)
	}
	defer img.Close()
	size, err := img.GetSize()
	if err != nil {
		return 0, fmt.Errorf("rbd: size of %s: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("rbd: export: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		return 0, fmt.Errorf("rbd: export: %w", err)
	}
	// Only what holds data (the image's and its parents' objects that
	// exist, from the object map when the image has one) is read.
	extents, err := allocated(img, size)
	if err != nil {
		return 0, fmt.Errorf("rbd: extents of %s: %w", name, err)
	}
	buf := make([]byte, 4<<20)
	for _, e := range extents {
		for off, end := int64(e[0]), int64(e[0]+e[1]); off < end; {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			m := min(int64(len(buf)), end-off)
			got, err := img.ReadAt(buf[:m], off)
			if err != nil && err != io.EOF {
				return 0, fmt.Errorf("rbd: read %s at %d: %w", name, off, err)
			}
			if int64(got) < m {
				return 0, fmt.Errorf("rbd: read %s at %d: %d bytes of %d", name, off, got, m)
			}
			for i := int64(0); i < m; i += block {
				j := min(i+block, m)
				if !isZero(buf[i:j]) {
					if _, err := f.WriteAt(buf[i:j], off+i); err != nil {
						return 0, fmt.Errorf("rbd: export: %w", err)
					}
				}
			}
			off += m
		}
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("rbd: export: %w", err)
	}
	return int64(size), f.Close()
}

// allocated are the extents ([offset, length]) of img that may hold data,
// its parents' included, whole objects, in order.
func allocated(img *librbd.Image, size uint64) ([][2]uint64, error) {
	var out [][2]uint64
	err := img.DiffIterate(librbd.DiffIterateConfig{Offset: 0, Length: size, IncludeParent: librbd.IncludeParent,
		WholeObject: librbd.EnableWholeObject, Callback: func(off, n uint64, exists int, _ interface{}) int {
			if exists != 0 {
				if k := len(out) - 1; k >= 0 && out[k][0]+out[k][1] == off {
					out[k][1] += n
				} else {
					out = append(out, [2]uint64{off, n})
				}
			}
			return 0
		}})
	return out, err
}

// monCommand runs a monitor command, JSON in and out.
func (c *Client) monCommand(cmd map[string]any) ([]byte, error) {
	cmd["format"] = "json"
	b, _ := json.Marshal(cmd)
	out, status, err := c.conn.MonCommand(b)
	if err != nil {
		return nil, fmt.Errorf("rbd: %s: %w %s", cmd["prefix"], err, status)
	}
	return out, nil
}

// Capacity is the pool's space by Cinder's arithmetic.
func (c *Client) Capacity(ctx context.Context) (Capacity, error) {
	out, err := c.monCommand(map[string]any{"prefix": "df"})
	if err != nil {
		return Capacity{}, err
	}
	var df struct {
		Stats struct {
			TotalBytes int64 `json:"total_bytes"`
		} `json:"stats"`
		Pools []dfPool `json:"pools"`
	}
	if err := json.Unmarshal(out, &df); err != nil {
		return Capacity{}, fmt.Errorf("rbd: df: %w", err)
	}
	i := slices.IndexFunc(df.Pools, func(p dfPool) bool { return p.Name == c.cfg.Pool })
	if i < 0 {
		return Capacity{}, fmt.Errorf("%w: pool %s is not in df", ErrNotFound, c.cfg.Pool)
	}
	st := df.Pools[i].Stats
	stored := st.BytesUsed
	if st.Stored != nil {
		stored = *st.Stored
	}
	out, err = c.monCommand(map[string]any{"prefix": "osd pool get-quota", "pool": c.cfg.Pool})
	if err != nil {
		return Capacity{}, err
	}
	var q struct {
		MaxBytes int64 `json:"quota_max_bytes"`
	}
	if err := json.Unmarshal(out, &q); err != nil {
		return Capacity{}, fmt.Errorf("rbd: get-quota: %w", err)
	}
	return capacity(stored, st.MaxAvail, df.Stats.TotalBytes, q.MaxBytes), nil
}

// dfPool is a pool of "df" JSON ("stored" since Nautilus, "bytes_used"
// before).
type dfPool struct {
	Name  string `json:"name"`
	Stats struct {
		Stored    *int64 `json:"stored"`
		BytesUsed int64  `json:"bytes_used"`
		MaxAvail  int64  `json:"max_avail"`
	} `json:"stats"`
}

// Monitors are the monitors' hosts and ports, from "mon dump" as
// Cinder's _get_mon_addrs reads it.
func (c *Client) Monitors(ctx context.Context) (hosts, ports []string, err error) {
	out, err := c.monCommand(map[string]any{"prefix": "mon dump"})
	if err != nil {
		return nil, nil, err
	}
	return monAddrs(out)
}

// Connection is volume id's connection info (Cinder's
// initialize_connection), the monitors read now.
func (c *Client) Connection(ctx context.Context, id string) (Connection, error) {
	if err := validID(id); err != nil {
		return Connection{}, err
	}
	hosts, ports, err := c.Monitors(ctx)
	if err != nil {
		return Connection{}, err
	}
	return Connection{Pool: c.cfg.Pool, Image: VolumeName(id), Hosts: hosts, Ports: ports, ClusterName: c.cfg.ClusterName,
		User: c.cfg.User, SecretUUID: c.cfg.SecretUUID, VolumeID: id}, nil
}
