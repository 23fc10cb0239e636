//go:build cgo && (pacific || quincy || reef || squid)

package rbdstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/ceph/go-ceph/rados"
	librbd "github.com/ceph/go-ceph/rbd"

	"github.com/gostack/gostack/image/store"
)

// Available reports whether this build has the Ceph client.
const Available = true

// opTimeout bounds each RADOS operation, in seconds (an outage fails
// the operation instead of freezing it).
const opTimeout = "60"

// Store keeps image data in an RBD pool; safe for concurrent use.
type Store struct {
	cfg   Config
	conn  *rados.Conn
	ioctx *rados.IOContext
	fsid  string
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Lister  = (*Store)(nil)
	_ store.Locator = (*Store)(nil)
	_ store.Holder  = (*Store)(nil)
)

// Open connects to the cluster and opens the images pool.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	user := "admin"
	if cfg.User != "" {
		user = cfg.User
	}
	conn, err := rados.NewConnWithUser(user)
	if err != nil {
		return nil, fmt.Errorf("rbdstore: %w", err)
	}
	fail := func(format string, args ...any) (*Store, error) {
		conn.Shutdown()
		return nil, fmt.Errorf(format, args...)
	}
	if cfg.ConfFile != "" {
		err = conn.ReadConfigFile(cfg.ConfFile)
	} else {
		err = conn.ReadDefaultConfigFile()
	}
	if err != nil {
		return fail("rbdstore: configuration %s: %w", cfg.ConfFile, err)
	}
	opts := map[string]string{"client_mount_timeout": strconv.Itoa(max(1, int(cfg.ConnectTimeout.Seconds()+0.5))),
		"rados_osd_op_timeout": opTimeout, "rados_mon_op_timeout": opTimeout}
	if cfg.Keyring != "" {
		opts["keyring"] = cfg.Keyring
	}
	for k, v := range opts {
		if err := conn.SetConfigOption(k, v); err != nil {
			return fail("rbdstore: %s: %w", k, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				conn.Shutdown()
			}
		}()
		return nil, fmt.Errorf("rbdstore: connect: %w", ctx.Err())
	}
	if err != nil {
		return fail("rbdstore: connect as client.%s: %w", user, err)
	}
	ioctx, err := conn.OpenIOContext(cfg.Pool)
	if err != nil {
		return fail("rbdstore: pool %s: %w", cfg.Pool, err)
	}
	fsid, err := conn.GetFSID()
	if err != nil {
		ioctx.Destroy()
		return fail("rbdstore: fsid: %w", err)
	}
	return &Store{cfg: cfg, conn: conn, ioctx: ioctx, fsid: fsid}, nil
}

// Close ends the connection.
func (s *Store) Close() error {
	s.ioctx.Destroy()
	s.conn.Shutdown()
	return nil
}

// FSID is the cluster's id.
func (s *Store) FSID() string { return s.fsid }

// Pool is the images pool.
func (s *Store) Pool() string { return s.cfg.Pool }

// URL is image id's location, rbd://<fsid>/<pool>/<id>/snap.
func (s *Store) URL(id string) string { return Location(s.fsid, s.cfg.Pool, id) }

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

// openSnapshot opens image id read-only at its snapshot "snap": at its
// head, then the snapshot set. librbd 16.2.15's rbd_open_read_only with
// the snapshot's name aborted, segfaulted or hung in 20 of 367 loaded
// runs of this package's tests (5 of 71 with the test cluster's start
// as now); opened so, in none of 56 (docs/operations.md, "A librbd
// crash").
func (s *Store) openSnapshot(id string) (*librbd.Image, error) {
	img, err := librbd.OpenImageReadOnly(s.ioctx, id, librbd.NoSnapshot)
	if err != nil {
		return nil, err
	}
	if err := img.SetSnapshot(Snapshot); err != nil {
		img.Close()
		return nil, err
	}
	return img, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, librbd.ErrNotFound) || errno(err) == syscall.ENOENT
}

func check(id string) error {
	if !isID(id) {
		return fmt.Errorf("%w: %q", store.ErrBadID, id)
	}
	return nil
}

