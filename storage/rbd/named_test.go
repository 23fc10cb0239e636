package rbd_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage/rbd"
)

// TestNamedImages: the calls by name a pool's other users make (the
// compute agent's root disks, "<uuid>_disk"): an import through
// "<name>.partial" that reads back as written, grown and never shrunk; a
// rollback to an unprotected snapshot that gives back the size (the
// content kept) and removes the snapshot; a removal that takes the image's
// snapshots (a protected one too) and a half-made import with it, and is
// no error when repeated; names with a dot refused.
func TestNamedImages(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	name := newID() + "_disk"
	path, data := content(t, 4*mib)

	if err := cl.ImportImage(ctx, name, path, 4*mib, 8*mib); err != nil {
		t.Fatal(err)
	}
	// Done again: the import is there, whole.
	if err := cl.ImportImage(ctx, name, path, 4*mib, 8*mib); err != nil {
		t.Fatalf("import again: %v", err)
	}
	in, err := cl.ImageInfo(ctx, name)
	if err != nil || in.Size != 8*mib || in.Parent != "" {
		t.Fatalf("info: %+v %v", in, err)
	}
	readBack := func(want []byte, size int64) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "back.raw")
		n, err := cl.ExportImage(ctx, name, p)
		b, _ := os.ReadFile(p)
		if err != nil || n != size || !bytes.Equal(b[:len(want)], want) || !bytes.Equal(b[len(want):], make([]byte, size-int64(len(want)))) {
			t.Fatalf("export: %d bytes, %v; content differs: %v", n, err, !bytes.Equal(b[:len(want)], want))
		}
	}
	readBack(data, 8*mib)

	if err := cl.SnapshotImage(ctx, name, "nova-resize"); err != nil {
		t.Fatal(err)
	}
	if err := cl.SnapshotImage(ctx, name, "nova-resize"); err != nil {
		t.Fatalf("snapshot again: %v", err)
	}
	if err := cl.GrowImage(ctx, name, 16*mib); err != nil {
		t.Fatal(err)
	}
	if err := cl.GrowImage(ctx, name, 8*mib); !errors.Is(err, rbd.ErrInvalid) {
		t.Fatalf("shrink: %v, want ErrInvalid", err)
	}
	if err := cl.RollbackImage(ctx, name, "nova-resize"); err != nil {
		t.Fatal(err)
	}
	if in, err := cl.ImageInfo(ctx, name); err != nil || in.Size != 8*mib || len(in.Snapshots) != 0 {
		t.Fatalf("after the rollback: %+v %v, want 8 MiB and no snapshot", in, err)
	}
	readBack(data, 8*mib)
	if err := cl.RollbackImage(ctx, name, "nova-resize"); err != nil {
		t.Fatalf("rollback again: %v", err)
	}
	if err := cl.RemoveImageSnapshot(ctx, name, "nova-resize"); err != nil {
		t.Fatalf("remove a snapshot that is gone: %v", err)
	}

	// A protected snapshot and a half-made import (as a kill leaves
	// them) go with the image.
	if err := cl.SnapshotImage(ctx, name, "keep"); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) {
		t.Helper()
		if out, err := c.RBD(ctx, args...); err != nil {
			t.Fatalf("rbd %v: %v: %s", args, err, out)
		}
	}
	cli("snap", "protect", c.Pool+"/"+name+"@keep")
	cli("create", "--size", "1M", c.Pool+"/"+name+".partial")
	if err := cl.RemoveImage(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ImageInfo(ctx, name); !errors.Is(err, rbd.ErrNotFound) {
		t.Fatalf("after the removal: %v", err)
	}
	imgs, err := cl.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(imgs, func(im rbd.Image) bool { return strings.HasPrefix(im.Name, name) }) {
		t.Fatalf("left after the removal: %v", imgs)
	}
	if err := cl.RemoveImage(ctx, name); err != nil {
		t.Fatalf("remove again: %v", err)
	}
	// RemovePartial alone: the half-made import only.
	cli("create", "--size", "1M", c.Pool+"/"+name+".partial")
	if err := cl.RemovePartial(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := cl.RemovePartial(ctx, name); err != nil {
		t.Fatalf("no half-made import: %v", err)
	}

	for _, bad := range []string{"", "x.partial", "a/b"} {
		if err := cl.ImportImage(ctx, bad, path, 1, 1); !errors.Is(err, rbd.ErrInvalid) {
			t.Errorf("import as %q: %v, want ErrInvalid", bad, err)
		}
	}
}
