package image

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/fault"
)

// Import methods.
const (
	GlanceDirect = "glance-direct"
	WebDownload  = "web-download"
)

// ImportMethods are the methods this service can run, for
// /v2/info/import and the OpenStack-image-import-methods header.
func (s *Service) ImportMethods() []string {
	var m []string
	if s.Staging != nil {
		m = append(m, GlanceDirect)
	}
	if s.Fetch != nil {
		m = append(m, WebDownload)
	}
	return m
}

// Stage stores data for a later glance-direct import (PUT
// /v2/images/{id}/stage): queued → uploading. The staged stream is
// inspected and bounded like an upload, so a hostile image is refused
// here already. On failure the image is queued again with nothing staged.
func (s *Service) Stage(ctx context.Context, id string, r io.Reader, size int64) (Image, error) {
	if s.Staging == nil {
		return Image{}, &fault.Error{Kind: fault.NotFound, Message: "The glance-direct import method is not enabled."}
	}
	img, err := s.Store.Transition(ctx, id, Uploading, nil)
	if err != nil {
		return Image{}, err
	}
	done, err := s.write(ctx, s.Staging, img, r, size)
	if err == nil {
		// The staged size counts against the byte quota until the import.
		staged := img
		done(&staged)
		staged.Checksum, staged.HashAlgo, staged.HashValue, staged.VirtualSize = "", "", "", nil
		c, cancel := detached(ctx)
		defer cancel()
		img, err = s.Store.Update(c, staged, Uploading)
	}
	if err != nil {
		s.revert(ctx, id, Uploading, s.Staging, false)
		return Image{}, err
	}
	return img, nil
}

// Import starts an import (POST /v2/images/{id}/import) and returns once
// the image is importing; the copy runs in the background and ends with
// the image active, or queued again with its data removed. glance-direct
// takes the staged data (the image must be uploading); web-download
// fetches uri (the image must be queued).
func (s *Service) Import(ctx context.Context, id, method, uri string) (Image, error) {
	var src store.Store
	var obj string
	switch {
	case method == GlanceDirect && s.Staging != nil:
		src, obj = s.Staging, id
	case method == WebDownload && s.Fetch != nil:
		if uri == "" {
			return Image{}, fault.Invalid("method.uri", "web-download needs a uri")
		}
		src, obj = s.Fetch, uri
	case method == GlanceDirect || method == WebDownload:
		return Image{}, fault.Invalid("method.name", "Import method %s is not enabled", method)
	default:
		return Image{}, fault.Invalid("method.name", "Import method %q is not supported", method)
	}
	img, err := s.Store.Get(ctx, id)
	if err != nil {
		return Image{}, err
	}
	want := map[string]Status{GlanceDirect: Uploading, WebDownload: Queued}[method]
	if img.Status != want {
		return Image{}, &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Image %s is %s; %s needs it %s", id, img.Status, method, want)}
	}
	if method == WebDownload {
		if _, err := s.Fetch.Stat(ctx, uri); err != nil && !errors.Is(err, fault.ErrNotImplemented) {
			return Image{}, fault.Invalid("method.uri", "cannot fetch %s: %v", uri, err)
		}
	}
	img, err = s.Store.Transition(ctx, id, Importing, nil)
	if err != nil {
		return Image{}, err
	}
	crashpoint.Hit("image.import.importing")
	s.background(ctx, img, src, obj, method == GlanceDirect)
	return img, nil
}

// background copies object obj of src into the image's data. The copy
// outlives the request that started it and ends early only when Stop is
// called; the image then stays importing for Recover at the next start.
func (s *Service) background(ctx context.Context, img Image, src store.Store, obj string, staged bool) {
	s.wg.Add(1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	if s.stopping == nil {
		s.stopping = map[*context.CancelFunc]bool{}
	}
	s.stopping[&cancel] = true
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		cancel()
	}
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.stopping, &cancel)
			s.mu.Unlock()
			cancel()
		}()
		err := s.copyIn(ctx, img, src, obj, staged)
		switch {
		case err != nil && ctx.Err() != nil:
			s.log().Info("image import stopped by shutdown; the next start resumes or requeues it", "image", img.ID)
		case err != nil:
			s.log().Warn("image import failed", "image", img.ID, "err", err)
		}
	}()
}

