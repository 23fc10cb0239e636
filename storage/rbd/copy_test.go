package rbd_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/rbd"
)

// TestCopyToPool: a migration's copy into another pool of the cluster
// (Ceph pools one and two of a cluster of the test's own). With no copy
// there it is ErrNotFound; into an image not marked with the claim (a
// plain Create), ErrNotClaimed and the image left as it was; into the
// claimed copy the data arrives, and done again (a copy cut short) it
// is the same; into the volume's own pool it is ErrInvalid.
func TestCopyToPool(t *testing.T) {
	if !rbd.Available {
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
	c, err := cephtest.Start(cephtest.Options{Pools: []string{"one", "two"}})
	if err != nil {
		t.Fatalf("cephtest: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	ctx := context.Background()
	open := func(pool string) *rbd.Client {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cl, err := rbd.New(cctx, rbd.Config{ConfFile: c.Conf, User: c.User, Keyring: c.Keyring, Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	one, two := open("one"), open("two")
	const size = 16 * mib
	id := newID()
	if err := one.Create(ctx, id, size); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("migrate!"), 128<<10) // 1 MiB
	write := func(cl *rbd.Client, off int64, p []byte) {
		t.Helper()
		h, err := cl.OpenVolume(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if _, err := h.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
	}
	read := func(cl *rbd.Client, off int64, n int) []byte {
		t.Helper()
		h, err := cl.OpenVolume(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		b := make([]byte, n)
		if _, err := h.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		return b
	}
	write(one, 5*mib, data)

	if err := one.CopyToPool(ctx, id, "two", "claim-1"); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("no copy there: %v", err)
	}
	if err := two.Create(ctx, id, size); err != nil {
		t.Fatal(err)
	}
	write(two, 0, []byte("theirs"))
	if err := one.CopyToPool(ctx, id, "two", "claim-1"); !errors.Is(err, rbd.ErrNotClaimed) {
		t.Fatalf("into an image not claimed: %v", err)
	}
	if got := read(two, 0, 6); string(got) != "theirs" || !bytes.Equal(read(two, 5*mib, len(data)), make([]byte, len(data))) {
		t.Fatalf("the image not claimed was changed: %q", got)
	}
	if err := two.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := two.CreateClaimed(ctx, id, "claim-1", size); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := one.CopyToPool(ctx, id, "two", "claim-1"); err != nil {
			t.Fatalf("copy %d: %v", i+1, err)
		}
		if !bytes.Equal(read(two, 5*mib, len(data)), data) || !bytes.Equal(read(two, 0, mib), make([]byte, mib)) {
			t.Fatalf("copy %d: the data differs", i+1)
		}
	}
	if err := one.CopyToPool(ctx, id, "one", "claim-1"); !errors.Is(err, rbd.ErrInvalid) {
		t.Fatalf("into its own pool: %v", err)
	}
}
