package image_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// fakeRemote is an External store over a map of URLs, recording every
// call; it refuses writes and deletes, as httpstore does.
type fakeRemote struct {
	mu    sync.Mutex
	data  map[string][]byte
	calls []string
}

func (f *fakeRemote) note(op, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+id)
}

func (f *fakeRemote) Get(_ context.Context, id string, off, n int64) (io.ReadCloser, error) {
	f.note("get", id)
	d, ok := f.data[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	d = d[off:]
	if n >= 0 {
		d = d[:n]
	}
	return io.NopCloser(bytes.NewReader(d)), nil
}

func (f *fakeRemote) Stat(_ context.Context, id string) (int64, error) {
	f.note("stat", id)
	d, ok := f.data[id]
	if !ok {
		return 0, store.ErrNotFound
	}
	return int64(len(d)), nil
}

func (f *fakeRemote) Put(_ context.Context, id string, _ io.Reader, _ store.PutOptions) (store.Object, error) {
	f.note("put", id)
	return store.Object{}, store.ErrReadOnly
}

func (f *fakeRemote) Delete(_ context.Context, id string) error {
	f.note("delete", id)
	return store.ErrReadOnly
}

// Locations are kept with the image on both engines: order, metadata
// (nested objects and lists of strings), the own-data marker; the store
// refuses what Glance's store would not keep, and more than Caps allows.
func TestLocationsStored(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t, e.DSN)
			s.Caps.Locations = 2
			img, err := s.Create(ctx, image.Image{ID: "loc", Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare"})
			if err != nil {
				t.Fatal(err)
			}
			img.Locations = []image.Location{
				{URL: "http://mirror/a.img", Metadata: map[string]any{"store": "web", "tags": []any{"x", "y"}, "nested": map[string]any{"k": "v"}}},
				{Local: true, Metadata: map[string]any{}},
			}
			img.Status = image.Active
			if _, err := s.Update(ctx, img, image.Queued); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "loc")
			if err != nil || !reflect.DeepEqual(got.Locations, img.Locations) {
				t.Fatalf("stored %+v, read %+v (%v)", img.Locations, got.Locations, err)
			}
			for name, bad := range map[string][]image.Location{
				"over the cap":      append(slices.Clone(img.Locations), image.Location{URL: "http://mirror/b.img"}),
				"no URL":            {{URL: ""}},
				"own data with URL": {{Local: true, URL: "file:///x"}},
				"number metadata":   {{URL: "http://m/a", Metadata: map[string]any{"n": 1.0}}},
				"boolean in a list": {{URL: "http://m/a", Metadata: map[string]any{"l": []any{true}}}},
				"huge metadata":     {{URL: "http://m/a", Metadata: map[string]any{"k": strings.Repeat("v", image.MaxValueLength)}}},
			} {
				t.Run(name, func(t *testing.T) {
					next := got
					next.Locations = bad
					if _, err := s.Update(ctx, next, image.Active); err == nil {
						t.Fatalf("stored %+v", bad)
					}
					if after, _ := s.Get(ctx, "loc"); !reflect.DeepEqual(after.Locations, img.Locations) {
						t.Fatalf("a refused update changed the locations: %+v", after.Locations)
					}
				})
			}
		})
	}
}

