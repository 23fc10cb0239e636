package rbd_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gostack/gostack/storage/rbd"
)

// TestCreateClaimed: a migration's copy on a real Ceph. Made fresh it is
// marked with its claim (Claimed), and made again with the same claim
// it is taken as it is (an interrupted create); an image of the same
// name made by anyone else (a plain Create: another pool's volume on
// the same Ceph pool) or by another claim is refused, ErrNotClaimed,
// and left as it was; and no half-made image is left behind.
func TestCreateClaimed(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	const size = 4 * mib
	mine := newID()
	if err := cl.CreateClaimed(ctx, mine, "claim-1", size); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateClaimed(ctx, mine, "claim-1", size); err != nil {
		t.Fatalf("again: %v", err)
	}
	if ok, err := cl.Claimed(ctx, mine, "claim-1"); !ok || err != nil {
		t.Fatalf("claimed: %v %v", ok, err)
	}
	if ok, err := cl.Claimed(ctx, mine, "claim-2"); ok || err != nil {
		t.Fatalf("claimed by another: %v %v", ok, err)
	}
	if err := cl.CreateClaimed(ctx, mine, "claim-2", size); !errors.Is(err, rbd.ErrNotClaimed) {
		t.Fatalf("another claim: %v", err)
	}

	theirs := newID()
	if err := cl.Create(ctx, theirs, size); err != nil {
		t.Fatal(err)
	}
	h, err := cl.OpenVolume(ctx, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("theirs"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateClaimed(ctx, theirs, "claim-1", size); !errors.Is(err, rbd.ErrNotClaimed) {
		t.Fatalf("over another's image: %v", err)
	}
	if ok, err := cl.Claimed(ctx, theirs, "claim-1"); ok || err != nil {
		t.Fatalf("another's image claimed: %v %v", ok, err)
	}
	if ok, err := cl.Claimed(ctx, newID(), "claim-1"); ok || err != nil {
		t.Fatalf("no image claimed: %v %v", ok, err)
	}
	h, err = cl.OpenVolume(ctx, theirs)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	_, err = h.ReadAt(got, 0)
	h.Close()
	if err != nil || string(got) != "theirs" {
		t.Fatalf("another's image after the refusal: %q %v", got, err)
	}
	for _, id := range []string{mine, theirs} {
		if _, err := c.RBD(ctx, "info", c.Pool+"/volume-"+id+".partial"); err == nil {
			t.Fatalf("volume-%s.partial left", id)
		}
		if err := cl.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}