// Stop ends the imports running in the background and waits for them:
// their images stay importing, and Recover at the next start resumes a
// glance-direct import from its staged data or puts the image back to
// queued. Imports started after Stop end at once.
func (s *Service) Stop() {
	s.mu.Lock()
	s.stopped = true
	for cancel := range s.stopping {
		(*cancel)()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Service) copyIn(ctx context.Context, img Image, src store.Store, obj string, staged bool) error {
	rc, err := src.Get(ctx, obj, 0, -1)
	if err == nil {
		var done func(*Image)
		done, err = s.write(ctx, s.Data, img, rc, -1)
		rc.Close()
		if err == nil {
			crashpoint.Hit("image.import.stored")
			_, err = s.Store.Transition(ctx, img.ID, Active, withOwnData(done))
		}
	}
	if err != nil {
		if ctx.Err() == nil { // stopped: left for Recover
			s.revert(ctx, img.ID, Importing, s.Data, staged)
		}
		return err
	}
	crashpoint.Hit("image.import.active")
	if staged {
		s.Staging.Delete(ctx, img.ID)
	}
	return nil
}

// Recover makes images consistent after the service stopped in the
// middle of a write: data objects that no image owns any more (an image
// deleted, an upload stored but never recorded, or an image's own data
// whose location a client removed, before the process died) are removed, and so are staged objects of images that are no
// longer uploading or importing; saving images (their uploads died with
// the process) go back to queued; importing images restart a
// glance-direct import when the staged data is there, and otherwise go
// back to queued. Call it once at start, before serving; it is safe with
// other controllers only if they are idle too (one controller per store,
// as the all-in-one runs).
//
// A data store that cannot be reached yet (fault.ErrUnavailable: an RBD
// pool whose cluster the area is still connecting to) is not swept: the
// rest is done, and SweepData sweeps it once it is reachable.
func (s *Service) Recover(ctx context.Context) error {
	if err := s.SweepData(ctx, s.Data); errors.Is(err, fault.ErrUnavailable) {
		s.log().Info("image data store not reachable yet: data no image owns is swept once it is (SweepData)", "err", err)
	} else if err != nil {
		return err
	}
	if s.Staging != nil && s.Staging != s.Data { // one store for both: its objects are data
		staging := func(img Image) bool { return img.Status == Uploading || img.Status == Importing }
		if err := s.sweep(ctx, s.Staging, staging); err != nil {
			return err
		}
	}
	imgs, err := s.Store.InStatus(ctx, Saving, Importing)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if img.Status == Importing && s.Staging != nil {
			if _, err := s.Staging.Stat(ctx, img.ID); err == nil {
				s.log().Info("resuming image import", "image", img.ID)
				s.background(ctx, img, s.Staging, img.ID, true)
				continue
			}
		}
		s.log().Info("image write interrupted by a restart; back to queued", "image", img.ID, "status", img.Status)
		s.revert(ctx, img.ID, img.Status, s.Data, false)
	}
	return nil
}

// SweepData removes from data, the service's data store or the store
// it reaches once connected, the objects no image owns any more (the
// image deleted or not active, or its own data's location removed).
// Recover does it at start; call it for a data store that was
// unavailable then, once it is reachable and before it takes writes.
func (s *Service) SweepData(ctx context.Context, data store.Store) error {
	return s.sweep(ctx, data, func(img Image) bool {
		return (img.Status == Active || img.Status == Deactivated) && img.hasOwnData()
	})
}

// sweep removes the objects of st whose image is gone or that keep does
// not want. Stores that cannot list are left alone.
func (s *Service) sweep(ctx context.Context, st store.Store, keep func(Image) bool) error {
	l, ok := st.(store.Lister)
	if !ok {
		return nil
	}
	ids, err := l.List(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		img, err := s.Store.Get(ctx, id)
		switch {
		case fault.KindOf(err) == fault.NotFound:
		case err != nil:
			return err
		case keep(img):
			continue
		}
		s.log().Info("removing image data no image owns", "object", id)
		err = st.Delete(ctx, id)
		if errors.Is(err, store.ErrInUse) {
			// Held outside (RBD clones of a deleted image's data: a clone
			// made while the image was deleted): the next start tries again.
			s.log().Warn("image data no image owns is in use; left for now", "object", id, "err", err)
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
