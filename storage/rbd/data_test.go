package rbd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage/rbd"
)

// A volume opened to write and read its data (a restore, a backup):
// reads past the end say io.EOF, writes past it are refused; Extents
// are the objects written; Zero discards, and in a clone hides the
// parent's data (zeros read back, not the parent's). A snapshot opened
// reads the snapshot's bytes. A backup's temporary snapshot reads the
// volume as it was when opened, is made again over one a killed agent
// left, and is removed at Close; one left behind is swept, and removed
// by the volume's delete.
func TestHandle(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	id, snap := newID(), newID()
	if err := cl.Create(ctx, id, 64*mib); err != nil {
		t.Fatal(err)
	}
	h, err := cl.OpenVolume(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size() != 64*mib {
		t.Fatalf("size %d", h.Size())
	}
	put := func(h *rbd.Handle, off int64, n int, b byte) {
		t.Helper()
		if _, err := h.WriteAt(bytes.Repeat([]byte{b}, n), off); err != nil {
			t.Fatal(err)
		}
	}
	at := func(h *rbd.Handle, off int64, n int) []byte {
		t.Helper()
		p := make([]byte, n)
		if _, err := h.ReadAt(p, off); err != nil {
			t.Fatal(err)
		}
		return p
	}
	put(h, 5*mib, mib, 0x11)
	put(h, 40*mib+100, 10, 0x22)
	if _, err := h.WriteAt(make([]byte, 2), 64*mib-1); !errors.Is(err, rbd.ErrInvalid) {
		t.Errorf("a write past the end: %v", err)
	}
	p := make([]byte, 3)
	if n, err := h.ReadAt(p, 64*mib-1); n != 1 || err != io.EOF {
		t.Errorf("a read past the end: %d %v", n, err)
	}
	ext, err := h.Extents(ctx, h.Size())
	if err != nil || !slices.Equal(ext, []rbd.Extent{{Offset: 4 * mib, Length: 4 * mib}, {Offset: 40 * mib, Length: 4 * mib}}) {
		t.Errorf("extents %v %v", ext, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateSnapshot(ctx, id, snap); err != nil {
		t.Fatal(err)
	}
	// A clone of the snapshot, zeroed: its parent's data does not show.
	clone := newID()
	if err := cl.CreateFromSnapshot(ctx, clone, id, snap, 64*mib); err != nil {
		t.Fatal(err)
	}
	hc, err := cl.OpenVolume(ctx, clone)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(at(hc, 5*mib, 4), []byte{0x11, 0x11, 0x11, 0x11}) {
		t.Fatal("the clone does not read its parent's data")
	}
	if err := hc.Zero(ctx, 0, hc.Size()); err != nil {
		t.Fatal(err)
	}
	put(hc, 6*mib, 10, 0x33)
	if got := at(hc, 4*mib, 4*mib); !isZeros(got[:2*mib]) || got[2*mib] != 0x33 || !isZeros(got[2*mib+10:]) {
		t.Fatal("the zeroed clone reads its parent's data")
	}
	if !isZeros(at(hc, 40*mib, 4*mib)) {
		t.Fatal("the zeroed clone reads its parent's data at 40 MiB")
	}
	// Ranges off librbd's 64 KiB discard grain are zeroed too (it skips
	// such parts of a discard without an error).
	put(hc, 8*mib, 2*mib, 0x77)
	for _, r := range [][2]int64{{8*mib + 100, 1000}, {9*mib + 4096, 100 << 10}, {8*mib + 64<<10, 128 << 10}} {
		if err := hc.Zero(ctx, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
		if !isZeros(at(hc, r[0], int(r[1]))) {
			t.Errorf("Zero(%d, %d) left data", r[0], r[1])
		}
		if b := at(hc, r[0]-1, 1); b[0] != 0x77 {
			t.Errorf("Zero(%d, %d) zeroed the byte before", r[0], r[1])
		}
		if b := at(hc, r[0]+r[1], 1); b[0] != 0x77 {
			t.Errorf("Zero(%d, %d) zeroed the byte after", r[0], r[1])
		}
	}
	hc.Close()

	// The live volume changes; its snapshot does not.
	h, _ = cl.OpenVolume(ctx, id)
	put(h, 5*mib, 10, 0x44)
	h.Close()
	hs, err := cl.OpenSnapshot(ctx, id, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := at(hs, 5*mib, 10); !bytes.Equal(got, bytes.Repeat([]byte{0x11}, 10)) {
		t.Fatalf("the snapshot reads %x", got)
	}
	if _, err := hs.WriteAt([]byte{1}, 0); err == nil {
		t.Error("a write into a snapshot")
	}
	hs.Close()
	if _, err := cl.OpenSnapshot(ctx, id, newID()); !errors.Is(err, rbd.ErrNotFound) {
		t.Errorf("a snapshot that is not there: %v", err)
	}

	// A backup's temporary snapshot: one a killed agent left (of older
	// bytes) is made again.
	backup := newID()
	tmp, err := cl.OpenBackupSnapshot(ctx, id, backup)
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	snapped := func() bool {
		return slices.Contains(info(t, cl, id).Snapshots, rbd.BackupSnapshotName(backup))
	}
	if snapped() {
		t.Fatal("the backup's snapshot is left after Close")
	}
	// As a kill while the backup read it leaves it.
	if out, err := c.RBD(ctx, "snap", "create", c.Pool+"/"+rbd.VolumeName(id)+"@"+rbd.BackupSnapshotName(backup)); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	h, _ = cl.OpenVolume(ctx, id)
	put(h, 5*mib, 10, 0x55)
	h.Close()
	tmp, err = cl.OpenBackupSnapshot(ctx, id, backup)
	if err != nil {
		t.Fatal(err)
	}
	h, _ = cl.OpenVolume(ctx, id)
	put(h, 5*mib, 10, 0x66)
	h.Close()
	if got := at(tmp, 5*mib, 10); !bytes.Equal(got, bytes.Repeat([]byte{0x55}, 10)) {
		t.Fatalf("the backup's snapshot reads %x, not the volume when it was opened", got)
	}
	if !snapped() {
		t.Fatal("no backup snapshot while it is read")
	}
	// Left behind (a kill): swept.
	if err := cl.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if snapped() {
		t.Fatal("the sweep left a backup's snapshot")
	}
	if err := tmp.Close(); err != nil {
		t.Errorf("closing a handle whose snapshot was swept: %v", err)
	}
	// Left behind, then the volume deleted (its own snapshot first).
	if out, err := c.RBD(ctx, "snap", "create", c.Pool+"/"+rbd.VolumeName(id)+"@"+rbd.BackupSnapshotName(newID())); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	for _, x := range []struct{ f func() error }{
		{func() error { return cl.Delete(ctx, clone) }},
		{func() error { return cl.DeleteSnapshot(ctx, id, snap) }},
		{func() error { return cl.Delete(ctx, id) }},
	} {
		if err := x.f(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range imageNames(t, cl) {
		if strings.Contains(n, id) || strings.Contains(n, clone) {
			t.Errorf("left in the pool: %s", n)
		}
	}
}
