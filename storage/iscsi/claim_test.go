package iscsi_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// TestCreateClaimed: a migration's copy as a file. Made fresh it is
// marked with its claim, and made again with the same claim taken as it
// is (an interrupted create); a file of the same id made by anyone else
// (a plain Create: another pool's volume in the same directory) or by
// another claim is refused, ErrNotClaimed, and left as it was; nothing
// half-made is left in the directory.
func TestCreateClaimed(t *testing.T) {
	f := iscsi.Files{Dir: t.TempDir()}
	ctx := context.Background()
	const size = 1 << 20
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatalf("again: %v", err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-1"); !ok || err != nil {
		t.Fatalf("claimed: %v %v", ok, err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-2"); ok || err != nil {
		t.Fatalf("claimed by another: %v %v", ok, err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-2", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("another claim: %v", err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", 2*size); !errors.Is(err, iscsi.ErrExists) {
		t.Fatalf("another size: %v", err)
	}

	p, err := f.Create(ctx, "theirs", size)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "theirs", "claim-1", 6); err == nil {
		t.Fatal("a size tgt refuses taken")
	}
	if _, err := f.CreateClaimed(ctx, "theirs", "claim-1", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("over another's file: %v", err)
	}
	if ok, err := f.Claimed(ctx, "theirs", "claim-1"); ok || err != nil {
		t.Fatalf("another's file claimed: %v %v", ok, err)
	}
	if ok, err := f.Claimed(ctx, "none", "claim-1"); ok || err != nil {
		t.Fatalf("no file claimed: %v %v", ok, err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "theirs" {
		t.Fatalf("another's file after the refusal: %q %v", b, err)
	}
	left, _ := filepath.Glob(filepath.Join(f.Dir, ".*"))
	if len(left) != 0 {
		t.Fatalf("half-made files left: %v", left)
	}
}

// TestCreateClaimedWithoutXattrs: on a file system without user
// extended attributes (ramfs here, as tmpfs before Linux 6.6 and some
// NFS: setxattr is EOPNOTSUPP) a migration's copy is still made and
// marked, by a file aside naming its claim and inode, made before the
// link; it marks that file only (not another's file given the name
// later, nor another pool's volume there already), one a create cut
// short left is made again, and it goes with its volume (Delete) or,
// its volume gone, in a Sweep.
func TestCreateClaimedWithoutXattrs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a ramfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "ramfs", "ramfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a ramfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setxattr(filepath.Join(dir, "probe"), "user.probe", []byte("x"), 0); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("setxattr on ramfs: %v, want EOPNOTSUPP", err)
	}
	os.Remove(filepath.Join(dir, "probe"))

	f := iscsi.Files{Dir: dir}
	ctx := context.Background()
	const size = 1 << 20
	mark := func(id string) string { return filepath.Join(dir, ".claim-volume-"+id) }
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatalf("again: %v", err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-1"); !ok || err != nil {
		t.Fatalf("claimed: %v %v", ok, err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-2"); ok || err != nil {
		t.Fatalf("claimed by another: %v %v", ok, err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-2", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("another claim: %v", err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", 2*size); !errors.Is(err, iscsi.ErrExists) {
		t.Fatalf("another size: %v", err)
	}

	// Another pool's volume of the same id: refused, left alone, no mark.
	p, err := f.Create(ctx, "theirs", size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "theirs", "claim-1", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("over another's file: %v", err)
	}
	if ok, err := f.Claimed(ctx, "theirs", "claim-1"); ok || err != nil {
		t.Fatalf("another's file claimed: %v %v", ok, err)
	}
	if _, err := os.Stat(mark("theirs")); !os.IsNotExist(err) {
		t.Fatalf("a mark left beside another's file: %v", err)
	}

	// A create cut short after its mark, before its link: made again.
	if err := os.WriteFile(mark("cut"), []byte("claim-1\n1 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "cut", "claim-1", size); err != nil {
		t.Fatalf("after a create cut short: %v", err)
	}
	if ok, err := f.Claimed(ctx, "cut", "claim-1"); !ok || err != nil {
		t.Fatalf("claimed after a create cut short: %v %v", ok, err)
	}

	// A mark left by a delete cut short marks no file made later.
	if err := os.Remove(f.Path("cut")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create(ctx, "cut", size); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Claimed(ctx, "cut", "claim-1"); ok || err != nil {
		t.Fatalf("a new file claimed by an old mark: %v %v", ok, err)
	}
	if _, err := f.CreateClaimed(ctx, "cut", "claim-1", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("over a new file with an old mark: %v", err)
	}

	// Delete takes the mark; Sweep takes one whose volume is gone.
	if err := f.Delete(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mark("mine")); !os.IsNotExist(err) {
		t.Fatalf("the mark after Delete: %v", err)
	}
	if err := os.Remove(f.Path("cut")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mark("cut")); !os.IsNotExist(err) {
		t.Fatalf("the mark of a volume gone after Sweep: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Fatalf("half-made files or marks left: %v", left)
	}
	if b, err := os.ReadFile(p); err != nil || len(b) != size {
		t.Fatalf("another's file: %d bytes, %v", len(b), err)
	}
}
