package agent_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/rbdstore"
	"github.com/gostack/gostack/internal/cephtest"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
)

// rbdImages is the image service as the volume API sees it, its data in
// an RBD image store: Open names the image's rbd:// location, or the
// one in locs when set (another cluster's).
type rbdImages struct {
	s    *rbdstore.Store
	info map[string]storage.ImageInfo
	locs map[string]string
}

func (im rbdImages) Image(_ context.Context, _, id string) (storage.ImageInfo, error) {
	if i, ok := im.info[id]; ok {
		return i, nil
	}
	return storage.ImageInfo{}, fault.New(fault.NotFound, "no image %s", id)
}

func (im rbdImages) Open(ctx context.Context, id string) (io.ReadCloser, storage.ImageInfo, error) {
	i, err := im.Image(ctx, "", id)
	if err != nil {
		return nil, i, err
	}
	rc, err := im.s.Get(ctx, id, 0, -1)
	if err != nil {
		return nil, i, err
	}
	i.Locations = []string{im.s.URL(id)}
	if l, ok := im.locs[id]; ok {
		i.Locations = []string{l}
	}
	return rc, i, nil
}

func (rbdImages) Create(context.Context, string, storage.ImageSpec) (storage.ImageInfo, error) {
	return storage.ImageInfo{}, errors.New("no uploads here")
}
func (rbdImages) Upload(context.Context, string, io.Reader, int64) error {
	return errors.New("no uploads here")
}
func (rbdImages) Delete(context.Context, string) error { return errors.New("no uploads here") }