// Put writes r into <id>.uploading, thin (blocks of zeros are not
// written), makes and protects its snapshot "snap", and renames it to
// <id>. An image <id> there already is replaced unless clones hold it
// (store.ErrInUse). On any error nothing of the upload is left.
func (s *Store) Put(ctx context.Context, id string, r io.Reader, opts store.PutOptions) (store.Object, error) {
	if err := check(id); err != nil {
		return store.Object{}, err
	}
	part := id + uploadSuffix
	if err := s.remove(part); err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Object{}, err
	}
	size := int64(0)
	if opts.SizeKnown && opts.Size > 0 && (opts.MaxSize == 0 || opts.Size <= opts.MaxSize) {
		size = opts.Size
	}
	o := librbd.NewRbdImageOptions()
	o.SetUint64(librbd.ImageOptionOrder, uint64(s.cfg.order()))
	err := librbd.CreateImage(s.ioctx, part, uint64(size), o)
	o.Destroy()
	if err != nil {
		return store.Object{}, fmt.Errorf("rbdstore: create %s/%s: %w", s.cfg.Pool, part, err)
	}
	obj, err := s.fill(ctx, part, size, r, opts)
	if err == nil {
		err = s.finish(part, id)
	}
	if err != nil {
		if rerr := s.remove(part); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
			err = errors.Join(err, rerr)
		}
		return store.Object{}, err
	}
	return obj, nil
}

// fill writes r into image part, created with size bytes, and leaves it
// at the size written.
func (s *Store) fill(ctx context.Context, part string, size int64, r io.Reader, opts store.PutOptions) (store.Object, error) {
	img, err := librbd.OpenImage(s.ioctx, part, librbd.NoSnapshot)
	if err != nil {
		return store.Object{}, fmt.Errorf("rbdstore: open %s: %w", part, err)
	}
	w := &writer{img: img, size: size, grow: int64(s.cfg.ChunkSizeMB) << 20 * 16}
	obj, err := store.Copy(ctx, w, r, opts)
	if err == nil && w.size != obj.Size {
		if rerr := img.Resize(uint64(obj.Size)); rerr != nil {
			err = fmt.Errorf("rbdstore: resize %s: %w", part, rerr)
		}
	}
	if err == nil {
		if ferr := img.Flush(); ferr != nil {
			err = fmt.Errorf("rbdstore: flush %s: %w", part, ferr)
		}
	}
	if cerr := img.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rbdstore: close %s: %w", part, cerr)
	}
	return obj, err
}

// finish snapshots and protects part and renames it to id, replacing
// an image there already.
func (s *Store) finish(part, id string) error {
	img, err := librbd.OpenImage(s.ioctx, part, librbd.NoSnapshot)
	if err != nil {
		return fmt.Errorf("rbdstore: open %s: %w", part, err)
	}
	snap, err := img.CreateSnapshot(Snapshot)
	if err == nil {
		err = snap.Protect()
	}
	img.Close()
	if err != nil {
		return fmt.Errorf("rbdstore: snapshot %s@%s: %w", part, Snapshot, err)
	}
	if err := s.remove(id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := librbd.GetImage(s.ioctx, part).Rename(id); err != nil {
		return fmt.Errorf("rbdstore: rename %s to %s: %w", part, id, err)
	}
	return nil
}

// writer writes a stream sequentially into an image, growing it as
// needed and skipping blocks of zeros.
type writer struct {
	img  *librbd.Image
	off  int64
	size int64 // the image's size now
	grow int64 // the least it grows by
}

// block is the unit a Put skips when it is all zeros.
const block = 64 << 10

var zeros = make([]byte, block)

func (w *writer) Write(p []byte) (int, error) {
	if end := w.off + int64(len(p)); end > w.size {
		n := max(end, w.size+w.grow, 2*w.size)
		if err := w.img.Resize(uint64(n)); err != nil {
			return 0, fmt.Errorf("rbdstore: resize to %d: %w", n, err)
		}
		w.size = n
	}
	for i := 0; i < len(p); {
		j := min(i+block, len(p))
		if bytes.Equal(p[i:j], zeros[:j-i]) {
			i = j
			continue
		}
		k := j // a run of data in one write
		for k < len(p) {
			e := min(k+block, len(p))
			if bytes.Equal(p[k:e], zeros[:e-k]) {
				break
			}
			k = e
		}
		if _, err := w.img.WriteAt(p[i:k], w.off+int64(i)); err != nil {
			return 0, fmt.Errorf("rbdstore: write at %d: %w", w.off+int64(i), err)
		}
		i = k
	}
	w.off += int64(len(p))
	return len(p), nil
}

// Get reads the snapshot "snap" of image id, length bytes from offset
// (length < 0: to the end).
func (s *Store) Get(_ context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	if err := check(id); err != nil {
		return nil, err
	}
	img, err := s.openSnapshot(id)
	if isNotFound(err) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("rbdstore: open %s@%s: %w", id, Snapshot, err)
	}
	n, err := img.GetSize()
	if err != nil {
		img.Close()
		return nil, fmt.Errorf("rbdstore: size of %s: %w", id, err)
	}
	size := int64(n)
	if offset < 0 || offset > size || (offset == size && size > 0 && length != 0) {
		img.Close()
		return nil, store.ErrRange
	}
	if length < 0 || offset+length > size {
		length = size - offset
	}
	// Reads of readAhead bytes: librbd reads the objects of one read
	// in parallel, where a copy's 32 KiB reads would each wait for an
	// OSD round trip.
	r := io.NewSectionReader(img, offset, length)
	return &section{bufio.NewReaderSize(r, int(min(readAhead, max(length, 16)))), img}, nil
}

