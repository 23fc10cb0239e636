package rbdstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// The image service on the RBD store: an upload's location is
// rbd://fsid/images/<id>/snap, its data reads back; while a clone holds
// the snapshot the image's delete is Glance's 409 and nothing changes;
// data no image owns is left while clones hold it, and removed at the
// next start once they are gone.
func TestImageService(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		t.Fatal(err)
	}
	svc := &image.Service{Store: image.NewStore(db, watch.New(db)), Data: s, Staging: &store.Filesystem{Dir: filepath.Join(dir, "staging")}}
	img, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	b := data(3 * mib)
	start := time.Now()
	img, err = svc.Upload(ctx, img.ID, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upload of 3 MiB to RBD: %v", time.Since(start))
	if img.Status != image.Active || len(img.Locations) != 1 {
		t.Fatalf("after upload: %s, %+v", img.Status, img.Locations)
	}
	if u := svc.LocationURL(img.ID, img.Locations[0]); u != "rbd://"+c.FSID+"/images/"+img.ID+"/snap" {
		t.Fatalf("location %s", u)
	}
	rc, err := svc.Download(ctx, img, 0, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	clone := "volumes/volume-" + uuid.NewString()
	if out, err := c.RBD(ctx, "clone", "images/"+img.ID+"@snap", clone); err != nil {
		t.Fatalf("rbd clone: %s %v", out, err)
	}
	err = svc.Delete(ctx, img.ID)
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(fault.Message(err), "could not be deleted because it is in use") {
		t.Fatalf("delete while cloned: %v", err)
	}
	if after, err := svc.Store.Get(ctx, img.ID); err != nil || after.Status != image.Active {
		t.Fatalf("after the refused delete: %v %v", after.Status, err)
	}
	// Data no image owns that clones hold (the record deleted while a
	// clone was made) does not stop a start; once released, a start
	// removes it.
	if _, err := svc.Store.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(ctx); err != nil {
		t.Fatalf("a start with held data no image owns: %v", err)
	}
	if _, err := s.Stat(ctx, img.ID); err != nil {
		t.Fatalf("the held data after a start: %v", err)
	}
	if out, err := c.RBD(ctx, "rm", clone); err != nil {
		t.Fatalf("rbd rm: %s %v", out, err)
	}
	if err := svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, img.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the RBD image after a start: %v", err)
	}
	// An image nothing holds: its delete removes the RBD image at once.
	free, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Upload(ctx, free.ID, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, free.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, free.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the RBD image after the image's delete: %v", err)
	}
}