// imagesPool adds the pool "images" to the test binary's cluster, with
// the test user allowed RBD on it as on "volumes" (Cinder's user reads
// Glance's pool), and opens an image store on it.
func imagesPool(t *testing.T, c *cephtest.Cluster) *rbdstore.Store {
	t.Helper()
	ctx := context.Background()
	for _, args := range [][]string{{"osd", "pool", "create", "images", "8"}, {"osd", "pool", "application", "enable", "images", "rbd"},
		{"auth", "caps", "client." + c.User, "mon", "profile rbd", "osd", "profile rbd pool=" + c.Pool + ", profile rbd pool=images",
			"mgr", "profile rbd pool=" + c.Pool + ", profile rbd pool=images"}} {
		if out, err := c.Ceph(ctx, args...); err != nil {
			t.Fatalf("ceph %v: %s %v", args, out, err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := rbdstore.Open(cctx, rbdstore.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: "images"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A volume from a raw image in an RBD image store of the backend's
// cluster is a copy-on-write clone of images/<id>@snap, grown to the
// volume's size, holding the image's bytes; the image store refuses to
// delete the image while the volume is there; a clone of the volume is
// made as any (a clone of a clone). An image whose location
// is another cluster's is fetched and imported as before. Both times are
// logged: the clone's and the copy's.
func TestRBDCloneImage(t *testing.T) {
	if !rbdstore.Available {
		t.Skip("built without Ceph support: go test -tags $(scripts/cephtag)")
	}
	// The caps first: a connection keeps the caps it was opened with.
	images := imagesPool(t, cephtest.Shared(t))
	cl, _ := rbdClient(t)
	ctx, admin, user := context.Background(), storage.Viewer{Admin: true}, storage.Viewer{Project: "proj"}
	raw := make([]byte, 24<<20)
	rand.Read(raw[:4<<20])
	rand.Read(raw[16<<20 : 18<<20])
	im := rbdImages{s: images, info: map[string]storage.ImageInfo{}, locs: map[string]string{}}
	put := func() string {
		id := uuid.NewString()
		if _, err := images.Put(ctx, id, bytes.NewReader(raw), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(raw)
		im.info[id] = storage.ImageInfo{ID: id, Status: "active", DiskFormat: "raw", ContainerFormat: "bare",
			Size: int64(len(raw)), Checksum: hex.EncodeToString(sum[:])}
		return id
	}
	cloned, copied := put(), put()
	im.locs[copied] = "rbd://00000000-0000-0000-0000-000000000000/images/" + copied + "/snap"
	vstore, url := controllerWith(t, im)
	a := &agent.Agent{Config: agent.Config{Host: "node1@rbd#rbd", BackendName: "rbd", SyncInterval: 100 * time.Millisecond,
		ImageDir: t.TempDir()},
		Backend: &agent.RBD{Client: cl, TempDir: t.TempDir()}, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	vol := func(id string) storage.Volume { v, _ := vstore.Volume(ctx, admin, id); return v }
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 30 s", what)
			}
		}
	}
	wait("a pool", func() bool { bs, _ := vstore.Backends(ctx); return len(bs) == 1 })
	fromImage := func(image string) (storage.Volume, time.Duration) {
		t.Helper()
		start := time.Now()
		v, err := vstore.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", Size: 1, ImageID: image})
		if err != nil {
			t.Fatal(err)
		}
		wait("available", func() bool {
			s := vol(v.ID).Status
			if s == storage.VolumeError {
				t.Fatalf("volume from image %s: error", image)
			}
			return s == storage.VolumeAvailable
		})
		return v, time.Since(start)
	}
	content := func(id string) []byte {
		t.Helper()
		path := filepath.Join(t.TempDir(), "export")
		if _, err := cl.Export(ctx, id, path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	checkContent := func(id string) {
		t.Helper()
		b := content(id)
		if len(b) != 1<<30 || !bytes.Equal(b[:len(raw)], raw) || !bytes.Equal(b[len(raw):len(raw)+4096], make4k) {
			t.Errorf("volume %s (%d bytes) does not hold the image", id, len(b))
		}
	}

	v1, took1 := fromImage(cloned)
	in, err := cl.Info(ctx, v1.ID)
	if err != nil || in.Parent != "images/"+cloned+"@snap" || in.Size != 1<<30 {
		t.Fatalf("the volume from the image: %+v %v; want a clone of images/%s@snap of 1 GiB", in, err, cloned)
	}
	checkContent(v1.ID)
	// A clone of that volume (through its .clone_snap) and a volume from
	// its snapshot are clones of a clone with the image's object size.
	start := time.Now()
	v1c, err := vstore.CreateVolume(ctx, user, storage.VolumeCreate{UserID: "u", SourceVolID: v1.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("the clone of the volume available", func() bool {
		s := vol(v1c.ID).Status
		if s == storage.VolumeError {
			t.Fatalf("the clone of the volume from the image: error")
		}
		return s == storage.VolumeAvailable
	})
	t.Logf("a clone of the volume from the image: %v", time.Since(start))
	checkContent(v1c.ID)
	v2, took2 := fromImage(copied)
	in, err = cl.Info(ctx, v2.ID)
	if err != nil || in.Parent != "" {
		t.Fatalf("the volume from another cluster's image: %+v %v; want no parent", in, err)
	}
	checkContent(v2.ID)
	t.Logf("volume from a %d MiB raw image, create → available: clone %v, fetch and import %v (%.1f×)", len(raw)>>20, took1, took2,
		float64(took2)/float64(took1))
	if took1 > time.Second {
		t.Errorf("the clone took %v", took1)
	}

	// The volume holds the image: the store refuses its delete.
	if err := images.Delete(ctx, cloned); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("the image's delete while a volume is cloned from it: %v", err)
	}
	for _, v := range []storage.Volume{v1c, v1, v2} {
		if _, err := vstore.DeleteVolume(ctx, user, v.ID, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The volume and its clone gone (the volume, held by its clone, is
	// removed with it), the image is no longer in use.
	wait("the image released", func() bool { return images.InUse(ctx, cloned) == nil })
	for _, id := range []string{cloned, copied} {
		if err := images.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

var make4k = make([]byte, 4096)