// readAhead is the size of Get's reads from the cluster.
const readAhead = 4 << 20

type section struct {
	*bufio.Reader
	img *librbd.Image
}

func (s *section) Close() error { return s.img.Close() }

// Stat is image id's size.
func (s *Store) Stat(_ context.Context, id string) (int64, error) {
	if err := check(id); err != nil {
		return 0, err
	}
	img, err := s.openSnapshot(id)
	if isNotFound(err) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("rbdstore: open %s@%s: %w", id, Snapshot, err)
	}
	defer img.Close()
	n, err := img.GetSize()
	if err != nil {
		return 0, fmt.Errorf("rbdstore: size of %s: %w", id, err)
	}
	return int64(n), nil
}

// InUse is store.ErrInUse when clones hold image id's snapshot.
func (s *Store) InUse(_ context.Context, id string) error {
	if err := check(id); err != nil {
		return err
	}
	img, err := s.openSnapshot(id)
	if isNotFound(err) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("rbdstore: open %s@%s: %w", id, Snapshot, err)
	}
	defer img.Close()
	pools, images, err := img.ListChildren()
	if err != nil {
		return fmt.Errorf("rbdstore: clones of %s@%s: %w", id, Snapshot, err)
	}
	if len(images) > 0 {
		children := make([]string, len(images))
		for i := range images {
			children[i] = pools[i] + "/" + images[i]
		}
		return fmt.Errorf("%w: %s@%s has clones %s", store.ErrInUse, id, Snapshot, strings.Join(children, ", "))
	}
	return nil
}

// Delete unprotects and removes image id's snapshot and the image, as
// Glance's rbd store does: store.ErrInUse, and nothing changed, while
// clones hold the snapshot or a client has the image open.
func (s *Store) Delete(_ context.Context, id string) error {
	if err := check(id); err != nil {
		return err
	}
	return s.remove(id)
}

// remove removes image name and its snapshot.
func (s *Store) remove(name string) error {
	img, err := librbd.OpenImage(s.ioctx, name, librbd.NoSnapshot)
	if isNotFound(err) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("rbdstore: open %s: %w", name, err)
	}
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		img.Close()
		return fmt.Errorf("rbdstore: snapshots of %s: %w", name, err)
	}
	for _, si := range snaps {
		sn := img.GetSnapshot(si.Name)
		if p, err := sn.IsProtected(); err == nil && p {
			if err := sn.Unprotect(); errno(err) == syscall.EBUSY {
				img.Close()
				return fmt.Errorf("%w: %s@%s has clones", store.ErrInUse, name, si.Name)
			} else if err != nil {
				img.Close()
				return fmt.Errorf("rbdstore: unprotect %s@%s: %w", name, si.Name, err)
			}
		}
		if err := sn.Remove(); err != nil && !isNotFound(err) {
			img.Close()
			return fmt.Errorf("rbdstore: remove %s@%s: %w", name, si.Name, err)
		}
	}
	img.Close()
	err = librbd.RemoveImage(s.ioctx, name)
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return store.ErrNotFound
	case errno(err) == syscall.EBUSY:
		return fmt.Errorf("%w: %s is open", store.ErrInUse, name)
	}
	return fmt.Errorf("rbdstore: remove %s: %w", name, err)
}

// List is the ids of the pool's images: the names that are image ids
// (UUIDs), so that the image service's sweep of data no image owns never
// meets an RBD image of another kind (a volume, in a pool shared by
// mistake). Uploads under way are left out.
func (s *Store) List(context.Context) ([]string, error) {
	names, err := librbd.GetImageNames(s.ioctx)
	if err != nil {
		return nil, fmt.Errorf("rbdstore: list %s: %w", s.cfg.Pool, err)
	}
	var ids []string
	for _, n := range names {
		if uuidName.MatchString(n) {
			ids = append(ids, n)
		}
	}
	return ids, nil
}

var uuidName = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Clean removes the uploads (<id>.uploading) a crash left. Call it at
// start, before any Put.
func (s *Store) Clean(context.Context) error {
	names, err := librbd.GetImageNames(s.ioctx)
	if err != nil {
		return fmt.Errorf("rbdstore: list %s: %w", s.cfg.Pool, err)
	}
	var errs []error
	for _, n := range names {
		if id, ok := strings.CutSuffix(n, uploadSuffix); ok && validID.MatchString(id) {
			if err := s.remove(n); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
