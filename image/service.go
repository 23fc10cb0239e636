package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/fault"
)

// Limits are a project's image quotas, as Glance's unified limits
// image_count_total and image_size_total. A negative value is unlimited.
type Limits struct {
	Count int   // images that are not deleted
	Bytes int64 // data of those images, stored and staged
}

// Unlimited is no quota.
var Unlimited = Limits{Count: -1, Bytes: -1}

// Service is the image service behind the API: records in Store, data in
// Data, staged data (glance-direct) in Staging, with every byte inspected
// (image/format) and hashed (image/store) while it streams.
type Service struct {
	Store   *Store
	Data    store.Store
	Staging store.Store // nil: no stage/import of glance-direct; keep it apart from Data (Recover removes staged objects that no upload needs)
	// Fetch reads web-download URLs; nil disables web-download. Give it
	// an httpstore.Store with an httpstore.GuardedClient: the URL is the
	// user's choice.
	Fetch store.Store
	// External reads the data of images whose locations are http(s)
	// URLs, and the size of a location a client adds; nil refuses such
	// locations. Give it an httpstore.Store with an
	// httpstore.GuardedClient, as Fetch: the URL is the user's choice.
	External store.Store
	// HashAlgo is os_hash_algo (default sha512).
	HashAlgo string
	// MaxImageSize refuses any single image larger than this (Glance's
	// image_size_cap, default 1 TiB); 0 means the default.
	MaxImageSize int64
	// Quota returns a project's limits; nil means unlimited.
	Quota func(project string) Limits
	// AllowFormatMismatch turns off Glance's require_image_format_match:
	// content whose format differs from disk_format is then accepted.
	// Safety checks apply regardless.
	AllowFormatMismatch bool
	Log                 *slog.Logger

	wg       sync.WaitGroup // imports running in the background
	mu       sync.Mutex
	stopping map[*context.CancelFunc]bool // their cancels
	stopped  bool
}

// DefaultMaxImageSize is Glance's image_size_cap.
const DefaultMaxImageSize = 1 << 40

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) limits(project string) Limits {
	if s.Quota == nil {
		return Unlimited
	}
	return s.Quota(project)
}

// CheckCount refuses a new image for project when it already has as many
// as its quota allows (413).
func (s *Service) CheckCount(ctx context.Context, project string) error {
	l := s.limits(project)
	if l.Count < 0 {
		return nil
	}
	n, _, err := s.Store.Usage(ctx, project)
	if err != nil {
		return err
	}
	if n >= l.Count {
		return &fault.Error{Kind: fault.TooLarge, Message: fmt.Sprintf("Quota exceeded: project %s has %d of %d images (image_count_total)", project, n, l.Count)}
	}
	return nil
}

// maxSize is the most bytes img may take: the size cap, and what is left
// of its owner's byte quota.
func (s *Service) maxSize(ctx context.Context, img Image) (int64, bool, error) {
	max := s.MaxImageSize
	if max <= 0 {
		max = DefaultMaxImageSize
	}
	l := s.limits(img.Owner)
	if l.Bytes < 0 {
		return max, false, nil
	}
	_, used, err := s.Store.Usage(ctx, img.Owner)
	if err != nil {
		return 0, false, err
	}
	if img.Size != nil {
		used -= *img.Size // staged data being imported is this image's own
	}
	if left := l.Bytes - used; left < max {
		if left < 0 {
			left = 0
		}
		return left, true, nil
	}
	return max, false, nil
}

func quotaError(img Image, l Limits) error {
	return &fault.Error{Kind: fault.TooLarge, Message: fmt.Sprintf("Quota exceeded: image data would take project %s over its %d bytes (image_size_total)", img.Owner, l.Bytes)}
}

