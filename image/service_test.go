package image_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/httpstore"
	"github.com/gostack/gostack/kit/fault"
)

type fixture struct {
	svc           *image.Service
	data, staging *store.Filesystem
}

func newService(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{data: &store.Filesystem{Dir: filepath.Join(dir, "data")}, staging: &store.Filesystem{Dir: filepath.Join(dir, "staging")}}
	f.svc = &image.Service{Store: newStore(t, "sqlite:///"+filepath.Join(dir, "db")), Data: f.data, Staging: f.staging}
	return f
}

func (f fixture) create(t *testing.T, disk string) image.Image {
	t.Helper()
	img, err := f.svc.Store.Create(context.Background(), image.Image{ID: "img-" + disk + time.Now().Format("150405.000000000"),
		Owner: "p1", DiskFormat: disk, ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// files lists what a Filesystem store holds, finished or temporary.
func files(t *testing.T, fs *store.Filesystem) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"objects", "tmp"} {
		m, _ := filepath.Glob(filepath.Join(fs.Dir, d, "*"))
		out = append(out, m...)
	}
	return out
}

func status(t *testing.T, f fixture, id string) image.Status {
	t.Helper()
	img, err := f.svc.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return img.Status
}

// failingReader hands out n bytes of zeros and then fails, as a client
// that went away mid-upload.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestUpload(t *testing.T) {
	ctx := context.Background()
	f := newService(t)
	data := bytes.Repeat([]byte("gostack!"), 512<<7) // 512 KiB of raw data
	img := f.create(t, "raw")
	got, err := f.svc.Upload(ctx, img.ID, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if got.Status != image.Active || *got.Size != int64(len(data)) || *got.VirtualSize != int64(len(data)) ||
		got.Checksum != hex.EncodeToString(sum[:]) || got.HashAlgo != "sha512" || len(got.HashValue) != 128 {
		t.Fatalf("uploaded: %+v", got)
	}
	if _, err := f.svc.Upload(ctx, img.ID, bytes.NewReader(data), -1); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("second upload: %v", err)
	}

	// The client goes away after 300 KiB: queued again, nothing stored.
	img = f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, img.ID, &failingReader{300 << 10}, -1); err == nil {
		t.Fatal("interrupted upload succeeded")
	}
	if st := status(t, f, img.ID); st != image.Queued {
		t.Fatalf("after an interrupted upload: %s", st)
	}
	if n := len(files(t, f.data)); n != 1 { // the first image only
		t.Fatalf("%d files in the store", n)
	}

	// Byte quota: 1 MiB per project, 512 KiB used.
	f.svc.Quota = func(string) image.Limits { return image.Limits{Count: -1, Bytes: 1 << 20} }
	img = f.create(t, "raw")
	big := make([]byte, 600<<10)
	if _, err := f.svc.Upload(ctx, img.ID, bytes.NewReader(big), -1); fault.KindOf(err) != fault.TooLarge {
		t.Fatalf("over quota: %v", err)
	}
	if st := status(t, f, img.ID); st != image.Queued {
		t.Fatalf("after an over-quota upload: %s", st)
	}
	f.svc.Quota = func(string) image.Limits { return image.Limits{Count: 3, Bytes: -1} }
	if err := f.svc.CheckCount(ctx, "p1"); fault.KindOf(err) != fault.TooLarge {
		t.Fatalf("count quota with 3 images: %v", err)
	}
	if err := f.svc.CheckCount(ctx, "p2"); err != nil {
		t.Fatalf("count quota of another project: %v", err)
	}
}

