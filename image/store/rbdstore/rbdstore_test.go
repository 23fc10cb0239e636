package rbdstore_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/rbdstore"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	once    sync.Once
	cluster *cephtest.Cluster
	start   error
)

// ceph is the test binary's cluster, with the pools "volumes" and
// "images"; the build must have Ceph support, else the test skips
// (fails with CI=true).
func ceph(t *testing.T) *cephtest.Cluster {
	t.Helper()
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
	once.Do(func() {
		cluster, start = cephtest.Start(cephtest.Options{Pools: []string{"volumes", "images"}})
		if start == nil {
			testenv.OnExit(func() { cluster.Stop() })
		}
	})
	if start != nil {
		t.Fatal(start)
	}
	return cluster
}

func open(t *testing.T) (*rbdstore.Store, *cephtest.Cluster) {
	t.Helper()
	c := ceph(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := rbdstore.Open(ctx, rbdstore.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: "images"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

const mib = 1 << 20

// data is n bytes: random in the first and third MiB, zeros elsewhere.
func data(n int) []byte {
	b := make([]byte, n)
	rand.Read(b[:mib])
	if n >= 3*mib {
		rand.Read(b[2*mib : 3*mib])
	}
	return b
}

func readAll(t *testing.T, s store.Store, id string, off, n int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), id, off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutGetDelete(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	for _, known := range []bool{true, false} {
		id := uuid.NewString()
		b := data(5*mib + 123)
		opts := store.PutOptions{HashAlgo: "sha256", Size: int64(len(b)), SizeKnown: known}
		obj, err := s.Put(ctx, id, bytes.NewReader(b), opts)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b)
		if obj.Size != int64(len(b)) || obj.Checksum != hex.EncodeToString(sum[:]) || obj.HashAlgo != "sha256" {
			t.Fatalf("size known %v: object %+v", known, obj)
		}
		if n, err := s.Stat(ctx, id); err != nil || n != int64(len(b)) {
			t.Fatalf("stat: %d, %v", n, err)
		}
		if got := readAll(t, s, id, 0, -1); !bytes.Equal(got, b) {
			t.Fatal("the data read back differs")
		}
		if got := readAll(t, s, id, 2*mib+7, 1000); !bytes.Equal(got, b[2*mib+7:2*mib+1007]) {
			t.Fatal("a range read back differs")
		}
		if _, err := s.Get(ctx, id, int64(len(b))+1, 1); !errors.Is(err, store.ErrRange) {
			t.Fatalf("range past the end: %v", err)
		}
		// Glance's names: the image is the id, its snapshot "snap",
		// protected; thin: the zeros were not written.
		info, err := c.RBD(ctx, "info", "images/"+id+"@snap")
		if err != nil || !strings.Contains(string(info), "protected: True") {
			t.Fatalf("rbd info images/%s@snap: %s %v", id, info, err)
		}
		if u := s.URL(id); u != "rbd://"+c.FSID+"/images/"+id+"/snap" {
			t.Fatalf("URL %s", u)
		}
		fsid, pool, img, snap, err := rbdstore.ParseLocation(s.URL(id))
		if err != nil || fsid != c.FSID || pool != "images" || img != id || snap != "snap" {
			t.Fatalf("ParseLocation: %s %s %s %s %v", fsid, pool, img, snap, err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("stat after delete: %v", err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
	}
}

// Blocks of zeros are not written: an image of 40 MiB with 3 MiB of
// data uses one 8 MiB object.
func TestThin(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	id := uuid.NewString()
	b := data(40 * mib)
	if _, err := s.Put(ctx, id, bytes.NewReader(b), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Delete(ctx, id)
	out, err := c.RBD(ctx, "du", "--format", "json", "images/"+id)
	if err != nil {
		t.Fatalf("rbd du: %s %v", out, err)
	}
	var du struct {
		Images []struct {
			Prov int64 `json:"provisioned_size"`
			Used int64 `json:"used_size"`
		} `json:"images"`
	}
	if err := json.Unmarshal(out, &du); err != nil || len(du.Images) == 0 {
		t.Fatalf("%s: %v", out, err)
	}
	var used int64
	for _, im := range du.Images {
		used += im.Used
	}
	if du.Images[0].Prov != 40*mib || used != 8*mib {
		t.Fatalf("provisioned %d, used %d: want 40 MiB, 8 MiB (%s)", du.Images[0].Prov, used, out)
	}
	if got := readAll(t, s, id, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("the data read back differs")
	}
}

// A Put that fails leaves nothing; one over the limit or of another
// size than announced is refused as the filesystem store refuses it.
func TestPutRefusals(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	id := uuid.NewString()
	b := data(3 * mib)
	if _, err := s.Put(ctx, id, bytes.NewReader(b), store.PutOptions{Size: 10, SizeKnown: true}); !errors.Is(err, store.ErrSizeMismatch) {
		t.Fatalf("size mismatch: %v", err)
	}
	if _, err := s.Put(ctx, id, bytes.NewReader(b), store.PutOptions{MaxSize: mib}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := s.Put(ctx, id, io.MultiReader(bytes.NewReader(b), errReader{}), store.PutOptions{}); err == nil || !strings.Contains(err.Error(), "cut") {
		t.Fatalf("cut short: %v", err)
	}
	if _, err := s.Put(ctx, "../x", bytes.NewReader(b), store.PutOptions{}); !errors.Is(err, store.ErrBadID) {
		t.Fatalf("bad id: %v", err)
	}
	ls, err := c.RBD(ctx, "ls", "images")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ls), id) {
		t.Fatalf("a failed Put left %s", ls)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("body cut") }

// A clone of the image's snapshot holds it: Delete and InUse say
// store.ErrInUse and nothing changes; once the clone is gone, it goes.
func TestInUse(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	id := uuid.NewString()
	b := data(2 * mib)
	if _, err := s.Put(ctx, id, bytes.NewReader(b), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.InUse(ctx, id); err != nil {
		t.Fatalf("in use before any clone: %v", err)
	}
	clone := "volumes/volume-" + uuid.NewString()
	if out, err := c.RBD(ctx, "clone", "images/"+id+"@snap", clone); err != nil {
		t.Fatalf("rbd clone: %s %v", out, err)
	}
	if err := s.InUse(ctx, id); !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), clone) {
		t.Fatalf("in use: %v", err)
	}
	if err := s.Delete(ctx, id); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete while cloned: %v", err)
	}
	if got := readAll(t, s, id, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("the refused delete changed the data")
	}
	if info, err := c.RBD(ctx, "info", "images/"+id+"@snap"); err != nil || !strings.Contains(string(info), "protected: True") {
		t.Fatalf("the refused delete unprotected the snapshot: %s %v", info, err)
	}
	if out, err := c.RBD(ctx, "rm", clone); err != nil {
		t.Fatalf("rbd rm: %s %v", out, err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// An upload a crash left (<id>.uploading, with or without its
// snapshot) is not listed, and Clean removes it; whole images stay.
func TestClean(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	whole := uuid.NewString()
	if _, err := s.Put(ctx, whole, bytes.NewReader(data(mib)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	half, halfSnap := uuid.NewString()+".uploading", uuid.NewString()+".uploading"
	other := "volume-" + uuid.NewString() // not an image's: never listed, never swept
	for _, args := range [][]string{{"create", "--size", "4", "images/" + half}, {"create", "--size", "4", "images/" + halfSnap},
		{"create", "--size", "4", "images/" + other},
		{"snap", "create", "images/" + halfSnap + "@snap"}, {"snap", "protect", "images/" + halfSnap + "@snap"}} {
		if out, err := c.RBD(ctx, args...); err != nil {
			t.Fatalf("rbd %v: %s %v", args, out, err)
		}
	}
	ids, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, whole) {
		t.Fatalf("List %v lacks %s", ids, whole)
	}
	for _, id := range ids {
		if strings.HasSuffix(id, ".uploading") || id == other {
			t.Fatalf("List shows an upload or another kind of image: %v", ids)
		}
	}
	if err := s.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	ls, err := c.RBD(ctx, "ls", "images")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ls), ".uploading") || !strings.Contains(string(ls), whole) || !strings.Contains(string(ls), other) {
		t.Fatalf("after Clean: %s", ls)
	}
	if out, err := c.RBD(ctx, "rm", "images/"+other); err != nil {
		t.Fatalf("rbd rm: %s %v", out, err)
	}
	if err := s.Delete(ctx, whole); err != nil {
		t.Fatal(err)
	}
}

func TestParseLocation(t *testing.T) {
	for _, bad := range []string{"file:///x", "rbd://a/b/c", "rbd://a/b/c/d/e", "rbd://a//c/d", "rbd://a/b/c/", "rbd://a/b/c/%zz"} {
		if _, _, _, _, err := rbdstore.ParseLocation(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	f, p, i, s, err := rbdstore.ParseLocation("rbd://f/im%20ages/i/snap")
	if err != nil || f != "f" || p != "im ages" || i != "i" || s != "snap" {
		t.Errorf("got %s %s %s %s %v", f, p, i, s, err)
	}
}