// detached is a context for cleaning up after the request's own context
// ended (a client that hung up still leaves a consistent image).
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// Upload stores an image's data (PUT /v2/images/{id}/file): queued →
// saving, the stream inspected, hashed and bounded by the size cap and
// quota as it is written, then saving → active with size, virtual size
// and hashes. size is the size the client announced, or -1. On any
// failure — a refused image, a format mismatch, quota, the client going
// away — the data is removed and the image is queued again.
func (s *Service) Upload(ctx context.Context, id string, r io.Reader, size int64) (Image, error) {
	img, err := s.Store.Transition(ctx, id, Saving, nil)
	if err != nil {
		return Image{}, err
	}
	crashpoint.Hit("image.upload.saving")
	done, err := s.write(ctx, s.Data, img, r, size)
	if err != nil {
		s.revert(ctx, id, Saving, s.Data, false)
		return Image{}, err
	}
	crashpoint.Hit("image.upload.stored")
	// The client may hang up after the last byte: finish regardless.
	c, cancel := detached(ctx)
	defer cancel()
	img, err = s.Store.Transition(c, id, Active, withOwnData(done))
	if err != nil {
		k := fault.KindOf(err)
		if k == fault.Conflict || k == fault.NotFound {
			s.Data.Delete(c, id)
			return Image{}, &fault.Error{Kind: fault.Gone, Message: fmt.Sprintf("Image %s could not be found after upload. The image may have been deleted during the upload.", id), Err: err}
		}
		s.revert(ctx, id, Saving, s.Data, false)
		return Image{}, err
	}
	return img, nil
}

// write streams r into dst as object img.ID through the inspector and
// digest, and returns the change that records the result on the image.
func (s *Service) write(ctx context.Context, dst store.Store, img Image, r io.Reader, size int64) (func(*Image), error) {
	max, byQuota, err := s.maxSize(ctx, img)
	if err != nil {
		return nil, err
	}
	if byQuota && max <= 0 {
		return nil, quotaError(img, s.limits(img.Owner))
	}
	in := format.NewInspector()
	obj, err := dst.Put(ctx, img.ID, r, store.PutOptions{
		MaxSize: max, Size: size, SizeKnown: size >= 0, HashAlgo: s.HashAlgo, Tee: in,
	})
	if errors.Is(err, store.ErrTooLarge) && byQuota {
		return nil, quotaError(img, s.limits(img.Owner))
	}
	if errors.Is(err, store.ErrTooLarge) {
		return nil, &fault.Error{Kind: fault.TooLarge, Message: fmt.Sprintf("Image exceeds the storage quota: at most %d bytes", max), Err: err}
	}
	if err != nil {
		return nil, err
	}
	res, err := in.Result()
	if err == nil {
		err = s.matches(img, res)
	}
	if err != nil {
		c, cancel := detached(ctx)
		defer cancel()
		dst.Delete(c, img.ID)
		return nil, err
	}
	virtual := res.VirtualSize
	if res.Format != img.DiskFormat {
		virtual = obj.Size // Glance records the size when the content is richer than declared raw
	}
	return func(i *Image) {
		i.Size, i.VirtualSize = &obj.Size, &virtual
		i.Checksum, i.HashAlgo, i.HashValue = obj.Checksum, obj.HashAlgo, obj.HashValue
	}, nil
}

// matches is Glance's format rule for bare images; content in another
// container (ova, docker...) is not a disk image, but it still had to
// pass the safety checks.
func (s *Service) matches(img Image, res format.Result) error {
	if img.ContainerFormat != "bare" || s.AllowFormatMismatch {
		return nil
	}
	warn, err := format.Matches(img.DiskFormat, res)
	if err != nil {
		return fault.Invalid("disk_format", "Image content does not match disk_format %s: the data is %s", img.DiskFormat, res.Format)
	}
	if warn {
		s.log().Warn("image declared raw holds another format", "image", img.ID, "format", res.Format)
	}
	return nil
}

