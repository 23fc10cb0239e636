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
	// The snapshot reads as the image was: 8 MiB of the import.
	{
		p := filepath.Join(t.TempDir(), "snap.raw")
		n, err := cl.ExportImageSnapshot(ctx, name, "nova-resize", p)
		b, _ := os.ReadFile(p)
		if err != nil || n != 8*mib || len(b) != 8*mib || !bytes.Equal(b[:len(data)], data) {
			t.Fatalf("export of the snapshot: %d bytes, %v", n, err)
		}
		if _, err := cl.ExportImageSnapshot(ctx, name, "none", p); !errors.Is(err, rbd.ErrNotFound) {
			t.Fatalf("export of no snapshot: %v, want ErrNotFound", err)
		}
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

// TestCloneHalfMade: librbd's clone makes the child before it attaches
// its parent, so a kill between the two leaves an empty image with no
// parent. A clone (CloneImage for a volume, CloneImageTo by name) is
// made under "<name>.partial" and renamed once whole: a half-made one
// there (empty, parentless, as that kill leaves it) is made again, and
// the image under the final name is a clone of the location holding the
// image's bytes, of the size asked. Both clone formats are renamed:
// v1, which this cluster's clients make (rbd_default_clone_format auto
// while clients older than mimic may connect), and v2.
func TestCloneHalfMade(t *testing.T) {
	cl, c := client(t, rbd.Config{})
	ctx := context.Background()
	cli := func(args ...string) string {
		t.Helper()
		out, err := c.RBD(ctx, args...)
		if err != nil {
			t.Fatalf("rbd %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	// The image as an image store keeps it: name@snap, protected.
	parent := newID() + "_img"
	path, data := content(t, 4*mib)
	if err := cl.ImportImage(ctx, parent, path, 4*mib, 4*mib); err != nil {
		t.Fatal(err)
	}
	cli("snap", "create", c.Pool+"/"+parent+"@snap")
	cli("snap", "protect", c.Pool+"/"+parent+"@snap")
	loc := "rbd://" + cl.FSID() + "/" + c.Pool + "/" + parent + "/snap"
	// A v2 clone is "clone-child" in its op_features; v1 has none.
	format := func(name string) string {
		if strings.Contains(cli("info", c.Pool+"/"+name), "clone-child") {
			return "v2"
		}
		return "v1"
	}

	check := func(name string) {
		t.Helper()
		in, err := cl.ImageInfo(ctx, name)
		if err != nil || in.Parent != c.Pool+"/"+parent+"@snap" || in.Size != 8*mib {
			t.Fatalf("%s: %+v %v, want a clone of %s@snap of 8 MiB", name, in, err, parent)
		}
		p := filepath.Join(t.TempDir(), "back.raw")
		n, err := cl.ExportImage(ctx, name, p)
		b, _ := os.ReadFile(p)
		if err != nil || n != 8*mib || !bytes.Equal(b[:4*mib], data) || !bytes.Equal(b[4*mib:], make([]byte, 4*mib)) {
			t.Fatalf("%s: %d bytes, %v; the image's bytes: %v", name, n, err, len(b) >= 4*mib && bytes.Equal(b[:4*mib], data))
		}
		if _, err := c.RBD(ctx, "info", c.Pool+"/"+name+".partial"); err == nil {
			t.Fatalf("%s.partial is left", name)
		}
	}

	name := newID() + "_disk"
	cli("create", "--size", "4M", c.Pool+"/"+name+".partial")
	if err := cl.CloneImageTo(ctx, name, loc, 8*mib); err != nil {
		t.Fatal(err)
	}
	check(name)
	t.Logf("the clone renamed into place is a %s clone", format(name))
	// Again: the clone is there, whole.
	if err := cl.CloneImageTo(ctx, name, loc, 8*mib); err != nil {
		t.Fatalf("clone again: %v", err)
	}
	check(name)

	id := newID()
	cli("create", "--size", "4M", c.Pool+"/volume-"+id+".partial")
	if err := cl.CloneImage(ctx, id, loc, 8*mib); err != nil {
		t.Fatal(err)
	}
	check("volume-" + id)
	if err := cl.CloneImage(ctx, id, loc, 8*mib); err != nil {
		t.Fatalf("clone the volume again: %v", err)
	}

	// A half-made v2 clone (rbd_default_clone_format 2, or auto with
	// clients of mimic and later) is removed and made again; a v2 clone
	// renamed (librbd's rbd_rename, as Client's) keeps its parent.
	v2 := newID() + "_disk"
	cli("clone", "--rbd-default-clone-format", "2", c.Pool+"/"+parent+"@snap", c.Pool+"/"+v2+".partial")
	if format(v2+".partial") != "v2" {
		t.Fatalf("rbd clone --rbd-default-clone-format 2 made a v1 clone")
	}
	if err := cl.CloneImageTo(ctx, v2, loc, 8*mib); err != nil {
		t.Fatal(err)
	}
	check(v2)
	cli("clone", "--rbd-default-clone-format", "2", c.Pool+"/"+parent+"@snap", c.Pool+"/"+v2+"-b")
	cli("rename", c.Pool+"/"+v2+"-b", c.Pool+"/"+v2+"-c")
	if in, err := cl.ImageInfo(ctx, v2+"-c"); err != nil || in.Parent != c.Pool+"/"+parent+"@snap" || format(v2+"-c") != "v2" {
		t.Fatalf("a v2 clone renamed: %+v %v", in, err)
	}
	for _, n := range []string{v2, v2 + "-c"} {
		if err := cl.RemoveImage(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	// With clients that make v2 clones, CloneImageTo makes and renames
	// one through go-ceph as well.
	conf := filepath.Join(t.TempDir(), "ceph.conf")
	b, err := os.ReadFile(c.Conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(b, "\n[client]\nrbd default clone format = 2\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	cl2, err := rbd.New(ctx, rbd.Config{ConfFile: conf, User: c.User, Keyring: c.Keyring, Pool: c.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	v2b := newID() + "_disk"
	if err := cl2.CloneImageTo(ctx, v2b, loc, 8*mib); err != nil {
		t.Fatal(err)
	}
	check(v2b)
	if format(v2b) != "v2" {
		t.Fatal("a client with rbd_default_clone_format 2 made a v1 clone")
	}
	if err := cl.RemoveImage(ctx, v2b); err != nil {
		t.Fatal(err)
	}

	// A half-made clone of a volume is the sweep's.
	other := newID()
	cli("create", "--size", "4M", c.Pool+"/volume-"+other+".partial")
	if err := cl.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RBD(ctx, "info", c.Pool+"/volume-"+other+".partial"); err == nil {
		t.Fatal("the sweep left a half-made clone")
	}

	if err := cl.RemoveImage(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	cli("snap", "unprotect", c.Pool+"/"+parent+"@snap")
	if err := cl.RemoveImage(ctx, parent); err != nil {
		t.Fatal(err)
	}
}
