package area

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/rbdstore"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// syncBuffer is a log written by the connecting goroutine and read by
// the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The images' cluster reached in the background: the service recovers
// and serves before it is up, its uploads and downloads then answer 503
// (the image back to queued), each failed attempt is logged without the
// key; once the cluster is up the store connects by itself and uploads
// land on RBD. A later start sweeps the data no image owns in the pool
// before taking writes.
func TestRBDConnectsInBackground(t *testing.T) {
	if !rbdstore.Available {
		msg := "built without Ceph support: go test -tags $(scripts/cephtag) (scripts/test does)"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
	if err := cephtest.Available(); err != nil {
		if testenv.CI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		t.Fatal(err)
	}
	cephDir := filepath.Join(dir, "ceph") // the cluster's, made by Start below
	r := RBD{CephConf: filepath.Join(cephDir, "ceph.conf"), User: "gostack", Keyring: filepath.Join(cephDir, "ceph.client.gostack.keyring"),
		Pool: "images", ChunkSize: 8}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	d := &rbdData{}
	defer d.close()
	svc := &image.Service{Store: image.NewStore(db, watch.New(db)), Data: d, Staging: &store.Filesystem{Dir: filepath.Join(dir, "staging")},
		HashAlgo: "sha512", MaxImageSize: 1 << 30, Log: log}
	if err := svc.Recover(ctx); err != nil {
		t.Fatalf("recover before the cluster is reachable: %v", err)
	}
	connected := make(chan struct{})
	go func() {
		defer close(connected)
		connectRBD(ctx, log, r, d, svc)
	}()

	// Not connected: an upload is a 503 and leaves the image queued.
	img, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Repeat([]byte("gostack!"), 128<<10) // 1 MiB
	// Through the image API: the upload is a 503 in Glance's error
	// body; the record is served.
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		t.Fatal(err)
	}
	mw := &middleware.Middleware{Validator: middlewaretest.Tokens{"tok": middlewaretest.Caller("u1", "p1", "member", "reader")}, Style: httpapi.Glance}
	srv := httptest.NewServer(mw.Wrap((&api.API{Service: svc, Policy: enf}).Handler()))
	defer srv.Close()
	call := func(method, path string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("X-Auth-Token", "tok")
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, out := call("PUT", "/v2/images/"+img.ID+"/file", b); code != http.StatusServiceUnavailable || !strings.Contains(out, "The image store is not available") {
		t.Errorf("PUT file while not connected: %d %s", code, out)
	}
	if code, out := call("GET", "/v2/images/"+img.ID, nil); code != http.StatusOK || !strings.Contains(out, `"status":"queued"`) {
		t.Errorf("GET the image while not connected: %d %s", code, out)
	}
	if _, err := svc.Upload(ctx, img.ID, bytes.NewReader(b), int64(len(b))); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("upload while not connected: %v (%v), want a 503", err, fault.KindOf(err))
	}
	if got, err := svc.Store.Get(ctx, img.ID); err != nil || got.Status != image.Queued {
		t.Fatalf("after the refused upload: %v %v", got.Status, err)
	}
	if err := svc.Delete(ctx, img.ID); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("delete while not connected: %v, want a 503", err)
	}
	if got, err := svc.Store.Get(ctx, img.ID); err != nil || got.Status != image.Queued {
		t.Fatalf("after the refused delete: %v %v", got.Status, err)
	}
	if d.URL(img.ID) != "" {
		t.Errorf("a location before the cluster is known: %s", d.URL(img.ID))
	}

	c, err := cephtest.Start(cephtest.Options{Dir: cephDir, Pools: []string{"images"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	started := time.Now()
	select {
	case <-connected:
	case <-time.After(2 * rbdConnectTimeout):
		t.Fatalf("not connected %s after the cluster started:\n%s", 2*rbdConnectTimeout, logs)
	}
	t.Logf("connected %s after the cluster's start returned (%s to start it)", time.Since(started).Round(time.Millisecond), c.Took.Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("log:\n%s", logs)
	}
	if !d.connected() {
		t.Fatalf("connectRBD returned without a connection:\n%s", logs)
	}
	out := logs.String()
	if !strings.Contains(out, "the images pool cannot be reached") || !strings.Contains(out, "connected to the Ceph cluster") {
		t.Errorf("the log lacks the failed attempts or the connection:\n%s", out)
	}
	if strings.Contains(out, c.Key) {
		t.Errorf("the log holds the user's key:\n%s", out)
	}

	img, err = svc.Upload(ctx, img.ID, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("upload once connected: %v", err)
	}
	if u := svc.LocationURL(img.ID, img.Locations[0]); u != "rbd://"+c.FSID+"/images/"+img.ID+"/snap" {
		t.Errorf("location %s", u)
	}
	if info, err := c.RBD(ctx, "info", "images/"+img.ID+"@snap"); err != nil {
		t.Errorf("rbd info images/%s@snap: %s %v", img.ID, info, err)
	}
	// A download from a store not connected (another start's, before
	// it reached the cluster) is a 503 too.
	other := &image.Service{Store: svc.Store, Data: &rbdData{}, Log: log}
	if _, err := other.Download(ctx, img, 0, -1, false); fault.KindOf(err) != fault.Unavailable {
		t.Errorf("download while not connected: %v, want a 503", err)
	}
	rc, err := svc.Download(ctx, img, 0, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("download once connected: %d bytes, %v", len(got), err)
	}

	// Data no image owns (its record gone while the process was down)
	// is swept by the next start's connection, before it takes writes;
	// the active image's data stays.
	orphan := uuid.NewString()
	rs, err := d.store()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Put(ctx, orphan, bytes.NewReader(b[:4096]), store.PutOptions{Size: 4096, SizeKnown: true, HashAlgo: "sha512"}); err != nil {
		t.Fatal(err)
	}
	next := &rbdData{}
	defer next.close()
	connectRBD(ctx, log, r, next, &image.Service{Store: svc.Store, Data: next, Log: log})
	ids, err := rs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != img.ID {
		t.Errorf("the pool after the next start's sweep: %v, want only %s", ids, img.ID)
	}
	if err := svc.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if ids, err := rs.List(ctx); err != nil || len(ids) != 0 {
		t.Errorf("the pool after the delete: %v %v", ids, err)
	}
}