// Images that had data before locations were kept get their own data as
// their one location; queued images get none.
func TestLocationsMigration(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, e.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			m := image.Migrations()
			old := fstest.MapFS{}
			for _, name := range []string{"0001_images.sql", "0002_list_order.sql", "0003_metadefs.sql"} {
				b, err := fs.ReadFile(m.FS, "migrations/"+name)
				if err != nil {
					t.Fatal(err)
				}
				old["migrations/"+name] = &fstest.MapFile{Data: b}
			}
			if err := db.Migrate(ctx, watch.Migrations(), sqlstore.Migrations{Area: "image", FS: old, Dir: "migrations"}); err != nil {
				t.Fatal(err)
			}
			for id, st := range map[string]string{"a": "active", "d": "deactivated", "q": "queued", "x": "deleted"} {
				if _, err := db.Exec(ctx, `INSERT INTO image_images (id, status, visibility, owner, created_at, updated_at) VALUES (?, ?, 'shared', 'p1', 1, 1)`, id, st); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(ctx, watch.Migrations(), m); err != nil {
				t.Fatal(err)
			}
			s := image.NewStore(db, watch.New(db))
			own := []image.Location{{Local: true, Metadata: map[string]any{}}}
			for id, want := range map[string][]image.Location{"a": own, "d": own, "q": nil, "x": nil} {
				img, err := s.Get(ctx, id)
				if err != nil || !reflect.DeepEqual(img.Locations, want) {
					t.Errorf("%s: %+v, want %+v (%v)", id, img.Locations, want, err)
				}
			}
		})
	}
}

// An image whose data is only remote: served from there, deleted
// without a write to the remote store; the own data of an image whose
// own location was removed is swept at the next start, crash or not.
func TestLocationsService(t *testing.T) {
	ctx := context.Background()
	f := newService(t)
	data := bytes.Repeat([]byte("remote image. "), 100)
	remote := &fakeRemote{data: map[string][]byte{"http://m/a.img": data}}
	f.svc.External = remote

	img := f.create(t, "raw")
	if err := f.svc.AddLocation(ctx, &img, "-", image.NewLocation{Location: image.Location{URL: "http://m/a.img"}}); err != nil {
		t.Fatal(err)
	}
	if img.Status != image.Active || img.Size == nil || *img.Size != int64(len(data)) {
		t.Fatalf("after AddLocation: %+v", img)
	}
	if _, err := f.svc.Store.Update(ctx, img, image.Queued); err != nil {
		t.Fatal(err)
	}
	rc, err := f.svc.Download(ctx, img, 14, 28, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data[14:42]) {
		t.Fatalf("ranged read: %q", got)
	}
	// The remote copy shrinks: the read fails instead of coming short.
	remote.data["http://m/a.img"] = data[:100]
	rc, err = f.svc.Download(ctx, img, 0, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short remote read: %v", err)
	}
	rc.Close()
	delete(remote.data, "http://m/a.img")
	if _, err := f.svc.Download(ctx, img, 0, -1, false); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("remote data gone: %v", err)
	}
	if err := f.svc.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range remote.calls {
		if !strings.HasPrefix(c, "get ") && !strings.HasPrefix(c, "stat ") {
			t.Fatalf("the remote store was written: %v", remote.calls)
		}
	}

	// Uploaded, a remote copy added, the own location removed and saved,
	// but the process dies before the file is deleted: Recover deletes it.
	remote.data["http://m/b.img"] = data
	up := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, up.ID, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	kept := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, kept.ID, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	up, _ = f.svc.Store.Get(ctx, up.ID)
	if want := "file://" + filepath.Join(f.data.Dir, "objects", up.ID); len(up.Locations) != 1 || f.svc.LocationURL(up.ID, up.Locations[0]) != want {
		t.Fatalf("an upload's location: %+v", up.Locations)
	}
	if err := f.svc.AddLocation(ctx, &up, "-", image.NewLocation{Location: image.Location{URL: "http://m/b.img"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveLocation(&up, "0"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Store.Update(ctx, up, image.Active); err != nil {
		t.Fatal(err)
	}
	if n := len(files(t, f.data)); n != 2 {
		t.Fatalf("before Recover: %d files", n)
	}
	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	left := files(t, f.data)
	if len(left) != 1 || filepath.Base(left[0]) != kept.ID {
		t.Fatalf("after Recover: %v", left)
	}
	rc, err = f.svc.Download(ctx, up, 0, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("data from the remote copy: %d bytes", len(got))
	}
}