// A restart in the middle of writes: saving images go back to queued,
// leftover temporary files go, an import with staged data resumes.
func TestRecover(t *testing.T) {
	ctx := context.Background()
	f := newService(t)
	saving := f.create(t, "raw")
	if _, err := f.svc.Store.Transition(ctx, saving.ID, image.Saving, nil); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(f.data.Dir, "tmp"), 0o750)
	os.WriteFile(filepath.Join(f.data.Dir, "tmp", saving.ID+".123"), []byte("partial"), 0o640)

	staged := f.create(t, "raw")
	payload := bytes.Repeat([]byte{7}, 4096)
	if _, err := f.svc.Stage(ctx, staged.ID, bytes.NewReader(payload), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Store.Transition(ctx, staged.ID, image.Importing, nil); err != nil {
		t.Fatal(err)
	}
	lost := f.create(t, "raw")
	if _, err := f.svc.Store.Transition(ctx, lost.ID, image.Importing, nil); err != nil {
		t.Fatal(err)
	}
	// Data a crash left without an owner: an image deleted before its data
	// was removed, an object no image has, staged data of an image that
	// went active before the staging copy was removed.
	deleted := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, deleted.ID, bytes.NewReader(payload), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Store.Delete(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.data.Put(ctx, "no-such-image", bytes.NewReader(payload), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	imported := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, imported.ID, bytes.NewReader(payload), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.staging.Put(ctx, imported.ID, bytes.NewReader(payload), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	// "Restart": a new service over the same store and directories.
	if err := f.data.Clean(); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	for id, want := range map[string]image.Status{saving.ID: image.Queued, staged.ID: image.Active, lost.ID: image.Queued, imported.ID: image.Active} {
		if st := status(t, f, id); st != want {
			t.Errorf("%s: %s, want %s", id, st, want)
		}
	}
	var left []string
	for _, p := range files(t, f.data) {
		left = append(left, filepath.Base(p))
	}
	want := []string{imported.ID, staged.ID}
	slices.Sort(want)
	if slices.Sort(left); !slices.Equal(left, want) {
		t.Errorf("data files: %v, want those of %s and %s", left, imported.ID, staged.ID)
	}
	if left := files(t, f.staging); len(left) != 0 {
		t.Errorf("staging files left: %v", left)
	}
}

func TestWebDownload(t *testing.T) {
	ctx := context.Background()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8192)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "img", time.Time{}, bytes.NewReader(payload))
	}))
	defer srv.Close()
	f := newService(t)

	// By default a loopback address is refused, before the image moves.
	f.svc.Fetch = &httpstore.Store{Client: httpstore.GuardedClient(nil, time.Minute)}
	img := f.create(t, "raw")
	if _, err := f.svc.Import(ctx, img.ID, image.WebDownload, srv.URL+"/img"); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("loopback web-download: %v", err)
	}
	if st := status(t, f, img.ID); st != image.Queued {
		t.Fatalf("after a refused import: %s", st)
	}

	f.svc.Fetch = &httpstore.Store{Client: httpstore.GuardedClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, time.Minute)}
	if _, err := f.svc.Import(ctx, img.ID, image.WebDownload, srv.URL+"/img"); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	got, _ := f.svc.Store.Get(ctx, img.ID)
	sum := md5.Sum(payload)
	if got.Status != image.Active || got.Checksum != hex.EncodeToString(sum[:]) {
		t.Fatalf("imported: %+v", got)
	}
	rc, err := f.svc.Download(ctx, got, 16, 16, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, payload[16:32]) {
		t.Fatalf("range read %q", b)
	}

	// Content that is not what disk_format says: the import ends queued
	// with no data.
	bad := f.create(t, "qcow2")
	if _, err := f.svc.Import(ctx, bad.ID, image.WebDownload, srv.URL+"/img"); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	if st := status(t, f, bad.ID); st != image.Queued {
		t.Fatalf("mismatched import: %s", st)
	}
	if _, err := f.data.Stat(ctx, bad.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mismatched import left data: %v", err)
	}
	if _, err := f.svc.Import(ctx, bad.ID, "copy-image", ""); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("unknown method: %v", err)
	}
}

// A byte quota exactly used up refuses the next byte, and staged data
// counts against it.
func TestQuotaEdges(t *testing.T) {
	ctx := context.Background()
	f := newService(t)
	f.svc.Quota = func(string) image.Limits { return image.Limits{Count: -1, Bytes: 1000} }
	img := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, img.ID, bytes.NewReader(make([]byte, 1000)), 1000); err != nil {
		t.Fatal(err)
	}
	next := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, next.ID, bytes.NewReader(make([]byte, 5000)), -1); fault.KindOf(err) != fault.TooLarge {
		t.Fatalf("upload with the quota used up: %v", err)
	}
	if _, err := f.svc.Store.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Stage(ctx, next.ID, bytes.NewReader(make([]byte, 900)), -1); err != nil {
		t.Fatal(err)
	}
	third := f.create(t, "raw")
	if _, err := f.svc.Stage(ctx, third.ID, bytes.NewReader(make([]byte, 900)), -1); fault.KindOf(err) != fault.TooLarge {
		t.Fatalf("staging over the quota: %v", err)
	}
	// The staged image imports within its own quota share.
	if _, err := f.svc.Import(ctx, next.ID, image.GlanceDirect, ""); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	if st := status(t, f, next.ID); st != image.Active {
		t.Fatalf("import of staged data under quota: %s", st)
	}
}

// With one store for data and staging, Recover keeps active images' data
// (the staging sweep would take every object of images past import).
func TestRecoverOneStore(t *testing.T) {
	ctx := context.Background()
	f := newService(t)
	f.svc.Staging = f.svc.Data
	img := f.create(t, "raw")
	if _, err := f.svc.Upload(ctx, img.ID, bytes.NewReader(make([]byte, 4096)), -1); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if left := files(t, f.data); len(left) != 1 {
		t.Fatalf("data files after Recover: %v", left)
	}
}

// Stop ends a web-download that would otherwise run for hours: the image
// stays importing, and the next start puts it back to queued.
func TestStopImports(t *testing.T) {
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1048576")
		w.Write(make([]byte, 1024))
		w.(http.Flusher).Flush()
		close(started)
		select { // the rest never comes
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	f := newService(t)
	f.svc.Fetch = &httpstore.Store{Client: httpstore.GuardedClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 6*time.Hour)}
	img := f.create(t, "raw")
	if _, err := f.svc.Import(ctx, img.ID, image.WebDownload, srv.URL+"/img"); err != nil {
		t.Fatal(err)
	}
	<-started
	done := make(chan struct{})
	go func() { f.svc.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not end the import")
	}
	if st := status(t, f, img.ID); st != image.Importing {
		t.Fatalf("after Stop: %s, want importing (left for the next start)", st)
	}
	next := &image.Service{Store: f.svc.Store, Data: f.data, Staging: f.staging}
	if err := next.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	next.Wait()
	if st := status(t, f, img.ID); st != image.Queued {
		t.Fatalf("after the next start: %s, want queued", st)
	}
}