// revert puts an image back to queued after a failed write, removing
// whatever data it has (staged data too when staged is set).
func (s *Service) revert(ctx context.Context, id string, from Status, data store.Store, staged bool) {
	c, cancel := detached(ctx)
	defer cancel()
	if data != nil {
		switch err := data.Delete(c, id); {
		case err == nil || errors.Is(err, store.ErrNotFound):
		case errors.Is(err, fault.ErrUnavailable):
			// A store not reached yet (an RBD cluster the area is still
			// connecting to) took no data either; what it might hold is
			// swept once it is reached (SweepData).
			s.log().Debug("image data store not reachable: nothing to remove", "image", id)
		default:
			s.log().Warn("image data left after a failed write", "image", id, "err", err)
		}
	}
	if staged && s.Staging != nil {
		s.Staging.Delete(c, id)
	}
	img, err := s.Store.Get(c, id)
	if err != nil || img.Status != from {
		return // deleted meanwhile, or someone else moved it
	}
	if _, err := s.Store.Transition(c, id, Queued, nil); err != nil {
		s.log().Warn("image not returned to queued", "image", id, "err", err)
	}
}

// Download returns length bytes of an image's data from offset (length
// < 0: to the end), read from its first location that answers (its own
// data in the data store, or an http(s) URL through External). Only
// active images have data to read; deactivated ones are refused unless
// admin is set.
func (s *Service) Download(ctx context.Context, img Image, offset, length int64, admin bool) (io.ReadCloser, error) {
	switch {
	case img.Status == Deactivated && !admin:
		return nil, &fault.Error{Kind: fault.Forbidden, Message: "The requested image has been deactivated. Image data download is prohibited."}
	case img.Status != Active && img.Status != Deactivated:
		return nil, nil // Glance answers 204: no data
	}
	locs := img.DataLocations()
	if len(locs) == 1 && locs[0].Local {
		return s.Data.Get(ctx, img.ID, offset, length)
	}
	var last error
	for _, l := range locs {
		rc, err := s.open(ctx, img, l, offset, length)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		s.log().Warn("image data not read from one of its locations", "image", img.ID, "url", redacted(s.LocationURL(img.ID, l)), "err", err)
		last = err
	}
	if errors.Is(last, store.ErrNotFound) {
		return nil, &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("The data of image %s was not found at any of its locations.", img.ID), Err: last}
	}
	return nil, &fault.Error{Kind: fault.Unavailable, Message: "Remote server where the image is present is unavailable.", Err: last}
}

// open reads from one location; a remote one must give exactly the bytes
// asked for (the image's size is known): fewer is an error, more are cut.
func (s *Service) open(ctx context.Context, img Image, l Location, offset, length int64) (io.ReadCloser, error) {
	if l.Local {
		return s.Data.Get(ctx, img.ID, offset, length)
	}
	if s.External == nil {
		return nil, fmt.Errorf("image: no store reads http(s) locations: %w", fault.ErrUnavailable)
	}
	rc, err := s.External.Get(ctx, l.URL, offset, length)
	if err != nil || img.Size == nil {
		return rc, err
	}
	want := length
	if want < 0 {
		want = *img.Size - offset
	}
	return &exact{r: io.LimitReader(rc, want), c: rc, left: want}, nil
}

// exact reads exactly left bytes, or fails with io.ErrUnexpectedEOF: a
// remote copy that is shorter than the image never passes for it.
type exact struct {
	r    io.Reader
	c    io.Closer
	left int64
}

func (e *exact) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (e *exact) Close() error { return e.c.Close() }

// redacted is a URL fit for logs: without its password.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Delete marks the image deleted and removes its data.
// Data another holds (store.Holder: an RBD image's clones) is Glance's
// 409, and the image stays.
func (s *Service) Delete(ctx context.Context, id string) error {
	if h, ok := s.Data.(store.Holder); ok {
		if err := h.InUse(ctx, id); errors.Is(err, store.ErrInUse) {
			return fault.New(fault.Conflict, "Image %s could not be deleted because it is in use: The image cannot be deleted because it is in use through the backend store outside of Glance.", id)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if _, err := s.Store.Delete(ctx, id); err != nil {
		return err
	}
	crashpoint.Hit("image.delete.marked")
	c, cancel := detached(ctx)
	defer cancel()
	for _, st := range []store.Store{s.Data, s.Staging} {
		if st == nil {
			continue
		}
		if err := st.Delete(c, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log().Warn("image data not removed", "image", id, "err", err)
		}
	}
	return nil
}

// Wait waits for background imports to finish.
func (s *Service) Wait() { s.wg.Wait() }
